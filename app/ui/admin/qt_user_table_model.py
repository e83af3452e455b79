"""QtUserTableModel: the accounts as the administrator sees them, one row per user."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from app.casework.accounts import UserSummary
from app.policy.profiles import PolicyProfile
from app.policy.roles import Role
from app.policy.supervision import (
    DEFAULT_REMINDER_DAYS,
    TrainingState,
    TrainingStatus,
    acknowledges,
    training_status,
)

Index = QModelIndex | QPersistentModelIndex

COLUMNS = (
    "User name",
    "Display name",
    "Roles",
    "Active",
    "Locked until (UTC)",
    "Training current until",
    "Policy acknowledged",
)
HEADER_TIPS = (
    "The name typed at sign-in",
    "The name shown on screens and reports",
    "What the user may do",
    "A deactivated account cannot sign in",
    "Locked after too many wrong passwords; Unlock lifts it at once",
    f"Last day of the latest counted training; marked when it ends within "
    f"{DEFAULT_REMINDER_DAYS} days or has ended",
    "The version of the active policy profile the user acknowledged",
)
EXPIRED_COLOR = QColor("#a40000")
EXPIRING_COLOR = QColor("#9a5b00")
INACTIVE_COLOR = QColor("#7a7a7a")


def roles_text(roles: frozenset[Role]) -> str:
    return ", ".join(r.label for r in Role if r in roles) or "(none)"


def training_text(user: UserSummary, status: TrainingStatus) -> str:
    if status.valid_until is None:
        return "No training record" if user.has_role(Role.EXAMINER) else ""
    text = status.valid_until.isoformat()
    if status.state is TrainingState.EXPIRED:
        return f"{text} (expired)"
    if status.state is TrainingState.EXPIRING:
        return f"{text} ({status.days_left} days left)"
    return text


def acknowledges_active(user: UserSummary, profile: PolicyProfile) -> bool:
    return any(acknowledges(a, profile) for a in user.acknowledged)


def acknowledgment_text(user: UserSummary, profile: PolicyProfile) -> str:
    """``2019-12 (current)``, ``2019-11 (not the active version)``, ``Not acknowledged`` (an
    examiner, who cannot search without it) or nothing (anyone else)."""
    mine = [a for a in user.acknowledged if a.profile_name == profile.name]
    if acknowledges_active(user, profile):
        return f"{profile.version} (current)"
    if mine:
        latest = max(mine, key=lambda a: a.acknowledged_at)
        return f"{latest.profile_version} (not the active version)"
    return "Not acknowledged" if user.has_role(Role.EXAMINER) else ""


class QtUserTableModel(QAbstractTableModel):
    """Rows of :class:`UserSummary`; ``set_users`` replaces them all."""

    def __init__(self, profile: PolicyProfile, parent: Any = None) -> None:
        super().__init__(parent)
        self.profile = profile
        self.users: list[UserSummary] = []
        self._status: list[TrainingStatus] = []
        self.today = date.today()

    def set_users(self, users: Sequence[UserSummary], *, today: date) -> None:
        self.beginResetModel()
        self.users = list(users)
        self.today = today
        self._status = [
            training_status(u.training, courses=self.profile.training_courses, today=today)
            for u in self.users
        ]
        self.endResetModel()

    def user_at(self, row: int) -> UserSummary | None:
        return self.users[row] if 0 <= row < len(self.users) else None

    def row_of(self, user_id: int) -> int:
        return next((i for i, u in enumerate(self.users) if u.user_id == user_id), -1)

    def status_at(self, row: int) -> TrainingStatus:
        return self._status[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self.users)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        user = self.user_at(index.row()) if index.isValid() else None
        if user is None:
            return None
        column = index.column()
        status = self._status[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if role == Qt.ItemDataRole.ToolTipRole and column == 5 and status.valid_until:
                return status.sentence
            locked = user.locked_until
            return (
                user.username,
                user.display_name,
                roles_text(user.roles),
                "Yes" if user.active else "No",
                locked.strftime("%Y-%m-%d %H:%M") if locked is not None else "",
                training_text(user, status),
                acknowledgment_text(user, self.profile),
            )[column]
        if role == Qt.ItemDataRole.ForegroundRole:
            if not user.active:
                return QBrush(INACTIVE_COLOR)
            relevant = user.has_role(Role.EXAMINER)
            if column == 5 and relevant and status.state in (
                TrainingState.EXPIRED,
                TrainingState.MISSING,
            ):
                return QBrush(EXPIRED_COLOR)
            if column == 5 and status.state is TrainingState.EXPIRING:
                return QBrush(EXPIRING_COLOR)
            if column == 4 and user.locked_until is not None:
                return QBrush(EXPIRED_COLOR)
            if column == 6 and relevant and not acknowledges_active(user, self.profile):
                return QBrush(EXPIRED_COLOR)
        if role == Qt.ItemDataRole.UserRole:
            return user
        return None


__all__ = ["COLUMNS", "QtUserTableModel", "acknowledgment_text", "roles_text", "training_text"]
