"""Dialogs for releasing a report (MPTC IV.G): record a dissemination, or pick the one a print or
an export is made for.

:class:`QtDisseminationDialog` asks for the receiving agency, the official, the recipient type
(the profile's list; types that are not law enforcement are shown but marked as refused), the
need-to-know reason and the method, and records the release through casework on a worker. A
refusal (not law enforcement, no need to know, superseded report) is shown inside the dialog,
which stays open. :class:`QtReleasePicker` lists the report's recorded releases and offers to
record a new one; print and export go ahead only with one chosen.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.casework import dissemination
from app.casework.accounts import SignedInUser
from app.casework.report_views import DisseminationSummary, ReportSummary
from app.casework.workstation import Workstation
from app.ui import messages
from app.ui.workers import run_in_background

METHODS = (
    "Printed copy handed over in person",
    "PDF by secure email",
    "PDF on the agency's case management system",
)
ERROR_STYLE = "color: #a40000;"


class QtDisseminationDialog(QDialog):
    """Record one release of a report; ``result_release`` holds it after ``accept``."""

    def __init__(
        self,
        ws: Workstation,
        user: SignedInUser,
        report: ReportSummary,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ws, self.user, self.report = ws, user, report
        self.result_release: DisseminationSummary | None = None
        self.setWindowTitle(f"Record the release of {report.report_number}")
        self.setObjectName("disseminationDialog")
        self.setMinimumWidth(520)

        intro = QLabel(
            f"{report.title}. {ws.profile.report.dissemination_restriction} The release is "
            "recorded before the report is printed or exported."
        )
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        self.agency = QLineEdit()
        self.agency.setObjectName("recipientAgency")
        self.official = QLineEdit()
        self.official.setObjectName("recipientOfficial")
        self.recipient_type = QComboBox()
        self.recipient_type.setObjectName("recipientType")
        for kind in ws.profile.recipient_types:
            label = kind.label if kind.law_enforcement else f"{kind.label} - NOT ALLOWED"
            self.recipient_type.addItem(label, kind.code)
        self.need_to_know = QPlainTextEdit()
        self.need_to_know.setObjectName("needToKnow")
        self.need_to_know.setPlaceholderText("e.g. assigned investigator on this case")
        self.need_to_know.setFixedHeight(70)
        self.method = QComboBox()
        self.method.setObjectName("releaseMethod")
        self.method.setEditable(True)
        self.method.addItems(METHODS)
        self.method.setCurrentIndex(-1)
        self.problem = QLabel("")
        self.problem.setObjectName("releaseProblem")
        self.problem.setWordWrap(True)
        self.problem.setTextFormat(Qt.TextFormat.PlainText)
        self.problem.setStyleSheet(ERROR_STYLE)
        self.problem.hide()

        form = QFormLayout()
        form.addRow("Receiving &agency", self.agency)
        form.addRow("Receiving &official", self.official)
        form.addRow("Recipient &type", self.recipient_type)
        form.addRow("&Need to know", self.need_to_know)
        form.addRow("&Method", self.method)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.record_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.record_button.setText("Record release")
        self.buttons.accepted.connect(self.record)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)

    def record(self) -> None:
        """Record the release through casework (on a worker); refusals stay in the dialog."""
        self.problem.hide()
        self.record_button.setEnabled(False)
        ws, user, report_id = self.ws, self.user, self.report.report_id
        fields = {
            "recipient_agency": self.agency.text(),
            "official": self.official.text(),
            "recipient_type": str(self.recipient_type.currentData() or ""),
            "need_to_know": self.need_to_know.toPlainText(),
            "method": self.method.currentText(),
        }
        run_in_background(
            lambda **_: dissemination.disseminate(ws, user=user, report_id=report_id, **fields),
            on_done=self._recorded,
            on_error=self._refused,
            parent=self,
            description="Recording the release",
            serial=True,
        )

    def _recorded(self, release: DisseminationSummary) -> None:
        self.result_release = release
        self.accept()

    def _refused(self, error: BaseException) -> None:
        self.record_button.setEnabled(True)
        self.problem.setText(messages.error_text(error))
        self.problem.show()


class QtReleasePicker(QDialog):
    """Choose the recorded release a print or export is made for (or record a new one)."""

    def __init__(
        self,
        ws: Workstation,
        user: SignedInUser,
        report: ReportSummary,
        action: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ws, self.user, self.report = ws, user, report
        self.chosen: int | None = None
        self.setWindowTitle(f"{action.capitalize()} {report.report_number}: which release?")
        self.setObjectName("releasePicker")
        self.setMinimumWidth(560)
        intro = QLabel(
            f"A report is {action}ed only for a recorded release (MPTC IV.G). Choose the "
            "release this copy is for, or record a new one."
        )
        intro.setWordWrap(True)
        self.releases = QListWidget()
        self.releases.setObjectName("releaseList")
        for release in report.disseminations:
            item = QListWidgetItem(release.label)
            item.setData(Qt.ItemDataRole.UserRole, release.dissemination_id)
            item.setToolTip(f"Need to know: {release.need_to_know}")
            self.releases.addItem(item)
        if self.releases.count():
            self.releases.setCurrentRow(self.releases.count() - 1)
        self.new_release = QPushButton("Record a &new release...")
        self.new_release.setObjectName("newRelease")
        self.new_release.clicked.connect(self._record_new)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._choose)
        self.buttons.rejected.connect(self.reject)
        self.releases.itemSelectionChanged.connect(self._update)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.releases)
        layout.addWidget(self.new_release)
        layout.addWidget(self.buttons)
        self._update()

    def _update(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(self.releases.currentItem() is not None)

    def _record_new(self) -> None:
        dialog = QtDisseminationDialog(self.ws, self.user, self.report, self)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.result_release is not None:
            self.chosen = dialog.result_release.dissemination_id
            self.accept()

    def _choose(self) -> None:
        item = self.releases.currentItem()
        if item is not None:
            self.chosen = int(item.data(Qt.ItemDataRole.UserRole))
            self.accept()


def pick_release(
    parent: QWidget, ws: Workstation, user: SignedInUser, report: ReportSummary, action: str
) -> int | None:
    """The dissemination id a print or export is for; None when the user cancelled."""
    picker = QtReleasePicker(ws, user, report, action, parent)
    if picker.exec() == QDialog.DialogCode.Accepted:
        return picker.chosen
    return None
