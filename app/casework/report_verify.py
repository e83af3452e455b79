"""Verify a report file: is it an unaltered report issued by this installation, and which one?

The file's SHA-256 is looked up among the issued reports (a single changed byte gives another
hash, so an altered copy is not found). For a file that is not found, the PDF's own keywords
(report number, version, case, content fingerprint, written by :mod:`app.reports.frame`) say what
it claims to be; a claim is only a claim, but it tells the reader which report to ask for.
Every verification is recorded as ``report.verified``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.casework.account_rules import SignedInUser
from app.casework.case_access import audit
from app.casework.report_views import ReportVerification
from app.casework.reports import summarise_report
from app.casework.workstation import Workstation
from app.errors import FrxError, InvalidInput
from app.records.audit import append_event
from app.records.report_models import Report

__all__ = ["MAX_REPORT_FILE_BYTES", "ReportVerification", "read_keywords", "verify_report_file"]

MAX_REPORT_FILE_BYTES = 200 * 1024 * 1024
_KEYWORDS = re.compile(rb"/Keywords\s*(\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f\s]*>)", re.S)
_CLAIM = re.compile(
    r"FRX report (?P<number>\S+) version (?P<version>\d+); case (?P<case>.*?); "
    r"content fingerprint (?P<fingerprint>[0-9a-f]{64})"
)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _literal(raw: bytes) -> bytes:
    """The bytes of a PDF literal string ``(...)`` with its backslash escapes undone."""
    body = raw[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        char = body[i : i + 1]
        if char != b"\\":
            out += char
            i += 1
            continue
        nxt = body[i + 1 : i + 2]
        octal = re.match(rb"[0-7]{1,3}", body[i + 1 : i + 4])
        if octal:
            out.append(int(octal.group(), 8) & 0xFF)
            i += 1 + len(octal.group())
        elif nxt in (b"\n", b"\r"):
            i += 2  # a line continuation
        else:
            out += _ESCAPES.get(nxt, nxt)
            i += 2
    return bytes(out)


def _pdf_text(raw: bytes) -> str:
    data = _literal(raw) if raw.startswith(b"(") else bytes.fromhex(raw[1:-1].decode("ascii"))
    if data.startswith(b"\xfe\xff"):
        return data[2:].decode("utf-16-be", errors="replace")
    return data.decode("latin-1")


def read_keywords(data: bytes) -> str | None:
    """The text of the PDF's Keywords entry (the last one: a PDF may be updated), if any."""
    found = _KEYWORDS.findall(data)
    if not found:
        return None
    try:
        return _pdf_text(found[-1])
    except ValueError:
        return None


def _claims(data: bytes) -> dict[str, str] | None:
    keywords = read_keywords(data)
    if keywords is None:
        return None
    match = _CLAIM.search(keywords)
    return match.groupdict() if match else None


def _describe_known(result: ReportVerification) -> str:
    report = result.report
    if report is None:  # pragma: no cover - only called for a known report
        return result.message
    when = report.issued_at.strftime("%Y-%m-%d %H:%M UTC")
    kind = "lead report" if report.kind == "lead" else "no-lead report"
    text = (
        f"VALID: this file is {kind} {report.report_number} version {report.version} for case "
        f"{report.case_number} (request {report.request_number}), issued by {report.issued_by} "
        f"on {when}, unaltered."
    )
    if report.is_current:
        text += " It is the current version."
    else:
        at = report.superseded_at.strftime("%Y-%m-%d") if report.superseded_at else "later"
        text += f" It has been SUPERSEDED by {result.superseded_by} ({at}); use that version."
    if result.stored_copy_intact is False:
        text += " Note: the stored copy of this report is missing or damaged."
    return text


def verify_report_file(
    ws: Workstation, *, data: bytes, user: SignedInUser | None = None
) -> ReportVerification:
    """Check ``data`` (a whole PDF file) against the reports issued by this installation."""
    if not data:
        raise InvalidInput("The file is empty; it is not a report.")
    if len(data) > MAX_REPORT_FILE_BYTES:
        raise InvalidInput("The file is far larger than any report; it is not a report.")
    sha = hashlib.sha256(data).hexdigest()
    with ws.database.session(read_only=True) as session:
        row = session.execute(select(Report).where(Report.pdf_sha256 == sha)).scalar_one_or_none()
        if row is not None:
            summary = summarise_report(ws, session, row)
            successor = None
            if row.superseded_by_id is not None:
                newer = session.get(Report, row.superseded_by_id)
                if newer is not None:
                    successor = f"{newer.report_number} version {newer.version}"
            try:
                intact: bool | None = ws.evidence.verify(sha)
            except FrxError:
                intact = False
            result = ReportVerification(
                valid=True,
                sha256=sha,
                size=len(data),
                message="",
                report=summary,
                superseded_by=successor,
                stored_copy_intact=intact,
            )
            result = replace(result, message=_describe_known(result))
        else:
            result = _unknown(session, sha, data)
    _record(ws, user, result)
    return result


def _unknown(session: Session, sha: str, data: bytes) -> ReportVerification:
    claims = _claims(data)
    if claims is None:
        return ReportVerification(
            valid=False,
            sha256=sha,
            size=len(data),
            message=(
                "NOT VALID: this file is not a report issued by this installation (no issued "
                "report has this SHA-256, and the file does not name a report)."
            ),
        )
    version = int(claims["version"])
    issued = session.execute(
        select(Report).where(Report.report_number == claims["number"], Report.version == version)
    ).scalar_one_or_none()
    claim = f"report {claims['number']} version {version} for case {claims['case']}"
    if issued is not None:
        message = (
            f"NOT VALID: this file claims to be {claim}, which this installation issued, but "
            "its contents differ from the issued file: it has been altered (or re-saved). "
            "Ask the unit for an authentic copy."
        )
    else:
        message = (
            f"NOT VALID: this file claims to be {claim}, but this installation has no such "
            "report issued: it was issued elsewhere, or the file is not authentic."
        )
    return ReportVerification(
        valid=False,
        sha256=sha,
        size=len(data),
        message=message,
        claimed_report_number=claims["number"],
        claimed_version=version,
        claimed_case_number=claims["case"],
        claimed_fingerprint=claims["fingerprint"],
        claimed_exists=issued is not None,
    )


def _record(ws: Workstation, user: SignedInUser | None, result: ReportVerification) -> None:
    details = {
        "sha256": result.sha256,
        "size": result.size,
        "valid": result.valid,
        "report_id": result.report.report_id if result.report else None,
        "report_number": result.report.report_number if result.report else None,
        "case_number": result.report.case_number if result.report else result.claimed_case_number,
        "claimed_report_number": result.claimed_report_number,
        "claimed_version": result.claimed_version,
    }
    with ws.database.session() as session:
        if user is not None:
            audit(
                ws,
                session,
                user=user,
                action="report.verified",
                object_type="report",
                object_id=result.report.report_id if result.report else None,
                details=details,
            )
        else:
            append_event(
                session,
                actor="system",
                action="report.verified",
                object_type="report",
                object_id=result.report.report_id if result.report else None,
                details=details,
                occurred_at=ws.now(),
            )
