"""QtCasePage: one request: its summary, the probe panel, the search and its candidates.

Everything that reads or writes records runs on a worker through :class:`CaseDesk` (casework),
with a progress window that appears when the work takes longer than a moment; refusals come back
as casework's own sentence. Opening a candidate shows the comparison screen on this page
(:class:`QtCaseComparison`); "Back to the case" returns. The lead-only banner stays at the top of
both. Keys: Ctrl+Shift+O add a probe file, Ctrl+V paste, F5 refresh, Ctrl+R search.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.ui import messages
from app.ui.case_desk import CaseDesk, CaseState, ProbeShown, SearchShown
from app.ui.qt_candidate_list import QtCandidateList
from app.ui.qt_case_comparison import QtCaseComparison
from app.ui.qt_lead_banner import QtLeadBanner
from app.ui.qt_probe_panel import QtProbePanel
from app.ui.qt_request_summary import QtRequestSummary
from app.ui.workers import BackgroundTask, QtProgressDialog, run_in_background, run_with_progress

log = logging.getLogger(__name__)


class QtCasePage(QWidget):
    """The case page of one request."""

    changed = Signal(object)  # whatever casework returned after a change (for other pages)
    state_loaded = Signal(object)  # CaseState
    probe_shown = Signal(object)  # ProbeShown
    search_shown = Signal(object)  # SearchShown
    close_requested = Signal()

    def __init__(self, desk: CaseDesk, request_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("casePage")
        self.desk = desk
        self.request_id = request_id
        self.state: CaseState | None = None
        self.shown: ProbeShown | None = None
        self.search: SearchShown | None = None
        self._thumb_task: BackgroundTask | None = None
        self._refreshes = 0  # a refresh's answer counts only if no newer one was asked
        self._probe_actions = 0  # probe versions chosen since; they win over a refresh
        self.last_dialog: QtProgressDialog | None = None

        self.banner = QtLeadBanner()
        self.summary = QtRequestSummary()
        self.summary.acknowledgment_requested.connect(self.record_acknowledgment)
        self.probe_panel = QtProbePanel(desk.ws.profile.allowed_edits)
        self.probe_panel.file_chosen.connect(self.add_probe_file)
        self.probe_panel.bytes_supplied.connect(self.add_probe_bytes)
        self.probe_panel.face_chosen.connect(self.choose_face)
        self.probe_panel.edit_requested.connect(self.edit_probe)
        self.probe_panel.version_selected.connect(self.show_version)
        self.probe_panel.probe_selected.connect(lambda probe_id: self.show_version(0, probe_id))

        self.search_button = QPushButton("&Search the gallery")
        self.search_button.setObjectName("searchButton")
        self.search_button.setToolTip(
            "Search the lawful gallery with the chosen face of the version shown (Ctrl+R)."
        )
        self.search_button.clicked.connect(self.run_search)
        self.blockers_label = QLabel()
        self.blockers_label.setObjectName("searchBlockers")
        self.blockers_label.setWordWrap(True)
        self.blockers_label.setTextFormat(Qt.TextFormat.PlainText)
        self.blockers_label.setStyleSheet("color: #a40000;")
        self.compare_button = QPushButton("&Compare selected")
        self.compare_button.setObjectName("compareButton")
        self.compare_button.setToolTip("Compare the selected candidate with the probe (Enter).")
        self.compare_button.clicked.connect(self.compare_selected)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Read the request again (F5).")
        self.refresh_button.clicked.connect(self.refresh)
        self.back_to_queue = QPushButton("Back to the &queue")
        self.back_to_queue.clicked.connect(self.close_requested)
        search_bar = QHBoxLayout()
        search_bar.addWidget(self.search_button)
        search_bar.addWidget(self.blockers_label, 1)
        search_bar.addWidget(self.compare_button)
        self.candidates = QtCandidateList()
        self.candidates.candidate_activated.connect(self.open_candidate)
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 6, 6, 6)
        lower_layout.addLayout(search_bar)
        lower_layout.addWidget(self.candidates, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("caseSplitter")
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(6, 6, 0, 6)
        left_layout.addWidget(self.probe_panel)
        self.splitter.addWidget(left)
        self.splitter.addWidget(lower)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([640, 760])
        self.splitter.setChildrenCollapsible(False)

        top_bar = QHBoxLayout()
        top_bar.setContentsMargins(6, 4, 6, 0)
        top_bar.addWidget(self.summary, 1)
        side = QVBoxLayout()
        side.addWidget(self.back_to_queue)
        side.addWidget(self.refresh_button)
        side.addStretch(1)
        top_bar.addLayout(side)
        self.case_view = QWidget()
        case_layout = QVBoxLayout(self.case_view)
        case_layout.setContentsMargins(0, 0, 0, 0)
        case_layout.addLayout(top_bar)
        case_layout.addWidget(self.splitter, 1)

        self.comparison = QtCaseComparison(desk, request_id)
        self.comparison.back_requested.connect(self.show_case)
        self.comparison.changed.connect(self._comparison_changed)
        self.inner = QStackedWidget()
        self.inner.addWidget(self.case_view)
        self.inner.addWidget(self.comparison)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.inner, 1)

        for key, slot in (("F5", self.refresh), ("Ctrl+R", self.run_search)):
            shortcut = QShortcut(QKeySequence(key), self.case_view)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        QWidget.setTabOrder(self.probe_panel.add_button, self.probe_panel.paste_button)
        QWidget.setTabOrder(self.probe_panel.paste_button, self.probe_panel.image_view)
        QWidget.setTabOrder(self.probe_panel.image_view, self.probe_panel.tabs)
        QWidget.setTabOrder(self.probe_panel.tabs, self.search_button)
        QWidget.setTabOrder(self.search_button, self.compare_button)
        QWidget.setTabOrder(self.compare_button, self.candidates.table)
        self._update_buttons()

    # ------------------------------------------------------------------------------ helpers
    def _work(
        self,
        fn: Callable[..., Any],
        on_done: Callable[[Any], None],
        *,
        title: str,
        message: str = "",
        cancellable: bool = False,
        serial: bool = True,
    ) -> QtProgressDialog:
        """Run casework on a worker with a progress window; refusals as a plain message."""
        self.last_dialog = run_with_progress(
            fn,
            parent=self,
            title=title,
            message=message or title,
            on_done=on_done,
            on_error=lambda exc: messages.show_error(self, exc, log_it=False),
            cancellable=cancellable,
            serial=serial,
        )
        return self.last_dialog

    def busy(self) -> bool:
        return self.last_dialog is not None and self.last_dialog.task.is_running() is not False

    def can_work(self) -> bool:
        return self.state is not None and self.state.can_work

    def _update_buttons(self) -> None:
        state = self.state
        can_work = state is not None and state.can_work
        self.probe_panel.set_enabled_for_work(can_add=can_work)
        blockers = list(state.request.search_blockers) if state is not None else []
        if can_work and self.shown is not None and self.shown.chosen is None:
            if self.shown.faces:
                blockers.append("Choose the face to search with.")
            else:
                blockers.append("No face was found in the version shown: it cannot be searched.")
        if state is not None and not state.can_work:
            blockers = [state.read_only_reason]
        self.blockers_label.setText(" ".join(blockers))
        self.search_button.setEnabled(can_work and not blockers)
        self.compare_button.setEnabled(self.candidates.current_row() >= 0)

    # ------------------------------------------------------------------------------ loading
    def refresh(self) -> None:
        desk, request_id = self.desk, self.request_id
        version = self.shown.version_id if self.shown is not None else None
        probe_id = self.shown.probe_id if self.shown is not None else None
        self._refreshes += 1
        asked = (self._refreshes, self._probe_actions)
        run_in_background(
            lambda progress, cancelled: desk.case_state(
                request_id, probe_id=probe_id, version_id=version
            ),
            on_done=lambda state: self._state_loaded(state, asked),
            on_error=lambda exc: messages.show_error(self, exc, log_it=False),
            parent=self,
            description="opening the case",
        )

    def _state_loaded(self, state: CaseState, asked: tuple[int, int] | None = None) -> None:
        refresh, probe_actions = asked if asked is not None else (self._refreshes,
                                                                 self._probe_actions)
        if refresh != self._refreshes:
            return  # a newer refresh is on its way
        self.state = state
        self.summary.show_request(state.request, can_acknowledge=state.can_work)
        if probe_actions == self._probe_actions or self.shown is None:
            # Otherwise the examiner chose another version meanwhile: keep what they chose.
            self._show_probe(state.probe)
        self.probe_panel.set_probes(state.probe_names, state.probe.probe_id if state.probe
                                    else None)
        self._show_search(state.search)
        self._update_buttons()
        self.state_loaded.emit(state)

    def _show_probe(self, shown: ProbeShown | None) -> None:
        self.shown = shown
        if shown is None:
            self.probe_panel.clear()
        else:
            self.probe_panel.show_version(
                shown.rgb, faces=shown.faces, chosen=shown.chosen, caption=shown.caption,
                message=shown.message, quality=shown.quality, warnings=shown.warnings,
                versions=shown.versions, current_version=shown.version_id,
            )
        self._update_buttons()
        self.probe_shown.emit(shown)

    def _probe_changed(self, shown: ProbeShown) -> None:
        self._show_probe(shown)
        self.changed.emit(shown)
        self.refresh()  # the request's status and blockers may have changed

    # ------------------------------------------------------------------------------ probe
    def add_probe_file(self, path: str) -> None:
        self._probe_actions += 1
        desk, request_id = self.desk, self.request_id
        self._work(lambda **_: desk.add_probe_file(request_id, path), self._probe_changed,
                   title="Adding the probe",
                   message="Storing the original and finding the faces...")

    def add_probe_bytes(self, data: bytes, name: str) -> None:
        self._probe_actions += 1
        desk, request_id = self.desk, self.request_id
        self._work(lambda **_: desk.add_probe(request_id, data, name), self._probe_changed,
                   title="Adding the probe",
                   message="Storing the original and finding the faces...")

    def choose_face(self, index: int) -> None:
        shown = self.shown
        if shown is None or not self.can_work() or index == shown.chosen:
            return
        desk = self.desk
        self._probe_actions += 1
        self._work(lambda **_: desk.choose_face(shown.probe_id, shown.version_id, index),
                   self._probe_changed, title="Choosing the face",
                   message="Measuring the quality of the chosen face...")

    def edit_probe(self, name: str, params: dict[str, Any]) -> None:
        shown = self.shown
        if shown is None or not self.can_work():
            return
        desk = self.desk
        self._probe_actions += 1
        self._work(lambda **_: desk.edit_probe(shown.probe_id, shown.version_id, name, params),
                   self._probe_changed, title="Editing a copy",
                   message="Making the edited copy and finding its faces...")

    def show_version(self, version_id: int, probe_id: int | None = None) -> None:
        shown = self.shown
        target = probe_id if probe_id is not None else (shown.probe_id if shown else None)
        if target is None or (shown is not None and shown.probe_id == target
                              and shown.version_id == version_id):
            return
        desk = self.desk
        self._probe_actions += 1
        self._work(lambda **_: desk.show_probe(target, version_id), self._show_probe,
                   title="Loading the probe", serial=False)

    def record_acknowledgment(self) -> None:
        official, ok = QInputDialog.getText(
            self, "Interagency acknowledgment",
            "Official of the submitting agency who acknowledged in writing that a result is "
            "only an investigative lead:",
        )
        if not ok or not official.strip():
            return
        desk, request_id = self.desk, self.request_id
        self._work(lambda **_: desk.record_acknowledgment(request_id, official),
                   self._acknowledged, title="Recording the acknowledgment")

    def _acknowledged(self, result: object) -> None:
        self.changed.emit(result)
        self.refresh()

    # ------------------------------------------------------------------------------ search
    def run_search(self) -> None:
        shown = self.shown
        if shown is None or not self.search_button.isEnabled():
            return
        desk, request_id = self.desk, self.request_id
        self._work(
            lambda progress, cancelled: desk.run_search(
                request_id, probe_id=shown.probe_id, probe_version_id=shown.search_version,
                face_index=shown.chosen, progress=progress, cancelled=cancelled,
            ),
            self._searched,
            title="Searching the gallery",
            message="Describing the probe face and searching the gallery...",
            cancellable=True,
        )

    def _searched(self, search: SearchShown) -> None:
        self._show_search(search)
        self.changed.emit(search)
        self.refresh()

    def _show_search(self, search: SearchShown | None) -> None:
        self.search = search
        if search is None:
            self.candidates.clear("No search yet: choose the face and press Search.")
        else:
            self.candidates.set_candidates(
                search.rows, caption=search.caption, metric=search.metric,
                score_tooltip=search.score_tooltip,
            )
            self._load_thumbnails(search)
        self._update_buttons()
        self.search_shown.emit(search)

    def _load_thumbnails(self, search: SearchShown) -> None:
        if self._thumb_task is not None:
            self._thumb_task.cancel()
        desk = self.desk
        rows = [row for row in search.rows if not self.candidates.model.has_thumbnail(
            row.candidate_id)]

        def load(progress: Callable[[int, int, str], None], cancelled: Callable[[], bool]
                 ) -> None:
            for done, row in enumerate(rows, start=1):
                if cancelled():
                    return
                try:
                    rgb = desk.thumbnail(row.photo_id)
                except Exception as exc:  # one missing picture must not stop the others
                    log.info("No thumbnail for photo %s: %s", row.photo_id, exc)
                    continue
                thumbs[row.candidate_id] = rgb
                progress(done, len(rows), str(row.candidate_id))

        thumbs: dict[int, Any] = {}

        def arrived(_done: int, _total: int, _candidate: str) -> None:
            # Everything ready so far in one go (progress reports are thinned out).
            ready = {cid: thumbs.pop(cid) for cid in list(thumbs)}
            if ready:
                self.candidates.set_thumbnails(ready)

        def finished(_result: object) -> None:
            arrived(0, 0, "")

        self._thumb_task = run_in_background(
            load, on_done=finished, on_progress=arrived, on_error=lambda exc: None,
            parent=self, description="loading candidate thumbnails",
        )

    # ------------------------------------------------------------------------------ compare
    def compare_selected(self) -> None:
        row = self.candidates.current_row()
        if row >= 0:
            self.open_candidate(row)

    def open_candidate(self, index: int) -> None:
        if self.search is None or self.shown is None:
            return
        self.comparison.open(self.search, self.shown, index,
                             read_only=not self.can_work())
        self.inner.setCurrentWidget(self.comparison)

    def show_case(self) -> None:
        self.inner.setCurrentWidget(self.case_view)
        self.refresh()

    def showing_comparison(self) -> bool:
        return self.inner.currentWidget() is self.comparison

    def _comparison_changed(self, result: object) -> None:
        self.changed.emit(result)


__all__ = ["QtCasePage"]
