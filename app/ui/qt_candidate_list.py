"""QtCandidateList: a search's ranked candidates with thumbnail, rank, score, photo dates.

The score is the model's own number ("distance 0.412") with the model's meaning in its tooltip,
never a "percent match". Thumbnails arrive later than the rows (``set_thumbnail``), so a list of
50 candidates opens at once and fills in its pictures from a worker. Double-click or Enter opens
the comparison (:attr:`candidate_activated`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.ui.case_views import CandidateRow, date_text, newer_photo_note, score_text
from app.ui.comparison.qt_face_graphics import qimage_from_array

THUMB_SIZE = 64
_ModelIndex = QModelIndex | QPersistentModelIndex
CONCLUSION_WORDS = {
    "possible_lead": "Possible lead",
    "not_a_lead": "Not a lead",
    "inconclusive": "Inconclusive",
}


def thumbnail_pixmap(rgb: npt.NDArray[np.uint8], size: int = THUMB_SIZE) -> QPixmap:
    pixmap = QPixmap.fromImage(qimage_from_array(rgb))
    return pixmap.scaled(
        size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


class QtCandidateTableModel(QAbstractTableModel):
    COLUMNS = ("Photo", "Rank", "Score", "Subject", "Photo date", "Most recent photo",
               "Your conclusion")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[CandidateRow] = []
        self._thumbs: dict[int, QPixmap] = {}
        self._metric = "euclidean"
        self._tooltip = ""

    def set_rows(self, rows: Sequence[CandidateRow], *, metric: str, score_tooltip: str) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        wanted = {row.candidate_id for row in rows}  # a refreshed list keeps its pictures
        self._thumbs = {cid: pixmap for cid, pixmap in self._thumbs.items() if cid in wanted}
        self._metric = metric
        self._tooltip = score_tooltip
        self.endResetModel()

    def rows(self) -> list[CandidateRow]:
        return list(self._rows)

    def row_at(self, row: int) -> CandidateRow:
        return self._rows[row]

    def set_thumbnail(self, candidate_id: int, pixmap: QPixmap) -> None:
        self._thumbs[candidate_id] = pixmap
        for position, row in enumerate(self._rows):
            if row.candidate_id == candidate_id:
                index = self.index(position, 0)
                self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def has_thumbnail(self, candidate_id: int) -> bool:
        return candidate_id in self._thumbs

    def update_conclusion(self, candidate_id: int, conclusion: str | None) -> None:
        for position, row in enumerate(self._rows):
            if row.candidate_id == candidate_id:
                self._rows[position] = dataclasses.replace(row, conclusion=conclusion)
                index = self.index(position, 6)
                self.dataChanged.emit(index, index)

    @staticmethod
    def _state_text(row: CandidateRow) -> str:
        conclusion = CONCLUSION_WORDS.get(row.conclusion or "")
        if conclusion and row.progress:
            return f"{conclusion} ({row.progress})"
        return conclusion or row.progress or "not compared yet"

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole and section == 2:
            return self._tooltip
        return None

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return self._thumbs.get(row.candidate_id)
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return None if row.candidate_id in self._thumbs else "..."
            most_recent = date_text(row.most_recent_photo_date)
            note = newer_photo_note(row)
            return (
                None,
                str(row.rank),
                score_text(row.score, self._metric),
                row.subject_reference,
                date_text(row.photo_date),
                f"{most_recent} (newer)" if note else most_recent,
                self._state_text(row),
            )[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 2:
                return self._tooltip
            if column == 5:
                note = newer_photo_note(row)
                return (f"The subject has a {note}: compare with it too." if note
                        else "The candidate photo is the subject's most recent.")
            return "Double-click or press Enter to compare this candidate with the probe."
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (1, 2):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class QtCandidateList(QWidget):
    """Caption (search, model, count) over the candidate table."""

    candidate_activated = Signal(int)  # row index in the list

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel("No search yet.")
        self.caption.setObjectName("candidateCaption")
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        self.model = QtCandidateTableModel(self)
        self.table = QTableView()
        self.table.setObjectName("candidateTable")
        self.table.setModel(self.model)
        self.table.setAccessibleName("Candidates")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(THUMB_SIZE + 6)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(0, THUMB_SIZE + 12)
        header.setStretchLastSection(True)
        self.table.doubleClicked.connect(
            lambda index: self.candidate_activated.emit(index.row()) if index.isValid() else None
        )
        self.table.installEventFilter(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.table, 1)

    def set_candidates(
        self, rows: Sequence[CandidateRow], *, caption: str, metric: str, score_tooltip: str
    ) -> None:
        current = self.current_row()
        kept = self.model.rows()[current].candidate_id if current >= 0 else None
        self.model.set_rows(rows, metric=metric, score_tooltip=score_tooltip)
        self.caption.setText(caption)
        self.caption.setToolTip(score_tooltip)
        ids = [row.candidate_id for row in rows]
        if kept in ids:
            self.table.selectRow(ids.index(kept))
        elif rows:
            self.table.selectRow(0)

    def clear(self, caption: str = "No search yet.") -> None:
        self.set_candidates([], caption=caption, metric="euclidean", score_tooltip="")

    def set_thumbnail(self, candidate_id: int, rgb: npt.NDArray[np.uint8]) -> None:
        self.model.set_thumbnail(candidate_id, thumbnail_pixmap(rgb))

    def rows(self) -> list[CandidateRow]:
        return self.model.rows()

    def current_row(self) -> int:
        index = self.table.currentIndex()
        return index.row() if index.isValid() else -1

    def select_row(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            self.table.selectRow(row)

    def eventFilter(self, watched: Any, event: Any) -> bool:
        if (
            watched is self.table
            and isinstance(event, QKeyEvent)
            and event.type() == QKeyEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and self.current_row() >= 0
        ):
            self.candidate_activated.emit(self.current_row())
            return True
        return super().eventFilter(watched, event)


__all__ = ["CONCLUSION_WORDS", "QtCandidateList", "QtCandidateTableModel", "thumbnail_pixmap"]
