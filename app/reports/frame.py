"""What every report page carries, and the document build around the content.

Every page gets, drawn by the page template and not by the content (so no layout can lose them):

- a black banner with the profile's banner text in white bold type (survives greyscale printing);
- a light diagonal watermark with the same words, drawn BEFORE the content so photos cover it;
- a footer with the report number and version, case number, "Page N of M" and the integrity line
  (the content fingerprint). The total page count is known only at the end, so the canvas keeps
  each finished page and draws the footers when the document is saved.

Fonts are DejaVu Sans (from matplotlib's bundled fonts, else the system's) so names in any Latin,
Greek or Cyrillic script print; Helvetica is the fallback. Output is deterministic for the same
content (reportlab's invariant mode; the PDF dates are the report's issue time).
"""

from __future__ import annotations

import functools
import importlib.util
import io
import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final
from xml.sax.saxutils import escape

from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate

from app.reports.data import ReportFrame

__all__ = [
    "CREATOR",
    "SUBJECT",
    "Fonts",
    "PageGeometry",
    "Styles",
    "build_pdf",
    "fonts",
    "format_date",
    "format_datetime",
    "format_duration",
    "geometry",
    "styles",
    "text",
]

logger = logging.getLogger(__name__)

CREATOR: Final = "FRX Examiner Workstation"
SUBJECT: Final = "Investigative lead only"
INTEGRITY_HINT: Final = (
    "verify with \u201cfrx report verify\u201d or the workstation\u2019s Verify report"
)

_BANNER_HEIGHT: Final = 20.0
_BANNER_TOP: Final = 0.4 * inch  # from the top edge of the paper
_FOOTER_BOTTOM: Final = 0.4 * inch
_SIDE_MARGIN: Final = 0.6 * inch
_WATERMARK_GREY: Final = 0.90


# --------------------------------------------------------------------------------------------
# Fonts


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str
    italic: str
    mono: str


_font_lock = threading.Lock()
_fonts: Fonts | None = None
_DEJAVU_FILES: Final = {
    "FrxSans": "DejaVuSans.ttf",
    "FrxSans-Bold": "DejaVuSans-Bold.ttf",
    "FrxSans-Oblique": "DejaVuSans-Oblique.ttf",
    "FrxSans-BoldOblique": "DejaVuSans-BoldOblique.ttf",
    "FrxMono": "DejaVuSansMono.ttf",
}


def _font_folders() -> list[Path]:
    folders = []
    # matplotlib is a dependency and bundles DejaVu; find it without importing it (slow).
    spec = importlib.util.find_spec("matplotlib")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            folders.append(Path(location) / "mpl-data" / "fonts" / "ttf")
    folders += [
        Path("/usr/share/fonts/truetype/dejavu"),
        Path("/usr/share/fonts/dejavu"),
        Path("/usr/share/fonts/TTF"),
    ]
    return folders


def fonts() -> Fonts:
    """Register the report fonts once; DejaVu Sans when found, else the built-in Helvetica."""
    global _fonts
    with _font_lock:
        if _fonts is not None:
            return _fonts
        for folder in _font_folders():
            paths = {name: folder / file for name, file in _DEJAVU_FILES.items()}
            if all(path.is_file() for path in paths.values()):
                try:
                    for name, path in paths.items():
                        pdfmetrics.registerFont(TTFont(name, str(path)))
                except Exception as error:  # a damaged font file: fall back, do not fail
                    logger.warning("Cannot use the fonts in %s: %s", folder, error)
                    continue
                pdfmetrics.registerFontFamily(
                    "FrxSans",
                    normal="FrxSans",
                    bold="FrxSans-Bold",
                    italic="FrxSans-Oblique",
                    boldItalic="FrxSans-BoldOblique",
                )
                _fonts = Fonts("FrxSans", "FrxSans-Bold", "FrxSans-Oblique", "FrxMono")
                return _fonts
        logger.warning("DejaVu fonts not found; reports use Helvetica (Latin-1 characters only)")
        _fonts = Fonts("Helvetica", "Helvetica-Bold", "Helvetica-Oblique", "Courier")
        return _fonts


# --------------------------------------------------------------------------------------------
# Styles and formatting


@dataclass(frozen=True)
class Styles:
    body: ParagraphStyle
    narrative: ParagraphStyle
    small: ParagraphStyle
    label: ParagraphStyle
    mono: ParagraphStyle
    heading: ParagraphStyle
    title: ParagraphStyle
    title_right: ParagraphStyle
    right: ParagraphStyle
    table_head: ParagraphStyle
    caption: ParagraphStyle
    notice: ParagraphStyle


@functools.cache
def styles() -> Styles:
    """The report's paragraph styles (9 pt body); built once, never modified."""
    f = fonts()
    body = ParagraphStyle("body", fontName=f.regular, fontSize=9, leading=11.5)
    small = ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5)
    return Styles(
        body=body,
        narrative=ParagraphStyle("narrative", parent=body, spaceAfter=2.5),
        small=small,
        label=ParagraphStyle(
            "label", parent=body, fontName=f.bold, fontSize=7.5, leading=9.5, textColor="#333333"
        ),
        mono=ParagraphStyle("mono", parent=body, fontName=f.mono, fontSize=7.5, leading=9.5),
        heading=ParagraphStyle(
            "heading", parent=body, fontName=f.bold, fontSize=10.5, leading=13, spaceBefore=9,
            spaceAfter=3,
        ),
        title=ParagraphStyle("title", parent=body, fontName=f.bold, fontSize=13, leading=16),
        title_right=ParagraphStyle(
            "title_right", parent=body, fontName=f.bold, fontSize=12, leading=15,
            alignment=TA_RIGHT,
        ),
        right=ParagraphStyle("right", parent=body, alignment=TA_RIGHT),
        table_head=ParagraphStyle(
            "table_head", parent=body, fontName=f.bold, fontSize=8, leading=10
        ),
        caption=ParagraphStyle(
            "caption", parent=body, fontSize=7.5, leading=9, textColor="#333333"
        ),
        notice=ParagraphStyle("notice", parent=body, fontName=f.bold, fontSize=9, leading=11.5),
    )


def text(value: object) -> str:
    """Escape a plain value for a Paragraph (which reads a little XML markup)."""
    return escape(str(value)).replace("\n", "<br/>")


def format_datetime(moment: datetime | None) -> str:
    """'2026-03-14 15:09:27 UTC' (reports print every time in UTC)."""
    if moment is None:
        return "not recorded"
    if moment.tzinfo is None:
        raise ValueError("report times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_date(day: date | None) -> str:
    return "not recorded" if day is None else day.isoformat()


def format_duration(seconds: int) -> str:
    """'45 s', '12 min 30 s', '1 h 05 min'."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


# --------------------------------------------------------------------------------------------
# Page geometry and furniture


@dataclass(frozen=True)
class PageGeometry:
    width: float
    height: float
    left: float
    right: float
    top: float  # top margin (content starts below banner and running head)
    bottom: float

    @property
    def content_width(self) -> float:
        return self.width - self.left - self.right


def geometry(paper: str) -> PageGeometry:
    """Page size and margins for 'letter' or 'a4'."""
    size = {"letter": LETTER, "a4": A4}.get(paper)
    if size is None:
        raise ValueError(f"unknown paper {paper!r}")
    width, height = size
    top = _BANNER_TOP + _BANNER_HEIGHT + 24
    bottom = _FOOTER_BOTTOM + 30
    return PageGeometry(width, height, _SIDE_MARGIN, _SIDE_MARGIN, top, bottom)


@dataclass(frozen=True)
class _Furniture:
    """What the page template draws on every page."""

    frame: ReportFrame
    fingerprint: str
    document_title: str
    page: PageGeometry
    fonts: Fonts

    def draw_page_start(self, canvas: Canvas, _doc: object = None) -> None:
        """Banner, running head and watermark: drawn before the content of the page."""
        self._draw_watermark(canvas)
        self._draw_banner(canvas)
        self._draw_running_head(canvas)

    def _draw_banner(self, canvas: Canvas) -> None:
        page, f = self.page, self.fonts
        text_value = self.frame.banner_text.strip()
        y = page.height - _BANNER_TOP - _BANNER_HEIGHT
        size = _fitting_size(text_value, f.bold, 11.0, page.content_width - 16, minimum=6.0)
        canvas.saveState()
        canvas.setFillGray(0.0)
        canvas.rect(page.left, y, page.content_width, _BANNER_HEIGHT, stroke=0, fill=1)
        canvas.setFillGray(1.0)
        canvas.setFont(f.bold, size)
        canvas.drawCentredString(
            page.left + page.content_width / 2, y + (_BANNER_HEIGHT - size * 0.72) / 2, text_value
        )
        canvas.restoreState()

    def _draw_running_head(self, canvas: Canvas) -> None:
        page, f = self.page, self.fonts
        y = page.height - _BANNER_TOP - _BANNER_HEIGHT - 11
        left_text = " \u2014 ".join(p for p in (self.frame.agency, self.frame.unit) if p)
        canvas.saveState()
        canvas.setFillGray(0.25)
        canvas.setFont(f.regular, 7.5)
        right_width = pdfmetrics.stringWidth(self.document_title, f.regular, 7.5)
        canvas.drawRightString(page.width - page.right, y, self.document_title)
        room = page.content_width - right_width - 12
        canvas.drawString(page.left, y, _clip(left_text, f.regular, 7.5, room))
        canvas.restoreState()

    def _draw_watermark(self, canvas: Canvas) -> None:
        page, f = self.page, self.fonts
        banner = self.frame.banner_text.strip()
        lines = [part.strip() for part in banner.split(" - ")] if " - " in banner else [banner]
        diagonal = math.hypot(page.width, page.height)
        widest = max(pdfmetrics.stringWidth(line, f.bold, 1.0) for line in lines)
        size = min(44.0, 0.62 * diagonal / widest)
        canvas.saveState()
        canvas.setFillGray(_WATERMARK_GREY)
        canvas.translate(page.width / 2, page.height / 2)
        canvas.rotate(math.degrees(math.atan2(page.height, page.width)))
        canvas.setFont(f.bold, size)
        leading = size * 1.25
        first = (len(lines) - 1) * leading / 2
        for index, line in enumerate(lines):
            canvas.drawCentredString(0, first - index * leading - size * 0.36, line)
        canvas.restoreState()

    def draw_footer(self, canvas: Canvas, number: int, total: int) -> None:
        """Report and case numbers, page N of M, integrity line: drawn when the total is known."""
        page, f = self.page, self.fonts
        frame = self.frame
        top_line = _FOOTER_BOTTOM + 19
        canvas.saveState()
        canvas.setStrokeGray(0.3)
        canvas.setLineWidth(0.5)
        canvas.line(page.left, top_line + 10, page.width - page.right, top_line + 10)
        canvas.setFillGray(0.0)
        page_label = f"Page {number} of {total}"
        canvas.setFont(f.bold, 8)
        canvas.drawRightString(page.width - page.right, top_line, page_label)
        room = page.content_width - pdfmetrics.stringWidth(page_label, f.bold, 8) - 12
        canvas.setFont(f.regular, 8)
        left = (
            f"Report {frame.report_number} \u00b7 version {frame.version} \u00b7 "
            f"Case {frame.case_number}"
        )
        canvas.drawString(page.left, top_line, _clip(left, f.regular, 8, room))
        canvas.setFillGray(0.2)
        integrity = f"Content fingerprint {self.fingerprint[:16]} \u00b7 {INTEGRITY_HINT}"
        canvas.setFont(f.regular, 7)
        canvas.drawString(
            page.left, _FOOTER_BOTTOM + 8, _clip(integrity, f.regular, 7, page.content_width)
        )
        canvas.restoreState()


def _fitting_size(value: str, font: str, preferred: float, room: float, minimum: float) -> float:
    width = float(pdfmetrics.stringWidth(value, font, preferred))
    if width <= room:
        return preferred
    return max(minimum, preferred * room / width)


def _clip(value: str, font: str, size: float, room: float) -> str:
    if pdfmetrics.stringWidth(value, font, size) <= room:
        return value
    while value and pdfmetrics.stringWidth(value + "\u2026", font, size) > room:
        value = value[:-1]
    return value + "\u2026"


def _numbered_canvas_class(
    draw_footer: Callable[[Canvas, int, int], None], issued_at: datetime
) -> type[Canvas]:
    """A Canvas that holds finished pages back until save(), then adds 'Page N of M' footers."""
    stamp = issued_at.astimezone(UTC).strftime("D:%Y%m%d%H%M%S+00'00'")

    class NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab has no type hints
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._finished_pages: list[dict[str, Any]] = []
            # The PDF's creation date is the report's issue time: deterministic and meaningful.
            self.setDateFormatter(lambda *_parts: stamp)

        def showPage(self) -> None:
            self._finished_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._finished_pages)
            for number, state in enumerate(self._finished_pages, start=1):
                self.__dict__.update(state)
                draw_footer(self, number, total)
                Canvas.showPage(self)
            Canvas.save(self)

    return NumberedCanvas


def build_pdf(
    frame: ReportFrame,
    *,
    fingerprint: str,
    document_title: str,
    pdf_title: str,
    story: Sequence[Flowable],
) -> bytes:
    """Lay ``story`` out on report pages (banner, watermark, footer) and return the PDF bytes."""
    page = geometry(frame.paper)
    furniture = _Furniture(frame, fingerprint, document_title, page, fonts())
    buffer = io.BytesIO()
    document = BaseDocTemplate(
        buffer,
        pagesize=(page.width, page.height),
        leftMargin=page.left,
        rightMargin=page.right,
        topMargin=page.top,
        bottomMargin=page.bottom,
        title=pdf_title,
        author=frame.issued_by,
        subject=SUBJECT,
        creator=CREATOR,
        keywords=(
            f"FRX report {frame.report_number} version {frame.version}; "
            f"case {frame.case_number}; content fingerprint {fingerprint}"
        ),
        invariant=1,
        pageCompression=1,
    )
    content_frame = Frame(
        page.left, page.bottom, page.content_width, page.height - page.top - page.bottom,
        id="content", leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0,
    )
    document.addPageTemplates(
        [PageTemplate(id="report", frames=[content_frame], onPage=furniture.draw_page_start)]
    )
    document.build(
        list(story), canvasmaker=_numbered_canvas_class(furniture.draw_footer, frame.issued_at)
    )
    return buffer.getvalue()
