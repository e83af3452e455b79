"""QtLoginDialog: user name and password; a refusal is shown inline as casework words it.

Casework decides everything (wrong password, lockout after repeated failures, deactivated
account) and audits it; this dialog shows the AuthenticationError's sentence under the fields and
keeps the user name so the examiner only retypes the password.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app import APP_NAME
from app.casework import accounts
from app.casework.accounts import SignedInUser
from app.casework.workstation import Workstation
from app.errors import FrxError
from app.ui import facts, messages
from app.ui.qt_first_run import ERROR_STYLE, show_inline_error
from app.ui.qt_lead_banner import QtLeadBanner


class QtLoginDialog(QDialog):
    """Sign in to the workstation; ``user`` is set when the dialog is accepted."""

    signed_in = Signal(object)  # SignedInUser

    def __init__(
        self, ws: Workstation, parent: QWidget | None = None, *, username: str = ""
    ) -> None:
        super().__init__(parent)
        self.ws = ws
        self.user: SignedInUser | None = None
        self.setWindowTitle(f"{APP_NAME}: sign in")
        self.setMinimumWidth(620)
        title = QLabel(f"<h2>{APP_NAME}</h2>")
        title.setTextFormat(Qt.TextFormat.RichText)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        icon = QIcon(self.windowIcon())
        if not icon.isNull():
            title_icon = QLabel()
            title_icon.setPixmap(icon.pixmap(48, 48))
            title_icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        else:
            title_icon = None
        self.username_edit = QLineEdit(username)
        self.username_edit.setObjectName("username")
        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("password")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.error_label = QLabel()
        self.error_label.setObjectName("inlineError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.hide()
        self.buttons = QDialogButtonBox()
        self.sign_in_button = self.buttons.addButton(
            "Sign in", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.sign_in_button.setDefault(True)
        self.quit_button = self.buttons.addButton("Quit", QDialogButtonBox.ButtonRole.RejectRole)
        self.buttons.accepted.connect(self.try_sign_in)
        self.buttons.rejected.connect(self.reject)
        where = QLabel(
            f"Database: {facts.database_text(ws)}\nPolicy profile: {facts.profile_text(ws)}"
        )
        where.setTextFormat(Qt.TextFormat.PlainText)
        where.setStyleSheet("color: #555555;")
        where.setWordWrap(True)
        form = QFormLayout()
        form.addRow("User name:", self.username_edit)
        form.addRow("Password:", self.password_edit)
        layout = QVBoxLayout(self)
        layout.addWidget(QtLeadBanner())
        if title_icon is not None:
            layout.addWidget(title_icon)
        layout.addWidget(title)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        layout.addWidget(where)
        self.username_edit.textEdited.connect(lambda _: show_inline_error(self.error_label, ""))
        self.password_edit.textEdited.connect(lambda _: show_inline_error(self.error_label, ""))
        (self.password_edit if username else self.username_edit).setFocus()

    def try_sign_in(self) -> None:
        """Ask casework; accept on success, else show its sentence and clear the password."""
        username = self.username_edit.text().strip()
        if not username:
            show_inline_error(self.error_label, "Type your user name.")
            self.username_edit.setFocus()
            return
        try:
            user = accounts.sign_in(
                self.ws, username=username, password=self.password_edit.text()
            )
        except FrxError as exc:
            self._refused(str(exc))
            return
        except Exception as exc:  # a bug: logged with its traceback, shown in one line
            messages.log_unexpected(exc, context="signing in")
            self._refused(messages.error_text(exc))
            return
        self.user = user
        self.password_edit.clear()
        self.signed_in.emit(user)
        self.accept()

    def _refused(self, text: str) -> None:
        show_inline_error(self.error_label, text)
        self.password_edit.clear()
        self.password_edit.setFocus()


__all__ = ["QtLoginDialog"]
