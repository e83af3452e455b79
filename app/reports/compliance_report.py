"""The PDF compliance report of a period, built from a :class:`ComplianceOverview`.

A title page (period, agency and unit, policy profile, who generated it and when, the summary
counts), then one section each for searches, leads and second reviews, reports released,
refused actions, training due and sealed records, with tables and bar charts (matplotlib PNGs,
see :mod:`app.reports.compliance_charts`). Every page carries a running head and a footer with
"Page N of M" and the generation line, drawn by the page template. Tables and fonts are those of
the lead report (:mod:`app.reports.sections`, :mod:`app.reports.frame`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import inch
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    HRFlowable,
    Image,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
)

from app.reports.compliance_charts import (
    reviews_chart_png,
    searches_chart_png,
)
from app.reports.compliance_data import ComplianceOverview, CountLine
from app.reports.frame import CREATOR, fonts, format_date, format_datetime, styles, text
from app.reports.sections import grid_table, kv_table

__all__ = ["DOCUMENT_TITLE", "build_compliance_report", "period_text"]

DOCUMENT_TITLE: Final = "Facial recognition compliance report"
RESTRICTION: Final = "For supervision, audit and oversight. Not for release outside the agency."
_MARGIN: Final = 0.6 * inch
_TOP: Final = 0.9 * inch
_BOTTOM: Final = 0.85 * inch
_CHART_WIDTH: Final = 5.6 * inch


def period_text(since: datetime | None, until: datetime | None) -> str:
    """'2026-01-01 00:00:00 UTC to 2026-02-01 00:00:00 UTC (end not included)'."""
    start = format_datetime(since) if since is not None else "the first record"
    end = format_datetime(until) + " (end not included)" if until is not None else "now"
    return f"{start} to {end}"


def _chart(png: bytes, width: float) -> Image:
    pixels_w, pixels_h = ImageReader(io.BytesIO(png)).getSize()
    shown = min(width, _CHART_WIDTH)
    return Image(io.BytesIO(png), width=shown, height=shown * pixels_h / pixels_w, hAlign="LEFT")


def _note(value: str) -> Paragraph:
    return Paragraph(text(value), styles().caption)


def _count_table(title: str, rows: Sequence[CountLine], width: float, *, code: str) -> Flowable:
    if not rows:
        return _note(f"No {title.lower()} in this period.")
    total = str(sum(r.count for r in rows))
    if all(r.label == r.key for r in rows):
        return grid_table(
            (code, "Count"),
            [*((r.key, str(r.count)) for r in rows), ("Total", total)],
            (width - 0.8 * inch, 0.8 * inch),
        )
    return grid_table(
        (code, "Meaning", "Count"),
        [*((r.key, r.label, str(r.count)) for r in rows), ("Total", "", total)],
        (1.2 * inch, width - 2.0 * inch, 0.8 * inch),
    )


def heading(title: str, room: float = 1.6 * inch) -> list[Flowable]:
    """A section heading with a full-width rule under it, never alone at a page's foot."""
    rule = HRFlowable(width="100%", thickness=0.8, color=colors.black, spaceBefore=1,
                      spaceAfter=4)
    return [CondPageBreak(room), Paragraph(text(title), styles().heading), rule]


def _title_page(o: ComplianceOverview, width: float) -> list[Flowable]:
    s = styles()
    profile = (
        f"{o.profile_name} version {o.profile_version} "
        f"(SHA-256 {o.profile_sha256[:16]}\u2026)"
    )
    c = o.counts
    summary: list[tuple[str, str]] = [
        ("Search requests opened", str(c.requests)),
        ("Searches run", str(c.searches)),
        ("Candidates compared and concluded", str(c.comparisons_concluded)),
        ("Possible leads", str(c.possible_leads)),
        ("Concluded not a lead or inconclusive", str(c.no_lead_conclusions)),
        ("Lead reports issued", str(c.lead_reports)),
        ("No-lead reports issued", str(c.no_lead_reports)),
        ("Second reviews done", str(o.reviews.done)),
        ("Second reviews missing", f"{o.reviews.missing} ({o.reviews.skipped} skipped with a "
                                   f"reason, {o.reviews.awaiting} awaiting)"),
        ("Reviews that disagreed", str(o.reviews.disagreements)),
        ("Releases of reports", str(c.disseminations)),
        ("Refused actions", str(c.refused_actions)),
        ("Training due within " f"{o.training_window_days} days",
         "not shown to this reader" if o.training_due is None else str(len(o.training_due))),
        ("Sealed gallery subjects / photos", f"{o.sealed.subjects_sealed_now} / "
                                             f"{o.sealed.photos_sealed_now}"),
    ]
    return [
        Spacer(1, 0.3 * inch),
        Paragraph(text(DOCUMENT_TITLE), s.title),
        Spacer(1, 6),
        kv_table(
            [
                ("Period", period_text(o.since, o.until)),
                ("Agency", o.agency),
                ("Unit", o.unit),
                ("Policy profile", profile),
                ("Generated by", o.generated_by),
                ("Generated at", format_datetime(o.generated_at)),
            ],
            width,
        ),
        Spacer(1, 6),
        _note(RESTRICTION),
        *heading("Summary of the period"),
        kv_table(summary, width, label_width=2.6 * inch),
        Spacer(1, 6),
        _note(
            "Searches are counted when they ran, comparisons and leads when they were concluded, "
            "reviews when recorded, reports when issued and releases when recorded. A possible "
            "lead is never an identification and never probable cause to arrest."
        ),
        PageBreak(),
    ]


def _searches(o: ComplianceOverview, width: float) -> list[Flowable]:
    return [
        *heading("Searches per purpose"),
        _chart(searches_chart_png("", o.searches_per_purpose), width),
        Spacer(1, 4),
        _count_table("searches", o.searches_per_purpose, width, code="Purpose"),
        *heading("Searches per examiner"),
        _chart(searches_chart_png("", o.searches_per_examiner), width),
        Spacer(1, 4),
        _count_table("searches", o.searches_per_examiner, width, code="Examiner"),
    ]


def _reviews(o: ComplianceOverview, width: float) -> list[Flowable]:
    story: list[Flowable] = [
        *heading("Leads and second reviews"),
        _chart(reviews_chart_png(o.reviews, titled=False), width),
        *heading("Possible leads without a second review"),
    ]
    if o.unreviewed_leads:
        story.append(
            grid_table(
                ("Request", "Case", "Candidate", "Examiner", "Concluded", "State / reason"),
                [
                    (u.request_number, u.case_number, u.subject_reference, u.examiner,
                     format_datetime(u.concluded_at),
                     u.review_state + (f": {u.skip_reason}" if u.skip_reason else ""))
                    for u in o.unreviewed_leads
                ],
                _columns(width, (1.2, 0.95, 0.8, 0.7, 1.25), 6),
                small=True,
            )
        )
    else:
        story.append(_note("Every possible lead of the period had its second review."))
    story += heading("Reviews that disagreed with the examiner")
    if o.disagreements:
        story.append(
            grid_table(
                ("Request", "Case", "Examiner", "Reviewer", "Recorded", "Conclusions"),
                [
                    (d.request_number, d.case_number, d.examiner, d.reviewer,
                     format_datetime(d.recorded_at),
                     f"{d.first_conclusion} / {d.reviewer_conclusion}"
                     + (" (resolved)" if d.resolved else " (open)"))
                    for d in o.disagreements
                ],
                _columns(width, (1.2, 0.95, 0.7, 0.7, 1.25), 6),
                small=True,
            )
        )
    else:
        story.append(_note("No second review disagreed in this period."))
    return story


def _columns(width: float, fixed_inches: Sequence[float], count: int) -> list[float]:
    fixed = [w * inch for w in fixed_inches]
    return [*fixed, *([(width - sum(fixed)) / (count - len(fixed))] * (count - len(fixed)))]


def _releases(o: ComplianceOverview, width: float) -> list[Flowable]:
    story: list[Flowable] = [*heading("Reports released and to whom")]
    if not o.releases:
        return [*story, _note("No report was released in this period.")]
    story.append(_count_table("releases", o.releases_per_recipient, width, code="Recipient"))
    story.append(Spacer(1, 6))
    story.append(
        grid_table(
            ("Report", "Case", "Recipient", "Official", "Type / method", "Released"),
            [
                (f"{r.report_number} v{r.version} ({r.kind.replace('_', '-')})", r.case_number,
                 r.recipient_agency, r.official,
                 f"{r.recipient_type.replace('_', ' ')}; {r.method}",
                 f"{format_datetime(r.released_at)} by {r.released_by}")
                for r in o.releases
            ],
            _columns(width, (1.35, 0.9, 1.2, 1.0, 1.4), 6),
            small=True,
        )
    )
    return story


def _refusals(o: ComplianceOverview, width: float) -> list[Flowable]:
    story: list[Flowable] = [*heading("Refused actions (policy refusals and permission denials)")]
    if not o.refusals:
        return [*story, _note("No action was refused in this period.")]
    story.append(_count_table("refusals", o.refusals_per_action, width, code="Action"))
    story.append(Spacer(1, 6))
    shown = len(o.refusals)
    if shown < o.counts.refused_actions:
        story.append(_note(f"The newest {shown} of {o.counts.refused_actions} are listed."))
    story.append(
        grid_table(
            ("Event", "When (UTC)", "User", "Action", "Reason"),
            [(str(r.sequence), r.occurred_at[:19].replace("T", " "), r.actor, r.action, r.reason)
             for r in o.refusals],
            _columns(width, (0.55, 1.25, 0.8, 1.75), 5),
            small=True,
        )
    )
    return story


def _training_and_sealed(o: ComplianceOverview, width: float) -> list[Flowable]:
    story: list[Flowable] = [
        *heading(f"Examiners whose training runs out within {o.training_window_days} days")
    ]
    if o.training_due is None:
        story.append(_note("Training records are shown to supervisors and administrators only."))
    elif not o.training_due:
        story.append(_note("Every active examiner's training is current beyond the window."))
    else:
        story.append(
            grid_table(
                ("Examiner", "State", "Valid until", "Reminder"),
                [(f"{t.display_name} ({t.username})", t.state, format_date(t.valid_until),
                  t.sentence) for t in o.training_due],
                _columns(width, (1.8, 0.8, 0.95), 4),
                small=True,
            )
        )
    sealed = o.sealed
    story += [
        *heading("Sealed gallery records"),
        KeepTogether(
            kv_table(
                [
                    ("Subjects sealed now", str(sealed.subjects_sealed_now)),
                    ("Photos sealed now", str(sealed.photos_sealed_now)),
                    ("Seals made in the period", str(sealed.sealed_in_period)),
                    ("Seals lifted in the period", str(sealed.unsealed_in_period)),
                ],
                width,
                label_width=2.6 * inch,
            )
        ),
        _note("Sealed records are never searched; the counts come from the gallery and the "
              "audit log."),
        Spacer(1, 10),
        Paragraph("End of report", styles().caption),
    ]
    return story


class _Pages:
    """Running head and footer ("Page N of M", generation line), drawn once the total is known."""

    def __init__(self, o: ComplianceOverview, size: tuple[float, float]) -> None:
        self.o = o
        self.width, self.height = size

    def head(self, canvas: Canvas, _doc: object = None) -> None:
        f = fonts()
        y = self.height - 0.55 * inch
        canvas.saveState()
        canvas.setFont(f.bold, 8)
        canvas.drawString(_MARGIN, y, f"{self.o.agency} \u2014 {self.o.unit}"[:90])
        canvas.setFont(f.regular, 8)
        canvas.drawRightString(self.width - _MARGIN, y, DOCUMENT_TITLE)
        canvas.setLineWidth(0.5)
        canvas.line(_MARGIN, y - 5, self.width - _MARGIN, y - 5)
        canvas.restoreState()

    def foot(self, canvas: Canvas, number: int, total: int) -> None:
        f = fonts()
        y = 0.55 * inch
        canvas.saveState()
        canvas.setLineWidth(0.5)
        canvas.line(_MARGIN, y + 12, self.width - _MARGIN, y + 12)
        canvas.setFont(f.bold, 8)
        canvas.drawRightString(self.width - _MARGIN, y, f"Page {number} of {total}")
        canvas.setFont(f.regular, 7.5)
        canvas.drawString(_MARGIN, y, f"Period {period_text(self.o.since, self.o.until)}")
        canvas.drawString(
            _MARGIN,
            y - 10,
            f"Generated {format_datetime(self.o.generated_at)} by {self.o.generated_by}"[:110],
        )
        canvas.restoreState()


def _canvas_class(pages: _Pages, stamp: str) -> type[Canvas]:
    class NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab has no type hints
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held: list[dict[str, Any]] = []
            self.setDateFormatter(lambda *_parts: stamp)

        def showPage(self) -> None:
            self._held.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            for number, state in enumerate(self._held, start=1):
                self.__dict__.update(state)
                pages.foot(self, number, len(self._held))
                Canvas.showPage(self)
            Canvas.save(self)

    return NumberedCanvas


def build_compliance_report(overview: ComplianceOverview) -> bytes:
    """The compliance report as PDF bytes (deterministic for the same overview)."""
    size = A4 if overview.paper == "a4" else LETTER
    width = size[0] - 2 * _MARGIN
    pages = _Pages(overview, size)
    buffer = io.BytesIO()
    document = BaseDocTemplate(
        buffer,
        pagesize=size,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_TOP,
        bottomMargin=_BOTTOM,
        title=f"{DOCUMENT_TITLE}: {period_text(overview.since, overview.until)}",
        author=overview.generated_by,
        subject="Compliance report",
        creator=CREATOR,
        invariant=1,
        pageCompression=1,
    )
    frame = Frame(
        _MARGIN, _BOTTOM, width, size[1] - _TOP - _BOTTOM, id="content",
        leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0,
    )
    document.addPageTemplates([PageTemplate(id="compliance", frames=[frame], onPage=pages.head)])
    story = [
        *_title_page(overview, width),
        *_searches(overview, width),
        *_reviews(overview, width),
        *_releases(overview, width),
        *_refusals(overview, width),
        *_training_and_sealed(overview, width),
    ]
    stamp = overview.generated_at.astimezone(UTC).strftime("D:%Y%m%d%H%M%S+00'00'")
    document.build(story, canvasmaker=_canvas_class(pages, stamp))
    return buffer.getvalue()
