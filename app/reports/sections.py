"""Sections both the lead and the no-lead report print: request, probe, search, conclusions,
dissemination, document details and signature lines, plus the table helpers they are made of.

Tables use thin grey rules and a light header shade only, so they read the same in greyscale.
Long text is split into paragraphs outside tables (a table cell cannot break across pages);
long tables repeat their header row on each page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, TypeAlias

from reportlab.lib import colors
from reportlab.lib.units import inch
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from app.reports.data import (
    DisseminationEntry,
    ExaminerConclusion,
    ProbeInfo,
    ReportFrame,
    RequestInfo,
    ReviewInfo,
    SearchInfo,
)
from app.reports.frame import format_datetime, format_duration, styles, text
from app.reports.images import printed

__all__ = [
    "Cell",
    "advisory_box",
    "conclusions_section",
    "details_section",
    "dissemination_section",
    "grid_table",
    "heading",
    "kv_table",
    "paragraphs",
    "probe_section",
    "request_section",
    "search_section",
    "signature_section",
    "title_block",
]

Cell: TypeAlias = str | Flowable
RULE: Final = colors.Color(0.55, 0.55, 0.55)
HEAD_SHADE: Final = colors.Color(0.88, 0.88, 0.88)
LABEL_WIDTH: Final = 1.35 * inch
_HEADING_ROOM: Final = 1.1 * inch
# Up to this many quality measures sit beside the probe pictures; more go below, full width.
_QUALITY_BESIDE: Final = 8
_TIGHT: Final = TableStyle(
    [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
    ]
)
NOT_A_PROBABILITY: Final = (
    "A score is a measure of similarity computed by the model. It is not a probability that the "
    "images show the same person and it is not an identification."
)


def _cell(value: Cell, style_name: str = "body") -> Flowable:
    if isinstance(value, Flowable):
        return value
    return Paragraph(text(value), getattr(styles(), style_name))


def heading(title: str, room: float = _HEADING_ROOM) -> list[Flowable]:
    """A section heading with a rule under it; starts a new page when less than ``room`` is left
    (so a heading is never alone at the bottom of a page)."""
    table = Table([[Paragraph(text(title), styles().heading)]], colWidths=["100%"])
    table.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, -1), 0.8, colors.black),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return [CondPageBreak(room), table]


def paragraphs(value: str, style_name: str = "body") -> list[Flowable]:
    """Plain text as paragraphs (one per line), so long text flows across pages."""
    style = getattr(styles(), style_name)
    lines = [line.strip() for line in value.splitlines()]
    return [Paragraph(text(line), style) if line else Spacer(1, 4) for line in lines] or [
        Paragraph("", style)
    ]


def kv_table(
    rows: Sequence[tuple[str, Cell]], width: float, label_width: float = LABEL_WIDTH
) -> Table:
    """Label / value rows with thin rules between them."""
    data = [[_cell(label, "label"), _cell(value)] for label, value in rows]
    table = Table(
        data, colWidths=[label_width, width - label_width], hAlign="LEFT", splitInRow=1
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
                ("TOPPADDING", (0, 0), (0, -1), 3.5),
            ]
        )
    )
    return table


def grid_table(
    header: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    col_widths: Sequence[float],
    *,
    small: bool = False,
    extra_style: Sequence[tuple[object, ...]] = (),
) -> Table:
    """A data table: shaded header repeated on every page, thin rules, rows never split."""
    style_name = "small" if small else "body"
    data: list[list[Flowable]] = [[_cell(h, "table_head") for h in header]]
    data += [[_cell(value, style_name) for value in row] for row in rows]
    table = Table(data, colWidths=list(col_widths), repeatRows=1, hAlign="LEFT", splitInRow=1)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (-1, 0), HEAD_SHADE),
                ("LINEABOVE", (0, 0), (-1, 0), 0.6, colors.black),
                ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
                ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
                *extra_style,
            ]
        )
    )
    return table


# --------------------------------------------------------------------------------------------
# Sections


def title_block(frame: ReportFrame, kind_title: str, width: float) -> Flowable:
    """Agency and unit on the left; report kind, number, version and issue on the right."""
    s = styles()
    left = [Paragraph(text(frame.agency), s.title), Paragraph(text(frame.unit), s.body)]
    right = [
        Paragraph(text(kind_title), s.title_right),
        Paragraph(
            text(f"Report {frame.report_number} \u00b7 version {frame.version}"), s.right
        ),
        Paragraph(
            text(f"Issued {format_datetime(frame.issued_at)} by {frame.issued_by}"), s.right
        ),
    ]
    table = Table([[left, right]], colWidths=[width * 0.45, width * 0.55])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return table


def advisory_box(frame: ReportFrame, width: float, lead_sentence: str) -> Flowable:
    """The profile's advisory in a ruled box, led by one sentence in bold."""
    s = styles()
    content = [Paragraph(text(lead_sentence), s.notice), *paragraphs(frame.advisory_text)]
    table = Table([[content]], colWidths=[width], splitInRow=1)
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.0, colors.black),
                ("LEFTPADDING", (0, 0), (-1, -1), 7),
                ("RIGHTPADDING", (0, 0), (-1, -1), 7),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return table


def request_section(request: RequestInfo, width: float) -> list[Flowable]:
    rows: list[tuple[str, Cell]] = [
        ("Case number", request.case_number),
        ("Requesting officer", request.requesting_officer),
        ("Requesting agency", request.requesting_agency),
    ]
    if request.submitting_agency:
        rows.append(("Submitting agency", request.submitting_agency))
        acknowledgment = (request.acknowledgment_text or "").strip()
        if acknowledgment:
            recorded = format_datetime(request.acknowledgment_recorded_at)
            rows.append(
                ("Written acknowledgment", f"\u201c{acknowledgment}\u201d (recorded {recorded})")
            )
        else:
            rows.append(("Written acknowledgment", "NOT RECORDED"))
    rows += [
        ("Purpose", f"{request.purpose_code} \u2014 {request.purpose_wording}"),
        ("Offense", request.offense),
    ]
    return [
        *heading("Request"),
        kv_table(rows, width),
        Spacer(1, 4),
        Paragraph("Narrative", styles().label),
        *paragraphs(request.narrative, "narrative"),
    ]


def probe_section(probe: ProbeInfo, width: float) -> list[Flowable]:
    """Original and edited probe beside their hashes and quality; the edit history below."""
    s = styles()
    box_w, box_h = 1.3 * inch, 1.6 * inch
    pictures: list[list[Flowable]] = [
        [printed(probe.original_image, box_w, box_h, name="the original probe image")],
        [Paragraph("Original, as received", s.caption)],
    ]
    if probe.edited_image is not None:
        pictures[0].append(printed(probe.edited_image, box_w, box_h, name="the edited probe"))
        pictures[1].append(Paragraph("Edited copy used for the search", s.caption))
    pictures_width = (box_w + 8) * len(pictures[0])
    pictures_table = Table(pictures, colWidths=[box_w + 8] * len(pictures[0]), hAlign="LEFT")
    pictures_table.setStyle(_TIGHT)
    side_width = width - pictures_width - 6
    hashes: list[tuple[str, Cell]] = [
        ("Original SHA-256", Paragraph(text(probe.original_sha256), s.mono))
    ]
    if probe.edited_sha256:
        hashes.append(("Edited copy SHA-256", Paragraph(text(probe.edited_sha256), s.mono)))
    else:
        hashes.append(("Edited copy", "None: the search used the original image."))
    side: list[Flowable] = [kv_table(hashes, side_width, label_width=1.2 * inch)]
    quality: list[Flowable] = []
    if probe.quality:
        quality_width = side_width if len(probe.quality) <= _QUALITY_BESIDE else width
        quality = [
            Spacer(1, 6),
            Paragraph("Probe quality", s.label),
            Spacer(1, 2),
            grid_table(
                ["Measure", "Value", "Level", "Message"],
                [[q.name, q.value, q.level, q.message] for q in probe.quality],
                _widths(quality_width, [0.27, 0.16, 0.13, 0.44]),
                small=True,
            ),
        ]
    beside = len(probe.quality) <= _QUALITY_BESIDE
    if beside:
        side += quality
    layout = Table([[pictures_table, side]], colWidths=[pictures_width + 6, side_width])
    layout.setStyle(_TIGHT)
    flowables: list[Flowable] = [*heading("Probe image"), layout]
    if not beside:
        flowables += quality
    if probe.edit_history:
        flowables += [
            Spacer(1, 6),
            Paragraph(
                "Edit history (each edit was made on a copy; the original is unchanged)",
                s.label,
            ),
            Spacer(1, 2),
            grid_table(
                ["#", "Operation", "Parameters", "By", "At"],
                [
                    [str(i), e.operation, e.parameters, e.by, format_datetime(e.at)]
                    for i, e in enumerate(probe.edit_history, start=1)
                ],
                _widths(width, [0.05, 0.2, 0.31, 0.21, 0.23]),
                small=True,
            ),
        ]
    return flowables


def search_section(search: SearchInfo, width: float) -> list[Flowable]:
    s = styles()
    ef = "exact search (no ef)" if search.ef is None else f"ef = {search.ef}"
    threshold = "none" if search.threshold is None else _number(search.threshold)
    parameters = f"k = {search.k}, {ef}, threshold = {threshold}"
    rows: list[tuple[str, Cell]] = [
        ("Model", f"{search.model_name}, version {search.model_version}"),
        ("Model SHA-256", Paragraph(text(search.model_sha256), s.mono)),
        ("Index generation", str(search.index_generation)),
        ("Search parameters", parameters),
        ("Searched", f"{format_datetime(search.searched_at)} by {search.searched_by}"),
        ("Candidates returned", str(search.candidates_returned)),
        ("What a score means", f"{search.score_meaning.strip()} {NOT_A_PROBABILITY}"),
    ]
    return [*heading("Search"), kv_table(rows, width)]


def conclusions_section(
    examiner: ExaminerConclusion,
    review: ReviewInfo | None,
    review_skipped_reason: str | None,
    width: float,
) -> list[Flowable]:
    rows: list[list[Cell]] = [
        [
            "Examiner",
            examiner.name,
            examiner.conclusion_label,
            format_datetime(examiner.at),
            f"Time spent: {format_duration(examiner.time_spent_seconds)}",
        ]
    ]
    if review is not None:
        agreement = (
            "Agrees with the examiner" if review.agrees else "Does NOT agree with the examiner"
        )
        rows.append(
            [
                "Second examiner (independent review)",
                review.reviewer_name,
                review.conclusion_label,
                format_datetime(review.at),
                agreement,
            ]
        )
    flowables: list[Flowable] = [
        *heading("Conclusions"),
        grid_table(
            ["Role", "Name", "Conclusion", "Recorded", "Remarks"],
            rows,
            _widths(width, [0.19, 0.19, 0.16, 0.24, 0.22]),
        ),
    ]
    if review is None:
        flowables += [
            Spacer(1, 4),
            kv_table(
                [
                    (
                        "Second examiner",
                        "No second-examiner review: not practicable because "
                        f"{(review_skipped_reason or '').strip()}",
                    )
                ],
                width,
            ),
        ]
    return flowables


def dissemination_section(
    frame: ReportFrame, entries: Sequence[DisseminationEntry], width: float
) -> list[Flowable]:
    s = styles()
    flowables: list[Flowable] = [
        *heading("Dissemination"),
        Paragraph(text(frame.dissemination_restriction), s.notice),
        Spacer(1, 4),
    ]
    if entries:
        flowables.append(
            grid_table(
                ["Recipient agency", "Official", "Need to know", "Method", "Released", "By"],
                [
                    [e.recipient_agency, e.official, e.need_to_know, e.method,
                     format_datetime(e.at), e.by]
                    for e in entries
                ],
                _widths(width, [0.18, 0.15, 0.25, 0.1, 0.18, 0.14]),
                small=True,
            )
        )
    else:
        flowables.append(
            Paragraph(
                "No release had been recorded when this report was issued. Every release is "
                "recorded (recipient agency, official, need to know, method, time, by whom).",
                s.body,
            )
        )
    return flowables


def details_section(frame: ReportFrame, fingerprint: str, width: float) -> list[Flowable]:
    s = styles()
    rows: list[tuple[str, Cell]] = [
        (
            "Policy profile",
            f"{frame.profile_name}, version {frame.profile_version}",
        ),
        ("Profile SHA-256", Paragraph(text(frame.profile_sha256), s.mono)),
        ("Installation", frame.installation_id),
        ("Content fingerprint", Paragraph(text(fingerprint), s.mono)),
    ]
    return [*heading("Document"), kv_table(rows, width)]


def signature_section(
    examiner_name: str, reviewer_name: str | None, width: float
) -> list[Flowable]:
    """Name, signature and date lines for the examiner and the reviewer, kept on one page."""
    s = styles()
    column = (width - 24) / 2

    def block(role: str, name: str | None) -> list[Flowable]:
        lines = Table(
            [
                [Paragraph("Name", s.label), Paragraph(text(name or ""), s.body)],
                [Paragraph("Signature", s.label), ""],
                [Paragraph("Date", s.label), ""],
            ],
            colWidths=[0.8 * inch, column - 0.8 * inch],
            rowHeights=[16, 24, 16],
        )
        lines.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                    ("LINEBELOW", (1, 0), (1, -1), 0.6, colors.black),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ]
            )
        )
        return [Paragraph(text(role), s.notice), lines]

    table = Table(
        [[block("Examiner", examiner_name), block("Reviewer (second examiner)", reviewer_name)]],
        colWidths=[column + 24, column],
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (0, -1), 24),
                ("RIGHTPADDING", (1, 0), (1, -1), 0),
            ]
        )
    )
    return [KeepTogether([*heading("Signatures", room=0), table])]


def _widths(width: float, fractions: Sequence[float]) -> list[float]:
    return [width * f for f in fractions]


def _number(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.1f}"

