"""QtAuditTableModel: one page of audit events for a QTableView.

The model holds a single :class:`AuditPage` (at most a few hundred rows) and asks its ``fetch``
callable for another page when the view pages on: the whole log is never loaded into memory.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from app.casework.audit_log import AuditFilters, AuditPage, AuditRow

Fetch = Callable[[AuditFilters, int, int], AuditPage]  # filters, offset, limit
Index = QModelIndex | QPersistentModelIndex

COLUMNS = ("#", "Time (UTC)", "User", "Action", "Object", "Details")
SUMMARY_CHARS = 160
BROKEN_BACKGROUND = QColor("#f6c6c6")
DENIED_FOREGROUND = QColor("#8a1c00")


def time_text(row: AuditRow) -> str:
    """``2026-03-02 09:30:00`` for a readable stored time; the stored text otherwise."""
    moment = row.time
    if moment is None:
        return row.occurred_at
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def details_summary(row: AuditRow) -> str:
    """The details on one line: ``key: value; key: value`` (shortened)."""
    parts = []
    for key, value in row.details.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        parts.append(f"{key}: {shown}")
    text = "; ".join(parts)
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 3] + "..."


def pretty_details(row: AuditRow) -> str:
    """The whole event as indented JSON, for the details pane."""
    document = {
        "sequence": row.sequence,
        "time": row.occurred_at,
        "actor": row.actor,
        "action": row.action,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "details": dict(row.details),
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False)


class QtAuditTableModel(QAbstractTableModel):
    """A page of audit events; ``load(filters, offset)`` replaces it with another page."""

    def __init__(self, fetch: Fetch, *, page_size: int = 200, parent: Any = None) -> None:
        super().__init__(parent)
        self._fetch = fetch
        self.page_size = page_size
        self.filters = AuditFilters()
        self.page = AuditPage(rows=(), total=0, offset=0, limit=page_size)
        self.broken_sequence: int | None = None  # marked in red after a failed verification

    # -- loading --------------------------------------------------------------------------
    def load(self, filters: AuditFilters, offset: int = 0) -> AuditPage:
        """Fetch the page at ``offset`` (an error leaves the shown page unchanged)."""
        page = self._fetch(filters, max(0, offset), self.page_size)
        self.beginResetModel()
        self.filters = filters
        self.page = page
        self.endResetModel()
        return page

    def reload(self) -> AuditPage:
        page = self.load(self.filters, self.page.offset)
        if not page.rows and page.total:  # the page emptied (fewer matches): go to the last one
            page = self.load(self.filters, (page.page_count - 1) * self.page_size)
        return page

    def first_page(self) -> AuditPage:
        return self.load(self.filters, 0)

    def previous_page(self) -> AuditPage:
        return self.load(self.filters, max(0, self.page.offset - self.page_size))

    def next_page(self) -> AuditPage:
        if not self.has_next():
            return self.page
        return self.load(self.filters, self.page.offset + self.page_size)

    def last_page(self) -> AuditPage:
        return self.load(self.filters, (self.page.page_count - 1) * self.page_size)

    def has_previous(self) -> bool:
        return self.page.offset > 0

    def has_next(self) -> bool:
        return self.page.offset + len(self.page.rows) < self.page.total

    def set_broken_sequence(self, sequence: int | None) -> None:
        self.broken_sequence = sequence
        if self.page.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.page.rows) - 1, 0))

    def row_at(self, row: int) -> AuditRow | None:
        rows = self.page.rows
        return rows[row] if 0 <= row < len(rows) else None

    # -- Qt model -------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self.page.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section] if 0 <= section < len(COLUMNS) else None
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return {
                0: "Sequence number of the event in the audit chain",
                1: "When the event was recorded, in UTC",
                2: "Who did it (user name)",
                3: "What was done",
                4: "What it was done to",
                5: "Further facts recorded with the event",
            }.get(section)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.row_at(index.row()) if index.isValid() else None
        if row is None:
            return None
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            values = (
                str(row.sequence),
                time_text(row),
                row.actor,
                row.action,
                row.object,
                details_summary(row),
            )
            if role == Qt.ItemDataRole.ToolTipRole and column == 5:
                return pretty_details(row)
            return values[column]
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole and row.sequence == self.broken_sequence:
            return QBrush(BROKEN_BACKGROUND)
        if role == Qt.ItemDataRole.ForegroundRole and row.action == "permission.denied":
            return QBrush(DENIED_FOREGROUND)
        if role == Qt.ItemDataRole.UserRole:
            return row
        return None


__all__ = ["COLUMNS", "QtAuditTableModel", "details_summary", "pretty_details", "time_text"]
