"""QtRequestSummary: the top of a case page: what was asked, by whom, for which purpose.

Shows the request as taken in (case and request numbers, purpose with its full wording, status,
requesting officer and agency, offense, narrative, probe source) and, for another agency's
request, whether its written "lead only" acknowledgment is recorded, with a button to record it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.casework.case_views import RequestSummary
from app.ui.case_views import status_label


def _label(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class QtRequestSummary(QFrame):
    """The request's facts in two columns; the acknowledgment button when one is missing."""

    acknowledgment_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("requestSummary")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = _label("requestTitle")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.title.setFont(font)
        self.status = _label("requestStatus")
        self.purpose = _label("requestPurpose")
        self.officer = _label("requestOfficer")
        self.offense = _label("requestOffense")
        self.probe_source = _label("requestProbeSource")
        self.narrative = _label("requestNarrative")
        self.agency = _label("requestAgency")
        self.ack_button = QPushButton("Record &acknowledgment...")
        self.ack_button.setObjectName("recordAcknowledgment")
        self.ack_button.setToolTip(
            "Record that the submitting agency acknowledged in writing that a result is only a "
            "lead (required before any release)."
        )
        self.ack_button.clicked.connect(self.acknowledgment_requested)
        self.ack_button.hide()
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.status)
        grid = QGridLayout()
        grid.setHorizontalSpacing(18)
        grid.setVerticalSpacing(2)
        grid.addWidget(self.purpose, 0, 0, 1, 2)
        grid.addWidget(self.officer, 1, 0)
        grid.addWidget(self.offense, 1, 1)
        grid.addWidget(self.probe_source, 2, 0)
        grid.addWidget(self.narrative, 2, 1)
        agency_row = QHBoxLayout()
        agency_row.addWidget(self.agency, 1)
        agency_row.addWidget(self.ack_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(3)
        layout.addLayout(head)
        layout.addLayout(grid)
        layout.addLayout(agency_row)
        self.summary: RequestSummary | None = None

    def show_request(self, summary: RequestSummary, *, can_acknowledge: bool) -> None:
        self.summary = summary
        self.title.setText(f"Case {summary.case_number}  ·  {summary.request_number}")
        self.status.setText(f"Status: {status_label(summary.status)}")
        self.purpose.setText(f"Purpose {summary.purpose_code}: {summary.purpose_text}")
        self.officer.setText(
            f"Requested by {summary.requesting_officer}, {summary.requesting_agency}"
        )
        self.offense.setText(f"Offense: {summary.offense}")
        self.probe_source.setText(
            f"Probe source: {summary.probe_source.replace('_', ' ')}; "
            f"{summary.probe_obtained_how}"
        )
        narrative = " ".join(summary.narrative.split())
        shown = narrative if len(narrative) <= 160 else narrative[:157] + "..."
        self.narrative.setText(f"Narrative: {shown}")
        self.narrative.setToolTip(summary.narrative)
        if summary.is_interagency:
            if summary.acknowledgment_recorded:
                when = summary.interagency_ack_at
                day = when.astimezone().strftime("%Y-%m-%d") if when else ""
                self.agency.setText(
                    f"Submitted by {summary.submitting_agency}: lead-only acknowledgment "
                    f"recorded ({summary.interagency_ack_by}, {day})."
                )
                self.agency.setStyleSheet("")
                self.ack_button.hide()
            else:
                self.agency.setText(
                    f"Submitted by {summary.submitting_agency}: the written lead-only "
                    "acknowledgment is NOT recorded yet; no result can be released before it."
                )
                self.agency.setStyleSheet("color: #a40000;")
                self.ack_button.setVisible(can_acknowledge)
            self.agency.show()
        else:
            self.agency.setText("")
            self.agency.hide()
            self.ack_button.hide()


__all__ = ["QtRequestSummary"]
