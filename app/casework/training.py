"""Training reminders: examiners whose training has run out or runs out soon.

For supervisors and administrators (refusals audited as ``permission.denied``). Only active
examiners are listed, and only the courses the active profile counts (see
:func:`app.policy.supervision.training_status`); an examiner with no counted course at all is
listed first, because they cannot search.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.casework.account_rules import SignedInUser, roles_of, training_entry
from app.casework.audit_log import current_roles, refuse
from app.casework.workstation import Workstation
from app.errors import InvalidInput
from app.policy.roles import Role
from app.policy.supervision import (
    DEFAULT_REMINDER_DAYS,
    TrainingState,
    TrainingStatus,
    evaluate_training_oversight,
    training_status,
)
from app.records.models import User

__all__ = ["TrainingDue", "training_due"]

MAX_REMINDER_DAYS = 3660


@dataclass(frozen=True)
class TrainingDue:
    """An active examiner whose training is missing, expired, or expires within the period."""

    user_id: int
    username: str
    display_name: str
    status: TrainingStatus

    @property
    def state(self) -> TrainingState:
        return self.status.state

    @property
    def valid_until(self) -> date | None:
        return self.status.valid_until

    @property
    def days_left(self) -> int | None:
        return self.status.days_left

    @property
    def reminder(self) -> str:
        """A plain sentence, e.g. "Eve Examiner (eve): Training expires on ... (in 12 days)."."""
        return f"{self.display_name} ({self.username}): {self.status.sentence}"


def _urgency(item: TrainingDue) -> tuple[int, int]:
    if item.days_left is None:
        return (0, 0)
    return (1, item.days_left)


def training_due(
    ws: Workstation, *, by: SignedInUser, within_days: int = DEFAULT_REMINDER_DAYS
) -> list[TrainingDue]:
    """Active examiners whose training expires within ``within_days`` days (today counts as 0),
    has expired, or was never recorded; the most urgent first."""
    if not 0 <= within_days <= MAX_REMINDER_DAYS:
        raise InvalidInput(f"The reminder period is 0 to {MAX_REMINDER_DAYS} days.")
    today = ws.now().date()
    courses = ws.profile.training_courses
    with ws.database.session(read_only=True) as session:
        decision = evaluate_training_oversight(current_roles(session, by))
        if not decision.allowed:
            session.rollback()
            refuse(ws, by, decision, "see training reminders")
        rows = session.execute(
            select(User)
            .where(User.active.is_(True))
            .options(selectinload(User.roles), selectinload(User.training))
            .order_by(User.username)
        ).scalars()
        due: list[TrainingDue] = []
        for row in rows:
            if Role.EXAMINER not in roles_of(row):
                continue
            entries = [training_entry(t) for t in row.training]
            status = training_status(
                entries, courses=courses, today=today, within_days=within_days
            )
            if status.state is TrainingState.CURRENT:
                continue
            due.append(TrainingDue(row.id, row.username, row.display_name, status))
    return sorted(due, key=_urgency)
