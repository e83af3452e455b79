"""QtComparisonScreen: banner, candidate header, comparison view, feature strip and worksheet.

The screen shows plain data (see :mod:`app.ui.comparison.model`) and reports what the examiner
does through signals; the caller records it through casework and reflects the outcome back
(:meth:`set_conclusion`, :meth:`reveal_first_examiner`). It never records anything itself.

A candidate's face may come later than the candidate: a ``face_loader`` that returns None means
"being prepared"; the screen then shows the candidate at once with a "loading" placeholder, keeps
the worksheet locked (nothing is answered without the photo on screen) and shows the face when
the caller hands it over with :meth:`set_candidate_face` (ignored if the examiner moved on).

Keys: Page Up / Page Down previous/next candidate (zoom and pan kept), Ctrl+Shift+S screenshot
to the case, F6 / Shift+F6 move between view, worksheet and feature strip, Alt+1/2/3 and Alt+N
answer the current worksheet item from anywhere; the view's and worksheet's own keys as
documented in their modules.
"""

from __future__ import annotations

import base64
import importlib
import itertools
import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from functools import partial

from PySide6.QtCore import QByteArray, QRect, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QKeySequence, QPainter, QShortcut, QShowEvent
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from app.ui.comparison.model import (
    Answer,
    CandidateView,
    ComparisonMode,
    ComparisonSessionModel,
    Conclusion,
    ConclusionGate,
    FaceSide,
    ItemAnswer,
    Layer,
    ProbeVersion,
    WorksheetItemView,
)
from app.ui.comparison.qt_candidate_header import QtCandidateHeader
from app.ui.comparison.qt_comparison_view import QtComparisonView, pixmap_png
from app.ui.comparison.qt_feature_strip import QtFeatureStrip
from app.ui.comparison.qt_worksheet_panel import QtWorksheetPanel

log = logging.getLogger(__name__)

BANNER_TEXT = "INVESTIGATIVE LEAD ONLY - NOT PROBABLE CAUSE TO ARREST"
FACE_CACHE_SIZE = 8
_STATE_VERSION = 1

FaceLoader = Callable[[CandidateView], FaceSide | None]
"""A candidate's face when ``CandidateView.face`` is None (called on the GUI thread, so it must be
quick); None when it is still being prepared (see :meth:`QtComparisonScreen.set_candidate_face`)."""
LOADING_TEXT = "Loading the candidate's photo..."


def _default_banner() -> QWidget:
    """The shell's QtLeadBanner when it exists, else a plain label with the same words."""
    try:
        module = importlib.import_module("app.ui.qt_lead_banner")
        banner: QWidget = module.QtLeadBanner()
        return banner
    except (ImportError, AttributeError, TypeError):
        label = QLabel(BANNER_TEXT)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setStyleSheet(
            "background:#8b0000; color:white; font-weight:bold; font-size:13pt; padding:4px;"
        )
        label.setAccessibleName(BANNER_TEXT)
        return label


class QtComparisonScreen(QWidget):
    """The examiner's comparison screen over one probe and its candidate list."""

    answer_changed = Signal(int, str, str, str)  # candidate index, item id, answer, note
    conclusion_requested = Signal(int, str)  # candidate index, conclusion value
    candidate_changed = Signal(int)
    screenshot_to_case = Signal(bytes, str)  # PNG bytes, plain description
    probe_version_changed = Signal(str)
    candidate_face_shown = Signal(int)  # a face that was loading is now on screen (index)

    def __init__(self, parent: QWidget | None = None, *, banner: QWidget | None = None,
                 face_loader: FaceLoader | None = None) -> None:
        super().__init__(parent)
        self._face_loader = face_loader
        self._faces: OrderedDict[int, FaceSide] = OrderedDict()
        self._session = ComparisonSessionModel((), ())
        self._probe: FaceSide | None = None
        self._pending = False  # the current candidate's face is still being prepared

        self.banner = banner if banner is not None else _default_banner()
        self.header = QtCandidateHeader()
        self.view = QtComparisonView()
        self.worksheet = QtWorksheetPanel()
        self.strip = QtFeatureStrip()
        self.top_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.top_splitter.addWidget(self.view)
        self.top_splitter.addWidget(self.worksheet)
        self.top_splitter.setStretchFactor(0, 3)
        self.top_splitter.setStretchFactor(1, 1)
        self.main_splitter = QSplitter(Qt.Orientation.Vertical)
        self.main_splitter.addWidget(self.top_splitter)
        self.main_splitter.addWidget(self.strip)
        self.main_splitter.setStretchFactor(0, 4)
        self.main_splitter.setStretchFactor(1, 1)
        for splitter in (self.top_splitter, self.main_splitter):
            splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.banner)
        layout.addWidget(self.header)
        layout.addWidget(self.main_splitter, 1)

        self.header.previous_requested.connect(self.previous_candidate)
        self.header.next_requested.connect(self.next_candidate)
        self.header.screenshot_requested.connect(self.save_screenshot)
        self.worksheet.answer_changed.connect(self._answer_changed)
        self.worksheet.conclusion_requested.connect(
            lambda value: self.conclusion_requested.emit(self._session.current_index, value)
        )
        self.worksheet.current_item_changed.connect(self.strip.set_selected_item)
        self.strip.item_requested.connect(lambda item_id: self.worksheet.select_item(item_id, True))
        self.view.probe_version_changed.connect(self._probe_version_changed)
        self._install_shortcuts()
        self._set_tab_order()
        self._layout_restored = False
        self._show_current()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._layout_restored:
            # First show without a saved layout: about two thirds of the width for the pictures.
            self._layout_restored = True
            width = max(self.top_splitter.width(), 600)
            self.top_splitter.setSizes([round(width * 0.64), round(width * 0.36)])
            height = max(self.main_splitter.height(), 400)
            strip = self.strip.minimumHeight()
            self.main_splitter.setSizes([height - strip, strip])

    def _install_shortcuts(self) -> None:
        def add(key: str, slot: Callable[[], object]) -> None:
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

        add("PgDown", self.next_candidate)
        add("PgUp", self.previous_candidate)
        add("Ctrl+Shift+S", self.save_screenshot)
        add("F6", lambda: self._cycle_focus(+1))
        add("Shift+F6", lambda: self._cycle_focus(-1))
        for key, answer in (("1", Answer.SIMILAR), ("2", Answer.NOT_SIMILAR),
                            ("3", Answer.NOT_VISIBLE)):
            add(f"Alt+{key}", partial(self.worksheet.answer_current, answer))
        add("Alt+N", self.worksheet.go_to_next_unanswered)

    def _set_tab_order(self) -> None:
        chain = [self.header.previous_button, self.header.next_button,
                 self.header.screenshot_button, self.view.probe_pane, self.view.candidate_pane,
                 self.view.blend_pane]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    def _areas(self) -> list[QWidget]:
        return [self.view.active_pane(), self.worksheet, self.strip]

    def _cycle_focus(self, step: int) -> None:
        areas = self._areas()
        focus = self.focusWidget()
        current = next((i for i, a in enumerate(areas)
                        if focus is not None and (focus is a or a.isAncestorOf(focus))), -1)
        target = areas[(current + step) % len(areas)]
        if target is self.worksheet:
            self.worksheet.select_item(self.worksheet.current_item_id(), focus=True)
        elif target is self.strip and self.strip.pairs:
            next(iter(self.strip.pairs.values())).setFocus(Qt.FocusReason.ShortcutFocusReason)
        else:
            target.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # -- loading ----------------------------------------------------------------------------
    def load(
        self,
        *,
        probe: FaceSide,
        items: Sequence[WorksheetItemView],
        candidates: Sequence[CandidateView],
        probe_edited: FaceSide | None = None,
        conclusion_allowed: ConclusionGate | None = None,
        answers: Mapping[int, Mapping[str, ItemAnswer | Answer | str]] | None = None,
        conclusions: Mapping[int, Conclusion | str] | None = None,
        start_index: int = 0,
    ) -> None:
        """Show a probe, the worksheet definition and the candidate list (stored answers too)."""
        self._session = ComparisonSessionModel(items, candidates, conclusion_allowed)
        for index, stored in (answers or {}).items():
            self._session.load_answers(index, stored, (conclusions or {}).get(index))
        for index, conclusion in (conclusions or {}).items():
            if index not in (answers or {}):
                self._session.record_conclusion(conclusion, index)
        self._faces.clear()
        self._probe = probe
        self.view.set_probe(probe, probe_edited)
        self.strip.set_probe_caption("Probe: original")
        self.strip.set_items(items)
        self.worksheet.set_conclusion_gate(conclusion_allowed)
        self.worksheet.set_review_mode(False)
        self._session.go_to(start_index)
        self._show_current()

    def session(self) -> ComparisonSessionModel:
        return self._session

    def _face(self, index: int) -> FaceSide | None:
        candidate = self._session.candidates[index]
        if candidate.face is not None:
            return candidate.face
        if index in self._faces:
            self._faces.move_to_end(index)
            return self._faces[index]
        if self._face_loader is None:
            return None
        face = self._face_loader(candidate)
        if face is not None:
            self._remember(index, face)
        return face

    def _remember(self, index: int, face: FaceSide) -> None:
        self._faces[index] = face
        self._faces.move_to_end(index)
        while len(self._faces) > FACE_CACHE_SIZE:
            self._faces.popitem(last=False)

    def set_candidate_face(self, index: int, face: FaceSide) -> None:
        """A face the loader reported as being prepared; shown only if still the current one."""
        if not 0 <= index < len(self._session.candidates):
            return
        self._remember(index, face)
        if index != self._session.current_index or not self._pending:
            return  # the examiner moved on: kept for when they come back
        self._show_face(self._session.current_candidate, face)
        self._refresh_review()
        self.candidate_face_shown.emit(index)

    def set_candidate_face_error(self, index: int, message: str) -> None:
        """Candidate ``index``'s face could not be prepared: say so (the worksheet stays locked)."""
        if index == self._session.current_index and self._pending:
            self.view.set_candidate(None, self._caption(self._session.current_candidate),
                                    placeholder=f"The photo cannot be shown: {message}")

    def face_pending(self) -> bool:
        """Whether the current candidate's face is still being prepared (or failed)."""
        return self._pending

    def _caption(self, candidate: CandidateView | None) -> str:
        if candidate is None:
            return "none"
        return f"#{candidate.rank} · {candidate.subject_reference}"

    def _show_current(self) -> None:
        session = self._session
        candidate = session.current_candidate
        index = session.current_index
        self.header.show_candidate(candidate, session.position_text(), index > 0,
                                   index + 1 < len(session.candidates))
        face = self._face(index) if candidate is not None else None
        self._show_face(candidate, face)
        if candidate is not None:
            self.worksheet.set_worksheet(session.worksheet())
        self._refresh_review()

    def _show_face(self, candidate: CandidateView | None, face: FaceSide | None) -> None:
        self._pending = candidate is not None and face is None and self._face_loader is not None
        caption = self._caption(candidate)
        self.view.set_candidate(face, f"{caption} · loading..." if self._pending else caption,
                                placeholder=LOADING_TEXT if self._pending else "")
        self.strip.set_faces(self.view.probe(), face)

    # -- navigation -------------------------------------------------------------------------
    def current_index(self) -> int:
        return self._session.current_index

    def go_to_candidate(self, index: int) -> bool:
        if not self._session.go_to(index):
            return False
        self._show_current()
        self.candidate_changed.emit(index)
        return True

    def next_candidate(self) -> bool:
        return self.go_to_candidate(self._session.current_index + 1)

    def previous_candidate(self) -> bool:
        return self.go_to_candidate(self._session.current_index - 1)

    def _probe_version_changed(self, version: str) -> None:
        self.strip.set_faces(self.view.probe(), self.view.candidate())
        edited = version == ProbeVersion.EDITED.value
        self.strip.set_probe_caption("Probe: EDITED copy" if edited else "Probe: original", edited)
        self.probe_version_changed.emit(version)

    # -- answers and conclusions ------------------------------------------------------------
    def _answer_changed(self, item_id: str, answer: str, note: str) -> None:
        self._session.mark_dirty()
        self.answer_changed.emit(self._session.current_index, item_id, answer, note)

    def set_conclusion(self, conclusion: Conclusion | str, index: int | None = None) -> None:
        """Reflect a conclusion the caller has recorded (through casework)."""
        position = self._session.current_index if index is None else index
        self._session.record_conclusion(conclusion, position)
        if position == self._session.current_index:
            self.worksheet.set_recorded_conclusion(conclusion)

    def is_dirty(self) -> bool:
        return self._session.dirty

    def mark_saved(self) -> None:
        self._session.mark_saved()

    # -- second-examiner review -------------------------------------------------------------
    def set_review_mode(self, blind: bool = True, enabled: bool = True) -> None:
        """Second examiner's review: the first examiner's work hidden (blind) until revealed."""
        self._session.set_review_mode(enabled=enabled, blind=blind)
        self.worksheet.set_review_mode(enabled, blind)
        self._refresh_review()

    def reveal_first_examiner(self, answers: Mapping[str, ItemAnswer | Answer | str],
                              conclusion: Conclusion | str | None) -> None:
        """Show the first examiner's answers beside the reviewer's (current candidate).

        Raises PolicyViolation in blind mode until the reviewer has answered every item and the
        caller has recorded the reviewer's conclusion with :meth:`set_conclusion`.
        """
        self._session.reveal_first_examiner(answers, conclusion)
        self._refresh_review()

    def _refresh_review(self) -> None:
        session = self._session
        if not session.candidates:
            return
        self.worksheet.set_locked(session.answers_locked or self._pending)
        if session.first_examiner_visible():
            self.worksheet.show_first_examiner(
                session.review_rows(), session.first_conclusion(), session.worksheet().conclusion
            )

    # -- screenshot -------------------------------------------------------------------------
    def screenshot_description(self) -> str:
        candidate = self._session.current_candidate
        who = (f"candidate rank {candidate.rank}, subject {candidate.subject_reference}"
               if candidate else "no candidate")
        return (f"Comparison screenshot: {who}; probe {self.view.probe_version().value}; "
                f"mode {self.view.mode().label.lower()}")

    def capture_screenshot(self) -> bytes:
        """PNG bytes: the banner words and what is compared, over the view as shown."""
        shot = self.view.display.grab().toImage()
        band = 46
        image = QImage(shot.width(), shot.height() + band, QImage.Format.Format_RGB32)
        image.fill(QColor(20, 20, 20))
        painter = QPainter(image)
        painter.fillRect(QRect(0, 0, image.width(), 24), QColor(139, 0, 0))
        font = QFont(self.font())
        font.setBold(True)
        font.setPointSizeF(10.5)
        painter.setFont(font)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(QRect(0, 0, image.width(), 24), Qt.AlignmentFlag.AlignCenter, BANNER_TEXT)
        font.setBold(False)
        font.setPointSizeF(9.0)
        painter.setFont(font)
        painter.drawText(QRect(6, 24, image.width() - 12, band - 24),
                         Qt.AlignmentFlag.AlignVCenter, self.screenshot_description())
        painter.drawImage(0, band, shot)
        painter.end()
        return pixmap_png(image)

    def save_screenshot(self) -> None:
        """Emit :attr:`screenshot_to_case` with the PNG; the caller stores it as evidence."""
        if self._session.current_candidate is None:
            return
        self.screenshot_to_case.emit(self.capture_screenshot(), self.screenshot_description())

    # -- layout state -----------------------------------------------------------------------
    def save_state(self) -> bytes:
        """Splitter sizes, mode, layers and strip filter, for the caller to keep in settings."""
        state = {
            "version": _STATE_VERSION,
            "main": base64.b64encode(bytes(self.main_splitter.saveState().data())).decode(),
            "top": base64.b64encode(bytes(self.top_splitter.saveState().data())).decode(),
            "mode": self.view.mode().value,
            "layers": {layer.value: self.view.layer_visible(layer) for layer in Layer},
            "strip_only_selected": self.strip.only_selected.isChecked(),
        }
        return json.dumps(state).encode()

    def restore_state(self, data: bytes) -> bool:
        """Restore :meth:`save_state` output; False (nothing changed) when it is unusable."""
        try:
            state = json.loads(bytes(data).decode())
            if state.get("version") != _STATE_VERSION:
                return False
            main = base64.b64decode(state["main"])
            top = base64.b64decode(state["top"])
            mode = ComparisonMode(state["mode"])
            layers = {Layer(k): bool(v) for k, v in state["layers"].items()}
            only = bool(state["strip_only_selected"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("Ignoring a saved comparison layout that cannot be read: %s", exc)
            return False
        self._layout_restored = True
        ok = self.main_splitter.restoreState(QByteArray(main))
        ok = self.top_splitter.restoreState(QByteArray(top)) and ok
        self.view.set_mode(mode)
        for layer, visible in layers.items():
            self.view.set_layer_visible(layer, visible)
        self.strip.set_only_selected(only)
        return ok
