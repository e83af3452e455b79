"""QtFirstRunWizard: the first start of a workstation that has no user yet.

Three pages: what the product is (results are investigative leads only), the first administrator
(created through ``accounts.create_first_admin``; refusals are shown inline on the page), and a
summary of the installation (data folder, database, policy profile, model). The new administrator
is then signed in (an audited sign-in) and ``wizard.user`` holds the session. No command line.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from app import APP_NAME
from app.casework import accounts
from app.casework.accounts import SignedInUser
from app.casework.workstation import Workstation
from app.errors import FrxError
from app.ui import facts, messages
from app.ui.qt_lead_banner import QtLeadBanner
from app.ui.qt_password_form import QtNewPasswordFields
from app.ui.workers import run_in_background

log = logging.getLogger(__name__)

ERROR_STYLE = "color: #a40000; font-weight: bold;"

WELCOME_TEXT = (
    f"<p><b>{APP_NAME}</b> helps trained facial examiners search a probe photograph against the "
    "agency's lawfully held arrest photographs, compare each candidate feature by feature, have "
    "a second examiner review the comparison and report the outcome.</p>"
    "<p>A result of this software is an <b>investigative lead only</b>. It is never a positive "
    "identification and never probable cause to arrest: further investigation is always "
    "needed.</p>"
    "<p>Every action is recorded in a tamper-evident audit log. Searches follow the rules of the "
    "agency's policy profile.</p>"
    "<p>This workstation has no user yet. The next page creates the <b>first administrator</b>, "
    "who then adds the examiners and their training records.</p>"
)


def _error_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(ERROR_STYLE)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setObjectName("inlineError")
    label.hide()
    return label


def show_inline_error(label: QLabel, text: str) -> None:
    label.setText(text)
    label.setVisible(bool(text))


class _WelcomePage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle(f"Welcome to {APP_NAME}")
        self.setSubTitle("Facial recognition for investigative leads, under policy, fully audited.")
        text = QLabel(WELCOME_TEXT)
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.addWidget(QtLeadBanner())
        layout.addSpacing(8)
        layout.addWidget(text)
        layout.addStretch(1)


class _AdministratorPage(QWizardPage):
    def __init__(self, wizard: QtFirstRunWizard) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("Create the first administrator")
        self.setSubTitle(
            "The administrator manages accounts, roles and training records. Choose a password "
            "only you know: it cannot be recovered, only reset by another administrator."
        )
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, "Create administrator")
        self.username_edit = QLineEdit()
        self.username_edit.setPlaceholderText("e.g. jsmith")
        self.username_edit.setObjectName("username")
        self.display_name_edit = QLineEdit()
        self.display_name_edit.setPlaceholderText("e.g. Det. Jane Smith")
        self.display_name_edit.setObjectName("displayName")
        self.passwords = QtNewPasswordFields(self)
        self.error_label = _error_label()
        form = QFormLayout()
        form.addRow("User name:", self.username_edit)
        form.addRow("Display name:", self.display_name_edit)
        self.passwords.add_to(form)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        for edit in (self.username_edit, self.display_name_edit):
            edit.textChanged.connect(self._changed)
        self.passwords.changed.connect(self._changed)

    def _changed(self) -> None:
        show_inline_error(self.error_label, "")
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return bool(
            self.username_edit.text().strip()
            and self.display_name_edit.text().strip()
            and self.passwords.password()
            and self.passwords.matches()
        )

    def validatePage(self) -> bool:
        """Create the administrator; a refusal stays on this page as an inline sentence."""
        if not self.passwords.matches():
            show_inline_error(self.error_label, "The two passwords are not the same.")
            return False
        try:
            self._wizard.create_administrator(
                username=self.username_edit.text(),
                display_name=self.display_name_edit.text(),
                password=self.passwords.password(),
            )
        except FrxError as exc:
            show_inline_error(self.error_label, str(exc))
            return False
        except Exception as exc:  # a bug: logged with its traceback, shown in one line
            messages.log_unexpected(exc, context="creating the first administrator")
            show_inline_error(self.error_label, messages.error_text(exc))
            return False
        self.passwords.clear()
        return True


class _SummaryPage(QWizardPage):
    def __init__(self, wizard: QtFirstRunWizard) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("The workstation is ready")
        self.setSubTitle("Finish opens the workstation, signed in as the new administrator.")
        ws = wizard.ws
        self.user_label = QLabel()
        self.data_dir_label = QLabel(str(ws.settings.data_dir))
        self.database_label = QLabel(facts.database_text(ws))
        self.profile_label = QLabel(facts.profile_text(ws))
        self.model_label = QLabel(f"{ws.settings.model_name} (checking...)")
        form = QFormLayout(self)
        for label in (self.data_dir_label, self.database_label, self.profile_label,
                      self.model_label, self.user_label):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
        form.addRow("Signed in as:", self.user_label)
        form.addRow("Data folder:", self.data_dir_label)
        form.addRow("Database:", self.database_label)
        form.addRow("Policy profile:", self.profile_label)
        form.addRow("Face model:", self.model_label)
        note = QLabel(
            "Examiners can search only with a face model installed, a current training record "
            "and the policy profile acknowledged. The administrator records these."
        )
        note.setWordWrap(True)
        form.addRow(note)

    def initializePage(self) -> None:
        user = self._wizard.user
        if user is not None:
            self.user_label.setText(f"{user.display_name} ({user.username}), administrator")
        run_in_background(
            lambda **_: facts.model_state(self._wizard.ws),
            on_done=lambda state: self.model_label.setText(state.text),
            on_error=lambda exc: self.model_label.setText(
                f"{self._wizard.ws.settings.model_name} (unknown)"
            ),
            parent=self,
            description="checking the face model",
        )


class QtFirstRunWizard(QWizard):
    """Welcome, first administrator, summary. ``user`` is the signed-in administrator."""

    administrator_created = Signal(object)  # SignedInUser

    def __init__(self, ws: Workstation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.user: SignedInUser | None = None
        self.setWindowTitle(f"{APP_NAME}: first start")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setMinimumSize(640, 520)
        self.welcome_page = _WelcomePage()
        self.administrator_page = _AdministratorPage(self)
        self.summary_page = _SummaryPage(self)
        for page in (self.welcome_page, self.administrator_page, self.summary_page):
            self.addPage(page)

    def create_administrator(self, *, username: str, display_name: str, password: str) -> None:
        """Create the first administrator and sign them in (both audited)."""
        created = accounts.create_first_admin(
            self.ws, username=username, display_name=display_name, password=password
        )
        self.user = accounts.sign_in(self.ws, username=created.username, password=password)
        self.administrator_created.emit(self.user)


__all__ = ["QtFirstRunWizard", "show_inline_error"]
