"""QtCaseComparison: the comparison screen of a case, wired to casework.

The examiner's comparison of a candidate starts when the candidate is first shown (time spent
counts from there); every answer is recorded as given; the conclusion goes through casework,
which refuses it until every item is answered; a screenshot is stored as evidence of the case.
Answers are refused by casework unless the ORIGINAL probe is on screen, so the worksheet is
locked while the edited copy is shown. A concluded comparison is read-only; it can then be sent
for the second examiner's blind review, or its review skipped with the recorded reason (where
the profile allows).

Candidate faces are never prepared on the GUI thread: PageUp/PageDown show the next candidate at
once (from the cache, or with a "loading" placeholder and the worksheet locked until its face is
on screen) while a worker prepares it, then its neighbours (see :mod:`app.ui.candidate_faces`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.casework.case_views import ComparisonSummary
from app.ui import messages
from app.ui.candidate_faces import CandidateFaces
from app.ui.case_desk import REVIEW_WORDS, CaseDesk, ProbeShown, SearchShown
from app.ui.case_views import CandidateRow, score_text, worksheet_items
from app.ui.comparison.model import (
    CandidateView,
    FaceSide,
    ItemAnswer,
    ProbeVersion,
    parse_answer,
)
from app.ui.comparison.qt_comparison_screen import QtComparisonScreen
from app.ui.workers import run_in_background, run_with_progress

log = logging.getLogger(__name__)

PREFETCH_AHEAD = 2
PREFETCH_BEHIND = 1


def neighbours(index: int) -> list[int]:
    """The positions to prepare next, most likely first: the following ones, then the previous."""
    return [*range(index + 1, index + PREFETCH_AHEAD + 1),
            *range(index - 1, index - PREFETCH_BEHIND - 1, -1)]


def candidate_views(search: SearchShown) -> list[CandidateView]:
    return [
        CandidateView(
            rank=row.rank,
            score_text=score_text(row.score, search.metric),
            score_tooltip=search.score_tooltip,
            subject_reference=row.subject_reference,
            photo_date=row.photo_date,
            most_recent_photo_date=row.most_recent_photo_date,
            candidate_id=str(row.candidate_id),
        )
        for row in search.rows
    ]


def stored_answers(summary: ComparisonSummary) -> dict[str, ItemAnswer]:
    return {item: ItemAnswer(parse_answer(entry.answer), entry.note)
            for item, entry in summary.answers.items()}


class QtCaseComparison(QWidget):
    """Toolbar (back, state, review actions) over a :class:`QtComparisonScreen`."""

    back_requested = Signal()
    changed = Signal(object)
    loaded = Signal()
    recorded = Signal(object)  # ComparisonSummary after an answer or conclusion was stored

    def __init__(self, desk: CaseDesk, request_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("caseComparison")
        self.desk = desk
        self.request_id = request_id
        self.rows: list[CandidateRow] = []
        self.read_only = True
        self.faces = CandidateFaces(self)
        self._faces_key: tuple[int, tuple[int, ...]] | None = None
        self._summaries: dict[int, ComparisonSummary] = {}  # candidate id -> latest
        self._comparison_ids: dict[int, int] = {}  # candidate id -> id (written by workers too)
        self._ids_lock = threading.Lock()
        self._generation = 0

        self.back_button = QPushButton("< &Back to the case")
        self.back_button.setObjectName("backToCase")
        self.back_button.setToolTip("Return to the case page; every answer is already saved.")
        self.back_button.clicked.connect(self.back_requested)
        self.state_label = QLabel()
        self.state_label.setObjectName("comparisonState")
        self.state_label.setTextFormat(Qt.TextFormat.PlainText)
        self.state_label.setWordWrap(True)
        self.submit_button = QPushButton("Submit for second &review")
        self.submit_button.setObjectName("submitForReview")
        self.submit_button.setToolTip(
            "Send this concluded comparison to another examiner for a blind review."
        )
        self.submit_button.clicked.connect(self.submit_for_review)
        self.skip_button = QPushButton("No second review...")
        self.skip_button.setObjectName("skipReview")
        self.skip_button.setToolTip(
            "Record why a second review is not practicable (only where the policy allows it)."
        )
        self.skip_button.clicked.connect(self.skip_review)
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 2)
        bar.addWidget(self.back_button)
        bar.addWidget(self.state_label, 1)
        bar.addWidget(self.submit_button)
        bar.addWidget(self.skip_button)
        hidden_banner = QWidget()  # the case page's own banner stays above this screen
        hidden_banner.setFixedHeight(0)
        self.compare_screen = QtComparisonScreen(banner=hidden_banner, face_loader=self._face_for)
        self.compare_screen.answer_changed.connect(self._answer_changed)
        self.compare_screen.conclusion_requested.connect(self._conclusion_requested)
        self.compare_screen.candidate_changed.connect(self._candidate_changed)
        self.compare_screen.screenshot_to_case.connect(self._screenshot)
        self.compare_screen.probe_version_changed.connect(lambda _v: self._apply_locks())
        self.compare_screen.candidate_face_shown.connect(lambda _i: self._apply_locks())
        self.faces.ready.connect(self.compare_screen.set_candidate_face)
        self.faces.failed.connect(
            lambda index, exc: self.compare_screen.set_candidate_face_error(index, str(exc)))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.compare_screen, 1)
        self._update_bar()

    # ------------------------------------------------------------------------------ opening
    def open(self, search: SearchShown, shown: ProbeShown, index: int, *,
             read_only: bool) -> None:
        """Load the search's candidates (on a worker) and show candidate ``index``."""
        self._generation += 1
        generation = self._generation
        self.read_only = read_only
        self.rows = list(search.rows)
        desk, request_id = self.desk, self.request_id
        rows = list(self.rows)
        faces_key = (search.search_id, tuple(row.photo_id for row in rows))
        if faces_key != self._faces_key:  # the same search again keeps its prepared faces
            self._faces_key = faces_key
            self.faces.reset(lambda position: desk.candidate_face(rows[position]), len(rows))
        prepared = self.faces.get(index)
        # The neighbours are prepared while the probe and this candidate load.
        self.faces.want(neighbours(index))
        probe_id = search.summary.probe_id
        # The edited copy to switch to: the one searched, else the one shown, else the newest.
        version = search.summary.probe_version_id or 0
        if not version and shown.probe_id == probe_id:
            version = shown.version_id or (
                shown.probe.versions[-1].version_id if shown.probe.versions else 0)
        row = self.rows[index]

        def load(progress: Callable[[int, int, str], None], cancelled: Callable[[], bool]
                 ) -> tuple[FaceSide, FaceSide | None, FaceSide, dict[int, ComparisonSummary]]:
            progress(0, 3, "Preparing the probe")
            original, edited = desk.probe_faces(probe_id, version or 0)
            progress(1, 3, "Preparing the candidate")
            face = prepared if prepared is not None else desk.candidate_face(row)
            progress(2, 3, "Reading earlier answers")
            return original, edited, face, desk.comparisons_of(request_id)

        self.state_label.setText("Loading the comparison...")
        run_with_progress(
            load, parent=self, title="Opening the comparison",
            message="Preparing the probe and the candidate...",
            on_done=lambda result: self._loaded(generation, search, index, result),
            on_error=lambda exc: messages.show_error(self, exc, log_it=False),
            cancellable=False,
        )

    def _loaded(self, generation: int, search: SearchShown, index: int,
                result: tuple[FaceSide, FaceSide | None, FaceSide, dict[int, ComparisonSummary]]
                ) -> None:
        if generation != self._generation:
            return
        original, edited, face, summaries = result
        self.faces.put(index, face)
        self._summaries = dict(summaries)
        with self._ids_lock:
            self._comparison_ids = {cid: s.comparison_id for cid, s in summaries.items()
                                    if s.status == "draft"}
        answers: dict[int, dict[str, ItemAnswer]] = {}
        conclusions: dict[int, str] = {}
        for position, row in enumerate(self.rows):
            summary = summaries.get(row.candidate_id)
            if summary is None:
                continue
            answers[position] = stored_answers(summary)
            if summary.conclusion:
                conclusions[position] = summary.conclusion
        self.compare_screen.load(
            probe=original,
            items=worksheet_items(self.desk.ws.worksheet),
            candidates=candidate_views(search),
            probe_edited=edited,
            conclusion_allowed=self.desk.conclusion_gate,
            answers=answers,
            conclusions=conclusions,
            start_index=index,
        )
        self._candidate_changed(index)
        self.loaded.emit()

    def _face_for(self, candidate: CandidateView) -> FaceSide | None:
        """The prepared face, or None while a worker prepares it (never decoded here)."""
        index = self._index_of(candidate)
        face = self.faces.get(index)
        if face is None:
            self.faces.forget_error(index)  # shown again: a photo that failed is tried again
            self.faces.want([index])  # first in line; the neighbours follow (_candidate_changed)
        return face

    def _index_of(self, candidate: CandidateView) -> int:
        wanted = int(candidate.candidate_id)
        return next(i for i, row in enumerate(self.rows) if row.candidate_id == wanted)

    def _prefetch(self, index: int) -> None:
        """The current face first, then the next ones, then the previous one."""
        self.faces.want([index, *neighbours(index)])

    # ------------------------------------------------------------------------------ state
    def current_row(self) -> CandidateRow | None:
        index = self.compare_screen.current_index()
        return self.rows[index] if 0 <= index < len(self.rows) else None

    def current_summary(self) -> ComparisonSummary | None:
        row = self.current_row()
        return self._summaries.get(row.candidate_id) if row is not None else None

    def _concluded(self, row: CandidateRow | None) -> bool:
        summary = self._summaries.get(row.candidate_id) if row is not None else None
        return summary is not None and summary.status == "concluded"

    def _apply_locks(self) -> None:
        row = self.current_row()
        edited = self.compare_screen.view.probe_version() is ProbeVersion.EDITED
        screen = self.compare_screen
        locked = self.read_only or self._concluded(row) or edited or screen.face_pending()
        screen.worksheet.set_locked(locked or screen.session().answers_locked)
        self._update_bar()

    def _update_bar(self) -> None:
        row = self.current_row()
        summary = self.current_summary()
        words = []
        if row is None:
            words.append("No candidate.")
        elif self.read_only:
            words.append("Read only: you are not the examiner of this request, or it is closed.")
        elif summary is not None and summary.status == "concluded":
            conclusion = (summary.conclusion or "").replace("_", " ")
            review = REVIEW_WORDS.get(summary.review_state, summary.review_state)
            words.append(f"Concluded: {conclusion}; {review}.")
        if row is not None and self.compare_screen.view.probe_version() is ProbeVersion.EDITED:
            words.append("The EDITED copy is shown: switch back to the original (V) to answer; "
                         "decisions are made on the original.")
        self.state_label.setText(" ".join(words))
        concluded = summary is not None and summary.status == "concluded"
        not_submitted = concluded and summary is not None and (
            summary.review_state == "not_submitted")
        self.submit_button.setEnabled(not self.read_only and not_submitted)
        self.skip_button.setEnabled(not self.read_only and not_submitted)
        self.skip_button.setVisible(not self.desk.ws.profile.second_review_required)

    def _candidate_changed(self, index: int) -> None:
        self._prefetch(index)
        row = self.rows[index] if 0 <= index < len(self.rows) else None
        if row is not None and not self.read_only and not self._concluded(row):
            self._serial(lambda: self._ensure_started(row.candidate_id), self._summary_arrived,
                         "starting the comparison")
        self._apply_locks()

    # ------------------------------------------------------------------------------ recording
    def _ensure_started(self, candidate_id: int) -> int:
        """The comparison id of this candidate, starting it first (runs on the writer)."""
        with self._ids_lock:
            known = self._comparison_ids.get(candidate_id)
        if known is not None:
            return known
        summary = self.desk.start_comparison(candidate_id)
        with self._ids_lock:
            self._comparison_ids[candidate_id] = summary.comparison_id
        return summary.comparison_id

    def _serial(self, fn: Callable[[], Any], on_done: Callable[[Any], None], description: str,
                on_error: Callable[[BaseException], None] | None = None) -> None:
        run_in_background(
            lambda progress, cancelled: fn(),
            on_done=on_done,
            on_error=on_error or (lambda exc: messages.show_error(self, exc, log_it=False)),
            parent=self, description=description, serial=True,
        )

    def _summary_arrived(self, summary: ComparisonSummary | int) -> None:
        if isinstance(summary, ComparisonSummary):
            self._summaries[summary.candidate_id] = summary
            self.recorded.emit(summary)
        self._update_bar()

    def _answer_changed(self, index: int, item_id: str, answer: str, note: str) -> None:
        row = self.rows[index]
        if self.read_only or self._concluded(row):
            self._revert(index, item_id)
            return
        against_original = self.compare_screen.view.probe_version() is ProbeVersion.ORIGINAL
        desk = self.desk

        def record() -> ComparisonSummary:
            comparison_id = self._ensure_started(row.candidate_id)
            return desk.record_answer(comparison_id, item_id, answer, note,
                                      against_original=against_original)

        def failed(exc: BaseException) -> None:
            self._revert(index, item_id)
            messages.show_error(self, exc, log_it=False)

        self._serial(record, self._answer_saved, "recording an answer", failed)

    def _answer_saved(self, summary: ComparisonSummary) -> None:
        self._summary_arrived(summary)
        self.compare_screen.mark_saved()

    def _revert(self, index: int, item_id: str) -> None:
        """Put back the stored answer after a refusal (or remove one never stored)."""
        summary = self._summaries.get(self.rows[index].candidate_id)
        stored = summary.answers.get(item_id) if summary is not None else None
        sheet = self.compare_screen.session().worksheet(index)
        if stored is None:
            sheet.clear_answer(item_id)
        else:
            sheet.set_answer(item_id, stored.answer, stored.note)
        if index == self.compare_screen.current_index():
            self.compare_screen.worksheet.set_worksheet(sheet)
            self._apply_locks()

    def _conclusion_requested(self, index: int, conclusion: str) -> None:
        row = self.rows[index]
        if self.read_only or self._concluded(row):
            return
        against_original = self.compare_screen.view.probe_version() is ProbeVersion.ORIGINAL
        desk = self.desk

        def conclude() -> ComparisonSummary:
            return desk.conclude(self._ensure_started(row.candidate_id), conclusion,
                                 against_original=against_original)

        def done(summary: ComparisonSummary) -> None:
            self._summary_arrived(summary)
            self.compare_screen.set_conclusion(conclusion, index)
            with self._ids_lock:
                self._comparison_ids.pop(row.candidate_id, None)  # no longer a draft
            self._apply_locks()
            self.changed.emit(summary)

        self._serial(conclude, done, "recording the conclusion")

    def _screenshot(self, png: bytes, description: str) -> None:
        row = self.current_row()
        if row is None:
            return
        desk = self.desk
        summary = self._summaries.get(row.candidate_id)

        def attach() -> object:
            comparison_id = (summary.comparison_id if summary is not None
                             else self._ensure_started(row.candidate_id))
            return desk.attach_screenshot(comparison_id, png, description)

        def done(attachment: Any) -> None:
            self.state_label.setText(
                f"Screenshot saved to the case (evidence {attachment.evidence_sha256[:12]}...)."
            )
            self.changed.emit(attachment)

        self._serial(attach, done, "saving a screenshot")

    # ------------------------------------------------------------------------------ review
    def submit_for_review(self) -> None:
        summary = self.current_summary()
        if summary is None:
            return
        desk = self.desk
        self._serial(lambda: desk.submit_for_review(summary.comparison_id),
                     lambda entry: self._review_changed(summary.candidate_id, entry),
                     "submitting for review")

    def skip_review(self) -> None:
        summary = self.current_summary()
        if summary is None:
            return
        reason, ok = QInputDialog.getMultiLineText(
            self, "No second review",
            "Why is a second review not practicable? (printed on the report)",
            "Not practicable because ",
        )
        if not ok:
            return
        desk = self.desk
        self._serial(lambda: desk.skip_review(summary.comparison_id, reason),
                     lambda skip: self._review_changed(summary.candidate_id, skip),
                     "recording why there is no second review")

    def _review_changed(self, candidate_id: int, result: object) -> None:
        desk = self.desk

        def reload() -> dict[int, ComparisonSummary]:
            return desk.comparisons_of(self.request_id)

        def done(summaries: dict[int, ComparisonSummary]) -> None:
            self._summaries.update(summaries)
            self._update_bar()

        self._serial(reload, done, "reading the comparison")
        self.changed.emit(result)


__all__ = ["QtCaseComparison", "candidate_views", "stored_answers"]
