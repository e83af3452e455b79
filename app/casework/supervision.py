"""Supervisors' compliance queries and random audits (MPTC VI.C).

Read-only views over the case records for a period: searches per examiner and per purpose,
possible leads without a second review, review disagreements, reports released (to whom), refused
actions, and the compliance counts. A random audit sample of N requests is drawn with a recorded
seed over a recorded period, so anyone can draw it again and get the same requests
(:func:`reproduce_audit_sample`); findings are recorded per sampled request.

Reading is for supervisors, administrators and legal advisors; drawing samples and recording
findings for supervisors and administrators. Refusals are audited as ``permission.denied``
(as in :mod:`app.casework.audit_log`, whose event queries and exports this module does not
repeat). Times are UTC; ``since`` is inclusive and ``until`` exclusive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select

from app.casework.account_rules import SignedInUser
from app.casework.audit_log import AuditRow, audit_row
from app.casework.audit_samples import (
    AuditFindingSummary,
    AuditSampleSummary,
    check_period,
    draw_audit_sample,
    get_audit_sample,
    list_audit_samples,
    record_audit_finding,
    reproduce_audit_sample,
    require_supervision_reader,
    sample_requests,
    within,
)
from app.casework.workstation import Workstation
from app.records.audit import format_timestamp
from app.records.case_models import (
    CaseRequest,
    CaseSearch,
    Comparison,
    Review,
    ReviewSkip,
    SearchCandidate,
)
from app.records.models import AuditEvent
from app.records.report_models import Dissemination, Report
from app.reports.compliance_data import CountLine

__all__ = [
    "AuditFindingSummary",
    "AuditSampleSummary",
    "ComplianceCounts",
    "CountRow",
    "DisagreementRow",
    "DisseminatedRow",
    "UnreviewedLeadRow",
    "compliance_counts",
    "draw_audit_sample",
    "get_audit_sample",
    "list_audit_samples",
    "record_audit_finding",
    "refused_actions",
    "reports_disseminated",
    "reproduce_audit_sample",
    "review_disagreements",
    "sample_requests",
    "searches_per_examiner",
    "searches_per_purpose",
    "searches_without_review",
]

REFUSED_PREFIX_FREE = "%refused"  # request.refused, review.skip_refused, report.export_refused
PERMISSION_DENIED = "permission.denied"


# ----------------------------------------------------------------------------- results
# A count row is the compliance report's own count line (casework sits above reports).
CountRow = CountLine


@dataclass(frozen=True)
class UnreviewedLeadRow:
    """A possible lead whose second review is not recorded (skipped, or not done yet)."""

    search_id: int
    request_id: int
    request_number: str
    case_number: str
    comparison_id: int
    rank: int
    subject_reference: str
    examiner: str
    concluded_at: datetime | None
    review_state: str
    skip_reason: str | None


@dataclass(frozen=True)
class DisagreementRow:
    review_id: int
    comparison_id: int
    request_id: int
    request_number: str
    case_number: str
    examiner: str
    first_conclusion: str | None
    reviewer: str
    reviewer_conclusion: str | None
    recorded_at: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None


@dataclass(frozen=True)
class DisseminatedRow:
    dissemination_id: int
    report_id: int
    report_number: str
    version: int
    kind: str
    case_number: str
    recipient_agency: str
    official: str
    recipient_type: str
    need_to_know: str
    method: str
    released_by: str
    released_at: datetime


@dataclass(frozen=True)
class ComplianceCounts:
    """How the unit worked in a period (MPTC VI.C: compliance measured)."""

    since: datetime | None
    until: datetime | None
    requests: int
    searches: int
    comparisons_concluded: int
    possible_leads: int
    leads_reviewed: int
    leads_review_skipped: int
    leads_awaiting_review: int
    disagreements: int
    lead_reports: int
    no_lead_reports: int
    disseminations: int
    refused_actions: int


# ----------------------------------------------------------------------------- queries
def searches_per_examiner(
    ws: Workstation,
    *,
    user: SignedInUser,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[CountRow]:
    """How many searches each examiner ran in the period, most first."""
    check_period(since, until)
    with ws.database.session(read_only=True) as session:
        require_supervision_reader(ws, session, user, "see searches per examiner")
        stmt = (
            select(CaseSearch.created_by, func.count())
            .where(*within(CaseSearch.created_at, since, until))
            .group_by(CaseSearch.created_by)
        )
        rows = [CountRow(str(k), str(k), int(n)) for k, n in session.execute(stmt)]
    return sorted(rows, key=lambda r: (-r.count, r.key))


def searches_per_purpose(
    ws: Workstation,
    *,
    user: SignedInUser,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[CountRow]:
    """How many searches were run for each authorized purpose in the period, most first."""
    check_period(since, until)
    with ws.database.session(read_only=True) as session:
        require_supervision_reader(ws, session, user, "see searches per purpose")
        stmt = (
            select(CaseRequest.purpose_code, func.min(CaseRequest.purpose_text), func.count())
            .select_from(CaseSearch)
            .join(CaseRequest, CaseRequest.id == CaseSearch.request_id)
            .where(*within(CaseSearch.created_at, since, until))
            .group_by(CaseRequest.purpose_code)
        )
        rows = [CountRow(str(k), str(t), int(n)) for k, t, n in session.execute(stmt)]
    return sorted(rows, key=lambda r: (-r.count, r.key))


def _unreviewed_leads(since: datetime | None, until: datetime | None) -> Any:
    return (
        select(Comparison, SearchCandidate, CaseRequest)
        .join(SearchCandidate, SearchCandidate.id == Comparison.candidate_id)
        .join(CaseRequest, CaseRequest.id == Comparison.request_id)
        .where(
            Comparison.status == "concluded",
            Comparison.conclusion == "possible_lead",
            Comparison.review_state != "reviewed",
            *within(Comparison.finished_at, since, until),
        )
        .order_by(Comparison.finished_at, Comparison.id)
    )


def searches_without_review(
    ws: Workstation,
    *,
    user: SignedInUser,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[UnreviewedLeadRow]:
    """Possible leads (by the search they came from) with no recorded second review, concluded
    in the period: skipped with a reason, or still waiting."""
    check_period(since, until)
    with ws.database.session(read_only=True) as session:
        require_supervision_reader(ws, session, user, "see searches without second review")
        result = []
        for comparison, candidate, request in session.execute(_unreviewed_leads(since, until)):
            skip = session.execute(
                select(ReviewSkip.reason)
                .where(ReviewSkip.comparison_id == comparison.id)
                .order_by(ReviewSkip.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            result.append(
                UnreviewedLeadRow(
                    search_id=candidate.search_id,
                    request_id=request.id,
                    request_number=request.request_number,
                    case_number=request.case_number,
                    comparison_id=comparison.id,
                    rank=candidate.rank,
                    subject_reference=candidate.subject_reference,
                    examiner=comparison.examiner,
                    concluded_at=comparison.finished_at,
                    review_state=comparison.review_state,
                    skip_reason=skip,
                )
            )
        return result


def review_disagreements(
    ws: Workstation,
    *,
    user: SignedInUser,
    since: datetime | None = None,
    until: datetime | None = None,
    include_resolved: bool = True,
) -> list[DisagreementRow]:
    """Second reviews recorded in the period that disagreed with the first examiner."""
    check_period(since, until)
    with ws.database.session(read_only=True) as session:
        require_supervision_reader(ws, session, user, "see review disagreements")
        stmt = (
            select(Review, Comparison, CaseRequest)
            .join(Comparison, Comparison.id == Review.comparison_id)
            .join(CaseRequest, CaseRequest.id == Comparison.request_id)
            .where(Review.disagreement.is_(True), *within(Review.recorded_at, since, until))
            .order_by(Review.recorded_at, Review.id)
        )
        if not include_resolved:
            stmt = stmt.where(Review.resolved_at.is_(None))
        return [
            DisagreementRow(
                review_id=review.id,
                comparison_id=comparison.id,
                request_id=request.id,
                request_number=request.request_number,
                case_number=request.case_number,
                examiner=comparison.examiner,
                first_conclusion=comparison.conclusion,
                reviewer=review.reviewer,
                reviewer_conclusion=review.conclusion,
                recorded_at=review.recorded_at,
                resolved_at=review.resolved_at,
                resolved_by=review.resolved_by,
                resolution_note=review.resolution_note,
            )
            for review, comparison, request in session.execute(stmt)
        ]


def reports_disseminated(
    ws: Workstation,
    *,
    user: SignedInUser,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[DisseminatedRow]:
    """Every release of a report in the period: which report went to whom, why and how."""
    check_period(since, until)
    with ws.database.session(read_only=True) as session:
        require_supervision_reader(ws, session, user, "see the reports released")
        stmt = (
            select(Dissemination, Report)
            .join(Report, Report.id == Dissemination.report_id)
            .where(*within(Dissemination.released_at, since, until))
            .order_by(Dissemination.released_at, Dissemination.id)
        )
        return [
            DisseminatedRow(
                dissemination_id=d.id,
                report_id=r.id,
                report_number=r.report_number,
                version=r.version,
                kind=r.kind,
                case_number=r.case_number,
                recipient_agency=d.recipient_agency,
                official=d.official,
                recipient_type=d.recipient_type,
                need_to_know=d.need_to_know,
                method=d.method,
                released_by=d.released_by,
                released_at=d.released_at,
            )
            for d, r in session.execute(stmt)
        ]


def _refused(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        or_(AuditEvent.action.like(REFUSED_PREFIX_FREE), AuditEvent.action == PERMISSION_DENIED)
    ]
    # Audit times are ISO-8601 UTC text, compared as text.
    if since is not None:
        conditions.append(AuditEvent.occurred_at >= format_timestamp(since))
    if until is not None:
        conditions.append(AuditEvent.occurred_at < format_timestamp(until))
    return conditions


def refused_actions(
    ws: Workstation,
    *,
    user: SignedInUser,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 1000,
) -> list[AuditRow]:
    """Refused actions (policy refusals and permission denials) in the period, newest first."""
    check_period(since, until)
    with ws.database.session(read_only=True) as session:
        require_supervision_reader(ws, session, user, "see refused actions")
        stmt = (
            select(AuditEvent)
            .where(*_refused(since, until))
            .order_by(AuditEvent.sequence.desc())
            .limit(max(1, min(limit, 10_000)))
        )
        return [audit_row(e) for e in session.execute(stmt).scalars()]


def compliance_counts(
    ws: Workstation,
    *,
    user: SignedInUser,
    since: datetime | None = None,
    until: datetime | None = None,
) -> ComplianceCounts:
    """The period's counts: requests, searches, leads and their reviews, reports, releases."""
    check_period(since, until)
    with ws.database.session(read_only=True) as session:
        require_supervision_reader(ws, session, user, "see compliance counts")

        def count(model: Any, *conditions: Any) -> int:
            stmt = select(func.count()).select_from(model).where(*conditions)
            return int(session.execute(stmt).scalar_one())

        concluded = [
            Comparison.status == "concluded",
            *within(Comparison.finished_at, since, until),
        ]
        leads = [*concluded, Comparison.conclusion == "possible_lead"]
        return ComplianceCounts(
            since=since,
            until=until,
            requests=count(CaseRequest, *within(CaseRequest.created_at, since, until)),
            searches=count(CaseSearch, *within(CaseSearch.created_at, since, until)),
            comparisons_concluded=count(Comparison, *concluded),
            possible_leads=count(Comparison, *leads),
            leads_reviewed=count(Comparison, *leads, Comparison.review_state == "reviewed"),
            leads_review_skipped=count(Comparison, *leads, Comparison.review_state == "skipped"),
            leads_awaiting_review=count(
                Comparison,
                *leads,
                Comparison.review_state.in_(("not_submitted", "awaiting_review", "in_review")),
            ),
            disagreements=count(
                Review, Review.disagreement.is_(True), *within(Review.recorded_at, since, until)
            ),
            lead_reports=count(
                Report, Report.kind == "lead", *within(Report.issued_at, since, until)
            ),
            no_lead_reports=count(
                Report, Report.kind == "no_lead", *within(Report.issued_at, since, until)
            ),
            disseminations=count(Dissemination, *within(Dissemination.released_at, since, until)),
            refused_actions=count(AuditEvent, *_refused(since, until)),
        )
