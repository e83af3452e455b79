"""Casework for the audit log: read it a page at a time with filters, verify the hash chain.

Reading is for supervisors, administrators and legal advisors (see
:mod:`app.policy.supervision`); the caller's roles are read from the database, and a refusal is
itself recorded as ``permission.denied``. Reading records nothing else: viewing is not a change.
A comparison's first findings are withheld from a reader who may not see them yet (blind second
review, :mod:`app.casework.audit_blind`).
Verification records ``audit.verified``; an export (:mod:`app.casework.audit_export`) records
``audit.exported``.

Filters: ``actor``, ``action`` and ``object_type``/``object_id`` match exactly, ``action_prefix``
matches the start of the action (``"user."``), ``since`` is inclusive and ``until`` exclusive.
``case_number`` finds, without regard to letter case on every database, the events of that case:
those whose details carry ``"case_number": <that number>`` (at any depth), and those about a
record of the case (object type ``request``, ``probe``, ``search``, ``candidate``,
``comparison``, ``review``, ``report`` or ``disclosure`` with the id of a request of that case
number or of a record belonging to one; a release of a report is an event about the report).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from app.casework.account_rules import SignedInUser, roles_of
from app.casework.audit_blind import (
    BLIND_KEYS,
    WITHHELD,
    FirstFindingsGuard,
    blind_comparison_id,
    withhold,
)
from app.casework.workstation import Workstation
from app.errors import InvalidInput, PermissionDenied
from app.policy.gates import Decision
from app.policy.roles import Role
from app.policy.supervision import evaluate_audit_reading
from app.records.audit import ChainReport, append_event, format_timestamp, verify_chain
from app.records.case_models import (
    CaseRequest,
    CaseSearch,
    Comparison,
    ProbeImage,
    Review,
    SearchCandidate,
)
from app.records.models import AuditEvent, User
from app.records.report_models import DisclosureRequest, Report

__all__ = [
    "BLIND_KEYS",
    "MAX_PAGE_SIZE",
    "WITHHELD",
    "AuditFilters",
    "AuditPage",
    "AuditRow",
    "ChainReport",
    "audit_actions",
    "audit_actors",
    "audit_object_types",
    "audit_position",
    "query_audit_events",
    "verify_audit_chain",
]

DEFAULT_PAGE_SIZE = 200
AnySelect = Select[*tuple[Any, ...]]
SelectT = TypeVar("SelectT", bound=AnySelect)
MAX_PAGE_SIZE = 1000
_LIKE_ESCAPE = "\\"


# ------------------------------------------------------------------------------ result types
@dataclass(frozen=True)
class AuditFilters:
    """Which events to show or export; an empty (None) field does not filter."""

    actor: str | None = None
    action: str | None = None
    action_prefix: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    case_number: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, str):
                value = value.strip() or None  # a blank text box means "any"
                object.__setattr__(self, item.name, value)
            if isinstance(value, datetime) and value.tzinfo is None:
                raise InvalidInput("Dates in an audit filter must carry a time zone.")
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise InvalidInput("The start of the date range must be before its end.")

    def as_details(self) -> dict[str, str]:
        """The filters in use, as text (for the ``audit.exported`` event and file headers)."""
        result: dict[str, str] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is None:
                continue
            result[item.name] = format_timestamp(value) if isinstance(value, datetime) else value
        return result

    @property
    def is_empty(self) -> bool:
        return not self.as_details()


@dataclass(frozen=True)
class AuditRow:
    """One event as the audit screens show it. ``occurred_at`` is the stored ISO-8601 UTC text."""

    sequence: int
    occurred_at: str
    actor: str
    action: str
    object_type: str
    object_id: str | None
    details: Mapping[str, Any] = field(hash=False)
    prev_hash: str
    hash: str

    @property
    def time(self) -> datetime | None:
        """The event's time, or None when the stored text is not a time (a tampered row)."""
        try:
            return datetime.fromisoformat(self.occurred_at)
        except ValueError:
            return None

    @property
    def object(self) -> str:
        """What the event is about, e.g. ``user 3`` or ``audit_log``."""
        if self.object_id is None:
            return self.object_type
        return f"{self.object_type} {self.object_id}"


@dataclass(frozen=True)
class AuditPage:
    """One page of matching events (newest first unless asked otherwise) and the total count."""

    rows: tuple[AuditRow, ...]
    total: int
    offset: int
    limit: int

    @property
    def page_number(self) -> int:
        """1-based number of this page."""
        return self.offset // self.limit + 1

    @property
    def page_count(self) -> int:
        return max(1, math.ceil(self.total / self.limit))

    @property
    def first_shown(self) -> int:
        """1-based position of the first row shown (0 when nothing matches)."""
        return self.offset + 1 if self.rows else 0

    @property
    def last_shown(self) -> int:
        return self.offset + len(self.rows)


# ------------------------------------------------------------------------------ permission
def current_roles(session: Session, by: SignedInUser) -> frozenset[Role]:
    """The roles ``by`` holds in the database now (none once deactivated)."""
    row = session.get(User, by.user_id)
    if row is None or not row.active:
        return frozenset()
    return roles_of(row)


def refuse(ws: Workstation, by: SignedInUser, decision: Decision, attempted: str) -> None:
    """Record the refusal as ``permission.denied`` (committed) and raise PermissionDenied."""
    with ws.database.session() as session:
        append_event(
            session,
            actor=by.username,
            action="permission.denied",
            object_type="user",
            object_id=by.user_id,
            details={"attempted": attempted, "reason": decision.reason},
            occurred_at=ws.now(),
        )
    raise PermissionDenied(decision.reason)


def check_reader(ws: Workstation, session: Session, by: SignedInUser) -> None:
    """Refuse (audited) unless ``by`` may read the audit log right now."""
    decision = evaluate_audit_reading(current_roles(session, by))
    if not decision.allowed:
        session.rollback()  # end the read transaction before the refusal is written
        refuse(ws, by, decision, "read the audit log")


# ------------------------------------------------------------------------------ queries
def _like_literal(text: str) -> str:
    return (
        text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_")
    )


def case_records(session: Session, case_number: str) -> dict[str, list[str]]:
    """The ids (as audit object ids) of every record of the requests with this case number."""
    wanted = func.lower(CaseRequest.case_number) == case_number.lower()
    request_ids = list(session.execute(select(CaseRequest.id).where(wanted)).scalars())
    if not request_ids:
        return {}
    in_case = {
        "probe": select(ProbeImage.id).where(ProbeImage.request_id.in_(request_ids)),
        "search": select(CaseSearch.id).where(CaseSearch.request_id.in_(request_ids)),
        "candidate": select(SearchCandidate.id)
        .join(CaseSearch, SearchCandidate.search_id == CaseSearch.id)
        .where(CaseSearch.request_id.in_(request_ids)),
        "comparison": select(Comparison.id).where(Comparison.request_id.in_(request_ids)),
        "review": select(Review.id)
        .join(Comparison, Review.comparison_id == Comparison.id)
        .where(Comparison.request_id.in_(request_ids)),
        "report": select(Report.id).where(Report.request_id.in_(request_ids)),
        "disclosure": select(DisclosureRequest.id).where(
            DisclosureRequest.request_id.in_(request_ids)
        ),
    }
    records = {"request": [str(i) for i in request_ids]}
    for object_type, stmt in in_case.items():
        ids = [str(i) for i in session.execute(stmt).scalars()]
        if ids:
            records[object_type] = ids
    return records


def filtered(session: Session, stmt: SelectT, filters: AuditFilters) -> SelectT:
    """``stmt`` restricted to the events ``filters`` select (case records looked up first)."""
    records = case_records(session, filters.case_number) if filters.case_number else {}
    return apply_filters(stmt, filters, case_records=records)


def apply_filters(
    stmt: SelectT,
    filters: AuditFilters,
    *,
    case_records: Mapping[str, list[str]] | None = None,
) -> SelectT:
    """``stmt`` restricted to the events ``filters`` select; ``case_records`` are the records
    of the case (:func:`case_records`) whose events belong to it as well."""
    if filters.actor is not None:
        stmt = stmt.where(AuditEvent.actor == filters.actor)
    if filters.action is not None:
        stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.action_prefix is not None:
        pattern = _like_literal(filters.action_prefix) + "%"
        stmt = stmt.where(AuditEvent.action.like(pattern, escape=_LIKE_ESCAPE))
    if filters.object_type is not None:
        stmt = stmt.where(AuditEvent.object_type == filters.object_type)
    if filters.object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == filters.object_id)
    if filters.case_number is not None:
        # Details are canonical JSON, so the key and the JSON-encoded value appear verbatim.
        needle = '"case_number":' + json.dumps(filters.case_number, ensure_ascii=False)
        pattern = "%" + _like_literal(needle.lower()) + "%"
        about_case: list[ColumnElement[bool]] = [
            func.lower(AuditEvent.details).like(pattern, escape=_LIKE_ESCAPE)
        ]
        for object_type, ids in (case_records or {}).items():
            about_case.append(
                and_(AuditEvent.object_type == object_type, AuditEvent.object_id.in_(ids))
            )
        stmt = stmt.where(or_(*about_case))
    if filters.since is not None:
        stmt = stmt.where(AuditEvent.occurred_at >= format_timestamp(filters.since))
    if filters.until is not None:
        stmt = stmt.where(AuditEvent.occurred_at < format_timestamp(filters.until))
    return stmt


def _details(text: str) -> Mapping[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"unreadable_details": text}  # a tampered row must still be shown
    return value if isinstance(value, dict) else {"value": value}


def audit_row(event: AuditEvent) -> AuditRow:
    return AuditRow(
        sequence=event.sequence,
        occurred_at=event.occurred_at,
        actor=event.actor,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        details=_details(event.details),
        prev_hash=event.prev_hash,
        hash=event.hash,
    )


class StoredEvent(NamedTuple):
    """An event's columns exactly as stored (``details`` is the canonical JSON text)."""

    sequence: int
    occurred_at: str
    actor: str
    action: str
    object_type: str
    object_id: str | None
    details: str
    prev_hash: str
    hash: str


def iter_stored(
    session: Session, filters: AuditFilters, *, batch: int = 2000
) -> Iterator[StoredEvent]:
    """Every matching event, oldest first, as stored columns, streamed (for exports)."""
    columns = (
        AuditEvent.sequence,
        AuditEvent.occurred_at,
        AuditEvent.actor,
        AuditEvent.action,
        AuditEvent.object_type,
        AuditEvent.object_id,
        AuditEvent.details,
        AuditEvent.prev_hash,
        AuditEvent.hash,
    )
    stmt = filtered(session, select(*columns), filters).order_by(AuditEvent.sequence)
    for row in session.execute(stmt.execution_options(yield_per=batch)):
        yield StoredEvent(*row)


def parse_details(text: str) -> Mapping[str, Any]:
    """The details as a dict; text that is not a JSON object (a tampered row) is kept as is."""
    return _details(text)


def query_audit_events(
    ws: Workstation,
    *,
    by: SignedInUser,
    actor: str | None = None,
    action: str | None = None,
    action_prefix: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    case_number: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    offset: int = 0,
    limit: int = DEFAULT_PAGE_SIZE,
    newest_first: bool = True,
) -> AuditPage:
    """One page of the events matching every given filter, with the number that match in all."""
    filters = AuditFilters(
        actor=actor,
        action=action,
        action_prefix=action_prefix,
        object_type=object_type,
        object_id=object_id,
        case_number=case_number,
        since=since,
        until=until,
    )
    return query_page(
        ws, by=by, filters=filters, offset=offset, limit=limit, newest_first=newest_first
    )


def query_page(
    ws: Workstation,
    *,
    by: SignedInUser,
    filters: AuditFilters,
    offset: int = 0,
    limit: int = DEFAULT_PAGE_SIZE,
    newest_first: bool = True,
) -> AuditPage:
    """:func:`query_audit_events` with the filters already gathered in an :class:`AuditFilters`."""
    if offset < 0 or not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"offset must be >= 0 and limit 1..{MAX_PAGE_SIZE}")
    with ws.database.session(read_only=True) as session:
        check_reader(ws, session, by)
        total = int(
            session.execute(
                filtered(session, select(func.count()).select_from(AuditEvent), filters)
            ).scalar_one()
        )
        order = AuditEvent.sequence.desc() if newest_first else AuditEvent.sequence
        stmt = filtered(session, select(AuditEvent), filters).order_by(order)
        events = session.execute(stmt.offset(offset).limit(limit)).scalars().all()
        rows = withhold_unreviewed_answers(session, by, [audit_row(e) for e in events])
    return AuditPage(rows=tuple(rows), total=total, offset=offset, limit=limit)


def withhold_unreviewed_answers(
    session: Session, by: SignedInUser, rows: list[AuditRow]
) -> list[AuditRow]:
    """The first examiner's answers and conclusion, hidden from everyone else until the second
    review of that comparison is finished (the blind-review rule, see
    :mod:`app.casework.audit_blind`): a supervisor who reads the audit log may be the blind
    reviewer (MPTC IV.E.2). The stored events are unchanged; exports withhold them the same way."""
    found = [blind_comparison_id(row.object_type, row.object_id, row.details) for row in rows]
    guard = FirstFindingsGuard(session, by)
    guard.look_up(number for number in found if number is not None)
    return [
        replace(row, details=withhold(row.details))
        if number is not None and guard.hides(number)
        else row
        for row, number in zip(rows, found, strict=True)
    ]


def audit_position(
    ws: Workstation, *, by: SignedInUser, sequence: int, filters: AuditFilters | None = None
) -> int:
    """How many matching events are newer than event ``sequence``: its 0-based position in the
    newest-first list (where it would be, if it has been deleted)."""
    with ws.database.session(read_only=True) as session:
        check_reader(ws, session, by)
        counted = select(func.count()).select_from(AuditEvent)
        stmt = filtered(session, counted, filters or AuditFilters())
        return int(session.execute(stmt.where(AuditEvent.sequence > sequence)).scalar_one())


def _distinct(ws: Workstation, by: SignedInUser, column: Any) -> list[str]:
    with ws.database.session(read_only=True) as session:
        check_reader(ws, session, by)
        values = session.execute(select(column).distinct().order_by(column)).scalars()
        return [str(v) for v in values if v is not None]


def audit_actions(ws: Workstation, *, by: SignedInUser) -> list[str]:
    """Every distinct action in the log, sorted (for the action filter)."""
    return _distinct(ws, by, AuditEvent.action)


def audit_actors(ws: Workstation, *, by: SignedInUser) -> list[str]:
    """Every distinct actor in the log, sorted (for the user filter; includes ``system``)."""
    return _distinct(ws, by, AuditEvent.actor)


def audit_object_types(ws: Workstation, *, by: SignedInUser) -> list[str]:
    """Every distinct object type in the log, sorted (for the object filter)."""
    return _distinct(ws, by, AuditEvent.object_type)


# ------------------------------------------------------------------------------ verification
def verify_audit_chain(ws: Workstation, *, by: SignedInUser | None = None) -> ChainReport:
    """Walk the whole audit chain, then record the verification and its result as an event.

    The event is appended after the walk, so it is never part of what was just verified.
    """
    with ws.database.session(read_only=True) as session:
        report = verify_chain(session)
    with ws.database.session() as session:
        append_event(
            session,
            actor=by.username if by is not None else "system",
            action="audit.verified",
            object_type="audit_log",
            object_id=None,
            details={
                "ok": report.ok,
                "events_checked": report.events_checked,
                "first_bad_sequence": report.first_bad_sequence,
                "problem": report.problem,
            },
            occurred_at=ws.now(),
        )
    return report
