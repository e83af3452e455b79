"""QtNewPasswordFields: a new password typed twice, with a live strength and match hint.

Used by the first-run wizard and the change-password dialog. The hint only guides: the rules are
checked by casework (``accounts.check_password_rules``) and its sentence is what is shown on error.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit

from app.casework.account_rules import PASSWORD_MIN_LENGTH

HINT_STYLE = "color: #444444;"


def password_strength_hint(password: str) -> str:
    """A plain hint about a new password: too short, weak, fair or strong."""
    if not password:
        return f"Use at least {PASSWORD_MIN_LENGTH} characters; a short sentence works well."
    missing = PASSWORD_MIN_LENGTH - len(password)
    if missing > 0:
        more = "1 more character" if missing == 1 else f"{missing} more characters"
        return f"Too short: type {more} (at least {PASSWORD_MIN_LENGTH})."
    kinds = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    distinct = len(set(password))
    if distinct < 5:
        return "Weak: too many repeated characters."
    score = len(password) + 4 * kinds
    if score >= 28:
        return "Strength: strong."
    if score >= 20:
        return "Strength: fair. A longer password would be stronger."
    return "Strength: weak. Make it longer or mix letters, digits and symbols."


class QtNewPasswordFields(QObject):
    """Password and repeat fields with hint lines, placed into the caller's form layout.

    ``changed`` fires on every keystroke. The fields join the caller's QFormLayout (see
    :meth:`add_to`) so their labels line up with the form's other rows.
    """

    changed = Signal()

    def __init__(self, parent: QObject | None = None, *, label: str = "Password") -> None:
        super().__init__(parent)
        self.label = label
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setObjectName("newPassword")
        self.repeat_edit = QLineEdit()
        self.repeat_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat_edit.setObjectName("repeatPassword")
        self.hint_label = QLabel()
        self.hint_label.setWordWrap(True)
        self.hint_label.setObjectName("passwordHint")
        self.hint_label.setStyleSheet(HINT_STYLE)
        self.match_label = QLabel()
        self.match_label.setObjectName("passwordMatch")
        self.match_label.setStyleSheet(HINT_STYLE)
        self.password_edit.textChanged.connect(self._update)
        self.repeat_edit.textChanged.connect(self._update)
        self._update()

    def add_to(self, form: QFormLayout) -> None:
        """Append the four rows (field, hint, repeat field, match) to ``form``."""
        form.addRow(f"{self.label}:", self.password_edit)
        form.addRow("", self.hint_label)
        form.addRow(f"{self.label} again:", self.repeat_edit)
        form.addRow("", self.match_label)

    def password(self) -> str:
        return self.password_edit.text()

    def matches(self) -> bool:
        return self.password_edit.text() == self.repeat_edit.text()

    def clear(self) -> None:
        self.password_edit.clear()
        self.repeat_edit.clear()

    def _update(self) -> None:
        self.hint_label.setText(password_strength_hint(self.password_edit.text()))
        if not self.repeat_edit.text():
            self.match_label.setText("")
        elif self.matches():
            self.match_label.setText("The two passwords match.")
        else:
            self.match_label.setText("The two passwords do not match yet.")
        self.changed.emit()


__all__ = ["QtNewPasswordFields", "password_strength_hint"]
