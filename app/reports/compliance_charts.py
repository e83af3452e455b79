"""Charts of the compliance report, rendered with matplotlib's Agg backend to PNG bytes in memory.

Only :class:`matplotlib.figure.Figure` and the Agg canvas are used (never pyplot, which keeps
global state), so charts can be drawn on a worker thread. Bars are dark grey with their counts
printed at their ends, so a chart reads the same printed in greyscale.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from typing import Final

from app.reports.compliance_data import ComplianceOverview, CountLine, ReviewFigures

__all__ = [
    "CHART_DPI",
    "bar_chart_png",
    "overview_charts",
    "reviews_chart_png",
    "searches_chart_png",
]

CHART_DPI: Final = 150
BAR_COLOUR: Final = "#3a3a3a"
MAX_BARS: Final = 12  # the rest are summed into one "others" bar
MIN_SLOTS: Final = 3
_LABEL_WIDTH: Final = 34


def _short(label: str) -> str:
    return textwrap.shorten(" ".join(label.split()), width=_LABEL_WIDTH, placeholder="\u2026")


def _top(rows: Sequence[CountLine]) -> list[tuple[str, int]]:
    ordered = sorted(rows, key=lambda r: (-r.count, r.key))
    shown = [
        (_short(r.key if r.label == r.key else f"{r.key} {r.label}"), r.count)
        for r in ordered[:MAX_BARS]
    ]
    rest = sum(r.count for r in ordered[MAX_BARS:])
    if rest:
        shown.append((f"{len(ordered) - MAX_BARS} others", rest))
    return shown


def bar_chart_png(
    title: str,
    bars: Sequence[tuple[str, int]],
    *,
    empty_text: str,
    width_in: float = 6.4,
    dpi: int = CHART_DPI,
) -> bytes:
    """A horizontal bar chart (first bar at the top) as PNG bytes; ``empty_text`` when no bar
    has a count."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    height_in = max(1.6, 0.9 + 0.32 * max(1, len(bars)))
    figure = Figure(figsize=(width_in, height_in), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    if title:
        figure.suptitle(title, x=0.02, ha="left", fontsize=10, fontweight="bold")
    if not bars or all(count == 0 for _, count in bars):
        axes.text(0.5, 0.5, empty_text, ha="center", va="center", fontsize=9, color="#333333")
        axes.set_axis_off()
    else:
        labels = [label for label, _ in bars]
        counts = [count for _, count in bars]
        positions = list(range(len(bars)))
        axes.barh(positions, counts, color=BAR_COLOUR, height=0.6)
        axes.set_yticks(positions, labels, fontsize=8)
        # At least three bar slots, so one or two bars are not drawn as wide blocks.
        axes.set_ylim(max(len(bars), MIN_SLOTS) - 0.4, -0.6)
        highest = max(counts)
        axes.set_xlim(0, highest * 1.15 + 1)
        for position, count in zip(positions, counts, strict=True):
            axes.text(count + highest * 0.01 + 0.05, position, str(count), va="center", fontsize=8)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.tick_params(axis="x", labelsize=8)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def searches_chart_png(
    title: str,
    rows: Sequence[CountLine],
    *,
    width_in: float = 6.4,
    dpi: int = CHART_DPI,
) -> bytes:
    """Searches counted per purpose or per examiner; ``title`` empty under a section heading."""
    return bar_chart_png(
        title, _top(rows), empty_text="No searches in this period", width_in=width_in, dpi=dpi
    )


def reviews_chart_png(
    reviews: ReviewFigures,
    *,
    titled: bool = True,
    width_in: float = 6.4,
    dpi: int = CHART_DPI,
) -> bytes:
    bars = [
        ("Second review done", reviews.done),
        ("Skipped (reason recorded)", reviews.skipped),
        ("Awaiting review", reviews.awaiting),
        ("Reviewer disagreed", reviews.disagreements),
    ]
    return bar_chart_png(
        "Second reviews of possible leads" if titled else "",
        bars,
        empty_text="No possible leads in this period",
        width_in=width_in,
        dpi=dpi,
    )


def overview_charts(
    overview: ComplianceOverview, *, width_in: float = 6.4, dpi: int = CHART_DPI
) -> dict[str, bytes]:
    """The overview's charts by name: ``purpose``, ``examiner``, ``reviews`` (``width_in``
    inches wide at ``dpi``)."""
    return {
        "purpose": searches_chart_png(
            "Searches per purpose", overview.searches_per_purpose, width_in=width_in, dpi=dpi
        ),
        "examiner": searches_chart_png(
            "Searches per examiner", overview.searches_per_examiner, width_in=width_in, dpi=dpi
        ),
        "reviews": reviews_chart_png(overview.reviews, width_in=width_in, dpi=dpi),
    }
