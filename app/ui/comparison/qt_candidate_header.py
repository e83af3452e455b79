"""QtCandidateHeader: which candidate is shown, with previous/next and the screenshot button.

The score is shown as the model gives it, with a tooltip on what it means; it is never turned into
a "percent match". The candidate's photo date is shown beside the subject's most recent photo
date, flagged when a newer photo exists.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from app.ui.comparison.model import CandidateView

SCORE_NOTE = (
    "This is the face model's similarity score, used only to rank candidates. It is not a "
    "probability and not a percentage of identity; a high score is not an identification."
)


def _date(value: date | None) -> str:
    return value.isoformat() if value is not None else "unknown"


class QtCandidateHeader(QWidget):
    """Candidate position, rank, score (with its meaning), subject reference and photo dates."""

    previous_requested = Signal()
    next_requested = Signal()
    screenshot_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.previous_button = QPushButton("◀ Previous")
        self.previous_button.setToolTip("Previous candidate (Page Up); zoom and pan are kept")
        self.next_button = QPushButton("Next ▶")
        self.next_button.setToolTip("Next candidate (Page Down); zoom and pan are kept")
        self.previous_button.clicked.connect(self.previous_requested)
        self.next_button.clicked.connect(self.next_requested)
        self.position_label = QLabel()
        self.rank_label = QLabel()
        self.score_label = QLabel()
        self.score_label.setCursor(Qt.CursorShape.WhatsThisCursor)
        self.subject_label = QLabel()
        self.photo_label = QLabel()
        self.recent_label = QLabel()
        self.screenshot_button = QPushButton("Save screenshot to case")
        self.screenshot_button.setToolTip(
            "Store a picture of the comparison as shown in the case file (Ctrl+Shift+S)"
        )
        self.screenshot_button.clicked.connect(self.screenshot_requested)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 2, 4, 2)
        row.addWidget(self.previous_button)
        row.addWidget(self.next_button)
        for label in (self.position_label, self.rank_label, self.score_label,
                      self.subject_label, self.photo_label, self.recent_label):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            row.addSpacing(6)
            row.addWidget(label)
        row.addStretch(1)
        row.addWidget(self.screenshot_button)
        self.show_candidate(None, "No candidates", False, False)

    def show_candidate(self, candidate: CandidateView | None, position: str,
                       has_previous: bool, has_next: bool) -> None:
        self.previous_button.setEnabled(has_previous)
        self.next_button.setEnabled(has_next)
        self.position_label.setText(f"<b>{position}</b>")
        if candidate is None:
            for label in (self.rank_label, self.score_label, self.subject_label,
                          self.photo_label, self.recent_label):
                label.clear()
            self.screenshot_button.setEnabled(False)
            return
        self.screenshot_button.setEnabled(True)
        self.rank_label.setText(f"Rank <b>{candidate.rank}</b>")
        self.score_label.setText(f"Score <b>{candidate.score_text}</b> <u>(?)</u>")
        tip = candidate.score_tooltip.strip()
        self.score_label.setToolTip(f"{tip}\n\n{SCORE_NOTE}" if tip else SCORE_NOTE)
        self.subject_label.setText(f"Subject <b>{candidate.subject_reference}</b>")
        self.photo_label.setText(f"Photo date <b>{_date(candidate.photo_date)}</b>")
        recent = candidate.most_recent_photo_date
        if candidate.has_newer_photo:
            self.recent_label.setText(
                f"<span style='color:#ffb000'>Most recent photo <b>{_date(recent)}</b> "
                "(newer than this one)</span>"
            )
            self.recent_label.setToolTip(
                "The gallery holds a more recent photo of this subject than the one shown."
            )
        else:
            self.recent_label.setText(f"Most recent photo <b>{_date(recent)}</b>")
            self.recent_label.setToolTip("")
