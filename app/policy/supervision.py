"""Who may supervise (read and export the audit log, see training reminders) and training status.

MPTC VI.C asks for monitored use: compliance measured, periodic and random audits. Reading the
audit log is the supervisor's and the administrator's job. A legal advisor may read it too,
because a disclosure request (MPTC VI.E) is reviewed by the legal advisor and the audit trail of
a case is part of what is reviewed; an export, which takes records off the workstation, is left to
supervisors and administrators (a release to others goes through the disclosure process).

Training status follows the examiner gate (MPTC III.B, IV.A, VII): only the courses the profile
names count (any course when it names none), and a record is valid from its completion date to
its expiry date inclusive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from app.errors import PermissionDenied
from app.policy.gates import AcknowledgmentLike, Decision, TrainingLike
from app.policy.profiles import PolicyProfile
from app.policy.roles import Role

AUDIT_READER_ROLES = frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR, Role.LEGAL_ADVISOR})
AUDIT_EXPORTER_ROLES = frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR})
TRAINING_OVERSIGHT_ROLES = frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR})
DEFAULT_REMINDER_DAYS = 30


def _names(roles: Iterable[Role]) -> str:
    labels = sorted(r.label.lower() for r in roles)
    if len(labels) == 1:
        return labels[0]
    return ", ".join(labels[:-1]) + " or " + labels[-1]


def _decide(roles: Iterable[Role], allowed: frozenset[Role], action: str) -> Decision:
    if allowed & set(roles):
        return Decision(True)
    return Decision(False, (f"Only an active {_names(allowed)} may {action} (MPTC VI.C).",))


def evaluate_audit_reading(roles: Iterable[Role], action: str = "read the audit log") -> Decision:
    """May someone holding ``roles`` read the audit log (or do ``action``, which reads it)?"""
    return _decide(roles, AUDIT_READER_ROLES, action)


def evaluate_audit_export(roles: Iterable[Role]) -> Decision:
    """May someone holding ``roles`` export part of the audit log to a file?"""
    return _decide(roles, AUDIT_EXPORTER_ROLES, "export the audit log")


def evaluate_training_oversight(roles: Iterable[Role]) -> Decision:
    """May someone holding ``roles`` see every examiner's training status?"""
    return _decide(roles, TRAINING_OVERSIGHT_ROLES, "see the examiners' training reminders")


def check(decision: Decision) -> None:
    """PermissionDenied with the decision's reason unless it allows."""
    if not decision.allowed:
        raise PermissionDenied(decision.reason)


# ---------------------------------------------------------------------------------- training
class TrainingState(StrEnum):
    MISSING = "missing"  # no counted course completed by today
    EXPIRED = "expired"
    EXPIRING = "expiring"  # still valid, but ends within the reminder period
    CURRENT = "current"


@dataclass(frozen=True)
class TrainingStatus:
    """An examiner's training as of one day: valid until when, and how many days are left."""

    state: TrainingState
    valid_until: date | None  # latest expiry among counted courses completed by today
    days_left: int | None  # negative once expired; None without any counted course

    @property
    def sentence(self) -> str:
        if self.valid_until is None or self.days_left is None:
            return "No training record: the examiner cannot search until trained."
        if self.state is TrainingState.EXPIRED:
            days = -self.days_left
            ago = "yesterday" if days == 1 else f"{days} days ago"
            return f"Training expired on {self.valid_until.isoformat()} ({ago})."
        if self.days_left == 0:
            return f"Training expires today ({self.valid_until.isoformat()})."
        unit = "day" if self.days_left == 1 else "days"
        return f"Training expires on {self.valid_until.isoformat()} (in {self.days_left} {unit})."


def counted_training(
    training: Sequence[TrainingLike], courses: Sequence[str]
) -> list[TrainingLike]:
    """The records the examiner gate counts: the profile's courses, or any when none are named."""
    wanted = set(courses)
    return [t for t in training if not wanted or t.course in wanted]


def training_status(
    training: Sequence[TrainingLike],
    *,
    courses: Sequence[str],
    today: date,
    within_days: int = DEFAULT_REMINDER_DAYS,
) -> TrainingStatus:
    """Where an examiner's training stands today, with ``within_days`` as the reminder period."""
    started = [t for t in counted_training(training, courses) if t.completed_on <= today]
    if not started:
        return TrainingStatus(TrainingState.MISSING, None, None)
    until = max(t.expires_on for t in started)
    days_left = (until - today).days
    if days_left < 0:
        state = TrainingState.EXPIRED
    elif days_left <= within_days:
        state = TrainingState.EXPIRING
    else:
        state = TrainingState.CURRENT
    return TrainingStatus(state, until, days_left)


# ---------------------------------------------------------------------------- acknowledgments
def acknowledges(ack: AcknowledgmentLike, profile: PolicyProfile) -> bool:
    """True when ``ack`` is for exactly the active profile file (name, version and hash)."""
    return (
        ack.profile_name == profile.name
        and ack.profile_version == profile.version
        and ack.profile_sha256 == profile.sha256
    )
