"""QtChangePasswordDialog: the signed-in user changes their own password.

The current password is checked by casework (a wrong one counts towards the lockout); the new
one must pass the password rules, whose sentence is shown inline.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.casework import accounts
from app.casework.accounts import SignedInUser
from app.casework.workstation import Workstation
from app.errors import FrxError
from app.ui import messages
from app.ui.qt_first_run import ERROR_STYLE, show_inline_error
from app.ui.qt_password_form import QtNewPasswordFields


class QtChangePasswordDialog(QDialog):
    def __init__(self, ws: Workstation, user: SignedInUser, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.user = user
        self.setWindowTitle("Change password")
        self.setMinimumWidth(460)
        self.current_edit = QLineEdit()
        self.current_edit.setObjectName("currentPassword")
        self.current_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.new_fields = QtNewPasswordFields(self, label="New password")
        self.error_label = QLabel()
        self.error_label.setObjectName("inlineError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Change password")
        self.buttons.accepted.connect(self.try_change)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Signed in as:", QLabel(f"{user.display_name} ({user.username})"))
        form.addRow("Current password:", self.current_edit)
        self.new_fields.add_to(form)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.current_edit.textEdited.connect(lambda _: show_inline_error(self.error_label, ""))
        self.new_fields.changed.connect(lambda: show_inline_error(self.error_label, ""))

    def try_change(self) -> None:
        if not self.new_fields.matches():
            show_inline_error(self.error_label, "The two new passwords are not the same.")
            return
        try:
            accounts.change_password(
                self.ws,
                user=self.user,
                old_password=self.current_edit.text(),
                new_password=self.new_fields.password(),
            )
        except FrxError as exc:
            show_inline_error(self.error_label, str(exc))
            self.current_edit.clear()
            return
        except Exception as exc:  # a bug: logged with its traceback, shown in one line
            messages.log_unexpected(exc, context="changing the password")
            show_inline_error(self.error_label, messages.error_text(exc))
            return
        self.current_edit.clear()
        self.new_fields.clear()
        self.accept()


__all__ = ["QtChangePasswordDialog"]
