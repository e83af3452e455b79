"""QtCaseQueue: the home page: the examiner's requests in lists with counts, filters, open.

The sidebar lists the queues (my open requests, awaiting my second review, returned to me, and
for supervisors all requests) with their counts. Above the table: case number, purpose, status
and opened-between filters. Double-click or Enter opens a request (:attr:`open_requested`).

Rows come from a ``loader(kind, filter) -> QueueResult`` run on a worker thread, so a large unit
database never freezes the window; the newest answer wins when the examiner types quickly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.ui import messages
from app.ui.case_views import QueueFilter, QueueKind, QueueResult, RequestRow, count_text
from app.ui.qt_lead_banner import QtLeadBanner
from app.ui.workers import BackgroundTask, run_in_background

QueueLoader = Callable[[QueueKind, QueueFilter], QueueResult]
FILTER_DELAY_MS = 250  # wait for a pause in typing before asking the database again

_ModelIndex = QModelIndex | QPersistentModelIndex


class QtRequestTableModel(QAbstractTableModel):
    """The queue's rows: case number, opened, purpose, status, examiner, agency, offense."""

    COLUMNS = (
        "Case number", "Request", "Opened", "Purpose", "Status", "Examiner", "Agency", "Offense"
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[RequestRow] = []

    def set_rows(self, rows: Sequence[RequestRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, row: int) -> RequestRow:
        return self._rows[row]

    def rows(self) -> list[RequestRow]:
        return list(self._rows)

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.COLUMNS[section]
        return None

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                row.case_number,
                row.request_number,
                row.opened_at.astimezone().strftime("%Y-%m-%d %H:%M"),
                row.purpose_code,
                row.status_label,
                row.examiner,
                row.agency_text,
                row.offense,
            )[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 3:
                return f"{row.purpose_code}: {row.purpose_text}"
            if column == 0:
                return "Double-click or press Enter to open this request."
        if role == Qt.ItemDataRole.UserRole:
            return row.request_id
        return None


class QtCaseQueue(QWidget):
    """The case queue page."""

    open_requested = Signal(int)  # request id
    new_request_requested = Signal()
    loaded = Signal(object)  # QueueResult shown

    def __init__(
        self,
        *,
        loader: QueueLoader,
        purposes: Sequence[tuple[str, str]],
        kinds: Sequence[QueueKind],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("caseQueue")
        self._loader = loader
        self._task: BackgroundTask | None = None
        self._generation = 0
        self._counts: dict[QueueKind, int] = {}
        self._filling_statuses = False
        self.kinds = list(kinds) or [QueueKind.MINE]

        self.banner = QtLeadBanner()
        self.sidebar = QListWidget()
        self.sidebar.setObjectName("queueList")
        self.sidebar.setAccessibleName("Queues")
        for kind in self.kinds:
            item = QListWidgetItem(kind.label)
            item.setData(Qt.ItemDataRole.UserRole, kind.value)
            item.setToolTip(kind.description)
            self.sidebar.addItem(item)
        self.sidebar.setMinimumWidth(210)
        self.new_button = QPushButton("&New request...")
        self.new_button.setToolTip("Open a new facial recognition request (Ctrl+N).")
        self.new_button.clicked.connect(self.new_request_requested)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(6, 6, 6, 6)
        side_title = QLabel("<b>Queues</b>")
        side_layout.addWidget(side_title)
        side_layout.addWidget(self.sidebar, 1)
        side_layout.addWidget(self.new_button)

        self.case_edit = QLineEdit()
        self.case_edit.setObjectName("filterCaseNumber")
        self.case_edit.setPlaceholderText("Case number contains...")
        self.case_edit.setClearButtonEnabled(True)
        self.case_edit.setToolTip("Show only requests whose case number contains this text.")
        self.purpose_combo = QComboBox()
        self.purpose_combo.setObjectName("filterPurpose")
        self.purpose_combo.addItem("Any purpose", "")
        for code, text in purposes:
            self.purpose_combo.addItem(code, code)
            self.purpose_combo.setItemData(
                self.purpose_combo.count() - 1, text, Qt.ItemDataRole.ToolTipRole
            )
        self.purpose_combo.setToolTip("Show only requests for this authorized purpose.")
        self.status_combo = QComboBox()
        self.status_combo.setObjectName("filterStatus")
        self.status_combo.addItem("Any status", "")
        self.status_combo.setToolTip("Show only requests in this state.")
        self.date_check = QCheckBox("Opened between")
        self.date_check.setToolTip("Show only requests opened between these two days.")
        today = QDate.currentDate()
        self.from_date = QDateEdit(today.addMonths(-1))
        self.to_date = QDateEdit(today)
        for edit in (self.from_date, self.to_date):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setEnabled(False)
        self.clear_button = QPushButton("Clear filters")
        filters = QHBoxLayout()
        filters.addWidget(self.case_edit, 2)
        filters.addWidget(self.purpose_combo, 1)
        filters.addWidget(self.status_combo, 1)
        filters.addWidget(self.date_check)
        filters.addWidget(self.from_date)
        filters.addWidget(QLabel("and"))
        filters.addWidget(self.to_date)
        filters.addWidget(self.clear_button)

        self.model = QtRequestTableModel(self)
        self.table = QTableView()
        self.table.setObjectName("requestTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.doubleClicked.connect(self._open_index)
        self.table.installEventFilter(self)
        self.status_label = QLabel()
        self.status_label.setObjectName("queueStatus")
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.open_button = QPushButton("&Open")
        self.open_button.setToolTip("Open the selected request (Enter or double-click).")
        self.open_button.clicked.connect(self.open_selected)
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.setToolTip("Ask the database again (F5).")
        self.refresh_button.setShortcut("F5")
        self.refresh_button.clicked.connect(self.refresh)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status_label, 1)
        bottom.addWidget(self.refresh_button)
        bottom.addWidget(self.open_button)

        main = QWidget()
        main_layout = QVBoxLayout(main)
        main_layout.setContentsMargins(6, 6, 6, 6)
        self.title_label = QLabel()
        self.title_label.setObjectName("queueTitle")
        font = self.title_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.title_label.setFont(font)
        main_layout.addWidget(self.title_label)
        main_layout.addLayout(filters)
        main_layout.addWidget(self.table, 1)
        main_layout.addLayout(bottom)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("queueSplitter")
        self.splitter.addWidget(side)
        self.splitter.addWidget(main)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([240, 900])
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)

        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self.refresh)
        self.case_edit.textChanged.connect(self._filter_timer.start)
        self.purpose_combo.currentIndexChanged.connect(self.refresh)
        self.status_combo.currentIndexChanged.connect(self._status_chosen)
        self.date_check.toggled.connect(self._dates_toggled)
        self.from_date.dateChanged.connect(self._filter_timer.start)
        self.to_date.dateChanged.connect(self._filter_timer.start)
        self.clear_button.clicked.connect(self.clear_filters)
        self.sidebar.currentRowChanged.connect(lambda _row: self.refresh())

        for first, second in (
            (self.sidebar, self.new_button), (self.new_button, self.case_edit),
            (self.case_edit, self.purpose_combo), (self.purpose_combo, self.status_combo),
            (self.status_combo, self.date_check), (self.date_check, self.from_date),
            (self.from_date, self.to_date), (self.to_date, self.clear_button),
            (self.clear_button, self.table), (self.table, self.refresh_button),
            (self.refresh_button, self.open_button),
        ):
            QWidget.setTabOrder(first, second)
        self.sidebar.blockSignals(True)
        self.sidebar.setCurrentRow(0)
        self.sidebar.blockSignals(False)
        self._update_title()

    # ------------------------------------------------------------------------------ state
    def current_kind(self) -> QueueKind:
        item = self.sidebar.currentItem()
        return QueueKind(item.data(Qt.ItemDataRole.UserRole)) if item else self.kinds[0]

    def set_kind(self, kind: QueueKind) -> None:
        self.sidebar.setCurrentRow(self.kinds.index(kind))

    def current_filter(self) -> QueueFilter:
        dated = self.date_check.isChecked()
        return QueueFilter(
            case_number=self.case_edit.text(),
            purpose_code=str(self.purpose_combo.currentData() or ""),
            status=str(self.status_combo.currentData() or ""),
            opened_from=self.from_date.date().toPython() if dated else None,  # type: ignore[arg-type]
            opened_to=self.to_date.date().toPython() if dated else None,  # type: ignore[arg-type]
        )

    def clear_filters(self) -> None:
        for widget in (self.case_edit, self.purpose_combo, self.status_combo, self.date_check):
            widget.blockSignals(True)
        self.case_edit.clear()
        self.purpose_combo.setCurrentIndex(0)
        self.status_combo.setCurrentIndex(0)
        self.date_check.setChecked(False)
        for widget in (self.case_edit, self.purpose_combo, self.status_combo, self.date_check):
            widget.blockSignals(False)
        self._dates_toggled(False)

    def _dates_toggled(self, on: bool) -> None:
        self.from_date.setEnabled(on)
        self.to_date.setEnabled(on)
        self.refresh()

    def _status_chosen(self, _index: int) -> None:
        if not self._filling_statuses:
            self.refresh()

    def _update_title(self) -> None:
        kind = self.current_kind()
        self.title_label.setText(kind.label)
        self.title_label.setToolTip(kind.description)

    # ------------------------------------------------------------------------------ loading
    def refresh(self) -> None:
        """Ask the loader for the current queue and filter (on a worker)."""
        self._filter_timer.stop()
        self._update_title()
        kind, queue_filter = self.current_kind(), self.current_filter()
        problems = queue_filter.problems()
        if problems:
            self.status_label.setText(" ".join(problems))
            return
        self._generation += 1
        generation = self._generation
        self.status_label.setText("Loading...")
        loader = self._loader
        self._task = run_in_background(
            lambda progress, cancelled: loader(kind, queue_filter),
            on_done=lambda result: self._loaded(generation, result),
            on_error=lambda exc: self._failed(generation, exc),
            parent=self,
            description="loading the case queue",
        )

    def is_loading(self) -> bool:
        return self._task is not None and self._task.is_running()

    def _failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        self.status_label.setText(messages.error_text(exc))

    def _loaded(self, generation: int, result: QueueResult) -> None:
        if generation != self._generation:
            return  # an older answer after a newer question
        selected = self.selected_request_id()
        self.model.set_rows(result.rows)
        self._counts = dict(result.counts)
        for row in range(self.sidebar.count()):
            item = self.sidebar.item(row)
            kind = QueueKind(item.data(Qt.ItemDataRole.UserRole))
            item.setText(count_text(kind, self._counts))
        self._fill_statuses(result.statuses)
        shown = len(result.rows)
        noun = "request" if shown == 1 else "requests"
        filtered = "" if self.current_filter().is_empty else " matching the filters"
        self.status_label.setText(f"{shown} {noun}{filtered}.")
        if selected is not None:
            self.select_request(selected)
        if self.table.currentIndex().row() < 0 and shown:
            self.table.selectRow(0)
        self.loaded.emit(result)

    def _fill_statuses(self, statuses: Sequence[tuple[str, str]]) -> None:
        current = self.status_combo.currentData()
        known = [self.status_combo.itemData(i) for i in range(1, self.status_combo.count())]
        if [value for value, _ in statuses] == known or not statuses:
            return
        self._filling_statuses = True
        try:
            self.status_combo.clear()
            self.status_combo.addItem("Any status", "")
            for value, label in statuses:
                self.status_combo.addItem(label, value)
            position = self.status_combo.findData(current)
            self.status_combo.setCurrentIndex(max(position, 0))
        finally:
            self._filling_statuses = False

    def counts(self) -> dict[QueueKind, int]:
        return dict(self._counts)

    # ------------------------------------------------------------------------------ opening
    def selected_request_id(self) -> int | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.row_at(index.row()).request_id

    def select_request(self, request_id: int) -> bool:
        for position, row in enumerate(self.model.rows()):
            if row.request_id == request_id:
                self.table.selectRow(position)
                return True
        return False

    def open_selected(self) -> None:
        request_id = self.selected_request_id()
        if request_id is not None:
            self.open_requested.emit(request_id)

    def _open_index(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_requested.emit(self.model.row_at(index.row()).request_id)

    def eventFilter(self, watched: Any, event: Any) -> bool:
        if (
            watched is self.table
            and isinstance(event, QKeyEvent)
            and event.type() == QKeyEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ):
            self.open_selected()
            return True
        return super().eventFilter(watched, event)


__all__ = ["QtCaseQueue", "QtRequestTableModel", "QueueLoader"]
