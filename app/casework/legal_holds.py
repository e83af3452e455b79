"""Legal holds (MPTC VI.A): a held record, and with it its whole case file, is never purged.

A legal advisor or a supervisor places a hold on a record (request, probe, search, comparison,
report, dissemination, or a disclosure request) with the reason, and lifts it with the reason;
both are audited. While any hold on a case is active, :func:`app.casework.retention.purge_expired`
keeps the whole case file, whatever its age. Refusals are audited as ``retention.refused``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.casework.account_rules import SignedInUser
from app.casework.case_access import audit, live_roles, refusals_audited
from app.casework.workstation import Workstation
from app.errors import InvalidInput, NotFound, PolicyViolation
from app.policy.gates import require_role
from app.policy.roles import Role
from app.records.base import Base
from app.records.case_models import CaseRequest, CaseSearch, Comparison, ProbeImage
from app.records.report_models import (
    HOLD_RECORD_TYPES,
    DisclosureRequest,
    Dissemination,
    LegalHold,
    Report,
)

__all__ = [
    "HOLD_ROLES",
    "HoldSummary",
    "active_holds",
    "lift_legal_hold",
    "list_legal_holds",
    "place_legal_hold",
]

HOLD_ROLES = frozenset({Role.LEGAL_ADVISOR, Role.SUPERVISOR})
# Who may see the holds: those who place them, and those who run the purge.
HOLD_READER_ROLES = HOLD_ROLES | frozenset({Role.ADMINISTRATOR})


@dataclass(frozen=True)
class HoldSummary:
    hold_id: int
    record_type: str
    record_id: int
    request_id: int | None
    case_number: str | None
    reason: str
    placed_by: str
    placed_at: datetime
    lifted_by: str | None
    lifted_at: datetime | None
    lift_reason: str | None

    @property
    def active(self) -> bool:
        return self.lifted_at is None


def _hold(row: LegalHold) -> HoldSummary:
    return HoldSummary(
        hold_id=row.id,
        record_type=row.record_type,
        record_id=row.record_id,
        request_id=row.request_id,
        case_number=row.case_number,
        reason=row.reason,
        placed_by=row.placed_by,
        placed_at=row.placed_at,
        lifted_by=row.lifted_by,
        lifted_at=row.lifted_at,
        lift_reason=row.lift_reason,
    )


def _reason(value: str, what: str) -> str:
    text = " ".join(str(value or "").split())
    if len(text) < 5:
        raise InvalidInput(f"Give the reason the {what}.")
    if len(text) > 4000:
        raise InvalidInput("The reason is too long: at most 4000 characters.")
    return text


# ----------------------------------------------------------------------------- legal holds
def _request_of(session: Session, record_type: str, record_id: int) -> CaseRequest | None:
    """The case a held record belongs to (None for a disclosure request); NotFound if absent."""
    owners: dict[str, tuple[type[Base], str]] = {
        "request": (CaseRequest, "id"),
        "probe": (ProbeImage, "request_id"),
        "search": (CaseSearch, "request_id"),
        "comparison": (Comparison, "request_id"),
        "report": (Report, "request_id"),
    }
    if record_type == "disclosure":
        if session.get(DisclosureRequest, record_id) is None:
            raise NotFound(f"There is no disclosure request with number {record_id}.")
        return None
    if record_type == "dissemination":
        release = session.get(Dissemination, record_id)
        if release is None:
            raise NotFound(f"There is no dissemination record with number {record_id}.")
        return session.get(CaseRequest, release.report.request_id)
    model, column = owners[record_type]
    row = session.get(model, record_id)
    if row is None:
        raise NotFound(f"There is no {record_type} record with number {record_id}.")
    return session.get(CaseRequest, getattr(row, column))


def place_legal_hold(
    ws: Workstation, *, user: SignedInUser, record_type: str, record_id: int, reason: str
) -> HoldSummary:
    """Hold a record (and with it its whole case file) from purging, whatever its age."""
    if record_type not in HOLD_RECORD_TYPES:
        raise InvalidInput(
            f"'{record_type}' is not a kind of record that can be held "
            f"({', '.join(HOLD_RECORD_TYPES)})."
        )
    why = _reason(reason, "record is held")
    with (
        refusals_audited(
            ws,
            user=user,
            action="retention.refused",
            object_type=record_type,
            object_id=record_id,
            details={"attempted": "place a legal hold", "reason_given": why},
        ),
        ws.database.session() as session,
    ):
        require_role(live_roles(session, user), HOLD_ROLES, "place a legal hold")
        request = _request_of(session, record_type, record_id)
        row = LegalHold(
            record_type=record_type,
            record_id=record_id,
            request_id=request.id if request is not None else None,
            case_number=request.case_number if request is not None else None,
            reason=why,
            placed_by=user.username,
            placed_at=ws.now(),
        )
        session.add(row)
        session.flush()
        audit(
            ws,
            session,
            user=user,
            action="retention.hold_placed",
            object_type=record_type,
            object_id=record_id,
            details={
                "hold_id": row.id,
                "reason": why,
                "request_id": row.request_id,
                "case_number": row.case_number,
                "rule": ws.profile.legal_hold.text,
            },
        )
        return _hold(row)


def lift_legal_hold(
    ws: Workstation, *, user: SignedInUser, hold_id: int, reason: str
) -> HoldSummary:
    """End a legal hold; the records' own retention periods apply again."""
    why = _reason(reason, "hold is lifted")
    with (
        refusals_audited(
            ws,
            user=user,
            action="retention.refused",
            object_type="legal_hold",
            object_id=hold_id,
            details={"attempted": "lift a legal hold", "reason_given": why},
        ),
        ws.database.session() as session,
    ):
        require_role(live_roles(session, user), HOLD_ROLES, "lift a legal hold")
        row = session.get(LegalHold, hold_id)
        if row is None:
            raise NotFound(f"There is no legal hold with number {hold_id}.")
        if row.lifted_at is not None:
            raise PolicyViolation(f"Legal hold {hold_id} was already lifted.")
        row.lifted_at = ws.now()
        row.lifted_by = user.username
        row.lift_reason = why
        session.flush()
        audit(
            ws,
            session,
            user=user,
            action="retention.hold_lifted",
            object_type=row.record_type,
            object_id=row.record_id,
            details={"hold_id": row.id, "reason": why, "case_number": row.case_number},
        )
        return _hold(row)


def list_legal_holds(
    ws: Workstation, *, user: SignedInUser, active_only: bool = True
) -> list[HoldSummary]:
    with ws.database.session(read_only=True) as session:
        roles = live_roles(session, user)
        require_role(roles, HOLD_READER_ROLES, "see the legal holds")
        stmt = select(LegalHold)
        if active_only:
            stmt = stmt.where(LegalHold.lifted_at.is_(None))
        return [_hold(r) for r in session.execute(stmt.order_by(LegalHold.id)).scalars()]


def active_holds(session: Session) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Active hold ids per held request (case file), and per held disclosure request."""
    by_request: dict[int, list[int]] = {}
    by_disclosure: dict[int, list[int]] = {}
    for hold in session.execute(select(LegalHold).where(LegalHold.lifted_at.is_(None))).scalars():
        if hold.record_type == "disclosure":
            by_disclosure.setdefault(hold.record_id, []).append(hold.id)
        elif hold.request_id is not None:
            by_request.setdefault(hold.request_id, []).append(hold.id)
    return by_request, by_disclosure
