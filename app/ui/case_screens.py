"""The case screens in the main window: queue (home), new request, case pages, second review.

:func:`install_case_screens` adds the case queue as the first page the examiner sees and wires
the Case menu (New request Ctrl+N, Case queue Ctrl+1, Open case Ctrl+O, Search, Compare, Second
review). Each opened request gets a page of its own (``case-<id>``); a second examiner's blind
review gets ``review-<comparison id>``. After any change, ``window.announce_changes`` tells every
page; the queue reloads. Splitter sizes and the comparison layout are remembered with the window.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QObject
from PySide6.QtWidgets import QInputDialog, QWidget

from app.casework import requests as case_requests
from app.casework.case_views import ReviewQueueEntry
from app.ui import messages
from app.ui.case_desk import CaseDesk
from app.ui.case_views import QueueKind, queue_kinds_for
from app.ui.qt_case_page import QtCasePage
from app.ui.qt_case_queue import QtCaseQueue
from app.ui.qt_new_request import QtNewRequestDialog
from app.ui.qt_review_page import QtReviewPage
from app.ui.workers import run_in_background

if TYPE_CHECKING:
    from app.ui.qt_main_window import QtMainWindow

log = logging.getLogger(__name__)

QUEUE_PAGE = "queue"
COMPARISON_STATE_KEY = "comparison/layout"
CANDIDATE_GRID_KEY = "candidates/grid"  # the examiner's last choice of list or grid


class CaseScreens(QObject):
    """Owns the case pages of one main window."""

    def __init__(self, window: QtMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.desk = CaseDesk(window.ws, window.user)
        self.queue = QtCaseQueue(
            loader=self.desk.load_queue,
            purposes=self.desk.purposes(),
            kinds=self.desk.queue_kinds(),
        )
        self.queue.open_requested.connect(self._queue_open)
        self.queue.new_request_requested.connect(self.new_request)
        window.add_page(QUEUE_PAGE, self.queue, title="Case queue")
        window.remember_splitter("queue", self.queue.splitter)
        self.last_dialog: QtNewRequestDialog | None = None

        actions = window.case_actions
        for key, slot, tip in (
            ("new_request", self.new_request, "Open a new facial recognition request."),
            ("case_queue", self.show_queue, "Your requests and reviews."),
            ("open_case", self.ask_open_case, "Open a request by its number or case number."),
            ("search", self.search_current, "Search the gallery from the case shown."),
            ("compare", self.compare_current, "Compare the selected candidate of the case."),
            ("second_review", self.show_reviews, "Comparisons waiting for your blind review."),
        ):
            action = actions[key]
            action.setEnabled(True)
            action.setStatusTip(tip)
            action.setToolTip(tip)
            action.triggered.connect(lambda _checked=False, slot=slot: slot())
        window.changes_made.connect(self._changes_made)
        window.add_close_guard(self._save_layout)
        window.show_page(QUEUE_PAGE)
        self.queue.refresh()

    # ------------------------------------------------------------------------------ pages
    def show_queue(self) -> None:
        self.window.show_page(QUEUE_PAGE)
        self.queue.refresh()

    def show_reviews(self) -> None:
        self.window.show_page(QUEUE_PAGE)
        if QueueKind.AWAITING_MY_REVIEW in self.queue.kinds:
            self.queue.set_kind(QueueKind.AWAITING_MY_REVIEW)

    def current_case_page(self) -> QtCasePage | None:
        page = self.window.stack.currentWidget()
        return page if isinstance(page, QtCasePage) else None

    def search_current(self) -> None:
        page = self.current_case_page()
        if page is None:
            messages.show_info(self.window, "Open a case first (Case > Case queue).")
            return
        page.show_case()
        page.run_search()

    def compare_current(self) -> None:
        page = self.current_case_page()
        if page is None:
            messages.show_info(self.window, "Open a case with a search first.")
            return
        page.compare_selected()

    # ------------------------------------------------------------------------------ requests
    def new_request(self) -> None:
        dialog = QtNewRequestDialog(self.window.ws.profile, creator=self.desk.create_request,
                                    parent=self.window)
        dialog.created.connect(self._request_created)
        self.last_dialog = dialog
        dialog.open()

    def _request_created(self, request_id: int) -> None:
        self.window.announce_changes(("request.opened", request_id))
        self.open_case(request_id)

    def ask_open_case(self) -> None:
        reference, ok = QInputDialog.getText(
            self.window, "Open case", "Request number (REQ-...) or request id:"
        )
        if not ok or not reference.strip():
            return
        ws, user = self.window.ws, self.window.user
        text = reference.strip()
        run_in_background(
            lambda progress, cancelled: case_requests.find_request(
                ws, user=user, reference=int(text) if text.isdigit() else text
            ),
            on_done=lambda summary: self._open_found(summary.request_id),
            on_error=lambda exc: messages.show_error(self.window, exc, log_it=False),
            parent=self.window,
            description="finding the request",
        )

    def _queue_open(self, request_id: int) -> None:
        """From "Awaiting my second review" a request opens its review; otherwise the case."""
        if self.queue.current_kind() is not QueueKind.AWAITING_MY_REVIEW:
            self.open_case(request_id)
            return
        desk = self.desk
        run_in_background(
            lambda progress, cancelled: desk.review_entries(request_id),
            on_done=lambda entries: self._review_chosen(request_id, entries),
            on_error=lambda exc: messages.show_error(self.window, exc, log_it=False),
            parent=self.window,
            description="finding the comparisons to review",
        )

    def _review_chosen(self, request_id: int, entries: list[ReviewQueueEntry]) -> None:
        if not entries:
            self.open_case(request_id)
            return
        entry = entries[0]
        if len(entries) > 1:
            labels = [f"Candidate #{e.rank} {e.subject_reference} (compared by {e.examiner})"
                      for e in entries]
            choice, ok = QInputDialog.getItem(
                self.window, "Second review", "Which comparison do you review?", labels, 0,
                False,
            )
            if not ok:
                return
            entry = entries[labels.index(choice)]
        self.open_review(entry.comparison_id)

    def _open_found(self, request_id: int) -> None:
        self.open_case(request_id)

    def open_case(self, request_id: int) -> QtCasePage:
        key = f"case-{request_id}"
        window = self.window
        if window.has_page(key):
            page = window.page(key)
            assert isinstance(page, QtCasePage)
        else:
            page = QtCasePage(self.desk, request_id)
            page.changed.connect(window.announce_changes)
            page.close_requested.connect(self.show_queue)
            case_number = next((row.case_number for row in self.queue.model.rows()
                                if row.request_id == request_id), "")
            title = f"Case {case_number}" if case_number else f"Request {request_id}"
            window.add_page(key, page, title=title)
            window.remember_splitter("case", page.splitter)
            self._restore_comparison(page.comparison.compare_screen)
            page.candidates.set_grid_mode(
                str(window.ui_settings().value(CANDIDATE_GRID_KEY, "false")) == "true")
            page.candidates.grid_mode_changed.connect(self._remember_grid_mode)
        window.show_page(key)
        page.refresh()
        return page

    def open_review(self, comparison_id: int) -> QtReviewPage:
        key = f"review-{comparison_id}"
        window = self.window
        if window.has_page(key):
            page = window.page(key)
            assert isinstance(page, QtReviewPage)
        else:
            page = QtReviewPage(self.desk, comparison_id)
            page.changed.connect(window.announce_changes)
            page.close_requested.connect(self.show_queue)
            window.add_page(key, page, title=f"Second review of comparison {comparison_id}")
            self._restore_comparison(page.compare_screen)
        window.show_page(key)
        page.start()
        return page

    # ------------------------------------------------------------------------------ state
    def _changes_made(self, _changes: object) -> None:
        self.queue.refresh()

    def _remember_grid_mode(self, grid: bool) -> None:
        settings = self.window.ui_settings()
        settings.setValue(CANDIDATE_GRID_KEY, "true" if grid else "false")
        settings.sync()

    def _restore_comparison(self, screen: QWidget) -> None:
        value = self.window.ui_settings().value(COMPARISON_STATE_KEY)
        if isinstance(value, QByteArray) and not value.isEmpty():
            screen.restore_state(bytes(value.data()))  # type: ignore[attr-defined]

    def _save_layout(self) -> bool:
        screens = []
        for widget in self.window.stack.findChildren(QWidget):
            if isinstance(widget, QtCasePage):
                screens.append(widget.comparison.compare_screen)
            elif isinstance(widget, QtReviewPage):
                screens.append(widget.compare_screen)
        if screens:
            try:
                settings = self.window.ui_settings()
                settings.setValue(COMPARISON_STATE_KEY, QByteArray(screens[-1].save_state()))
                settings.sync()
            except Exception:  # never keep the window open because a layout cannot be saved
                log.exception("Saving the comparison layout failed")
        return True


def install_case_screens(window: QtMainWindow) -> CaseScreens | None:
    """Add the case screens to a signed-in main window (once); None for a user who works on
    no case (an administrator only: the home page stays)."""
    existing = getattr(window, "case_screens", None)
    if isinstance(existing, CaseScreens):
        return existing
    if not queue_kinds_for(role.value for role in window.user.roles):
        return None
    screens = CaseScreens(window)
    window.case_screens = screens  # type: ignore[attr-defined]
    return screens


__all__ = ["COMPARISON_STATE_KEY", "QUEUE_PAGE", "CaseScreens", "install_case_screens"]
