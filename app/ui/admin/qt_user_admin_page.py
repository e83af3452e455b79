"""QtUserAdminPage: users, roles, activation, password resets, unlocks and training records.

Every action is a casework call (administrators only; casework checks the role again and audits
the change or the refusal). Dialogs stay open on a refusal and show its sentence; page actions
show refusals in a plain message box. The reminder panel lists the examiners whose training has
ended, is missing, or ends within 30 days.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from PySide6.QtCore import QItemSelection, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.casework import accounts
from app.casework.accounts import SignedInUser, UserSummary
from app.casework.training import TrainingDue, training_due
from app.casework.workstation import Workstation
from app.errors import FrxError
from app.policy.supervision import DEFAULT_REMINDER_DAYS, TrainingState
from app.ui import messages
from app.ui.admin.keyboard import chain_tab_order
from app.ui.admin.page_frame import page_heading
from app.ui.admin.qt_user_dialogs import (
    NewTraining,
    NewUser,
    QtAddUserDialog,
    QtResetPasswordDialog,
    QtRolesDialog,
    QtTrainingDialog,
)
from app.ui.admin.qt_user_table_model import QtUserTableModel, acknowledgment_text, roles_text

log = logging.getLogger(__name__)

T = TypeVar("T")
EXPIRED_STYLE = "color: #a40000;"


def user_details_text(user: UserSummary) -> str:
    """The selected user's facts and training records, as plain lines."""
    lines = [
        f"{user.display_name} ({user.username}), user number {user.user_id}",
        f"Roles: {roles_text(user.roles)}",
        f"Active: {'yes' if user.active else 'no (cannot sign in)'}",
        f"Created {user.created_at:%Y-%m-%d} by {user.created_by}; password last set "
        f"{user.password_changed_at:%Y-%m-%d %H:%M} UTC",
        f"Failed sign-ins since the last success: {user.failed_logins}",
    ]
    if user.locked_until is not None:
        lines.append(f"Locked until {user.locked_until:%Y-%m-%d %H:%M} UTC")
    lines.append("")
    lines.append("Training records:" if user.training else "Training records: none")
    for entry in sorted(user.training, key=lambda t: t.expires_on, reverse=True):
        lines.append(
            f"  {entry.course}: completed {entry.completed_on}, valid until {entry.expires_on} "
            f"(recorded by {entry.recorded_by})"
        )
    return "\n".join(lines)


class QtUserAdminPage(QWidget):
    """The administrator's page for accounts and training."""

    changed = Signal()  # after any successful change

    def __init__(self, ws: Workstation, user: SignedInUser, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.user = user
        self.dialog: QDialog | None = None  # the dialog open right now (tests fill it in)
        self.reminders: list[TrainingDue] = []
        self.setObjectName("userAdminPage")

        title = page_heading("Users, roles and training")
        note = QLabel(
            f"Active policy: {ws.profile.label}. Every change here is recorded in the audit log."
        )
        note.setTextFormat(Qt.TextFormat.PlainText)
        note.setWordWrap(True)

        self.add_button = self._button("Add &user...", "Create an account", self.add_user)
        self.roles_button = self._button(
            "Edit &roles...", "Choose the roles of the selected user", self.edit_roles
        )
        self.active_button = self._button(
            "&Deactivate", "Stop the selected user from signing in", self.toggle_active
        )
        self.active_button.setObjectName("activeToggle")
        self.reset_button = self._button(
            "Reset &password...",
            "Give the selected user a new password (also lifts a lockout)",
            self.reset_password,
        )
        self.unlock_button = self._button(
            "U&nlock", "Lift the selected user's lockout at once", self.unlock
        )
        self.training_button = self._button(
            "Add &training...", "Record a completed course for the selected user", self.add_training
        )
        self.refresh_button = self._button("Re&fresh", "Read the accounts again (F5)", self.refresh)
        toolbar = QHBoxLayout()
        for button in (
            self.add_button,
            self.roles_button,
            self.active_button,
            self.reset_button,
            self.unlock_button,
            self.training_button,
        ):
            toolbar.addWidget(button)
        toolbar.addStretch(1)
        toolbar.addWidget(self.refresh_button)

        self.model = QtUserTableModel(ws.profile, parent=self)
        self.table = QTableView()
        self.table.setObjectName("userTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.setToolTip("Every account; select one to act on it")
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda _index: self.edit_roles())

        self.details = QPlainTextEdit()
        self.details.setObjectName("userDetails")
        self.details.setReadOnly(True)
        self.details.setTabChangesFocus(True)
        self.details.setPlaceholderText("Select a user to see their training records.")
        self.details.setToolTip("The selected user's account facts and training records")
        details_box = QGroupBox("Selected user")
        QVBoxLayout(details_box).addWidget(self.details)

        self.reminder_list = QListWidget()
        self.reminder_list.setObjectName("trainingReminders")
        self.reminder_list.setToolTip(
            "Examiners who cannot search soon or already: press Enter to select one"
        )
        self.reminder_list.itemActivated.connect(self._reminder_activated)
        self.reminder_label = QLabel()
        self.reminder_label.setObjectName("trainingReminderSummary")
        self.reminder_label.setWordWrap(True)
        reminder_box = QGroupBox(f"Training expiring within {DEFAULT_REMINDER_DAYS} days")
        reminder_layout = QVBoxLayout(reminder_box)
        reminder_layout.addWidget(self.reminder_label)
        reminder_layout.addWidget(self.reminder_list)

        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(details_box)
        lower.addWidget(reminder_box)
        lower.setChildrenCollapsible(False)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("userAdminSplitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(lower)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(note)
        layout.addLayout(toolbar)
        layout.addWidget(self.splitter, 1)

        chain_tab_order(
            [
                self.add_button,
                self.roles_button,
                self.active_button,
                self.reset_button,
                self.unlock_button,
                self.training_button,
                self.refresh_button,
                self.table,
                self.details,
                self.reminder_list,
            ]
        )
        QShortcut(QKeySequence(QKeySequence.StandardKey.Refresh), self, self.refresh)
        self.refresh()
        self._update_buttons()

    def _button(self, text: str, tip: str, slot: Callable[[], object]) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.setAutoDefault(False)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    # -- reading --------------------------------------------------------------------------
    def refresh(self, *, select_user_id: int | None = None) -> None:
        """Re-read the accounts and the reminders, keeping (or moving) the selection."""
        keep = select_user_id
        if keep is None and (current := self.selected_user()) is not None:
            keep = current.user_id
        try:
            users = accounts.list_users(self.ws, by=self.user)
            reminders = training_due(self.ws, by=self.user, within_days=DEFAULT_REMINDER_DAYS)
        except FrxError as exc:
            messages.show_error(self, exc, title="Users")
            return
        self.model.set_users(users, today=self.ws.now().date())
        self._show_reminders(reminders)
        if keep is not None:
            self.select_user(keep)
        self._update_buttons()

    def _show_reminders(self, reminders: list[TrainingDue]) -> None:
        self.reminders = reminders
        self.reminder_list.clear()
        for item in reminders:
            entry = QListWidgetItem(item.reminder)
            entry.setData(Qt.ItemDataRole.UserRole, item.user_id)
            if item.state in (TrainingState.EXPIRED, TrainingState.MISSING):
                entry.setForeground(Qt.GlobalColor.darkRed)
            self.reminder_list.addItem(entry)
        if not reminders:
            self.reminder_label.setText("Every active examiner's training is current.")
            self.reminder_label.setStyleSheet("")
        else:
            cannot = sum(1 for r in reminders if r.state is not TrainingState.EXPIRING)
            soon = len(reminders) - cannot
            parts = []
            if cannot:
                parts.append(f"{cannot} cannot search now")
            if soon:
                parts.append(f"{soon} must renew soon")
            self.reminder_label.setText("Examiners: " + "; ".join(parts) + ".")
            self.reminder_label.setStyleSheet(EXPIRED_STYLE if cannot else "")

    def selected_user(self) -> UserSummary | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.user_at(rows[0].row()) if rows else None

    def select_user(self, user_id: int) -> bool:
        row = self.model.row_of(user_id)
        if row < 0:
            return False
        self.table.selectRow(row)
        self.table.scrollTo(self.model.index(row, 0))
        return True

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        user = self.selected_user()
        self.details.setPlainText(user_details_text(user) if user is not None else "")
        self._update_buttons()

    def _update_buttons(self) -> None:
        user = self.selected_user()
        for button in (self.roles_button, self.reset_button, self.training_button):
            button.setEnabled(user is not None)
        self.active_button.setEnabled(user is not None)
        if user is not None and not user.active:
            self.active_button.setText("&Activate")
            self.active_button.setToolTip("Let the selected user sign in again")
        else:
            self.active_button.setText("&Deactivate")
            self.active_button.setToolTip("Stop the selected user from signing in")
        self.unlock_button.setEnabled(
            user is not None and (user.locked_until is not None or user.failed_logins > 0)
        )

    def _reminder_activated(self, item: QListWidgetItem) -> None:
        user_id = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(user_id, int) and self.select_user(user_id):
            self.table.setFocus()

    # -- actions --------------------------------------------------------------------------
    def _call(self, what: str, call: Callable[[], T]) -> T | None:
        """Run a casework call with a wait cursor; a refusal becomes a plain message."""
        try:
            with wait_cursor():
                return call()
        except FrxError as exc:
            messages.show_error(self, exc, title=what)
            return None

    def _open(self, dialog: QDialog, *, on_accepted: Callable[[], None]) -> QDialog:
        self.dialog = dialog
        dialog.accepted.connect(on_accepted)
        dialog.finished.connect(lambda _code: self._dialog_closed(dialog))
        dialog.open()
        return dialog

    def _dialog_closed(self, dialog: QDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()

    def _changed(self, user_id: int | None) -> None:
        self.refresh(select_user_id=user_id)
        self.changed.emit()

    def add_user(self) -> QDialog:
        def submit(values: NewUser) -> UserSummary:
            with wait_cursor():
                return accounts.create_user(
                    self.ws,
                    by=self.user,
                    username=values.username,
                    display_name=values.display_name,
                    password=values.password,
                    roles=values.roles,
                )

        dialog = QtAddUserDialog(submit=submit, parent=self)
        return self._open(dialog, on_accepted=lambda: self._changed(_result_id(dialog)))

    def edit_roles(self) -> QDialog | None:
        user = self.selected_user()
        if user is None:
            return None
        dialog = QtRolesDialog(
            user,
            submit=lambda roles: accounts.set_roles(
                self.ws, by=self.user, user_id=user.user_id, roles=roles
            ),
            parent=self,
        )
        return self._open(dialog, on_accepted=lambda: self._changed(user.user_id))

    def reset_password(self) -> QDialog | None:
        user = self.selected_user()
        if user is None:
            return None

        def submit(password: str) -> None:
            with wait_cursor():
                accounts.reset_password(
                    self.ws, by=self.user, user_id=user.user_id, new_password=password
                )

        dialog = QtResetPasswordDialog(user, submit=submit, parent=self)

        def done() -> None:
            self._changed(user.user_id)
            messages.show_info(
                self,
                f"The password of {user.display_name} ({user.username}) has been reset.",
                title="Password reset",
            )

        return self._open(dialog, on_accepted=done)

    def add_training(self) -> QDialog | None:
        user = self.selected_user()
        if user is None:
            return None
        dialog = QtTrainingDialog(
            user,
            today=self.ws.now().date(),
            courses=self.ws.profile.training_courses,
            submit=lambda values: self._record_training(user, values),
            parent=self,
        )
        return self._open(dialog, on_accepted=lambda: self._changed(user.user_id))

    def _record_training(self, user: UserSummary, values: NewTraining) -> object:
        return accounts.add_training(
            self.ws,
            by=self.user,
            user_id=user.user_id,
            course=values.course,
            completed_on=values.completed_on,
            expires_on=values.expires_on,
        )

    def toggle_active(self) -> None:
        user = self.selected_user()
        if user is None:
            return
        if user.active:
            question = (
                f"Deactivate {user.display_name} ({user.username})? They can no longer sign "
                "in; their records and the audit log keep their name."
            )
            if not messages.ask_yes_no(self, question, title="Deactivate account"):
                return
        result = self._call(
            "Activate or deactivate",
            lambda: accounts.set_active(
                self.ws, by=self.user, user_id=user.user_id, active=not user.active
            ),
        )
        if result is not None:
            self._changed(user.user_id)

    def unlock(self) -> None:
        user = self.selected_user()
        if user is None:
            return
        result = self._call(
            "Unlock account",
            lambda: accounts.unlock_account(self.ws, by=self.user, user_id=user.user_id),
        )
        if result is not None:
            self._changed(user.user_id)
            messages.show_info(
                self,
                f"{user.display_name} ({user.username}) can sign in again.",
                title="Account unlocked",
            )


@contextmanager
def wait_cursor() -> Iterator[None]:
    """The busy cursor while a casework call (password hashing) runs on the GUI thread."""
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()


def _result_id(dialog: QDialog) -> int | None:
    value = getattr(dialog, "result_value", None)
    return value.user_id if isinstance(value, UserSummary) else None


__all__ = ["QtUserAdminPage", "acknowledgment_text", "user_details_text"]
