"""Issuing lead and no-lead reports: gate, gather, build the PDF, store it as evidence, record it.

A lead report is issued for one comparison concluded *possible lead* whose second review
concurred (or, where the profile says "when practicable", was skipped with its recorded reason),
and, for another agency's request, only once that agency's written acknowledgment is recorded
(MPTC IV.E.1, IV.E.2, IV.F). A no-lead report is issued for a request concluded without a lead.

The PDF's SHA-256 is recorded with the report and in the ``report.issued`` audit event, in the
same transaction. Issuing again makes the next version under the same report number and marks
the earlier one superseded (kept, never changed). Verification is in
:mod:`app.casework.report_verify`; releases in :mod:`app.casework.dissemination`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError
from sqlalchemy.orm import Session

from app.casework import report_data as gather
from app.casework.account_rules import SignedInUser
from app.casework.case_access import (
    audit,
    live_roles,
    load_comparison,
    load_request,
    refusals_audited,
    require_reader,
)
from app.casework.report_views import (
    DisseminationSummary,
    ReportSummary,
    dissemination_summary,
    report_summary,
)
from app.casework.workstation import Workstation
from app.errors import ConflictError, InvalidInput, NotFound, PermissionDenied, PolicyViolation
from app.policy.gates import ReviewState, check_lead_report, check_results_release
from app.policy.roles import Role
from app.policy.worksheet import Conclusion
from app.records.audit import iter_events
from app.records.case_models import CaseRequest, Comparison
from app.records.evidence import register_evidence
from app.records.report_models import Dissemination, Report
from app.reports.data import (
    ExaminerConclusion,
    LeadReportData,
    NoLeadReportData,
    ReportData,
    content_fingerprint,
)
from app.reports.lead_report import build_lead_report
from app.reports.no_lead_report import build_no_lead_report

__all__ = [
    "ReportSummary",
    "find_report_id",
    "get_report",
    "issue_lead_report",
    "issue_no_lead_report",
    "list_reports",
    "report_pdf",
    "summarise_report",
]

REASON_MAX = 2000
NO_LEAD_LABEL = "No lead: no candidate is reported as a possible lead"


# ----------------------------------------------------------------------------- reading
def summarise_report(ws: Workstation, session: Session, row: Report) -> ReportSummary:
    request = session.get(CaseRequest, row.request_id)
    releases: list[DisseminationSummary] = []
    for item in session.execute(
        select(Dissemination).where(Dissemination.report_id == row.id).order_by(Dissemination.id)
    ).scalars():
        kind = ws.profile.recipient_type(item.recipient_type)
        label = kind.label if kind is not None else item.recipient_type
        releases.append(dissemination_summary(item, row, label))
    number = request.request_number if request is not None else f"request {row.request_id}"
    return report_summary(row, number, tuple(releases))


def load_report(session: Session, report_id: int, *, for_update: bool = False) -> Report:
    stmt = select(Report).where(Report.id == report_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).scalar_one_or_none()
    if row is None:
        raise NotFound(f"There is no report with number {report_id}.")
    return row


def find_report_id(ws: Workstation, *, reference: str | int, version: int | None = None) -> int:
    """A report's id from its id, or from its report number (the current version unless
    ``version`` is given), e.g. ``FRX-2026-000001``."""
    text = str(reference).strip()
    if text.isdigit() and version is None:
        return int(text)
    with ws.database.session(read_only=True) as session:
        stmt = select(Report).where(Report.report_number == text.upper())
        if version is not None:
            stmt = stmt.where(Report.version == version)
        rows = list(session.execute(stmt.order_by(Report.version.desc())).scalars())
    if not rows:
        which = f" version {version}" if version is not None else ""
        raise NotFound(f"There is no report '{text}'{which}.")
    current = next((r for r in rows if r.status == "issued"), rows[0])
    return current.id


def get_report(ws: Workstation, *, user: SignedInUser, report_id: int) -> ReportSummary:
    with ws.database.session(read_only=True) as session:
        require_reader(session, user)
        return summarise_report(ws, session, load_report(session, report_id))


def list_reports(
    ws: Workstation, *, user: SignedInUser, request_id: int | None = None
) -> list[ReportSummary]:
    """Every report version (of one request, or all), newest first."""
    with ws.database.session(read_only=True) as session:
        require_reader(session, user)
        stmt = select(Report)
        if request_id is not None:
            stmt = stmt.where(Report.request_id == request_id)
        rows = session.execute(stmt.order_by(Report.issued_at.desc(), Report.id.desc())).scalars()
        return [summarise_report(ws, session, row) for row in rows]


def report_pdf(ws: Workstation, *, user: SignedInUser, report_id: int) -> bytes:
    """The issued PDF, read from the evidence store and verified against its recorded hash."""
    with ws.database.session(read_only=True) as session:
        require_reader(session, user)
        sha = load_report(session, report_id).pdf_sha256
    return ws.evidence.get(sha)


# ----------------------------------------------------------------------------- issuing
@dataclass(frozen=True)
class _Plan:
    """What was read and built before the write transaction, to be checked again inside it."""

    request_id: int
    comparison_id: int | None
    previous_id: int | None
    report_number: str
    version: int
    issued_at: datetime
    data: ReportData
    pdf: bytes


def _check_issuer(session: Session, user: SignedInUser, request: CaseRequest) -> None:
    roles = live_roles(session, user)
    if Role.EXAMINER not in roles:
        raise PermissionDenied("Only an examiner may issue a report (MPTC III.B).")
    if request.assigned_examiner_id != user.user_id:
        raise PermissionDenied(
            f"Request {request.request_number} is assigned to another examiner; only that "
            "examiner may issue its report."
        )


def _check_release(request: CaseRequest) -> None:
    check_results_release(
        interagency=request.submitting_agency is not None,
        acknowledgment_recorded=request.interagency_ack_at is not None,
    )


def _check_lead(ws: Workstation, session: Session, comparison: Comparison) -> None:
    if comparison.status != "concluded":
        raise PolicyViolation(
            "The comparison is not concluded yet; a lead is reported only after the examiner's "
            f"conclusion ({ws.worksheet.clause})."
        )
    outcome = gather.review_outcome(ws, session, comparison)
    state = ReviewState(
        first_examiner_id=comparison.examiner_id,
        first_conclusion=Conclusion(comparison.conclusion) if comparison.conclusion else None,
        reviewer_id=outcome.reviewer_id,
        reviewer_conclusion=outcome.reviewer_conclusion,
        skip_reason=outcome.skipped_reason,
    )
    answers = {a.item_id: a.answer for a in comparison.answers}
    check_lead_report(ws.worksheet, answers, comparison.conclusion, state, ws.profile)


def _current(
    session: Session, *, kind: str, request_id: int, comparison_id: int | None
) -> Report | None:
    stmt = select(Report).where(
        Report.kind == kind, Report.request_id == request_id, Report.status == "issued"
    )
    if comparison_id is not None:
        stmt = stmt.where(Report.comparison_id == comparison_id)
    return session.execute(stmt.order_by(Report.version.desc()).limit(1)).scalar_one_or_none()


def _next_number(session: Session, year: int) -> str:
    prefix = f"FRX-{year}-"
    numbers = session.execute(
        select(Report.report_number).where(Report.report_number.like(f"{prefix}%")).distinct()
    ).scalars()
    highest = max((int(n[len(prefix) :]) for n in numbers if n[len(prefix) :].isdigit()), default=0)
    return f"{prefix}{highest + 1:06d}"


def _numbering(session: Session, previous: Report | None, now: datetime) -> tuple[str, int]:
    if previous is not None:
        return previous.report_number, previous.version + 1
    return _next_number(session, now.year), 1


def _checked_reason(reason: str) -> str:
    text = " ".join(reason.split())
    if len(text) > REASON_MAX:
        raise InvalidInput(f"The reason is too long: at most {REASON_MAX} characters.")
    return text


def issue_lead_report(
    ws: Workstation, *, user: SignedInUser, comparison_id: int, reason: str = ""
) -> ReportSummary:
    """Issue (or re-issue as the next version) the lead report of one comparison.

    ``reason``: why it is issued again (recorded in the audit event; optional the first time).
    """
    why = _checked_reason(reason)
    with refusals_audited(
        ws,
        user=user,
        action="report.refused",
        object_type="comparison",
        object_id=comparison_id,
        details={"attempted": "issue a lead report"},
    ):
        with ws.database.session(read_only=True) as session:
            comparison = load_comparison(session, comparison_id)
            request = load_request(session, comparison.request_id)
            _check_issuer(session, user, request)
            _check_lead(ws, session, comparison)
            _check_release(request)
            previous = _current(
                session, kind="lead", request_id=request.id, comparison_id=comparison.id
            )
            now = ws.now()
            number, version = _numbering(session, previous, now)
            data = _lead_data(ws, session, comparison, request, number, version, now, user)
            previous_id = previous.id if previous is not None else None
        plan = _Plan(
            request.id,
            comparison_id,
            previous_id,
            number,
            version,
            now,
            data,
            build_lead_report(data),
        )
        with ws.database.session() as session:
            comparison = load_comparison(session, comparison_id)
            request = load_request(session, comparison.request_id, for_update=True)
            _check_issuer(session, user, request)
            _check_lead(ws, session, comparison)  # again: nothing may have changed meanwhile
            _check_release(request)
            return _record(ws, session, user, plan, kind="lead", reason=why)


def issue_no_lead_report(
    ws: Workstation, *, user: SignedInUser, request_id: int, reason: str = ""
) -> ReportSummary:
    """Issue (or re-issue) the no-lead report of a request concluded without a lead."""
    why = _checked_reason(reason)
    with refusals_audited(
        ws,
        user=user,
        action="report.refused",
        object_type="request",
        object_id=request_id,
        details={"attempted": "issue a no-lead report"},
    ):
        with ws.database.session(read_only=True) as session:
            request = load_request(session, request_id)
            _check_issuer(session, user, request)
            _check_no_lead(request)
            _check_release(request)
            previous = _current(session, kind="no_lead", request_id=request.id, comparison_id=None)
            now = ws.now()
            number, version = _numbering(session, previous, now)
            data = _no_lead_data(ws, session, request, number, version, now, user)
            previous_id = previous.id if previous is not None else None
        plan = _Plan(
            request.id, None, previous_id, number, version, now, data, build_no_lead_report(data)
        )
        with ws.database.session() as session:
            request = load_request(session, request_id, for_update=True)
            _check_issuer(session, user, request)
            _check_no_lead(request)
            _check_release(request)
            return _record(ws, session, user, plan, kind="no_lead", reason=why)


def _check_no_lead(request: CaseRequest) -> None:
    if request.status != "concluded_no_lead":
        raise PolicyViolation(
            f"Request {request.request_number} is {request.status.replace('_', ' ')}: a no-lead "
            "report is issued only after the request is concluded without a lead."
        )


def _record(
    ws: Workstation,
    session: Session,
    user: SignedInUser,
    plan: _Plan,
    *,
    kind: str,
    reason: str,
) -> ReportSummary:
    previous = _current(
        session, kind=kind, request_id=plan.request_id, comparison_id=plan.comparison_id
    )
    if (previous.id if previous is not None else None) != plan.previous_id:
        raise ConflictError(
            "Another version of this report was issued meanwhile. Reload the case and try again."
        )
    request = load_request(session, plan.request_id)
    fingerprint = content_fingerprint(plan.data)
    evidence = register_evidence(
        session,
        ws.evidence,
        data=plan.pdf,
        media_type="application/pdf",
        original_name=f"{plan.report_number}-v{plan.version}.pdf",
        actor=user.username,
    )
    row = Report(
        report_number=plan.report_number,
        version=plan.version,
        kind=kind,
        request_id=plan.request_id,
        comparison_id=plan.comparison_id,
        case_number=request.case_number,
        pdf_sha256=evidence.sha256,
        pdf_size=len(plan.pdf),
        content_fingerprint=fingerprint,
        paper=plan.data.frame.paper,
        status="issued",
        issued_by_id=user.user_id,
        issued_by=user.username,
        issued_at=plan.issued_at,
    )
    session.add(row)
    try:
        session.flush()
    except DatabaseIntegrityError as exc:  # the same number and version issued meanwhile
        raise ConflictError(
            "Another report was issued with the same number meanwhile. Try again."
        ) from exc
    details = {
        "report_number": row.report_number,
        "version": row.version,
        "kind": kind,
        "sha256": row.pdf_sha256,
        "size": row.pdf_size,
        "content_fingerprint": fingerprint,
        "case_number": request.case_number,
        "request_id": request.id,
        "request_number": request.request_number,
        "comparison_id": plan.comparison_id,
        "supersedes": None,
        "reason": reason,
    }
    if previous is not None:
        previous.status = "superseded"
        previous.superseded_by_id = row.id
        previous.superseded_at = plan.issued_at
        details["supersedes"] = {
            "report_id": previous.id,
            "version": previous.version,
            "sha256": previous.pdf_sha256,
        }
        session.flush()
        audit(
            ws,
            session,
            user=user,
            action="report.superseded",
            object_type="report",
            object_id=previous.id,
            details={
                "report_number": previous.report_number,
                "version": previous.version,
                "sha256": previous.pdf_sha256,
                "superseded_by": row.id,
                "superseded_by_version": row.version,
                "case_number": request.case_number,
            },
        )
    audit(
        ws,
        session,
        user=user,
        action="report.issued",
        object_type="report",
        object_id=row.id,
        details=details,
    )
    return summarise_report(ws, session, row)


# ----------------------------------------------------------------------------- data
def _lead_data(
    ws: Workstation,
    session: Session,
    comparison: Comparison,
    request: CaseRequest,
    number: str,
    version: int,
    now: datetime,
    user: SignedInUser,
) -> LeadReportData:
    candidate = comparison.candidate
    search, probe, probe_version = gather.searched_records(session, candidate)
    outcome = gather.review_outcome(ws, session, comparison)
    label = ws.worksheet.conclusion_label(comparison.conclusion or "")
    return LeadReportData(
        frame=gather.make_frame(
            ws,
            session,
            request=request,
            report_number=number,
            version=version,
            issued_at=now,
            issued_by=user.username,
        ),
        request=gather.request_info(request),
        probe=gather.probe_info(ws, session, probe, probe_version),
        search=gather.search_info(session, search),
        candidates=(gather.candidate_info(ws, candidate),),
        worksheet=gather.worksheet_rows(ws, session, comparison),
        examiner=gather.examiner_conclusion(session, comparison, label),
        review=outcome.review,
        review_skipped_reason=None if outcome.review is not None else outcome.skipped_reason,
        compared_rank=candidate.rank,
    )


def _no_lead_data(
    ws: Workstation,
    session: Session,
    request: CaseRequest,
    number: str,
    version: int,
    now: datetime,
    user: SignedInUser,
) -> NoLeadReportData:
    search = gather.latest_search(session, request)
    probe, probe_version = gather.search_probe(session, search)
    comparisons, summaries = gather.reviewed_summaries(ws, session, request)
    review = None
    skipped: str | None = gather.NO_REVIEW_NEEDED
    for comparison in reversed(comparisons):
        outcome = gather.review_outcome(ws, session, comparison)
        if outcome.review is not None:
            review, skipped = outcome.review, None
            break
        if outcome.skipped_reason:
            skipped = outcome.skipped_reason
    concluded_by, concluded_at = _no_lead_conclusion(session, request)
    examiner = ExaminerConclusion(
        name=gather.display_name(session, concluded_by),
        conclusion_label=NO_LEAD_LABEL,
        at=concluded_at,
        time_spent_seconds=sum(c.time_spent_seconds or 0 for c in comparisons),
    )
    return NoLeadReportData(
        frame=gather.make_frame(
            ws,
            session,
            request=request,
            report_number=number,
            version=version,
            issued_at=now,
            issued_by=user.username,
        ),
        request=gather.request_info(request),
        probe=gather.probe_info(ws, session, probe, probe_version),
        search=gather.search_info(session, search),
        candidates_reviewed=len(comparisons),
        summaries=summaries,
        examiner=examiner,
        review=review,
        review_skipped_reason=skipped,
    )


def _no_lead_conclusion(session: Session, request: CaseRequest) -> tuple[str, datetime]:
    """Who concluded the request without a lead, and when (from its audit event)."""
    events = list(
        iter_events(
            session,
            action="request.concluded_no_lead",
            object_type="request",
            object_id=request.id,
            newest_first=True,
            limit=1,
        )
    )
    if events:
        return events[0].actor, datetime.fromisoformat(events[0].occurred_at)
    return request.created_by, request.updated_at
