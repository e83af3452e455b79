"""QtLockPage: what the main window shows instead of its content while the screen is locked.

Only the signed-in user's name, a password field, Unlock and Sign out: no case content. The
password is checked by the main window through ``accounts.unlock_session`` for the SAME user, so
another person cannot unlock; they can only sign the session out (work not saved is discarded).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.casework.accounts import SignedInUser
from app.ui.qt_first_run import ERROR_STYLE, show_inline_error


class QtLockPage(QWidget):
    """Locked screen; emits ``unlock_requested(password)`` or ``sign_out_requested``."""

    unlock_requested = Signal(str)
    sign_out_requested = Signal()

    def __init__(self, user: SignedInUser, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lockPage")
        self.title_label = QLabel("This workstation is locked")
        font = self.title_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.title_label.setFont(font)
        self.title_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.who_label = QLabel(
            f"In use by {user.display_name} ({user.username}).\n"
            "Enter your password to continue where you left off."
        )
        self.who_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.who_label.setTextFormat(Qt.TextFormat.PlainText)
        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("unlockPassword")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText("Password")
        self.password_edit.setMinimumWidth(260)
        self.unlock_button = QPushButton("Unlock")
        self.unlock_button.setDefault(True)
        self.sign_out_button = QPushButton("Sign out")
        self.sign_out_button.setToolTip(
            "End this session (for another user at this workstation). Work not saved is lost."
        )
        self.error_label = QLabel()
        self.error_label.setObjectName("inlineError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error_label.hide()
        self.other_user_label = QLabel(
            "Someone else? Only the signed-in user can unlock. Sign out ends the session; "
            "then sign in with your own account."
        )
        self.other_user_label.setWordWrap(True)
        self.other_user_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.other_user_label.setStyleSheet("color: #555555;")

        card = QFrame()
        card.setObjectName("lockCard")
        card.setFrameShape(QFrame.Shape.StyledPanel)
        card.setMaximumWidth(520)
        row = QHBoxLayout()
        row.addWidget(self.password_edit, 1)
        row.addWidget(self.unlock_button)
        inner = QVBoxLayout(card)
        inner.setContentsMargins(28, 24, 28, 24)
        inner.setSpacing(12)
        inner.addWidget(self.title_label)
        inner.addWidget(self.who_label)
        inner.addLayout(row)
        inner.addWidget(self.error_label)
        inner.addSpacing(8)
        inner.addWidget(self.other_user_label)
        sign_out_row = QHBoxLayout()
        sign_out_row.addStretch(1)
        sign_out_row.addWidget(self.sign_out_button)
        sign_out_row.addStretch(1)
        inner.addLayout(sign_out_row)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        centre = QHBoxLayout()
        centre.addStretch(1)
        centre.addWidget(card, 2)
        centre.addStretch(1)
        outer.addLayout(centre)
        outer.addStretch(2)

        self.unlock_button.clicked.connect(self._unlock_clicked)
        self.password_edit.returnPressed.connect(self._unlock_clicked)
        self.password_edit.textEdited.connect(lambda _: show_inline_error(self.error_label, ""))
        self.sign_out_button.clicked.connect(self.sign_out_requested)

    def prepare(self) -> None:
        """Fresh state each time the screen locks."""
        self.password_edit.clear()
        show_inline_error(self.error_label, "")
        self.password_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_refusal(self, text: str) -> None:
        show_inline_error(self.error_label, text)
        self.password_edit.clear()
        self.password_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def _unlock_clicked(self) -> None:
        self.unlock_requested.emit(self.password_edit.text())


__all__ = ["QtLockPage"]
