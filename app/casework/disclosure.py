"""Disclosure requests (e.g. under a freedom of information law), reviewed by the legal advisor
(MPTC VI.E).

A request for records from outside is recorded as it arrives; the agency's legal advisor
approves or denies it with a reason; records are released on it only after a recorded approval,
and the release records what was released (with the SHA-256 of each report file), how, by whom
and when. Refusals are audited as ``disclosure.refused``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.casework.account_rules import SignedInUser
from app.casework.case_access import (
    audit,
    dumps,
    find_request_id,
    live_roles,
    load_request,
    refusals_audited,
)
from app.casework.reports import load_report
from app.casework.workstation import Workstation
from app.errors import InvalidInput, NotFound, PolicyViolation
from app.policy.gates import (
    check_can_approve_disclosure,
    check_disclosure_release,
    require_role,
)
from app.policy.roles import Role
from app.records.case_models import json_value
from app.records.report_models import DisclosureDecision, DisclosureRelease, DisclosureRequest

__all__ = [
    "DisclosureDecisionSummary",
    "DisclosureReleaseSummary",
    "DisclosureSummary",
    "decide_disclosure",
    "get_disclosure",
    "list_disclosures",
    "record_disclosure_request",
    "release_disclosure",
]

# Who records disclosure requests and carries out approved releases (records management).
CLERK_ROLES = frozenset({Role.LEGAL_ADVISOR, Role.SUPERVISOR, Role.ADMINISTRATOR})
TEXT_MAX = 20_000


@dataclass(frozen=True)
class DisclosureDecisionSummary:
    decision_id: int
    decision: str  # approved / denied
    reason: str
    decided_by: str
    decided_at: datetime


@dataclass(frozen=True)
class DisclosureReleaseSummary:
    release_id: int
    description: str
    items: tuple[dict[str, object], ...]  # {"type": "report", "id": ..., "sha256": ...}
    method: str
    released_by: str
    released_at: datetime


@dataclass(frozen=True)
class DisclosureSummary:
    disclosure_id: int
    requester: str
    received_at: datetime
    description: str
    request_id: int | None
    case_number: str | None
    status: str  # received / approved / denied / released
    recorded_by: str
    recorded_at: datetime
    decisions: tuple[DisclosureDecisionSummary, ...]
    releases: tuple[DisclosureReleaseSummary, ...]

    @property
    def approved(self) -> bool:
        return bool(self.decisions) and self.decisions[-1].decision == "approved"


def _summary(row: DisclosureRequest) -> DisclosureSummary:
    return DisclosureSummary(
        disclosure_id=row.id,
        requester=row.requester,
        received_at=row.received_at,
        description=row.description,
        request_id=row.request_id,
        case_number=row.case_number,
        status=row.status,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
        decisions=tuple(
            DisclosureDecisionSummary(d.id, d.decision, d.reason, d.decided_by, d.decided_at)
            for d in row.decisions
        ),
        releases=tuple(
            DisclosureReleaseSummary(
                r.id,
                r.description,
                tuple(json_value(r.items) or ()),
                r.method,
                r.released_by,
                r.released_at,
            )
            for r in row.releases
        ),
    )


def _require(session: Session, user: SignedInUser, roles: frozenset[Role], action: str) -> None:
    require_role(live_roles(session, user), roles, action)


def _text(value: str, what: str, *, minimum: int = 1) -> str:
    text = " ".join(str(value or "").split())
    if len(text) < minimum:
        raise InvalidInput(f"Record {what}.")
    if len(text) > TEXT_MAX:
        raise InvalidInput(f"The {what} is too long: at most {TEXT_MAX} characters.")
    return text


def _load(session: Session, disclosure_id: int) -> DisclosureRequest:
    row = session.get(DisclosureRequest, disclosure_id)
    if row is None:
        raise NotFound(f"There is no disclosure request with number {disclosure_id}.")
    return row


def record_disclosure_request(
    ws: Workstation,
    *,
    user: SignedInUser,
    requester: str,
    description: str,
    received_at: datetime | None = None,
    request_reference: str | int | None = None,
) -> DisclosureSummary:
    """Record a request for records as it arrived (``request_reference``: the case's request,
    by id or request number, when it names one)."""
    who = _text(requester, "who made the disclosure request")[:200]
    what = _text(description, "what records are asked for", minimum=5)
    now = ws.now()
    moment = received_at or now
    if moment.tzinfo is None:
        raise InvalidInput("Give the time the request was received with its time zone.")
    if moment > now:
        raise InvalidInput("A disclosure request cannot be received in the future.")
    with (
        refusals_audited(
            ws,
            user=user,
            action="disclosure.refused",
            object_type="disclosure",
            object_id=None,
            details={"attempted": "record a disclosure request", "requester": who},
        ),
        ws.database.session() as session,
    ):
        _require(session, user, CLERK_ROLES, "record a disclosure request")
        request_id = case_number = None
        if request_reference is not None and str(request_reference).strip():
            request = load_request(session, find_request_id(session, request_reference))
            request_id, case_number = request.id, request.case_number
        row = DisclosureRequest(
            requester=who,
            received_at=moment,
            description=what,
            request_id=request_id,
            case_number=case_number,
            status="received",
            recorded_by=user.username,
            recorded_at=now,
        )
        session.add(row)
        session.flush()
        audit(
            ws,
            session,
            user=user,
            action="disclosure.received",
            object_type="disclosure",
            object_id=row.id,
            details={
                "requester": who,
                "received_at": moment,
                "description": what,
                "request_id": request_id,
                "case_number": case_number,
            },
        )
        return _summary(row)


def decide_disclosure(
    ws: Workstation, *, user: SignedInUser, disclosure_id: int, approve: bool, reason: str
) -> DisclosureSummary:
    """The legal advisor's approval or denial, with the reason (only a legal advisor)."""
    why = _text(reason, "the reason for the decision", minimum=5)
    with (
        refusals_audited(
            ws,
            user=user,
            action="disclosure.refused",
            object_type="disclosure",
            object_id=disclosure_id,
            details={"attempted": "approve" if approve else "deny"},
        ),
        ws.database.session() as session,
    ):
        check_can_approve_disclosure(live_roles(session, user))
        row = _load(session, disclosure_id)
        if row.status != "received":
            raise PolicyViolation(
                f"Disclosure request {row.id} is already {row.status}; record a new request to "
                "have it decided again."
            )
        decision = DisclosureDecision(
            disclosure_id=row.id,
            decision="approved" if approve else "denied",
            reason=why,
            decided_by_id=user.user_id,
            decided_by=user.username,
            decided_at=ws.now(),
        )
        session.add(decision)
        row.status = decision.decision
        session.flush()
        audit(
            ws,
            session,
            user=user,
            action=f"disclosure.{decision.decision}",
            object_type="disclosure",
            object_id=row.id,
            details={"reason": why, "case_number": row.case_number, "decision_id": decision.id},
        )
        session.refresh(row)
        return _summary(row)


def release_disclosure(
    ws: Workstation,
    *,
    user: SignedInUser,
    disclosure_id: int,
    description: str,
    method: str,
    report_ids: Sequence[int] = (),
) -> DisclosureSummary:
    """Record the release of records on an APPROVED disclosure request (refused until then)."""
    what = _text(description, "what is released", minimum=5)
    how = _text(method, "how the records are released")[:200]
    with (
        refusals_audited(
            ws,
            user=user,
            action="disclosure.refused",
            object_type="disclosure",
            object_id=disclosure_id,
            details={"attempted": "release records", "report_ids": list(report_ids)},
        ),
        ws.database.session() as session,
    ):
        _require(session, user, CLERK_ROLES, "release records on a disclosure request")
        row = _load(session, disclosure_id)
        approval = next((d for d in reversed(row.decisions) if d.decision == "approved"), None)
        approved = row.status == "approved" and approval is not None
        check_disclosure_release(approved_by_legal_advisor=approved)
        if approval is None:  # pragma: no cover - refused by the gate just above
            raise PolicyViolation("The legal advisor's approval is not recorded.")
        items: list[dict[str, object]] = []
        for report_id in report_ids:
            report = load_report(session, report_id)
            if row.request_id is not None and report.request_id != row.request_id:
                raise PolicyViolation(
                    f"Report {report.report_number} belongs to another case than the one this "
                    "disclosure request was approved for."
                )
            items.append(
                {
                    "type": "report",
                    "id": report.id,
                    "report_number": report.report_number,
                    "version": report.version,
                    "sha256": report.pdf_sha256,
                }
            )
        release = DisclosureRelease(
            disclosure_id=row.id,
            decision_id=approval.id,
            description=what,
            items=dumps(items),
            method=how,
            released_by=user.username,
            released_at=ws.now(),
        )
        session.add(release)
        row.status = "released"
        session.flush()
        audit(
            ws,
            session,
            user=user,
            action="disclosure.released",
            object_type="disclosure",
            object_id=row.id,
            details={
                "description": what,
                "method": how,
                "items": items,
                "approved_by": approval.decided_by,
                "decision_id": approval.id,
                "case_number": row.case_number,
            },
        )
        session.refresh(row)
        return _summary(row)


def get_disclosure(ws: Workstation, *, user: SignedInUser, disclosure_id: int) -> DisclosureSummary:
    with ws.database.session(read_only=True) as session:
        _require(session, user, CLERK_ROLES, "read disclosure requests")
        return _summary(_load(session, disclosure_id))


def list_disclosures(
    ws: Workstation, *, user: SignedInUser, status: str | None = None
) -> list[DisclosureSummary]:
    """Disclosure requests, newest first (optionally only those with ``status``)."""
    with ws.database.session(read_only=True) as session:
        _require(session, user, CLERK_ROLES, "read disclosure requests")
        stmt = select(DisclosureRequest)
        if status is not None:
            stmt = stmt.where(DisclosureRequest.status == status)
        rows = session.execute(stmt.order_by(DisclosureRequest.id.desc())).scalars()
        return [_summary(row) for row in rows]
