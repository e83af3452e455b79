"""What report and release casework returns: small frozen dataclasses built from the records.

The UI and the CLI only see these (never a database row).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from app.records.report_models import Dissemination, Report


@dataclass(frozen=True)
class DisseminationSummary:
    """One recorded release of a report (MPTC IV.G)."""

    dissemination_id: int
    report_id: int
    report_number: str
    report_version: int
    recipient_agency: str
    official: str
    recipient_type: str
    recipient_type_label: str
    need_to_know: str
    method: str
    released_by: str
    released_at: datetime

    @property
    def label(self) -> str:
        """One line for pick lists: who received it, when and how."""
        return (
            f"#{self.dissemination_id} {self.official}, {self.recipient_agency} "
            f"({self.released_at:%Y-%m-%d %H:%M} UTC, {self.method})"
        )


@dataclass(frozen=True)
class ReportSummary:
    """One issued version of a report and its releases."""

    report_id: int
    report_number: str
    version: int
    kind: str  # lead / no_lead
    status: str  # issued / superseded
    request_id: int
    request_number: str
    case_number: str
    comparison_id: int | None
    pdf_sha256: str
    pdf_size: int
    content_fingerprint: str
    paper: str
    issued_by: str
    issued_at: datetime
    superseded_by_id: int | None
    superseded_at: datetime | None
    disseminations: tuple[DisseminationSummary, ...] = ()

    @property
    def is_current(self) -> bool:
        return self.status == "issued"

    @property
    def title(self) -> str:
        kind = "Lead report" if self.kind == "lead" else "No-lead report"
        return f"{kind} {self.report_number} version {self.version} (case {self.case_number})"


@dataclass(frozen=True)
class ReleasedFile:
    """A report written to a file or sent to a printer under a dissemination record."""

    report_id: int
    dissemination_id: int
    sha256: str
    size: int
    path: Path | None  # None for a print
    at: datetime


@dataclass(frozen=True)
class ReportVerification:
    """Whether a PDF is an unaltered report issued by this installation, and which one.

    ``valid`` is True only when the file's SHA-256 is that of a report recorded here. For an
    unknown file, ``claimed_*`` hold what the PDF's own keywords say it is (anyone can write
    those), and ``claimed_exists`` whether this installation issued that report (then the file
    is an altered copy, or another installation's).
    """

    valid: bool
    sha256: str
    size: int
    message: str
    report: ReportSummary | None = None
    superseded_by: str | None = None  # "FRX-2026-000001 version 2"
    stored_copy_intact: bool | None = None
    claimed_report_number: str | None = None
    claimed_version: int | None = None
    claimed_case_number: str | None = None
    claimed_fingerprint: str | None = None
    claimed_exists: bool = False


def dissemination_summary(
    row: Dissemination, report: Report, type_label: str
) -> DisseminationSummary:
    return DisseminationSummary(
        dissemination_id=row.id,
        report_id=report.id,
        report_number=report.report_number,
        report_version=report.version,
        recipient_agency=row.recipient_agency,
        official=row.official,
        recipient_type=row.recipient_type,
        recipient_type_label=type_label,
        need_to_know=row.need_to_know,
        method=row.method,
        released_by=row.released_by,
        released_at=row.released_at,
    )


def report_summary(
    row: Report, request_number: str, disseminations: tuple[DisseminationSummary, ...]
) -> ReportSummary:
    return ReportSummary(
        report_id=row.id,
        report_number=row.report_number,
        version=row.version,
        kind=row.kind,
        status=row.status,
        request_id=row.request_id,
        request_number=request_number,
        case_number=row.case_number,
        comparison_id=row.comparison_id,
        pdf_sha256=row.pdf_sha256,
        pdf_size=row.pdf_size,
        content_fingerprint=row.content_fingerprint,
        paper=row.paper,
        issued_by=row.issued_by,
        issued_at=row.issued_at,
        superseded_by_id=row.superseded_by_id,
        superseded_at=row.superseded_at,
        disseminations=disseminations,
    )
