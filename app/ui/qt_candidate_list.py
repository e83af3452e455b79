"""QtCandidateList: a search's ranked candidates with thumbnail, rank, score, photo dates.

The score is the model's own number ("distance 0.412") with the model's meaning in its tooltip,
never a "percent match". Thumbnails arrive later than the rows (``set_thumbnail``), so a list of
50 candidates opens at once and fills in its pictures from a worker. The candidates show as a
list (a table) or as a grid of photo cards (rank, score, subject, photo dates under each photo);
"List" / "Grid" or Ctrl+G switch between them, and both share one selection. Double-click or
Enter opens the comparison (:attr:`candidate_activated`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
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
from PySide6.QtGui import QKeyEvent, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.case_views import CandidateRow, date_text, newer_photo_note, score_text
from app.ui.comparison.qt_face_graphics import qimage_from_array

THUMB_SIZE = 64
GRID_THUMB_SIZE = 112
CARD_COLUMN = 7  # hidden in the table: the grid's photo card (picture and several lines)
_ModelIndex = QModelIndex | QPersistentModelIndex
CONCLUSION_WORDS = {
    "possible_lead": "Possible lead",
    "not_a_lead": "Not a lead",
    "inconclusive": "Inconclusive",
}


def thumbnail_pixmap(rgb: npt.NDArray[np.uint8], size: int = THUMB_SIZE) -> QPixmap:
    return scaled_pixmap(QPixmap.fromImage(qimage_from_array(rgb)), size)


def scaled_pixmap(pixmap: QPixmap, size: int) -> QPixmap:
    return pixmap.scaled(
        size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


class QtCandidateTableModel(QAbstractTableModel):
    COLUMNS = ("Photo", "Rank", "Score", "Subject", "Photo date", "Most recent photo",
               "Your conclusion", "Card")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[CandidateRow] = []
        self._thumbs: dict[int, QPixmap] = {}
        self._cards: dict[int, QPixmap] = {}  # the larger picture of the grid
        self._metric = "euclidean"
        self._tooltip = ""

    def set_rows(self, rows: Sequence[CandidateRow], *, metric: str, score_tooltip: str) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        wanted = {row.candidate_id for row in rows}  # a refreshed list keeps its pictures
        self._thumbs = {cid: pixmap for cid, pixmap in self._thumbs.items() if cid in wanted}
        self._cards = {cid: pixmap for cid, pixmap in self._cards.items() if cid in wanted}
        self._metric = metric
        self._tooltip = score_tooltip
        self.endResetModel()

    def rows(self) -> list[CandidateRow]:
        return list(self._rows)

    def row_at(self, row: int) -> CandidateRow:
        return self._rows[row]

    def set_thumbnail(self, candidate_id: int, pixmap: QPixmap) -> None:
        """The candidate's picture (at least :data:`GRID_THUMB_SIZE` wide for a sharp grid)."""
        self.set_thumbnails({candidate_id: pixmap})

    def set_thumbnails(self, pixmaps: Mapping[int, QPixmap]) -> None:
        """Several pictures at once: one change signal (each one makes the views re-measure)."""
        for candidate_id, pixmap in pixmaps.items():
            self._thumbs[candidate_id] = scaled_pixmap(pixmap, THUMB_SIZE)
            self._cards[candidate_id] = scaled_pixmap(pixmap, GRID_THUMB_SIZE)
        positions = [p for p, row in enumerate(self._rows) if row.candidate_id in pixmaps]
        if positions:
            self.dataChanged.emit(self.index(min(positions), 0),
                                  self.index(max(positions), CARD_COLUMN),
                                  [Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.DisplayRole])

    def has_thumbnail(self, candidate_id: int) -> bool:
        return candidate_id in self._thumbs

    def update_conclusion(self, candidate_id: int, conclusion: str | None) -> None:
        for position, row in enumerate(self._rows):
            if row.candidate_id == candidate_id:
                self._rows[position] = dataclasses.replace(row, conclusion=conclusion)
                self.dataChanged.emit(self.index(position, 6), self.index(position, CARD_COLUMN))

    @staticmethod
    def _state_text(row: CandidateRow) -> str:
        conclusion = CONCLUSION_WORDS.get(row.conclusion or "")
        if conclusion and row.progress:
            return f"{conclusion} ({row.progress})"
        return conclusion or row.progress or "not compared yet"

    def card_text(self, row: CandidateRow) -> str:
        """The lines under a photo in the grid."""
        most_recent = date_text(row.most_recent_photo_date)
        newer = " (newer)" if newer_photo_note(row) else ""
        return (f"#{row.rank}  {score_text(row.score, self._metric)}\n{row.subject_reference}\n"
                f"photo {date_text(row.photo_date)}\nmost recent {most_recent}{newer}\n"
                f"{self._state_text(row)}")

    def card_tooltip(self, row: CandidateRow) -> str:
        note = newer_photo_note(row)
        lines = [f"Rank {row.rank}, {score_text(row.score, self._metric)}: {self._tooltip}"
                 if self._tooltip else f"Rank {row.rank}, {score_text(row.score, self._metric)}",
                 f"The subject has a {note}: compare with it too." if note else
                 "The candidate photo is the subject's most recent.",
                 "Double-click or press Enter to compare this candidate with the probe."]
        return "\n".join(lines)

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
        if column == CARD_COLUMN:
            return self._card_data(row, role)
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

    def _card_data(self, row: CandidateRow, role: int) -> Any:
        if role == Qt.ItemDataRole.DecorationRole:
            return self._cards.get(row.candidate_id, self._placeholder())
        if role == Qt.ItemDataRole.DisplayRole:
            return self.card_text(row)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.card_tooltip(row)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return self.card_text(row).replace("\n", ", ")
        return None

    _blank: QPixmap | None = None

    @classmethod
    def _placeholder(cls) -> QPixmap:
        """A grey square while the picture loads, so the grid does not jump when it arrives."""
        if cls._blank is None:
            cls._blank = QPixmap(GRID_THUMB_SIZE, GRID_THUMB_SIZE)
            cls._blank.fill(Qt.GlobalColor.darkGray)
        return cls._blank


class QtCandidateList(QWidget):
    """Caption (search, model, count) over the candidate table."""

    candidate_activated = Signal(int)  # row index in the list
    grid_mode_changed = Signal(bool)  # the examiner switched between list and grid

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
        self.table.setColumnHidden(CARD_COLUMN, True)
        self.grid = self._build_grid()
        for view in (self.table, self.grid):
            view.doubleClicked.connect(
                lambda index: self.candidate_activated.emit(index.row()) if index.isValid()
                else None
            )
            view.installEventFilter(self)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.grid)
        self.list_button = QToolButton()
        self.list_button.setText("List")
        self.list_button.setToolTip("Show the candidates as a list (Ctrl+G switches)")
        self.grid_button = QToolButton()
        self.grid_button.setText("Grid")
        self.grid_button.setToolTip("Show the candidates as a grid of photos (Ctrl+G switches)")
        self._view_buttons = QButtonGroup(self)
        for button in (self.list_button, self.grid_button):
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            self._view_buttons.addButton(button)
        self.list_button.setChecked(True)
        self.list_button.clicked.connect(lambda: self.set_grid_mode(False))
        self.grid_button.clicked.connect(lambda: self.set_grid_mode(True))
        toggle = QShortcut(QKeySequence("Ctrl+G"), self)
        toggle.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        toggle.activated.connect(lambda: self.set_grid_mode(not self.grid_mode(), focus=True))
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.caption, 1)
        top.addWidget(self.list_button)
        top.addWidget(self.grid_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)

    def _build_grid(self) -> QListView:
        grid = QListView()
        grid.setObjectName("candidateGrid")
        grid.setAccessibleName("Candidates (grid)")
        grid.setModel(self.model)
        grid.setModelColumn(CARD_COLUMN)
        grid.setSelectionModel(self.table.selectionModel())  # one selection for both views
        grid.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        grid.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        grid.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        grid.setViewMode(QListView.ViewMode.IconMode)
        grid.setMovement(QListView.Movement.Static)
        grid.setResizeMode(QListView.ResizeMode.Adjust)
        grid.setWrapping(True)
        grid.setWordWrap(False)  # one card line per text line; the grid is wide enough
        grid.setUniformItemSizes(False)  # a card with a "(newer)" line is wider
        grid.setIconSize(QSize(GRID_THUMB_SIZE, GRID_THUMB_SIZE))
        metrics = grid.fontMetrics()
        line = metrics.lineSpacing()
        # Room for the picture, the longest usual line and five lines.
        width = max(GRID_THUMB_SIZE, metrics.horizontalAdvance("most recent 2000-01-01 (newer)"))
        grid.setGridSize(QSize(width + 16, GRID_THUMB_SIZE + 5 * line + 16))
        grid.setSpacing(4)
        return grid

    def grid_mode(self) -> bool:
        return self.stack.currentWidget() is self.grid

    def set_grid_mode(self, grid: bool, *, focus: bool = False) -> None:
        """Show the photo grid (True) or the list; the selected candidate stays selected."""
        view: QAbstractItemView = self.grid if grid else self.table
        changed = grid != self.grid_mode()
        self.stack.setCurrentWidget(view)
        (self.grid_button if grid else self.list_button).setChecked(True)
        current = self.table.currentIndex()
        if current.isValid():
            view.scrollTo(self.model.index(current.row(), CARD_COLUMN if grid else 0))
        if focus:
            view.setFocus(Qt.FocusReason.ShortcutFocusReason)
        if changed:
            self.grid_mode_changed.emit(grid)

    def current_view(self) -> QAbstractItemView:
        return self.grid if self.grid_mode() else self.table

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
        self.set_thumbnails({candidate_id: rgb})

    def set_thumbnails(self, pictures: Mapping[int, npt.NDArray[np.uint8]]) -> None:
        """Candidate id -> RGB picture; several at once are much cheaper than one by one."""
        self.model.set_thumbnails({candidate_id: thumbnail_pixmap(rgb, GRID_THUMB_SIZE)
                                   for candidate_id, rgb in pictures.items()})

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
            watched in (self.table, self.grid)
            and isinstance(event, QKeyEvent)
            and event.type() == QKeyEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and self.current_row() >= 0
        ):
            self.candidate_activated.emit(self.current_row())
            return True
        return super().eventFilter(watched, event)


__all__ = [
    "CARD_COLUMN",
    "CONCLUSION_WORDS",
    "GRID_THUMB_SIZE",
    "QtCandidateList",
    "QtCandidateTableModel",
    "thumbnail_pixmap",
]
