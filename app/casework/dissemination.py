"""Releasing reports (MPTC IV.G): dissemination records, and print or export under one.

A report leaves the unit only as a recorded release: recipient agency, official, recipient type
(from the profile; only law enforcement), the need-to-know reason, the method, when and by whom.
Printing and exporting a report both name the dissemination record they are made for, and are
refused without one; each is audited with the file's SHA-256. Another agency's results are not
released before its written acknowledgment is recorded (MPTC IV.F). Refusals are audited as
``dissemination.refused``, ``report.export_refused`` and ``report.print_refused``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.casework.account_rules import SignedInUser
from app.casework.case_access import audit, live_roles, load_request, refusals_audited
from app.casework.report_views import DisseminationSummary, ReleasedFile
from app.casework.reports import load_report, summarise_report
from app.casework.workstation import Workstation
from app.errors import InvalidInput, NotFound, PermissionDenied, PolicyViolation, StorageError
from app.policy.gates import (
    check_dissemination,
    check_results_release,
    recipient_is_law_enforcement,
)
from app.policy.roles import Role
from app.records.report_models import Dissemination, Report

__all__ = [
    "DisseminationSummary",
    "ReleasedFile",
    "disseminate",
    "export_report",
    "list_disseminations",
    "record_print",
]

RELEASER_ROLES = frozenset({Role.EXAMINER, Role.SUPERVISOR})
FIELD_LIMITS = {
    "recipient_agency": ("receiving agency", 200),
    "official": ("receiving official", 200),
    "method": ("method", 200),
    "need_to_know": ("need-to-know reason", 4000),
}


def _one_line(value: str) -> str:
    return " ".join(str(value or "").split())


def _require_releaser(session: Session, user: SignedInUser, action: str) -> None:
    if not live_roles(session, user) & RELEASER_ROLES:
        raise PermissionDenied(f"Only an examiner or a supervisor may {action}.")


def _check_current(report: Report, session: Session, action: str) -> None:
    if report.status == "superseded":
        newer = session.get(Report, report.superseded_by_id) if report.superseded_by_id else None
        later = f"version {newer.version}" if newer is not None else "a later version"
        raise PolicyViolation(
            f"Report {report.report_number} version {report.version} has been superseded by "
            f"{later}; it cannot be {action}. Use the current version."
        )


def _check_interagency(session: Session, report: Report) -> None:
    request = load_request(session, report.request_id)
    check_results_release(
        interagency=request.submitting_agency is not None,
        acknowledgment_recorded=request.interagency_ack_at is not None,
    )


def disseminate(
    ws: Workstation,
    *,
    user: SignedInUser,
    report_id: int,
    recipient_agency: str,
    official: str,
    recipient_type: str,
    need_to_know: str,
    method: str,
) -> DisseminationSummary:
    """Record a release of an issued, current report to a law enforcement recipient."""
    fields = {
        "recipient_agency": _one_line(recipient_agency),
        "official": _one_line(official),
        "method": _one_line(method),
        "need_to_know": " ".join(need_to_know.split()),
    }
    for name, (label, limit) in FIELD_LIMITS.items():
        if len(fields[name]) > limit:
            raise InvalidInput(f"The {label} is too long: at most {limit} characters.")
    with (
        refusals_audited(
            ws,
            user=user,
            action="dissemination.refused",
            object_type="report",
            object_id=report_id,
            details={**fields, "recipient_type": recipient_type},
        ),
        ws.database.session() as session,
    ):
        _require_releaser(session, user, "release a report")
        report = load_report(session, report_id, for_update=True)
        _check_current(report, session, "released")
        _check_interagency(session, report)
        kind = ws.profile.recipient_type(recipient_type.strip())
        check_dissemination(
            recipient_agency=fields["recipient_agency"],
            recipient_official=fields["official"],
            recipient_is_law_enforcement=recipient_is_law_enforcement(
                ws.profile, recipient_type.strip()
            ),
            need_to_know_reason=fields["need_to_know"],
            method=fields["method"],
            report_issued=report.status == "issued",
        )
        row = Dissemination(
            report_id=report.id,
            recipient_agency=fields["recipient_agency"],
            official=fields["official"],
            recipient_type=recipient_type.strip(),
            need_to_know=fields["need_to_know"],
            method=fields["method"],
            released_by_id=user.user_id,
            released_by=user.username,
            released_at=ws.now(),
        )
        session.add(row)
        session.flush()
        audit(
            ws,
            session,
            user=user,
            action="report.disseminated",
            object_type="report",
            object_id=report.id,
            details={
                "dissemination_id": row.id,
                "report_number": report.report_number,
                "version": report.version,
                "sha256": report.pdf_sha256,
                "case_number": report.case_number,
                "recipient_agency": row.recipient_agency,
                "official": row.official,
                "recipient_type": row.recipient_type,
                "law_enforcement": kind is not None and kind.law_enforcement,
                "need_to_know": row.need_to_know,
                "method": row.method,
            },
        )
        summary = summarise_report(ws, session, report)
        return next(d for d in summary.disseminations if d.dissemination_id == row.id)


def list_disseminations(
    ws: Workstation, *, user: SignedInUser, report_id: int
) -> list[DisseminationSummary]:
    """The recorded releases of one report version, oldest first."""
    with ws.database.session(read_only=True) as session:
        _require_releaser_or_reader(session, user)
        return list(summarise_report(ws, session, load_report(session, report_id)).disseminations)


def _require_releaser_or_reader(session: Session, user: SignedInUser) -> None:
    if not live_roles(session, user) & (RELEASER_ROLES | {Role.LEGAL_ADVISOR}):
        raise PermissionDenied(
            "Only examiners, supervisors and legal advisors may read report releases."
        )


def _release_record(
    session: Session, report: Report, dissemination_id: int | None, action: str
) -> Dissemination:
    """The dissemination a print or export is made for; refused without one (IV.G)."""
    if dissemination_id is None:
        raise PolicyViolation(
            f"A report is {action} only for a recorded release: record the dissemination "
            "(recipient, need to know, method) first (MPTC IV.G)."
        )
    row = session.execute(
        select(Dissemination).where(Dissemination.id == dissemination_id)
    ).scalar_one_or_none()
    if row is None:
        raise PolicyViolation(
            f"There is no dissemination record {dissemination_id}; record the release first "
            "(MPTC IV.G)."
        )
    if row.report_id != report.id:
        raise PolicyViolation(
            f"Dissemination record {dissemination_id} is for another report; record the release "
            f"of report {report.report_number} version {report.version} first (MPTC IV.G)."
        )
    return row


def _write_file(destination: Path, data: bytes) -> None:
    """Write atomically: a temporary file in the same folder, then renamed into place."""
    folder = destination.parent
    tmp = folder / f".{destination.name}.{secrets.token_hex(6)}.part"
    try:
        with tmp.open("xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, destination)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(
            f"The report could not be written to {destination}: {exc.strerror or exc}."
        ) from exc


def _checked_destination(destination: Path) -> Path:
    path = Path(destination).expanduser()
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder; give the name of the file to write.")
    if not path.parent.is_dir():
        raise InvalidInput(f"The folder {path.parent} does not exist.")
    return path


def export_report(
    ws: Workstation,
    *,
    user: SignedInUser,
    report_id: int,
    destination: Path,
    dissemination_id: int | None,
) -> ReleasedFile:
    """Write the issued PDF (verified from evidence) to ``destination`` for a recorded release."""
    path = _checked_destination(destination)
    with (
        refusals_audited(
            ws,
            user=user,
            action="report.export_refused",
            object_type="report",
            object_id=report_id,
            details={"dissemination_id": dissemination_id, "destination": str(path)},
        ),
        ws.database.session() as session,
    ):
        _require_releaser(session, user, "export a report")
        report = load_report(session, report_id)
        _check_current(report, session, "exported")
        release = _release_record(session, report, dissemination_id, "exported")
        sha = report.pdf_sha256
        data = ws.evidence.get(sha)
        now = ws.now()
        audit(
            ws,
            session,
            user=user,
            action="report.exported",
            object_type="report",
            object_id=report.id,
            details={
                "dissemination_id": release.id,
                "report_number": report.report_number,
                "version": report.version,
                "case_number": report.case_number,
                "sha256": sha,
                "size": len(data),
                "destination": str(path),
                "recipient_agency": release.recipient_agency,
                "official": release.official,
            },
        )
        # Written inside the transaction: a file that cannot be written leaves no audit event.
        _write_file(path, data)
    return ReleasedFile(report_id, release.id, sha, len(data), path, now)


def record_print(
    ws: Workstation,
    *,
    user: SignedInUser,
    report_id: int,
    dissemination_id: int | None,
    copies: int = 1,
    printer: str = "",
) -> ReleasedFile:
    """Record that the report is printed for a recorded release (call before printing)."""
    if not 1 <= copies <= 100:
        raise InvalidInput("Print between 1 and 100 copies.")
    with (
        refusals_audited(
            ws,
            user=user,
            action="report.print_refused",
            object_type="report",
            object_id=report_id,
            details={"dissemination_id": dissemination_id},
        ),
        ws.database.session() as session,
    ):
        _require_releaser(session, user, "print a report")
        report = load_report(session, report_id)
        _check_current(report, session, "printed")
        release = _release_record(session, report, dissemination_id, "printed")
        if not ws.evidence.verify(report.pdf_sha256):
            raise NotFound(
                f"The stored file of report {report.report_number} is missing or damaged; "
                "it cannot be printed."
            )
        now = ws.now()
        audit(
            ws,
            session,
            user=user,
            action="report.printed",
            object_type="report",
            object_id=report.id,
            details={
                "dissemination_id": release.id,
                "report_number": report.report_number,
                "version": report.version,
                "case_number": report.case_number,
                "sha256": report.pdf_sha256,
                "copies": copies,
                "printer": _one_line(printer),
                "recipient_agency": release.recipient_agency,
                "official": release.official,
            },
        )
        return ReleasedFile(report.id, release.id, report.pdf_sha256, report.pdf_size, None, now)
