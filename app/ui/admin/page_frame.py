"""What the administration pages share: a bold page heading, the lead-only banner across the top
with the page's body under it, and read-only row-selecting tables."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLayout,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

HEADING_SCALE = 1.4


def page_heading(text: str) -> QLabel:
    """A page title: the application font, bold and larger."""
    heading = QLabel(text)
    font = heading.font()
    font.setPointSizeF(font.pointSizeF() * HEADING_SCALE)
    font.setBold(True)
    heading.setFont(font)
    return heading


def body_with_margins() -> QVBoxLayout:
    """The layout of a page's body (everything under the banner)."""
    body = QVBoxLayout()
    body.setContentsMargins(12, 8, 12, 8)
    return body


def frame_page(page: QWidget, banner: QWidget, body: QLayout | QWidget) -> None:
    """Lay ``page`` out as the banner, edge to edge, over ``body``, which takes the rest."""
    layout = QVBoxLayout(page)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    layout.addWidget(banner)
    if isinstance(body, QWidget):
        layout.addWidget(body, 1)
    else:
        layout.addLayout(body, 1)


def read_only_table(columns: Sequence[str]) -> QTableWidget:
    """A table the user reads and selects whole rows of, one at a time; columns fit their text."""
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    return table
