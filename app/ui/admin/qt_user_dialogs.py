"""Dialogs of the user administration page: add user, roles, password reset, training record.

Each dialog gathers values and hands them to its ``submit`` callable (the page calls casework).
A refusal (:class:`FrxError`) is shown inline as a plain sentence and the dialog stays open so
the administrator can correct it; the dialog closes only when casework accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.casework.accounts import UserSummary
from app.errors import FrxError, InvalidInput
from app.policy.roles import Role
from app.ui import messages
from app.ui.qt_first_run import ERROR_STYLE, show_inline_error
from app.ui.qt_password_form import password_strength_hint

ROLE_HELP = {
    Role.EXAMINER: "Runs searches and compares candidates (needs current training)",
    Role.SUPERVISOR: "Reads and exports the audit log, sees compliance and training reminders",
    Role.ADMINISTRATOR: "Manages users, roles, training records and the installation",
    Role.LEGAL_ADVISOR: "Reviews disclosure requests; may read the audit log",
}
DEFAULT_TRAINING_YEARS = 2
DATE_FORMAT = "yyyy-MM-dd"


def qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def pydate(day: QDate) -> date:
    return date(day.year(), day.month(), day.day())


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class NewUser:
    username: str
    display_name: str
    roles: frozenset[Role]
    password: str


@dataclass(frozen=True)
class NewTraining:
    course: str
    completed_on: date
    expires_on: date


class QtSubmitDialog(QDialog):
    """OK runs ``submit(values())``; a refusal stays inline, success closes the dialog."""

    def __init__(
        self,
        *,
        title: str,
        ok_text: str,
        submit: Callable[[Any], object],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(440)
        self._submit = submit
        self.result_value: object = None
        self.form = QFormLayout()
        self.error_label = QLabel()
        self.error_label.setObjectName("inlineError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(ok_text)
        self.buttons.accepted.connect(self.try_submit)
        self.buttons.rejected.connect(self.reject)
        self.body = QVBoxLayout(self)
        self.body.addLayout(self.form)

    def finish_layout(self) -> None:
        self.body.addWidget(self.error_label)
        self.body.addWidget(self.buttons)

    def values(self) -> object:
        raise NotImplementedError

    @property
    def error_text(self) -> str:
        return self.error_label.text() if self.error_label.isVisible() else ""

    def try_submit(self) -> bool:
        """Submit the values; True when casework accepted them and the dialog closed."""
        try:
            self.result_value = self._submit(self.values())
        except FrxError as exc:
            show_inline_error(self.error_label, messages.error_text(exc))
            return False
        except Exception as exc:  # a bug: log it, show it plainly, keep the dialog
            messages.log_unexpected(exc, context=self.windowTitle())
            show_inline_error(self.error_label, messages.error_text(exc))
            return False
        show_inline_error(self.error_label, "")
        self.accept()
        return True


class PasswordPair:
    """A password typed twice, as rows of the dialog's form, with a strength and match hint."""

    def __init__(self, form: QFormLayout, *, label: str) -> None:
        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("newPassword")
        self.repeat_edit = QLineEdit()
        self.repeat_edit.setObjectName("repeatPassword")
        for edit in (self.password_edit, self.repeat_edit):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setToolTip("At least 10 characters; a short sentence works well")
        self.repeat_edit.setToolTip("The same password again, to rule out a typing error")
        self.hint_label = QLabel()
        self.hint_label.setWordWrap(True)
        self.hint_label.setObjectName("passwordHint")
        form.addRow(f"{label}:", self.password_edit)
        form.addRow("", self.hint_label)
        form.addRow(f"{label} again:", self.repeat_edit)
        self.password_edit.textChanged.connect(self._update)
        self.repeat_edit.textChanged.connect(self._update)
        self._update()

    def _update(self) -> None:
        hint = password_strength_hint(self.password_edit.text())
        if self.repeat_edit.text():
            hint += " " + (
                "The two passwords match." if self.matches() else "The two passwords differ."
            )
        self.hint_label.setText(hint)

    def password(self) -> str:
        return self.password_edit.text()

    def matches(self) -> bool:
        return self.password_edit.text() == self.repeat_edit.text()

    def set_both(self, password: str) -> None:
        self.password_edit.setText(password)
        self.repeat_edit.setText(password)


def _role_boxes(selected: frozenset[Role]) -> tuple[QGroupBox, dict[Role, QCheckBox]]:
    group = QGroupBox("Roles")
    layout = QVBoxLayout(group)
    boxes: dict[Role, QCheckBox] = {}
    for role in Role:
        box = QCheckBox(role.label)
        box.setObjectName(f"role_{role.value}")
        box.setChecked(role in selected)
        box.setToolTip(ROLE_HELP.get(role, ""))
        layout.addWidget(box)
        boxes[role] = box
    return group, boxes


def _checked(boxes: dict[Role, QCheckBox]) -> frozenset[Role]:
    return frozenset(role for role, box in boxes.items() if box.isChecked())


class QtAddUserDialog(QtSubmitDialog):
    """A new account: user name, display name, roles and a first password typed twice."""

    def __init__(self, *, submit: Callable[[NewUser], object], parent: QWidget | None = None
                 ) -> None:
        super().__init__(title="Add user", ok_text="Add user", submit=submit, parent=parent)
        self.username_edit = QLineEdit()
        self.username_edit.setObjectName("newUsername")
        self.username_edit.setToolTip(
            "2 to 64 characters: letters, digits, dots, hyphens or underscores; stored in "
            "lower case"
        )
        self.display_edit = QLineEdit()
        self.display_edit.setObjectName("newDisplayName")
        self.display_edit.setToolTip("The name shown on screens and printed on reports")
        self.form.addRow("&User name:", self.username_edit)
        self.form.addRow("&Display name:", self.display_edit)
        self.password_fields = PasswordPair(self.form, label="First password")
        self.password_fields.password_edit.setToolTip(
            "At least 10 characters; the user changes it after signing in "
            "(Tools > Change password)"
        )
        group, self.role_boxes = _role_boxes(frozenset({Role.EXAMINER}))
        self.body.addWidget(group)
        self.finish_layout()
        self.username_edit.setFocus()

    def values(self) -> NewUser:
        if not self.password_fields.matches():
            raise InvalidInput("The two passwords differ; type the same password twice.")
        return NewUser(
            username=self.username_edit.text(),
            display_name=self.display_edit.text(),
            roles=_checked(self.role_boxes),
            password=self.password_fields.password(),
        )


class QtRolesDialog(QtSubmitDialog):
    """Tick the roles a user holds."""

    def __init__(
        self,
        user: UserSummary,
        *,
        submit: Callable[[frozenset[Role]], object],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(title="Edit roles", ok_text="Save roles", submit=submit, parent=parent)
        self.form.addRow("User:", QLabel(f"{user.display_name} ({user.username})"))
        group, self.role_boxes = _role_boxes(user.roles)
        self.body.addWidget(group)
        note = QLabel(
            "A change takes effect at once, also for a user who is signed in right now."
        )
        note.setWordWrap(True)
        self.body.addWidget(note)
        self.finish_layout()
        next(iter(self.role_boxes.values())).setFocus()

    def values(self) -> frozenset[Role]:
        return _checked(self.role_boxes)


class QtResetPasswordDialog(QtSubmitDialog):
    """A new password for someone else, typed twice (also lifts a lockout)."""

    def __init__(
        self, user: UserSummary, *, submit: Callable[[str], object], parent: QWidget | None = None
    ) -> None:
        super().__init__(
            title="Reset password", ok_text="Reset password", submit=submit, parent=parent
        )
        self.form.addRow("User:", QLabel(f"{user.display_name} ({user.username})"))
        self.password_fields = PasswordPair(self.form, label="New password")
        note = QLabel("Resetting also lifts a lockout. Give the password to the user in person.")
        note.setWordWrap(True)
        self.body.addWidget(note)
        self.finish_layout()
        self.password_fields.password_edit.setFocus()

    def values(self) -> str:
        if not self.password_fields.matches():
            raise InvalidInput("The two passwords differ; type the same password twice.")
        return self.password_fields.password()


class QtTrainingDialog(QtSubmitDialog):
    """A completed course with its completion and expiry dates."""

    def __init__(
        self,
        user: UserSummary,
        *,
        today: date,
        courses: Sequence[str],
        submit: Callable[[NewTraining], object],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            title="Add training record", ok_text="Record training", submit=submit, parent=parent
        )
        self.form.addRow("User:", QLabel(f"{user.display_name} ({user.username})"))
        self.course_combo = QComboBox()
        self.course_combo.setObjectName("trainingCourse")
        self.course_combo.setEditable(True)
        self.course_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        known = list(dict.fromkeys([*courses, *(t.course for t in user.training)]))
        self.course_combo.addItems(known)
        latest = max(user.training, key=lambda t: t.expires_on, default=None)
        self.course_combo.setCurrentText(
            courses[0] if courses else latest.course if latest is not None else ""
        )
        tip = (
            "The active policy counts only: " + ", ".join(courses)
            if courses
            else "The active policy counts any course"
        )
        self.course_combo.setToolTip(tip)
        self.completed_edit = QDateEdit(qdate(today))
        self.completed_edit.setObjectName("trainingCompleted")
        self.completed_edit.setToolTip("The day the course was completed (not in the future)")
        self.expires_edit = QDateEdit(qdate(add_years(today, DEFAULT_TRAINING_YEARS)))
        self.expires_edit.setObjectName("trainingExpires")
        self.expires_edit.setToolTip("The last day the training counts")
        for edit in (self.completed_edit, self.expires_edit):
            edit.setDisplayFormat(DATE_FORMAT)
            edit.setCalendarPopup(True)
        self.completed_edit.setMaximumDate(qdate(today))
        self.completed_edit.dateChanged.connect(self._completed_changed)
        self.form.addRow("&Course:", self.course_combo)
        self.form.addRow("Co&mpleted on:", self.completed_edit)
        self.form.addRow("&Expires on:", self.expires_edit)
        self._last_completed = today
        self.finish_layout()
        self.course_combo.setFocus()

    def _completed_changed(self, new: QDate) -> None:
        # Keep the validity period when the completion date moves (a common correction).
        completed = pydate(new)
        shift = completed - self._last_completed
        self._last_completed = completed
        self.expires_edit.setDate(qdate(pydate(self.expires_edit.date()) + shift))

    def values(self) -> NewTraining:
        return NewTraining(
            course=self.course_combo.currentText(),
            completed_on=pydate(self.completed_edit.date()),
            expires_on=pydate(self.expires_edit.date()),
        )


__all__ = [
    "NewTraining",
    "NewUser",
    "PasswordPair",
    "QtAddUserDialog",
    "QtResetPasswordDialog",
    "QtRolesDialog",
    "QtSubmitDialog",
    "QtTrainingDialog",
    "add_years",
]
