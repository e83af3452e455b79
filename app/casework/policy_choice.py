"""The unit's choice of policy profile (issue 9), made by an administrator and audited.

The administrator picks one of the available profiles (the built-in ones and the agency's own
file named in the settings); the choice is stored in the database, so it takes precedence over
the ``policy_profile`` setting on every workstation that shares the database: the open
workstation switches at once, the others at their next start or search. Every acknowledgment
names one exact profile version (name, version, SHA-256), so after a change each examiner's next
search is refused until they acknowledge the new one (MPTC VII).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from app.casework.account_rules import SignedInUser
from app.casework.accounts import check_administrator
from app.casework.case_access import audit
from app.casework.workstation import Workstation
from app.errors import ConfigurationError, InvalidInput, NotFound
from app.policy.profiles import (
    PolicyProfile,
    list_builtin_profiles,
    load_profile,
    resolve_profile_path,
)
from app.records.unit_settings import POLICY_PROFILE_KEY, UnitSetting, write_unit_setting

__all__ = [
    "REASON_MIN",
    "ProfileChoice",
    "ProfileSelection",
    "available_profiles",
    "current_profile",
    "profile_selection",
    "select_policy_profile",
]

REASON_MIN = 5
REASON_MAX = 2_000


@dataclass(frozen=True)
class ProfileChoice:
    """One profile the administrator may select; ``key`` is what is stored and typed."""

    key: str
    name: str
    title: str
    version: str
    issuer: str
    source: str
    sha256: str
    path: Path
    active: bool = False

    @property
    def label(self) -> str:
        return f"{self.title} ({self.version})"

    @property
    def description(self) -> str:
        return f"{self.issuer}. {self.source}."


@dataclass(frozen=True)
class ProfileSelection:
    """Where the profile in force comes from: the administrator's recorded choice, or (``key``
    None) the ``policy_profile`` setting. ``problem``: the recorded choice cannot be loaded, so
    the setting's profile stays in force until an administrator selects one again."""

    key: str | None
    changed_by: str | None = None
    changed_at: datetime | None = None
    problem: str | None = None

    @property
    def text(self) -> str:
        if self.key is None:
            return "From the policy_profile setting (FRX_POLICY_PROFILE); no selection recorded."
        when = f"{self.changed_at:%Y-%m-%d %H:%M} UTC" if self.changed_at else "-"
        return f"Selected by {self.changed_by} on {when}; overrides the policy_profile setting."


def profile_selection(ws: Workstation) -> ProfileSelection:
    """The administrator's recorded choice of profile, if any (and whether it still loads)."""
    with ws.database.session(read_only=True) as session:
        row = session.get(UnitSetting, POLICY_PROFILE_KEY)
        if row is None:
            return ProfileSelection(None)
        key, changed_by, changed_at = row.value, row.changed_by, row.changed_at
    problem = None
    try:
        load_profile(key)
    except ConfigurationError as exc:
        problem = (
            f"The selected profile '{key}' cannot be loaded ({exc}); the profile of the "
            "policy_profile setting is in force until an administrator selects one again."
        )
    return ProfileSelection(key, changed_by, changed_at, problem)


def _choice(key: str, profile: PolicyProfile, active: PolicyProfile) -> ProfileChoice:
    return ProfileChoice(
        key=key,
        name=profile.name,
        title=profile.title,
        version=profile.version,
        issuer=profile.issuer,
        source=profile.source,
        sha256=profile.sha256,
        path=profile.path,
        active=profile.path == active.path and profile.sha256 == active.sha256,
    )


def _candidate_keys(ws: Workstation) -> list[str]:
    keys = list(list_builtin_profiles())
    for extra in (ws.settings.policy_profile, ws.chosen_profile_key() or ""):
        extra = extra.strip()
        if not extra:
            continue
        path = resolve_profile_path(extra)
        if not any(resolve_profile_path(k) == path for k in keys):
            keys.append(extra)
    return keys


def available_profiles(ws: Workstation) -> list[ProfileChoice]:
    """Every profile that can be selected: the built-in ones and the agency's own file (from the
    settings or selected before). A file that cannot be read is left out."""
    ws.refresh_profile()
    choices = []
    for key in _candidate_keys(ws):
        try:
            choices.append(_choice(key, load_profile(key), ws.profile))
        except ConfigurationError:
            continue
    return choices


def current_profile(ws: Workstation) -> ProfileChoice:
    """The profile in force now (after following another workstation's change)."""
    ws.refresh_profile()
    for choice in available_profiles(ws):
        if choice.active:
            return choice
    return _choice(str(ws.profile.path), ws.profile, ws.profile)


def _find(ws: Workstation, name: str) -> tuple[ProfileChoice, PolicyProfile]:
    wanted = name.strip()
    choices = available_profiles(ws)
    for choice in choices:
        if wanted in (choice.key, choice.name):
            return choice, load_profile(choice.key)
    known = ", ".join(c.key for c in choices)
    raise NotFound(f"There is no policy profile '{wanted}'. Available: {known}.")


def select_policy_profile(
    ws: Workstation, *, by: SignedInUser, name: str, reason: str
) -> ProfileChoice:
    """Make ``name`` the unit's policy profile (administrators only; audited).

    Every examiner must acknowledge the new profile version before their next search.
    """
    check_administrator(ws, by=by, attempted="choose the policy profile")
    text = " ".join(str(reason or "").split())
    if len(text) < REASON_MIN:
        raise InvalidInput("Give the reason for changing the policy profile.")
    if len(text) > REASON_MAX:
        raise InvalidInput(f"The reason is too long: at most {REASON_MAX} characters.")
    choice, profile = _find(ws, name)
    old = ws.profile
    if choice.active:
        raise InvalidInput(f"{choice.label} is already the policy profile in force.")
    with ws.database.session() as session:
        write_unit_setting(
            session, POLICY_PROFILE_KEY, choice.key, changed_by=by.username, changed_at=ws.now()
        )
        audit(
            ws,
            session,
            user=by,
            action="policy.profile_changed",
            object_type="policy_profile",
            object_id=profile.name,
            details={
                "old_name": old.name,
                "old_version": old.version,
                "old_sha256": old.sha256,
                "new_name": profile.name,
                "new_version": profile.version,
                "new_sha256": profile.sha256,
                "new_key": choice.key,
                "reason": text,
            },
        )
    ws.use_profile(profile)
    return _choice(choice.key, profile, profile)
