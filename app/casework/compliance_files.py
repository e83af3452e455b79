"""Files made from the compliance figures: the PDF compliance report of a period and the CSV of a
year's transparency figures. Both are written atomically and recorded in the audit log.

A file is written beside its destination under a temporary name, flushed to disk and renamed
over the destination, so no reader sees half a file. Then ``compliance.report_written`` or
``compliance.transparency_exported`` records the destination, size and SHA-256 of the bytes; if
that event cannot be recorded the file is removed again, so no file exists that the log does
not know about.

The PDF may be written by whoever may read the overview (supervisors, administrators, legal
advisors); the transparency figures, meant for publication, only by a supervisor or an
administrator (refusals audited as ``permission.denied``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from app.casework.account_rules import SignedInUser
from app.casework.audit_samples import require_auditor
from app.casework.case_access import audit
from app.casework.compliance import compliance_overview, period_details, transparency_figures
from app.casework.workstation import Workstation
from app.engine.atomic_files import write_atomically
from app.errors import InvalidInput, StorageError
from app.records.audit import format_timestamp
from app.reports.compliance_charts import overview_charts
from app.reports.compliance_data import ComplianceOverview, TransparencyFigures
from app.reports.compliance_report import build_compliance_report

__all__ = [
    "TRANSPARENCY_COLUMNS",
    "WrittenFile",
    "chart_images",
    "export_transparency",
    "transparency_csv",
    "write_compliance_report",
]

log = logging.getLogger(__name__)

TRANSPARENCY_COLUMNS = ("year", "figure", "category", "description", "count")


@dataclass(frozen=True)
class WrittenFile:
    """What was written: where, how big, its SHA-256 (as recorded in the audit log)."""

    path: Path
    size_bytes: int
    sha256: str


def chart_images(
    overview: ComplianceOverview, *, width_px: int = 440, dpi: int = 100
) -> dict[str, bytes]:
    """The overview's charts as PNG bytes (``purpose``, ``examiner``, ``reviews``) for a screen,
    ``width_px`` pixels wide."""
    return overview_charts(overview, width_in=width_px / dpi, dpi=dpi)


def _destination(destination: Path, suffix: str) -> Path:
    path = Path(destination).expanduser()
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder; choose a file name.")
    if not path.parent.is_dir():
        raise InvalidInput(f"The folder {path.parent} does not exist.")
    if path.suffix.lower() != suffix:
        raise InvalidInput(f"The file name must end in {suffix}.")
    return path.resolve()


def _write_atomically(path: Path, data: bytes) -> None:
    if not path.parent.is_dir():
        raise StorageError(f"The file cannot be written: the folder {path.parent} does not exist.")
    try:
        write_atomically(path, data)  # a temporary file in the same folder, then a rename
    except OSError as exc:
        raise StorageError(f"The file could not be written to {path}: {exc}.") from exc


def _write_recorded(
    ws: Workstation,
    user: SignedInUser,
    path: Path,
    data: bytes,
    *,
    action: str,
    details: Mapping[str, object],
) -> WrittenFile:
    _write_atomically(path, data)
    written = WrittenFile(path, len(data), hashlib.sha256(data).hexdigest())
    try:
        with ws.database.session() as session:
            audit(
                ws,
                session,
                user=user,
                action=action,
                object_type="compliance",
                object_id=None,
                details={
                    **details,
                    "destination": str(path),
                    "size_bytes": written.size_bytes,
                    "sha256": written.sha256,
                },
            )
    except BaseException:
        log.warning("writing %s could not be recorded; the file is removed", path)
        path.unlink(missing_ok=True)
        raise
    return written


def write_compliance_report(
    ws: Workstation,
    *,
    user: SignedInUser,
    since: datetime | None,
    until: datetime | None,
    path: Path,
) -> WrittenFile:
    """Build the PDF compliance report of the period and write it to ``path`` (``.pdf``);
    recorded as ``compliance.report_written``."""
    destination = _destination(path, ".pdf")
    overview = compliance_overview(ws, user=user, since=since, until=until, audited=False)
    data = build_compliance_report(overview)
    return _write_recorded(
        ws,
        user,
        destination,
        data,
        action="compliance.report_written",
        details=period_details(since, until),
    )


def transparency_csv(figures: TransparencyFigures) -> bytes:
    """The figures as UTF-8 CSV: one row per figure (and per purpose and offense)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(TRANSPARENCY_COLUMNS)
    year = figures.year
    totals = (
        ("requests", "Search requests received", figures.requests),
        ("searches", "Searches run", figures.searches),
        ("possible_leads", "Candidates concluded as possible leads", figures.possible_leads),
        ("lead_reports", "Lead reports issued", figures.lead_reports),
        ("no_lead_reports", "No-lead reports issued", figures.no_lead_reports),
        ("reports_disseminated", "Releases of reports recorded", figures.reports_disseminated),
    )
    for figure, description, count in totals:
        writer.writerow((year, figure, "", description, count))
    for line in figures.searches_per_purpose:
        writer.writerow((year, "searches_by_purpose", line.key, line.label, line.count))
    for line in figures.searches_per_offense:
        writer.writerow((year, "searches_by_offense", line.key, line.label, line.count))
    return buffer.getvalue().encode("utf-8")


def export_transparency(
    ws: Workstation, *, user: SignedInUser, year: int, path: Path
) -> tuple[TransparencyFigures, WrittenFile]:
    """Write the year's transparency figures to ``path`` (``.csv``); supervisors and
    administrators only; recorded as ``compliance.transparency_exported``."""
    destination = _destination(path, ".csv")
    with ws.database.session(read_only=True) as session:
        require_auditor(ws, session, user, "export the transparency figures")
    figures = transparency_figures(ws, user=user, year=year)
    written = _write_recorded(
        ws,
        user,
        destination,
        transparency_csv(figures),
        action="compliance.transparency_exported",
        details={
            "year": year,
            "searches": figures.searches,
            "generated_at": format_timestamp(figures.generated_at),
        },
    )
    return figures, written
