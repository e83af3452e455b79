"""Requests for a search: intake under the active policy profile, queues, interagency
acknowledgment, conclusion without a lead, closing.

A request is only opened when the intake gate passes (MPTC IV.B, V.A, IV.D, V.B): every field,
one purpose of the active profile (no free text), a lawful probe source, the three attestations,
and no composite sketch, artist rendering or look-alike. The profile's name, version and SHA-256
are recorded with the request. A request from another agency (IV.F) must have the written
"lead only" acknowledgment recorded before any result is released.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import uuid4

from sqlalchemy import CompoundSelect, exists, func, or_, select
from sqlalchemy.orm import Session

from app.casework.account_rules import SignedInUser
from app.casework.case_access import (
    CLOSED_STATUSES,
    audit,
    check_assigned,
    find_request_id,
    live_roles,
    load_request,
    refusals_audited,
    request_problems,
    require_examiner,
    require_reader,
    username_of,
)
from app.casework.case_views import RequestList, RequestSummary, request_summary
from app.casework.workstation import Workstation
from app.errors import InvalidInput, PermissionDenied, PolicyViolation
from app.policy.gates import RequestIntake, check_request_intake
from app.policy.roles import Role
from app.records.case_models import (
    REQUEST_STATUSES,
    CaseRequest,
    CaseSearch,
    Comparison,
    ProbeImage,
    Review,
)

Queue = Literal["mine", "awaiting_my_review", "returned", "all", "disagreements"]
QUEUES: tuple[str, ...] = ("mine", "awaiting_my_review", "returned", "all", "disagreements")
SUPERVISING_ROLES = frozenset({Role.SUPERVISOR, Role.LEGAL_ADVISOR})
# Most characters each intake field may hold (the database columns' sizes).
FIELD_LIMITS = {
    "case_number": ("case number", 100),
    "requesting_officer": ("requesting officer", 200),
    "requesting_agency": ("requesting agency", 200),
    "offense": ("offense", 500),
    "submitting_agency": ("submitting agency", 200),
}
NARRATIVE_MAX = 20_000

__all__ = [
    "QUEUES",
    "Queue",
    "RequestIntake",
    "RequestList",
    "RequestSummary",
    "close_request",
    "find_request",
    "get_request",
    "list_requests",
    "open_request",
    "record_interagency_acknowledgment",
    "record_no_lead",
    "request_number_for",
]


def request_number_for(created_at: datetime, request_id: int) -> str:
    return f"REQ-{created_at.year}-{request_id:06d}"


def _one_line(value: str) -> str:
    return " ".join(str(value or "").split())


def _checked_lengths(intake: RequestIntake) -> None:
    for name, (label, limit) in FIELD_LIMITS.items():
        if len(_one_line(getattr(intake, name) or "")) > limit:
            raise InvalidInput(f"The {label} is too long: at most {limit} characters.")
    for name, label in (("narrative", "narrative"), ("probe_obtained_how", "probe's origin")):
        if len(str(getattr(intake, name) or "")) > NARRATIVE_MAX:
            raise InvalidInput(f"The {label} is too long: at most {NARRATIVE_MAX} characters.")


def summarise(ws: Workstation, session: Session, row: CaseRequest) -> RequestSummary:
    probes = session.execute(
        select(func.count()).select_from(ProbeImage).where(ProbeImage.request_id == row.id)
    ).scalar_one()
    searches = session.execute(
        select(func.count()).select_from(CaseSearch).where(CaseSearch.request_id == row.id)
    ).scalar_one()
    blockers = list(request_problems(row, ws.profile))
    if row.status in CLOSED_STATUSES:
        blockers.append(f"The request is {row.status.replace('_', ' ')}.")
    if not probes:
        blockers.append("Add the probe image to the request.")
    return request_summary(
        row,
        assigned_examiner=username_of(session, row.assigned_examiner_id),
        probe_count=int(probes),
        search_count=int(searches),
        search_blockers=tuple(blockers),
    )


def set_status(ws: Workstation, row: CaseRequest, status: str, note: str | None = None) -> None:
    """Move a request to ``status`` (casework modules call this in their own transaction)."""
    if status not in REQUEST_STATUSES:  # pragma: no cover - programming error
        raise ValueError(f"unknown request status {status!r}")
    row.status = status
    if note is not None:
        row.status_note = note
    row.updated_at = ws.now()


# ----------------------------------------------------------------------------- intake
def open_request(ws: Workstation, *, user: SignedInUser, intake: RequestIntake) -> RequestSummary:
    """Record a new request after the intake gate; refusals are audited as request.refused."""
    details = {"case_number": _one_line(intake.case_number), "purpose_code": intake.purpose_code}
    with refusals_audited(
        ws,
        user=user,
        action="request.refused",
        object_type="request",
        object_id=None,
        details=details,
    ):
        _checked_lengths(intake)
        with ws.database.session() as session:
            require_examiner(session, user, "open a request")
            profile = ws.profile
            check_request_intake(intake, profile)
            purpose = profile.purpose(intake.purpose_code.strip())
            now = ws.now()
            submitting = _one_line(intake.submitting_agency) if intake.interagency else ""
            row = CaseRequest(
                request_number=f"pending-{uuid4().hex}",
                case_number=_one_line(intake.case_number),
                requesting_officer=_one_line(intake.requesting_officer),
                requesting_agency=_one_line(intake.requesting_agency),
                submitting_agency=submitting or None,
                purpose_code=purpose.code,
                purpose_text=purpose.text,
                profile_name=profile.name,
                profile_version=profile.version,
                profile_sha256=profile.sha256,
                offense=_one_line(intake.offense),
                narrative=intake.narrative.strip(),
                probe_source=intake.probe_source.strip(),
                probe_obtained_how=intake.probe_obtained_how.strip(),
                probe_kind=intake.probe_kind.strip(),
                lawful_source_attested_at=now,
                not_protected_basis_attested_at=now,
                actual_subject_attested_at=now,
                attested_by=user.username,
                status="open",
                assigned_examiner_id=user.user_id,
                created_at=now,
                created_by=user.username,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            row.request_number = request_number_for(now, row.id)
            session.flush()
            audit(
                ws,
                session,
                user=user,
                action="request.opened",
                object_type="request",
                object_id=row.id,
                details={
                    "request_number": row.request_number,
                    "case_number": row.case_number,
                    "requesting_officer": row.requesting_officer,
                    "requesting_agency": row.requesting_agency,
                    "submitting_agency": row.submitting_agency,
                    "purpose_code": row.purpose_code,
                    "profile": [profile.name, profile.version, profile.sha256],
                    "offense": row.offense,
                    "probe_source": row.probe_source,
                    "probe_kind": row.probe_kind,
                    "attestations": ["lawful_source", "not_protected_basis", "actual_subject"],
                },
            )
            return summarise(ws, session, row)


def record_interagency_acknowledgment(
    ws: Workstation,
    *,
    user: SignedInUser,
    request_id: int,
    acknowledged_by: str,
    acknowledged_at: datetime | None = None,
    text: str | None = None,
) -> RequestSummary:
    """Record that the submitting agency was told in writing, and acknowledged, that a result is
    only a lead (MPTC IV.F). ``acknowledged_by``: the official who acknowledged; ``text``: the
    wording they acknowledged (default: the profile's)."""
    with (
        refusals_audited(
            ws,
            user=user,
            action="request.refused",
            object_type="request",
            object_id=request_id,
            details={"attempted": "record the interagency acknowledgment"},
        ),
        ws.database.session() as session,
    ):
        row = load_request(session, request_id, for_update=True)
        roles = live_roles(session, user)
        if row.assigned_examiner_id != user.user_id and Role.SUPERVISOR not in roles:
            raise PermissionDenied(
                "Only the assigned examiner or a supervisor may record the acknowledgment."
            )
        if row.submitting_agency is None:
            raise PolicyViolation(
                f"Request {row.request_number} is this agency's own request; no interagency "
                "acknowledgment is needed."
            )
        if row.interagency_ack_at is not None:
            raise PolicyViolation(
                f"The acknowledgment of {row.submitting_agency} was already recorded on "
                f"{row.interagency_ack_at:%Y-%m-%d}; it cannot be changed."
            )
        official = _one_line(acknowledged_by)
        if not official:
            raise InvalidInput("Name the official of the submitting agency who acknowledged.")
        now = ws.now()
        moment = acknowledged_at or now
        if moment.tzinfo is None:
            raise InvalidInput("Give the time of the acknowledgment with its time zone.")
        if moment > now:
            raise InvalidInput("The acknowledgment cannot be dated in the future.")
        row.interagency_ack_text = (text or ws.profile.report.interagency_acknowledgment).strip()
        row.interagency_ack_by = official[:200]
        row.interagency_ack_at = moment
        row.interagency_ack_recorded_by = user.username
        row.updated_at = now
        session.flush()
        audit(
            ws,
            session,
            user=user,
            action="request.interagency_acknowledged",
            object_type="request",
            object_id=row.id,
            details={
                "submitting_agency": row.submitting_agency,
                "acknowledged_by": official,
                "acknowledged_at": moment,
                "text": row.interagency_ack_text,
            },
        )
        return summarise(ws, session, row)


# ----------------------------------------------------------------------------- reading
def get_request(ws: Workstation, *, user: SignedInUser, request_id: int) -> RequestSummary:
    with ws.database.session(read_only=True) as session:
        require_reader(session, user)
        return summarise(ws, session, load_request(session, request_id))


def find_request(ws: Workstation, *, user: SignedInUser, reference: str | int) -> RequestSummary:
    """A request by its id or its request number (``REQ-2026-000001``)."""
    with ws.database.session(read_only=True) as session:
        require_reader(session, user)
        return summarise(ws, session, load_request(session, find_request_id(session, reference)))


def _awaiting_review_of(user_id: int) -> CompoundSelect[int]:
    """Requests with a comparison another examiner submitted, or whose review I have open."""
    waiting = select(Comparison.request_id).where(
        Comparison.review_state == "awaiting_review", Comparison.examiner_id != user_id
    )
    mine_open = (
        select(Comparison.request_id)
        .join(Review, Review.comparison_id == Comparison.id)
        .where(Review.reviewer_id == user_id, Review.status == "in_progress")
    )
    return waiting.union(mine_open)


def _queue_filter(queue: str, user: SignedInUser) -> list[object]:
    if queue == "mine":
        return [CaseRequest.assigned_examiner_id == user.user_id, CaseRequest.status != "closed"]
    if queue == "returned":
        return [CaseRequest.assigned_examiner_id == user.user_id, CaseRequest.status == "returned"]
    if queue == "awaiting_my_review":
        return [
            CaseRequest.id.in_(_awaiting_review_of(user.user_id)),
            CaseRequest.status.not_in(("closed",)),
        ]
    if queue == "disagreements":
        unresolved = (
            select(Comparison.request_id)
            .join(Review, Review.comparison_id == Comparison.id)
            .where(Review.disagreement.is_(True), Review.resolved_at.is_(None))
        )
        return [CaseRequest.id.in_(unresolved)]
    return []


def _queues_for(roles: frozenset[Role]) -> tuple[str, ...]:
    allowed: list[str] = []
    if Role.EXAMINER in roles:
        allowed += ["mine", "awaiting_my_review", "returned"]
    if roles & SUPERVISING_ROLES:
        allowed += ["all"]
    if Role.SUPERVISOR in roles:
        allowed += ["disagreements"]
    return tuple(allowed)


def list_requests(
    ws: Workstation,
    *,
    user: SignedInUser,
    queue: str = "mine",
    status: str | None = None,
    case_number: str | None = None,
    purpose_code: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> RequestList:
    """One page of a queue, newest first, with the sizes of the queues the user may open.

    ``case_number`` matches any part of the case number; ``created_to`` is exclusive.
    """
    if queue not in QUEUES:
        raise InvalidInput(f"Unknown queue '{queue}'. Queues: {', '.join(QUEUES)}.")
    if status is not None and status not in REQUEST_STATUSES:
        raise InvalidInput(f"Unknown status '{status}'. Statuses: {', '.join(REQUEST_STATUSES)}.")
    if created_from and created_to and created_from >= created_to:
        raise InvalidInput("The date range is the wrong way round.")
    with ws.database.session(read_only=True) as session:
        roles = require_reader(session, user)
        allowed = _queues_for(roles)
        if queue not in allowed:
            raise PermissionDenied(
                f"The queue '{queue}' is not open to you (yours: {', '.join(allowed) or 'none'})."
            )
        filters = list(_queue_filter(queue, user))
        if status is not None:
            filters.append(CaseRequest.status == status)
        if case_number:
            filters.append(CaseRequest.case_number.contains(case_number.strip(), autoescape=True))
        if purpose_code:
            filters.append(CaseRequest.purpose_code == purpose_code)
        if created_from is not None:
            filters.append(CaseRequest.created_at >= created_from)
        if created_to is not None:
            filters.append(CaseRequest.created_at < created_to)
        stmt = select(CaseRequest).where(*filters)  # type: ignore[arg-type]
        total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        rows = session.execute(
            stmt.order_by(CaseRequest.created_at.desc(), CaseRequest.id.desc())
            .offset(max(0, offset))
            .limit(max(1, min(limit, 1000)))
        ).scalars()
        summaries = tuple(summarise(ws, session, row) for row in rows)
        counts = {
            name: int(
                session.execute(
                    select(func.count()).select_from(CaseRequest).where(*_queue_filter(name, user))  # type: ignore[arg-type]
                ).scalar_one()
            )
            for name in allowed
        }
        return RequestList(queue=queue, rows=summaries, total=int(total), counts=counts)


# ----------------------------------------------------------------------------- ending
def record_no_lead(
    ws: Workstation, *, user: SignedInUser, request_id: int, note: str = ""
) -> RequestSummary:
    """Conclude a searched request without a lead (no candidate is reported)."""
    with (
        refusals_audited(
            ws,
            user=user,
            action="request.refused",
            object_type="request",
            object_id=request_id,
            details={"attempted": "conclude without a lead"},
        ),
        ws.database.session() as session,
    ):
        row = load_request(session, request_id, for_update=True)
        check_assigned(row, user, "conclude it")
        if row.status not in ("searched", "in_comparison", "returned"):
            raise PolicyViolation(
                f"Request {row.request_number} is {row.status.replace('_', ' ')}: only a "
                "searched request can be concluded without a lead."
            )
        pending = session.execute(
            select(
                exists().where(
                    Comparison.request_id == row.id,
                    or_(
                        Comparison.status == "draft",
                        Comparison.review_state.in_(("awaiting_review", "in_review")),
                    ),
                )
            )
        ).scalar_one()
        if pending:
            raise PolicyViolation(
                "A comparison of this request is still open or waiting for its second review; "
                "finish it first."
            )
        set_status(ws, row, "concluded_no_lead", _one_line(note) or None)
        session.flush()
        audit(
            ws,
            session,
            user=user,
            action="request.concluded_no_lead",
            object_type="request",
            object_id=row.id,
            details={"note": _one_line(note)},
        )
        return summarise(ws, session, row)


def close_request(
    ws: Workstation, *, user: SignedInUser, request_id: int, reason: str
) -> RequestSummary:
    """Close a request (the assigned examiner or a supervisor), with the reason recorded."""
    with (
        refusals_audited(
            ws,
            user=user,
            action="request.refused",
            object_type="request",
            object_id=request_id,
            details={"attempted": "close"},
        ),
        ws.database.session() as session,
    ):
        row = load_request(session, request_id, for_update=True)
        roles = live_roles(session, user)
        if row.assigned_examiner_id != user.user_id and Role.SUPERVISOR not in roles:
            raise PermissionDenied("Only the assigned examiner or a supervisor may close it.")
        if row.status == "closed":
            raise PolicyViolation(f"Request {row.request_number} is already closed.")
        text = _one_line(reason)
        if len(text) < 5:
            raise InvalidInput("Give the reason the request is closed.")
        previous = row.status
        set_status(ws, row, "closed", text)
        session.flush()
        audit(
            ws,
            session,
            user=user,
            action="request.closed",
            object_type="request",
            object_id=row.id,
            details={"reason": text, "previous_status": previous},
        )
        return summarise(ws, session, row)
