"""The frame the administration pages share: a bold page heading, and the lead-only banner across
the top with the page's body under it."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QLayout, QVBoxLayout, QWidget

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
