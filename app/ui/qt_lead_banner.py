"""QtLeadBanner: the always-visible black bar that says a result is an investigative lead only.

Every screen that shows search results, candidates or comparisons puts one at its top (MPTC
IV.E.3-4, II). The words come from the active policy profile (``profile.report.banner``): the
application sets them once with :func:`set_default_banner_text` after the workstation opens, so a
banner built without arguments anywhere later shows the profile's wording.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

BANNER_TEXT = "INVESTIGATIVE LEAD ONLY - NOT PROBABLE CAUSE TO ARREST"
_default_text = BANNER_TEXT


def set_default_banner_text(text: str) -> None:
    """The words every banner built from now on shows (the active profile's banner)."""
    global _default_text
    _default_text = " ".join(text.split()) or BANNER_TEXT


def default_banner_text() -> str:
    return _default_text


class QtLeadBanner(QLabel):
    """White bold capitals on black, full width, never elided, never hidden by a style."""

    def __init__(self, text: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("leadBanner")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        font = QFont(self.font())
        font.setBold(True)
        font.setPointSizeF(max(font.pointSizeF(), 9.0) * 1.15)
        self.setFont(font)
        # An object-name selector so a parent's style sheet cannot repaint the bar in other colours.
        self.setStyleSheet(
            "QLabel#leadBanner { background-color: #000000; color: #ffffff; "
            "padding: 5px 8px; letter-spacing: 1px; }"
        )
        self.setAutoFillBackground(True)
        self.set_banner_text(text if text is not None else _default_text)

    def set_banner_text(self, text: str) -> None:
        words = " ".join(text.split()) or BANNER_TEXT
        self.setText(words)
        self.setAccessibleName(words)
        self.setToolTip(
            "A facial recognition result is an investigative lead only: it is not a positive "
            "identification and not probable cause to arrest."
        )

    def banner_text(self) -> str:
        return self.text()


__all__ = ["BANNER_TEXT", "QtLeadBanner", "default_banner_text", "set_default_banner_text"]
