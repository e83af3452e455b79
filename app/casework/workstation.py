"""The open workstation: settings, database, evidence store, active policy profile and worksheet.

Every casework function takes the :class:`Workstation` as its first argument. ``clock`` is the
single source of "now" for casework (tests replace it to move time forward).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from types import TracebackType

from app.policy.profiles import PolicyProfile, load_profile
from app.policy.worksheet import WorksheetDefinition, load_worksheet
from app.records.base import utcnow
from app.records.db import Database
from app.records.evidence import EvidenceStore
from app.settings import Settings, load_settings


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
        return cls(settings=settings, database=database, evidence=evidence, profile=profile)

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
