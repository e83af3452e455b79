"""QtReviewPage: the second examiner's blind review of one comparison (MPTC IV.E.2).

The same comparison screen in review mode: the reviewer answers every worksheet item and records
an independent conclusion without seeing the first examiner's. Casework keeps those hidden until
the reviewer's conclusion is recorded (it does not even send them); then they are shown beside
the reviewer's with every difference highlighted, and the page says whether the two agree (a
disagreement goes back to the first examiner and to the supervisors).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.casework.case_views import RequestSummary, ReviewView
from app.ui import messages
from app.ui.case_desk import CaseDesk, SearchShown
from app.ui.case_views import score_text, worksheet_items
from app.ui.comparison.model import CandidateView, FaceSide, ItemAnswer, parse_answer
from app.ui.comparison.qt_comparison_screen import QtComparisonScreen
from app.ui.qt_lead_banner import QtLeadBanner
from app.ui.workers import run_in_background, run_with_progress

BLIND_TEXT = (
    "Blind review: answer every item and record your own conclusion. The first examiner's "
    "answers and conclusion stay hidden until yours is recorded."
)


class QtReviewPage(QWidget):
    """One blind second review."""

    changed = Signal(object)
    close_requested = Signal()
    loaded = Signal(object)  # ReviewView
    revealed = Signal(object)  # ReviewView with the first examiner's record

    def __init__(self, desk: CaseDesk, comparison_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reviewPage")
        self.desk = desk
        self.comparison_id = comparison_id
        self.view: ReviewView | None = None
        self.back_button = QPushButton("< Back to the &queue")
        self.back_button.clicked.connect(self.close_requested)
        self.state_label = QLabel(BLIND_TEXT)
        self.state_label.setObjectName("reviewState")
        self.state_label.setWordWrap(True)
        self.state_label.setTextFormat(Qt.TextFormat.PlainText)
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 2)
        bar.addWidget(self.back_button)
        bar.addWidget(self.state_label, 1)
        self.banner = QtLeadBanner()
        self.case_label = QLabel()
        self.case_label.setObjectName("reviewCase")
        self.case_label.setTextFormat(Qt.TextFormat.PlainText)
        self.case_label.setWordWrap(True)
        font = self.case_label.font()
        font.setBold(True)
        self.case_label.setFont(font)
        hidden_banner = QWidget()  # this page's own banner is at its very top
        hidden_banner.setFixedHeight(0)
        self.compare_screen = QtComparisonScreen(banner=hidden_banner)
        self.compare_screen.answer_changed.connect(self._answer_changed)
        self.compare_screen.conclusion_requested.connect(self._conclusion_requested)
        self.compare_screen.screenshot_to_case.connect(self._screenshot)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        case_row = QHBoxLayout()
        case_row.setContentsMargins(6, 4, 6, 0)
        case_row.addWidget(self.case_label, 1)
        layout.addLayout(case_row)
        layout.addLayout(bar)
        layout.addWidget(self.compare_screen, 1)

    @property
    def review_id(self) -> int | None:
        return self.view.review.review_id if self.view is not None else None

    # ------------------------------------------------------------------------------ loading
    def start(self) -> None:
        """Take (or resume) the review and show the pair, blind."""
        desk, comparison_id = self.desk, self.comparison_id

        def load(progress: Callable[[int, int, str], None], cancelled: Callable[[], bool]
                 ) -> tuple[ReviewView, FaceSide, FaceSide, SearchShown, RequestSummary]:
            view = desk.start_review(comparison_id)
            probe, candidate = desk.pair_faces(view.pair)
            search = desk.search(view.pair.candidate.search_id)
            return view, probe, candidate, search, desk.request(view.review.request_id)

        run_with_progress(
            load, parent=self, title="Opening the review",
            message="Preparing the probe and the candidate...",
            on_done=self._loaded,
            on_error=lambda exc: messages.show_error(self, exc, log_it=False),
            cancellable=False, serial=True,
        )

    def _loaded(
        self, result: tuple[ReviewView, FaceSide, FaceSide, SearchShown, RequestSummary]
    ) -> None:
        view, probe, candidate_face, search, request = result
        self.view = view
        self.case_label.setText(
            f"Second review · Case {request.case_number} · {request.request_number} · "
            f"purpose {request.purpose_code}: {request.purpose_text}"
        )
        pair = view.pair
        candidate = CandidateView(
            rank=pair.candidate.rank,
            score_text=score_text(pair.candidate.score, search.metric),
            score_tooltip=search.score_tooltip,
            subject_reference=pair.candidate.subject_reference,
            photo_date=pair.candidate.photo_date,
            most_recent_photo_date=pair.candidate.most_recent_photo_date,
            face=candidate_face,
            candidate_id=str(pair.candidate.candidate_id),
        )
        own = {item: ItemAnswer(parse_answer(value["answer"]), value.get("note", ""))
               for item, value in view.review.answers.items()}
        screen = self.compare_screen
        screen.load(
            probe=probe,
            items=worksheet_items(view.worksheet),
            candidates=[candidate],
            conclusion_allowed=self.desk.conclusion_gate,
            answers={0: own},
        )
        screen.set_review_mode(blind=True)
        if view.review.conclusion:
            screen.set_conclusion(view.review.conclusion, 0)
        if view.first_examiner is not None:
            self._reveal(view)
        else:
            self.state_label.setText(BLIND_TEXT)
        self.loaded.emit(view)

    # ------------------------------------------------------------------------------ recording
    def _serial(self, fn: Callable[[], Any], on_done: Callable[[Any], None], description: str
                ) -> None:
        run_in_background(
            lambda progress, cancelled: fn(), on_done=on_done,
            on_error=lambda exc: messages.show_error(self, exc, log_it=False),
            parent=self, description=description, serial=True,
        )

    def _answer_changed(self, _index: int, item_id: str, answer: str, note: str) -> None:
        review_id = self.review_id
        if review_id is None or self.view is None or self.view.review.status != "in_progress":
            return
        desk = self.desk
        self._serial(lambda: desk.record_review_answer(review_id, item_id, answer, note),
                     lambda _summary: self.compare_screen.mark_saved(), "recording an answer")

    def _conclusion_requested(self, _index: int, conclusion: str) -> None:
        review_id = self.review_id
        if review_id is None:
            return
        desk = self.desk

        def done(view: ReviewView) -> None:
            self.view = view
            self.compare_screen.set_conclusion(conclusion, 0)
            self._reveal(view)
            self.changed.emit(view.review)

        self._serial(lambda: desk.record_review(review_id, conclusion), done,
                     "recording the review")

    def _reveal(self, view: ReviewView) -> None:
        first = view.first_examiner
        if first is None:
            return
        answers = {item: ItemAnswer(parse_answer(entry.answer), entry.note)
                   for item, entry in first.answers.items()}
        self.compare_screen.reveal_first_examiner(answers, first.conclusion)
        session = self.compare_screen.session()
        differences = session.difference_count()
        differing = [row.item_id for row in session.review_rows() if row.differs]
        if differing:  # take the reviewer straight to the first difference
            self.compare_screen.worksheet.select_item(differing[0])
        review = view.review
        if review.agreement:
            verdict = "You agree with the first examiner's conclusion."
        else:
            verdict = ("You DISAGREE with the first examiner's conclusion: the request goes back "
                       "to them and to a supervisor.")
        items = "item differs" if differences == 1 else "items differ"
        self.state_label.setText(
            f"Review recorded. {verdict} {differences} worksheet {items} "
            f"(first examiner: {first.examiner})."
        )
        self.revealed.emit(view)

    def _screenshot(self, png: bytes, description: str) -> None:
        desk, comparison_id = self.desk, self.comparison_id
        self._serial(lambda: desk.attach_screenshot(comparison_id, png, description),
                     lambda attachment: self.state_label.setText(
                         "Screenshot saved to the case."), "saving a screenshot")


__all__ = ["BLIND_TEXT", "QtReviewPage"]
