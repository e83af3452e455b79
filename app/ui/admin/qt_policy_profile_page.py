"""QtPolicyProfilePage: the unit's policy profile, chosen by an administrator (issue 9).

Shows the profile in force and every profile that can be selected, with its description and the
policy summary an examiner acknowledges. *Select...* asks for the reason, then for confirmation,
and records the change (audited by casework). The choice overrides the ``policy_profile``
setting on every workstation sharing the database; afterwards every examiner must acknowledge
the new version before searching, and the signed-in user is asked at once when they must.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.casework.accounts import SignedInUser
from app.casework.policy_choice import (
    REASON_MIN,
    ProfileChoice,
    available_profiles,
    current_profile,
    profile_selection,
    select_policy_profile,
)
from app.casework.workstation import Workstation
from app.errors import FrxError
from app.policy.profiles import load_profile
from app.ui import facts, messages
from app.ui.admin.page_frame import (
    body_with_margins,
    frame_page,
    page_heading,
    read_only_table,
)
from app.ui.admin.qt_policy_ack import (
    QtPolicyAcknowledgmentDialog,
    ask_for_acknowledgment,
    policy_text,
)
from app.ui.qt_first_run import ERROR_STYLE, show_inline_error
from app.ui.qt_lead_banner import QtLeadBanner

COLUMNS = ("Profile", "Title", "Version", "In force")


def error_label() -> QLabel:
    """A hidden, red, plain-text label for a refusal shown inside a dialog."""
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(ERROR_STYLE)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setObjectName("inlineError")
    label.hide()
    return label


class QtSelectProfileDialog(QDialog):
    """Asks why the policy profile changes; OK stays disabled until a reason is written."""

    def __init__(self, choice: ProfileChoice, current: ProfileChoice, parent: QWidget) -> None:
        super().__init__(parent)
        self.choice = choice
        self.setWindowTitle("Select the policy profile")
        intro = QLabel(
            f"Change the unit's policy profile from {current.label} to {choice.label}.\n\n"
            "Every examiner will have to read and acknowledge the new version before their next "
            "search. The change and its reason are recorded in the audit log."
        )
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        self.reason_edit = QPlainTextEdit()
        self.reason_edit.setObjectName("reason")
        self.reason_edit.setPlaceholderText("Why the unit changes its policy (required)")
        self.error = error_label()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Select...")
        self.ok_button.setEnabled(False)
        self.reason_edit.textChanged.connect(self._reason_changed)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(QLabel("Reason:"))
        layout.addWidget(self.reason_edit, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.resize(560, 320)

    @property
    def reason(self) -> str:
        return " ".join(self.reason_edit.toPlainText().split())

    def _reason_changed(self) -> None:
        self.ok_button.setEnabled(len(self.reason) >= REASON_MIN)


class QtPolicyProfilePage(QWidget):
    """The policy profile in force and the administrator's choice of another."""

    profile_changed = Signal(object)  # the new ProfileChoice

    def __init__(
        self, ws: Workstation, user: SignedInUser, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ws = ws
        self.user = user
        self.choices: list[ProfileChoice] = []
        self.dialog: QtSelectProfileDialog | None = None
        self.ack_dialog: QtPolicyAcknowledgmentDialog | None = None
        self.banner = QtLeadBanner()
        heading = page_heading("Policy profile")
        self.current_label = QLabel()
        self.current_label.setObjectName("currentProfile")
        self.current_label.setWordWrap(True)
        self.current_label.setTextFormat(Qt.TextFormat.PlainText)
        self.selection_label = QLabel()
        self.selection_label.setObjectName("profileSelection")
        self.selection_label.setWordWrap(True)
        self.selection_label.setTextFormat(Qt.TextFormat.PlainText)
        self.problem_label = error_label()
        note = QLabel(
            "The profile selected here overrides the policy_profile setting (FRX_POLICY_PROFILE) "
            "on every workstation of the unit. After a change every examiner acknowledges the "
            "new version before searching again."
        )
        note.setWordWrap(True)

        self.table = read_only_table(COLUMNS)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setObjectName("profileDetails")
        self.select_button = QPushButton("Select...")
        self.select_button.setEnabled(False)
        self.select_button.clicked.connect(self.select_profile)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.select_button)
        buttons.addStretch(1)
        left_layout.addLayout(buttons)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("policyProfileSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.details)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([520, 520])

        body = body_with_margins()
        body.addWidget(heading)
        body.addWidget(self.current_label)
        body.addWidget(self.selection_label)
        body.addWidget(self.problem_label)
        body.addWidget(note)
        body.addWidget(self.splitter, 1)
        frame_page(self, self.banner, body)
        self.refresh()

    # ------------------------------------------------------------------------------ reading
    def refresh(self) -> None:
        try:
            self.choices = available_profiles(self.ws)
            current = current_profile(self.ws)
            selection = profile_selection(self.ws)
        except FrxError as exc:
            messages.show_error(self, exc)
            return
        self.selection_label.setText(selection.text)
        show_inline_error(self.problem_label, selection.problem or "")
        self.current_label.setText(
            f"In force: {current.label}, issued by {current.issuer} [{current.key}]\n"
            f"SHA-256 {current.sha256}"
        )
        self.table.setRowCount(len(self.choices))
        for row, choice in enumerate(self.choices):
            cells = (choice.key, choice.title, choice.version, "yes" if choice.active else "")
            for col, text in enumerate(cells):
                self.table.setItem(row, col, QTableWidgetItem(text))
        active = next((i for i, c in enumerate(self.choices) if c.active), 0)
        if self.choices:
            self.table.selectRow(active)
        self._selection_changed()

    def selected_choice(self) -> ProfileChoice | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.choices):
            return None
        return self.choices[rows[0].row()]

    def select_key(self, key: str) -> None:
        for row, choice in enumerate(self.choices):
            if choice.key == key:
                self.table.selectRow(row)
                return

    def _selection_changed(self) -> None:
        choice = self.selected_choice()
        self.select_button.setEnabled(choice is not None and not choice.active)
        if choice is None:
            self.details.setPlainText("")
            return
        try:
            summary = policy_text(load_profile(choice.key))
        except FrxError as exc:
            summary = messages.error_text(exc)
        state = "This profile is in force." if choice.active else "Not in force."
        self.details.setPlainText(
            f"{state}\n{choice.description}\nFile: {choice.path}\n\n{summary}"
        )

    # ------------------------------------------------------------------------------ changing
    def select_profile(self) -> QtSelectProfileDialog | None:
        choice = self.selected_choice()
        if choice is None or choice.active:
            return None
        current = next((c for c in self.choices if c.active), choice)
        dialog = QtSelectProfileDialog(choice, current, self)
        self.dialog = dialog
        dialog.accepted.connect(lambda: self._confirm(dialog))
        dialog.finished.connect(lambda _code: self._dialog_closed(dialog))
        dialog.open()
        return dialog

    def _dialog_closed(self, dialog: QtSelectProfileDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()

    def _confirm(self, dialog: QtSelectProfileDialog) -> None:
        choice = dialog.choice
        question = (
            f"Make {choice.label} the unit's policy profile?\n\n"
            "Every examiner's next search is refused until they acknowledge it."
        )
        if not messages.ask_yes_no(self, question, title="Change the policy profile"):
            return
        try:
            chosen = select_policy_profile(
                self.ws, by=self.user, name=choice.key, reason=dialog.reason
            )
        except FrxError as exc:
            show_inline_error(dialog.error, messages.error_text(exc))
            messages.show_error(self, exc)
            self.refresh()
            return
        self.refresh()
        self._update_status_bar()
        self.profile_changed.emit(chosen)
        self.ack_dialog = ask_for_acknowledgment(self.ws, self.user, self)
        if self.ack_dialog is None:
            messages.show_info(
                self,
                f"{chosen.label} is now the policy profile in force. Every examiner must "
                "acknowledge it before their next search.",
                title="Policy profile changed",
            )

    def _update_status_bar(self) -> None:
        """The main window's "Policy: ..." status label, when the page lives in one."""
        label = getattr(self.window(), "profile_label", None)
        if isinstance(label, QLabel):
            label.setText(f"Policy: {facts.profile_text(self.ws)}")


__all__ = ["QtPolicyProfilePage", "QtSelectProfileDialog"]
