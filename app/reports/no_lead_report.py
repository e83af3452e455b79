"""The no-lead report: the search ran, the examiner reviewed the candidates, none is a lead.

It prints the same request, probe, search, conclusion, dissemination and signature sections as the
lead report, and a table of the reviewed candidates (rank, subject reference, conclusion) without
their photographs: people who are not leads are not shown to the requestor.
"""

from __future__ import annotations

from typing import Final

from reportlab.platypus import Flowable, Paragraph, Spacer

from app.reports.data import NoLeadReportData, content_fingerprint
from app.reports.frame import build_pdf, geometry, styles, text
from app.reports.sections import (
    advisory_box,
    conclusions_section,
    details_section,
    dissemination_section,
    grid_table,
    heading,
    probe_section,
    request_section,
    search_section,
    signature_section,
    title_block,
)

__all__ = ["DOCUMENT_TITLE", "build_no_lead_report"]

DOCUMENT_TITLE: Final = "Facial recognition search \u2014 no-lead report"


def build_no_lead_report(data: NoLeadReportData) -> bytes:
    """The no-lead report as PDF bytes; raises FrxError subclasses for data it must not print."""
    data.validate()
    fingerprint = content_fingerprint(data)
    width = geometry(data.frame.paper).content_width
    reviewed = data.candidates_reviewed
    noun = "candidate" if reviewed == 1 else "candidates"
    review_name = data.review.reviewer_name if data.review else None
    story: list[Flowable] = [
        title_block(data.frame, "No-Lead Report", width),
        advisory_box(
            data.frame,
            width,
            f"Result: no investigative lead. The examiner reviewed {reviewed} {noun} "
            "and reported none as a lead.",
        ),
        *request_section(data.request, width),
        *probe_section(data.probe, width),
        *search_section(data.search, width),
        *_reviewed_section(data, width),
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
            f"No-lead report {data.frame.report_number} version {data.frame.version} "
            f"(case {data.frame.case_number})"
        ),
        story=story,
    )


def _reviewed_section(data: NoLeadReportData, width: float) -> list[Flowable]:
    s = styles()
    flowables: list[Flowable] = [
        *heading("Candidates reviewed"),
        Paragraph(
            text(
                f"Number of candidates reviewed: {data.candidates_reviewed}. Photographs of "
                "candidates who are not leads are not reproduced."
            ),
            s.body,
        ),
    ]
    if data.summaries:
        flowables += [
            Spacer(1, 4),
            grid_table(
                ["Rank", "Subject reference", "Examiner's conclusion"],
                [[str(c.rank), c.subject_reference, c.conclusion_label] for c in data.summaries],
                [width * 0.12, width * 0.38, width * 0.5],
            ),
        ]
    return flowables
