"""QtAuditLogPage: the supervisor's audit log viewer.

Filter bar, a page of events in a table (never the whole log), the selected event as indented
JSON, "Verify chain" (on a worker, result shown on the page and the broken event marked in red)
and export of the filtered range to CSV or JSON (on the writer worker; the export is audited by
casework). Reading needs a supervisor, administrator or legal advisor; exporting a supervisor or
administrator: casework refuses on its own, the page only hides what would be refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QItemSelection, QModelIndex, Qt, Signal
from PySide6.QtGui import QFontDatabase, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.casework import audit_export, audit_log
from app.casework.accounts import SignedInUser
from app.casework.audit_log import AuditFilters, AuditPage, ChainReport
from app.casework.workstation import Workstation
from app.errors import FrxError
from app.policy.supervision import evaluate_audit_export
from app.ui import messages
from app.ui.admin.keyboard import chain_tab_order
from app.ui.admin.page_frame import page_heading
from app.ui.admin.qt_audit_filter_bar import QtAuditFilterBar
from app.ui.admin.qt_audit_table_model import QtAuditTableModel, pretty_details
from app.ui.workers import BackgroundTask, run_in_background

log = logging.getLogger(__name__)

PAGE_SIZE = 200
OK_STYLE = "color: #1f6f1f; font-weight: bold;"
BROKEN_STYLE = "color: #a40000; font-weight: bold;"
FILE_FILTERS = {"csv": "CSV files (*.csv)", "json": "JSON files (*.json)"}

ChoosePath = Callable[[QWidget, str, str], Path | None]  # parent, format, suggested name


def ask_export_path(parent: QWidget, format: str, suggested: str) -> Path | None:
    """A save dialog for the export; None when cancelled."""
    name, _ = QFileDialog.getSaveFileName(
        parent, f"Export audit events as {format.upper()}", suggested, FILE_FILTERS[format]
    )
    if not name:
        return None
    path = Path(name)
    return path if path.suffix.lower() == f".{format}" else path.with_name(path.name + f".{format}")


def chain_report_text(report: ChainReport) -> str:
    """One line for the page: intact with the count, or where and why it is broken."""
    if report.ok:
        return f"Intact: {report.events_checked:,} events checked, each linked to the one before."
    where = (
        f"Chain broken at event {report.first_bad_sequence}. "
        if report.first_bad_sequence is not None
        else "Chain broken. "
    )
    return where + (report.problem or "A link of the chain does not match.")


class QtAuditLogPage(QWidget):
    """The audit log viewer for one signed-in user."""

    exported = Signal(object)  # ExportResult
    verified = Signal(object)  # ChainReport

    def __init__(
        self,
        ws: Workstation,
        user: SignedInUser,
        parent: QWidget | None = None,
        *,
        page_size: int = PAGE_SIZE,
        choose_export_path: ChoosePath = ask_export_path,
    ) -> None:
        super().__init__(parent)
        self.ws = ws
        self.user = user
        self.choose_export_path = choose_export_path
        self.last_report: ChainReport | None = None
        self.last_export: audit_export.ExportResult | None = None
        self._tasks: list[BackgroundTask] = []
        self.setObjectName("auditLogPage")

        title = page_heading("Audit log")
        note = QLabel(
            "Every action on this workstation, in a tamper-evident chain. Times are UTC. "
            "Looking is not recorded; verifying and exporting are."
        )
        note.setWordWrap(True)
        note.setTextFormat(Qt.TextFormat.PlainText)

        self.filter_bar = QtAuditFilterBar(today=ws.now().date())
        self.model = QtAuditTableModel(self._fetch, page_size=page_size, parent=self)
        self.table = QTableView()
        self.table.setObjectName("auditTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        for column, mode in enumerate(
            (QHeaderView.ResizeMode.ResizeToContents,) * 5 + (QHeaderView.ResizeMode.Stretch,)
        ):
            header.setSectionResizeMode(column, mode)
        self.table.setToolTip("Events matching the filters, newest first")
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)

        self.details = QPlainTextEdit()
        self.details.setObjectName("auditEventDetails")
        self.details.setReadOnly(True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.details.setPlaceholderText("Select an event to see everything recorded with it.")
        self.details.setToolTip("The selected event as recorded, including its chain hashes")
        self.details.setTabChangesFocus(True)
        details_box = QWidget()
        details_layout = QVBoxLayout(details_box)
        details_layout.setContentsMargins(0, 0, 0, 0)
        details_label = QLabel("Event &details:")
        details_label.setBuddy(self.details)
        details_layout.addWidget(details_label)
        details_layout.addWidget(self.details)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("auditSplitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(details_box)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)

        self.first_button = self._button("F&irst", "Newest events", self.show_first_page)
        self.previous_button = self._button("Pre&vious", "Newer events", self.show_previous_page)
        self.page_label = QLabel()
        self.page_label.setObjectName("auditPageLabel")
        self.page_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.next_button = self._button("Ne&xt", "Older events", self.show_next_page)
        self.last_button = self._button("La&st", "Oldest events", self.show_last_page)
        paging = QHBoxLayout()
        paging.addWidget(self.first_button)
        paging.addWidget(self.previous_button)
        paging.addWidget(self.page_label, 1)
        paging.addWidget(self.next_button)
        paging.addWidget(self.last_button)

        self.verify_button = self._button(
            "Verif&y chain",
            "Check every event of the whole log against the one before it (recorded)",
            self.verify_chain,
        )
        self.verify_label = QLabel("The chain has not been verified on this page yet.")
        self.verify_label.setObjectName("auditVerifyResult")
        self.verify_label.setTextFormat(Qt.TextFormat.PlainText)
        self.verify_label.setWordWrap(True)
        self.show_broken_button = self._button(
            "Sh&ow it", "Show the first broken event in the table", self.show_broken_event
        )
        self.show_broken_button.setObjectName("auditShowBroken")
        self.show_broken_button.hide()
        self.export_csv_button = self._button(
            "Export &CSV...",
            "Write the events matching the filters to a CSV file (recorded with its hash)",
            lambda: self.export("csv"),
        )
        self.export_json_button = self._button(
            "Export &JSON...",
            "Write the events matching the filters to a JSON file (recorded with its hash)",
            lambda: self.export("json"),
        )
        export_decision = evaluate_audit_export(user.roles)
        for button in (self.export_csv_button, self.export_json_button):
            button.setEnabled(export_decision.allowed)
            if not export_decision.allowed:
                button.setToolTip(export_decision.reason)
        self.refresh_button = self._button("&Refresh", "Read the log again (F5)", self.refresh)
        actions = QHBoxLayout()
        actions.addWidget(self.verify_button)
        actions.addWidget(self.verify_label, 1)
        actions.addWidget(self.show_broken_button)
        actions.addWidget(self.export_csv_button)
        actions.addWidget(self.export_json_button)
        actions.addWidget(self.refresh_button)

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(note)
        layout.addWidget(self.filter_bar)
        layout.addWidget(self.splitter, 1)
        layout.addLayout(paging)
        layout.addLayout(actions)

        order: list[QWidget] = [
            self.filter_bar.last_widget,
            self.table,
            self.details,
            self.first_button,
            self.previous_button,
            self.next_button,
            self.last_button,
            self.verify_button,
            self.show_broken_button,
            self.export_csv_button,
            self.export_json_button,
            self.refresh_button,
        ]
        chain_tab_order(order)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Refresh), self, self.refresh)
        self.filter_bar.apply_requested.connect(self.apply_filters)
        self.refresh()

    def _button(self, text: str, tip: str, slot: Callable[[], object]) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.setAutoDefault(False)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    # -- reading --------------------------------------------------------------------------
    def _fetch(self, filters: AuditFilters, offset: int, limit: int) -> AuditPage:
        return audit_log.query_page(
            self.ws, by=self.user, filters=filters, offset=offset, limit=limit
        )

    def _run_page_call(self, call: Callable[[], AuditPage]) -> bool:
        try:
            call()
        except FrxError as exc:
            messages.show_error(self, exc, title="Audit log")
            return False
        self._page_shown()
        return True

    def refresh(self) -> None:
        """Re-read the filter lists and the current page."""
        try:
            self.filter_bar.set_choices(
                actors=audit_log.audit_actors(self.ws, by=self.user),
                actions=audit_log.audit_actions(self.ws, by=self.user),
                object_types=audit_log.audit_object_types(self.ws, by=self.user),
            )
        except FrxError as exc:
            messages.show_error(self, exc, title="Audit log")
            return
        self._run_page_call(self.model.reload)

    def apply_filters(self) -> None:
        try:
            filters = self.filter_bar.filters()
        except FrxError as exc:
            messages.show_error(self, exc, title="Audit log filters")
            return
        self._run_page_call(lambda: self.model.load(filters, 0))

    def show_first_page(self) -> None:
        self._run_page_call(self.model.first_page)

    def show_previous_page(self) -> None:
        self._run_page_call(self.model.previous_page)

    def show_next_page(self) -> None:
        self._run_page_call(self.model.next_page)

    def show_last_page(self) -> None:
        self._run_page_call(self.model.last_page)

    def _page_shown(self) -> None:
        page = self.model.page
        if page.total == 0:
            filtered = "" if self.model.filters.is_empty else " match these filters"
            self.page_label.setText(f"No events{filtered}.")
        else:
            self.page_label.setText(
                f"Events {page.first_shown:,}-{page.last_shown:,} of {page.total:,} "
                f"(page {page.page_number:,} of {page.page_count:,}, newest first)"
            )
        self.first_button.setEnabled(self.model.has_previous())
        self.previous_button.setEnabled(self.model.has_previous())
        self.next_button.setEnabled(self.model.has_next())
        self.last_button.setEnabled(self.model.has_next())
        if page.rows:
            self.table.selectRow(0)
        else:
            self.details.clear()

    def _selection_changed(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        row = self.model.row_at(indexes[0].row()) if indexes else None
        self.details.setPlainText(pretty_details(row) if row is not None else "")

    def selected_row_index(self) -> QModelIndex:
        rows = self.table.selectionModel().selectedRows()
        return rows[0] if rows else QModelIndex()

    # -- verification ---------------------------------------------------------------------
    def verify_chain(self) -> BackgroundTask:
        self.verify_button.setEnabled(False)
        self.verify_label.setStyleSheet("")
        self.verify_label.setText("Verifying the whole chain...")
        task = run_in_background(
            lambda progress, cancelled: audit_log.verify_audit_chain(self.ws, by=self.user),
            on_done=self._verified,
            on_error=self._verify_failed,
            parent=self,
            description="verifying the audit log",
            serial=True,
        )
        self._keep(task)
        return task

    def _verified(self, report: ChainReport) -> None:
        self.last_report = report
        self.verify_button.setEnabled(True)
        self.verify_label.setText(chain_report_text(report))
        self.verify_label.setStyleSheet(OK_STYLE if report.ok else BROKEN_STYLE)
        broken = None if report.ok else report.first_bad_sequence
        self.model.set_broken_sequence(broken)
        self.show_broken_button.setVisible(broken is not None)
        if broken is not None:
            self.show_broken_button.setText(f"Sh&ow event {broken}")
        self.refresh()  # the verification itself is now an event
        self.verified.emit(report)

    def _verify_failed(self, error: BaseException) -> None:
        self.verify_button.setEnabled(True)
        self.verify_label.setStyleSheet(BROKEN_STYLE)
        self.verify_label.setText("The chain could not be verified: " + messages.error_text(error))

    def show_broken_event(self) -> None:
        """Clear the filters and show the page holding the first broken event, selected."""
        if self.model.broken_sequence is not None:
            self.show_event(self.model.broken_sequence)

    def show_event(self, sequence: int) -> None:
        """Clear the filters and select event ``sequence`` (or the next older one if deleted)."""
        self.filter_bar.blockSignals(True)
        try:
            self.filter_bar.clear()
        finally:
            self.filter_bar.blockSignals(False)
        filters = AuditFilters()
        try:
            position = audit_log.audit_position(self.ws, by=self.user, sequence=sequence)
            size = self.model.page_size
            self.model.load(filters, position // size * size)
        except FrxError as exc:
            messages.show_error(self, exc, title="Audit log")
            return
        self._page_shown()
        rows = self.model.page.rows
        target = next((i for i, r in enumerate(rows) if r.sequence <= sequence), None)
        if target is not None:
            self.table.selectRow(target)
            self.table.scrollTo(self.model.index(target, 0))
            self.table.setFocus()

    # -- export ---------------------------------------------------------------------------
    def export(self, format: str) -> BackgroundTask | None:
        try:
            filters = self.filter_bar.filters()
        except FrxError as exc:
            messages.show_error(self, exc, title="Audit log export")
            return None
        stamp = self.ws.now().strftime("%Y%m%d-%H%M%S")
        path = self.choose_export_path(self, format, f"audit-log-{stamp}.{format}")
        if path is None:
            return None
        for button in (self.export_csv_button, self.export_json_button):
            button.setEnabled(False)
        task = run_in_background(
            lambda progress, cancelled: audit_export.export_filtered(
                self.ws,
                by=self.user,
                filters=filters,
                format=format,
                destination=path,
                progress=progress,
                cancelled=cancelled,
            ),
            on_done=self._exported,
            on_error=self._export_failed,
            parent=self,
            description="exporting the audit log",
            serial=True,
        )
        self._keep(task)
        return task

    def _exports_enabled(self) -> None:
        allowed = evaluate_audit_export(self.user.roles).allowed
        for button in (self.export_csv_button, self.export_json_button):
            button.setEnabled(allowed)

    def _exported(self, result: audit_export.ExportResult) -> None:
        self.last_export = result
        self._exports_enabled()
        self.refresh()
        withheld = audit_export.withheld_sentence(result.withheld_events)
        if withheld:
            withheld = (
                f"{withheld} Those events are marked withheld in the file; their hashes "
                "cannot be recomputed from the exported details.\n\n"
            )
        messages.show_info(
            self,
            f"{result.events:,} events were written to {result.path}.\n\n"
            f"{withheld}"
            f"SHA-256 of the file: {result.sha256}\n\n"
            f"The export is recorded in the audit log as event {result.audit_sequence}.",
            title="Audit log exported",
        )
        self.exported.emit(result)

    def _export_failed(self, error: BaseException) -> None:
        self._exports_enabled()
        messages.show_error(self, error, title="Audit log export")

    def _keep(self, task: BackgroundTask) -> None:
        self._tasks.append(task)
        task.finished.connect(lambda: self._tasks.remove(task) if task in self._tasks else None)

    def busy(self) -> bool:
        """True while a verification or an export runs."""
        return any(t.is_running() for t in self._tasks)


__all__ = ["QtAuditLogPage", "ask_export_path", "chain_report_text"]
