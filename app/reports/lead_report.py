"""The investigative lead report: one PDF for the requestor's case file.

Order of the content: who issues it, the result and the advisory, the request, the probe (original
and edited copy with its history, quality), the search (model, index, parameters, what a score
means), the candidates beside the probe, the completed comparison worksheet with region crops, the
examiner's and the second examiner's conclusions, dissemination, document details and signature
lines. Every page carries the banner, watermark and footer (see :mod:`app.reports.frame`).
"""

from __future__ import annotations

from typing import Final

from reportlab.lib.units import inch
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle

from app.reports.data import CandidateInfo, LeadReportData, WorksheetRow, content_fingerprint
from app.reports.frame import build_pdf, format_date, geometry, styles, text
from app.reports.images import printed
from app.reports.sections import (
    Cell,
    advisory_box,
    conclusions_section,
    details_section,
    dissemination_section,
    grid_table,
    heading,
    kv_table,
    probe_section,
    request_section,
    search_section,
    signature_section,
    title_block,
)

__all__ = ["DOCUMENT_TITLE", "build_lead_report"]

DOCUMENT_TITLE: Final = "Facial recognition search \u2014 investigative lead report"
_PHOTO_BOX: Final = (1.45 * inch, 1.8 * inch)
_CROP_BOX: Final = 0.62 * inch


def build_lead_report(data: LeadReportData) -> bytes:
    """The lead report as PDF bytes; raises FrxError subclasses for data it must not print."""
    data.validate()
    fingerprint = content_fingerprint(data)
    width = geometry(data.frame.paper).content_width
    compared = data.compared_candidate()
    review_name = data.review.reviewer_name if data.review else None
    story: list[Flowable] = [
        title_block(data.frame, "Investigative Lead Report", width),
        advisory_box(
            data.frame,
            width,
            f"Result: {data.examiner.conclusion_label} \u2014 candidate rank {compared.rank}, "
            f"subject reference {compared.subject_reference}. This is an investigative lead "
            "only, not an identification and not probable cause to arrest.",
        ),
        *request_section(data.request, width),
        *probe_section(data.probe, width),
        *search_section(data.search, width),
        *_candidates_section(data, width),
        *_worksheet_section(data.worksheet, compared, width),
        *conclusions_section(data.examiner, data.review, data.review_skipped_reason, width),
        *dissemination_section(data.frame, data.dissemination, width),
        *details_section(data.frame, fingerprint, width),
        *signature_section(data.examiner.name, review_name, width),
        Spacer(1, 8),
        Paragraph("End of report", styles().caption),
    ]
    return build_pdf(
        data.frame,
        fingerprint=fingerprint,
        document_title=DOCUMENT_TITLE,
        pdf_title=(
            f"Investigative lead report {data.frame.report_number} "
            f"version {data.frame.version} (case {data.frame.case_number})"
        ),
        story=story,
    )


def _candidates_section(data: LeadReportData, width: float) -> list[Flowable]:
    count = len(data.candidates)
    title = "Candidate" if count == 1 else f"Candidates ({count} shown)"
    flowables: list[Flowable] = [*heading(title, room=_PHOTO_BOX[1] + 0.6 * inch)]
    compared = data.compared_candidate()
    for candidate in data.candidates:
        flowables.append(
            KeepTogether([_candidate_block(data, candidate, candidate is compared, width)])
        )
        flowables.append(Spacer(1, 6))
    return flowables


def _candidate_block(
    data: LeadReportData, candidate: CandidateInfo, compared: bool, width: float
) -> Flowable:
    s = styles()
    box_w, box_h = _PHOTO_BOX
    probe = printed(data.probe.original_image, box_w, box_h, name="the original probe image")
    photo = printed(candidate.image, box_w, box_h, name=f"candidate rank {candidate.rank}")
    details_width = width - 2 * (box_w + 8)
    marker = "Compared on the worksheet below" if compared else "Shown for context"
    details = kv_table(
        [
            ("Rank and score", f"Rank {candidate.rank} \u00b7 score {candidate.score:.3f}"),
            ("Subject reference", candidate.subject_reference),
            ("Photo date", format_date(candidate.photo_date)),
            ("Source type", candidate.source_type_label),
            ("Source reference", candidate.source_reference),
            ("Most recent photo", format_date(candidate.most_recent_photo_date)),
            ("Worksheet", marker),
        ],
        details_width,
        label_width=1.15 * inch,
    )
    table = Table(
        [
            [probe, photo, details],
            [
                Paragraph("Probe (original)", s.caption),
                Paragraph(text(f"Candidate rank {candidate.rank}"), s.caption),
                "",
            ],
        ],
        colWidths=[box_w + 8, box_w + 8, details_width],
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("SPAN", (2, 0), (2, 1)),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (1, -1), 8),
                ("RIGHTPADDING", (2, 0), (2, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    return table


def _worksheet_section(
    rows: tuple[WorksheetRow, ...], compared: CandidateInfo, width: float
) -> list[Flowable]:
    s = styles()
    with_crops = any(r.probe_crop is not None or r.candidate_crop is not None for r in rows)
    intro = Paragraph(
        text(
            f"Candidate rank {compared.rank} (subject reference {compared.subject_reference}) "
            "compared feature by feature with the ORIGINAL probe image. Answers: similar, not "
            "similar, or not visible / undetermined."
        ),
        s.body,
    )
    header = ["Item", "Answer", "Note"]
    fractions = [0.22, 0.2, 0.58]
    if with_crops:
        crop_width = _CROP_BOX + 12
        rest = width - 2 * crop_width
        widths = [rest * 0.27, rest * 0.22, rest * 0.51, crop_width, crop_width]
        header += ["Probe", "Candidate"]
    else:
        widths = [width * f for f in fractions]
    body: list[list[Cell]] = []
    for row in rows:
        cells: list[Cell] = [row.item_label, row.answer_label, row.note or ""]
        if with_crops:
            cells += [
                _crop(row.probe_crop, f"the probe crop for {row.item_label}"),
                _crop(row.candidate_crop, f"the candidate crop for {row.item_label}"),
            ]
        body.append(cells)
    table = grid_table(
        header,
        body,
        widths,
        extra_style=[("ALIGN", (3, 1), (-1, -1), "CENTER")] if with_crops else [],
    )
    return [*heading("Comparison worksheet"), intro, Spacer(1, 4), table]


def _crop(data: bytes | None, name: str) -> Cell:
    if data is None:
        return "\u2014"
    return printed(data, _CROP_BOX, _CROP_BOX, name=name, shrink_height=True)
