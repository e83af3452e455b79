"""The open workstation: settings, database, evidence store, active policy profile and worksheet.

Every casework function takes the :class:`Workstation` as its first argument. ``clock`` is the
single source of "now" for casework (tests replace it to move time forward).

The active profile is the one the unit's administrator selected (stored in the database, see
:mod:`app.casework.policy_choice`) when there is one, otherwise the ``policy_profile`` setting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from logging import getLogger
from types import TracebackType

from app.errors import ConfigurationError
from app.policy.profiles import PolicyProfile, load_profile
from app.policy.worksheet import WorksheetDefinition, load_worksheet
from app.records.base import utcnow
from app.records.db import Database
from app.records.evidence import EvidenceStore
from app.records.unit_settings import POLICY_PROFILE_KEY, read_unit_setting
from app.settings import Settings, load_settings

log = getLogger(__name__)


@dataclass
class Workstation:
    """Everything a use case needs, opened once per process (GUI or command)."""

    settings: Settings
    database: Database
    evidence: EvidenceStore
    profile: PolicyProfile
    clock: Callable[[], datetime] = field(default=utcnow)

    @classmethod
    def open(cls, settings: Settings | None = None) -> Workstation:
        """Open (and if needed create or upgrade) the database and the evidence store."""
        settings = settings or load_settings()
        # The profile first: a bad profile setting is refused before the database is touched.
        profile = load_profile(settings.policy_profile)
        database = Database.open(settings)
        evidence = EvidenceStore(settings.evidence_dir)
        ws = cls(settings=settings, database=database, evidence=evidence, profile=profile)
        ws.refresh_profile()
        return ws

    def chosen_profile_key(self) -> str | None:
        """The profile the unit's administrator selected (stored in the database), if any."""
        with self.database.session(read_only=True) as session:
            return read_unit_setting(session, POLICY_PROFILE_KEY)

    def use_profile(self, profile: PolicyProfile) -> None:
        """Switch the active profile (and so the worksheet) of this open workstation."""
        self.profile = profile
        self.__dict__.pop("worksheet", None)

    def refresh_profile(self) -> bool:
        """Follow the unit's stored profile choice; True when the active profile changed.

        A stored choice whose file cannot be loaded any more keeps the current profile (the
        administrator is told on the policy page) rather than locking everyone out.
        """
        key = self.chosen_profile_key()
        if key is None:
            return False
        try:
            profile = load_profile(key)
        except ConfigurationError as exc:
            log.warning("the unit's chosen policy profile cannot be loaded: %s", exc)
            return False
        if profile.sha256 == self.profile.sha256 and profile.path == self.profile.path:
            return False
        self.use_profile(profile)
        return True

    @cached_property
    def worksheet(self) -> WorksheetDefinition:
        """The comparison worksheet the active profile prescribes."""
        return load_worksheet(self.profile.worksheet)

    def now(self) -> datetime:
        """The current time (timezone-aware UTC) as casework sees it."""
        return self.clock()

    def close(self) -> None:
        self.database.close()

    def __enter__(self) -> Workstation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
