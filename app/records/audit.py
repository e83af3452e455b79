"""The hash-chained audit log: append in the caller's transaction, verify, read with filters.

Each event stores the hash of the one before it (the first one: 64 zeros) and its own hash, a
SHA-256 over a canonical encoding of its fields. A separate single-row anchor keeps the last
sequence and hash, so cutting events off the end is detected as well as editing, deleting or
reordering events in the middle. Appending locks the anchor row, which serialises concurrent
writers on PostgreSQL (SQLite writers are already serialised by ``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any
from uuid import UUID

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.errors import IntegrityError
from app.records.base import utcnow
from app.records.models import AuditAnchor, AuditEvent

GENESIS_HASH = "0" * 64
ANCHOR_ID = 1
MAX_FIELD = 100


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=lambda item: json.dumps(item, default=_json_default))
    if isinstance(value, PurePath | UUID):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"cannot record a {type(value).__name__} in the audit log")


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 text, dates as ISO strings, no NaN."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    )


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 UTC text with microseconds, e.g. ``2026-01-02T03:04:05.000006+00:00``."""
    if moment.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(
    *,
    sequence: int,
    occurred_at: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | None,
    details: str,
    prev_hash: str,
) -> str:
    """SHA-256 of the canonical encoding of an event's stored fields (details as stored text)."""
    encoded = canonical_json(
        [sequence, occurred_at, actor, action, object_type, object_id, details, prev_hash]
    )
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def _stored_hash(event: AuditEvent) -> str:
    return event_hash(
        sequence=event.sequence,
        occurred_at=event.occurred_at,
        actor=event.actor,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        details=event.details,
        prev_hash=event.prev_hash,
    )


def lock_chain(session: Session) -> AuditAnchor:
    """Lock and return the anchor row (waits for any other writer of the audit log to commit)."""
    anchor = session.execute(
        select(AuditAnchor).where(AuditAnchor.id == ANCHOR_ID).with_for_update()
    ).scalar_one_or_none()
    if anchor is None:
        has_events = session.execute(select(AuditEvent.sequence).limit(1)).first() is not None
        if has_events:
            raise IntegrityError(
                "The audit log's anchor record is missing, so the log may have been tampered "
                "with. Nothing can be recorded until an administrator investigates."
            )
        anchor = AuditAnchor(id=ANCHOR_ID, last_sequence=0, last_hash=GENESIS_HASH)
        session.add(anchor)
        session.flush()
    return anchor


def append_event(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int | None,
    details: Mapping[str, Any],
    occurred_at: datetime | None = None,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction and return it."""
    if not actor or not action or not object_type:
        raise ValueError("an audit event needs an actor, an action and an object type")
    details_text = canonical_json(dict(details))
    anchor = lock_chain(session)
    sequence = anchor.last_sequence + 1
    stamp = format_timestamp(occurred_at or utcnow())
    oid = None if object_id is None else str(object_id)[:MAX_FIELD]
    fields = {
        "sequence": sequence,
        "occurred_at": stamp,
        "actor": actor[:64],
        "action": action[:MAX_FIELD],
        "object_type": object_type[:MAX_FIELD],
        "object_id": oid,
        "details": details_text,
        "prev_hash": anchor.last_hash,
    }
    digest = event_hash(**fields)  # type: ignore[arg-type]
    event = AuditEvent(**fields, hash=digest)
    session.add(event)
    anchor.last_sequence = sequence
    anchor.last_hash = digest
    session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    """Result of walking the audit chain. ``problem`` is a plain sentence when ``ok`` is False."""

    ok: bool
    events_checked: int
    first_bad_sequence: int | None
    problem: str | None


def verify_chain(session: Session, *, batch_size: int = 2000) -> ChainReport:
    """Walk the whole log in sequence order and name the first broken event."""
    anchor = session.get(AuditAnchor, ANCHOR_ID)
    expected_sequence = 1
    expected_prev = GENESIS_HASH
    checked = 0
    stream = session.execute(
        select(AuditEvent).order_by(AuditEvent.sequence).execution_options(yield_per=batch_size)
    ).scalars()
    for event in stream:
        problem = _check_event(session, event, expected_sequence, expected_prev)
        if problem is not None:
            return ChainReport(False, checked, event.sequence, problem)
        checked += 1
        expected_sequence = event.sequence + 1
        expected_prev = event.hash
    last_sequence = expected_sequence - 1
    if anchor is None:
        if checked:
            return ChainReport(
                False,
                checked,
                None,
                "The audit log's anchor record is missing, so events may have been removed "
                "from the end of the log.",
            )
        return ChainReport(True, 0, None, None)
    if anchor.last_sequence > last_sequence:
        return ChainReport(
            False,
            checked,
            last_sequence + 1,
            (
                f"Event {anchor.last_sequence} has"
                if anchor.last_sequence == last_sequence + 1
                else f"Events {last_sequence + 1} to {anchor.last_sequence} have"
            )
            + f" been removed from the end of the audit log (the log ends at event "
            f"{last_sequence}).",
        )
    if anchor.last_sequence < last_sequence:
        return ChainReport(
            False,
            checked,
            anchor.last_sequence + 1,
            f"Event {anchor.last_sequence + 1} and later were added to the audit log outside "
            "the workstation (the anchor ends at an earlier event).",
        )
    if anchor.last_hash != expected_prev:
        return ChainReport(
            False,
            checked,
            last_sequence or None,
            f"The last event ({last_sequence}) is not the one the anchor recorded: the end of "
            "the audit log has been replaced.",
        )
    return ChainReport(True, checked, None, None)


def _check_event(
    session: Session, event: AuditEvent, expected_sequence: int, expected_prev: str
) -> str | None:
    seq = event.sequence
    if seq != expected_sequence:
        if seq - expected_sequence == 1:
            return f"Event {expected_sequence} has been deleted from the audit log."
        return f"Events {expected_sequence} to {seq - 1} have been deleted from the audit log."
    altered = _stored_hash(event) != event.hash
    if not altered and event.prev_hash == expected_prev:
        return None
    # Something is wrong; an event that links to a later event has been moved (reordered).
    linked_to = session.execute(
        select(AuditEvent.sequence).where(AuditEvent.hash == event.prev_hash).limit(1)
    ).scalar_one_or_none()
    if linked_to is not None and linked_to > seq:
        return (
            f"Event {seq} is out of order: it was recorded after event {linked_to} "
            "(the audit log has been reordered)."
        )
    if altered:
        return f"Event {seq} has been altered: its contents no longer match its hash."
    return (
        f"The audit chain is broken before event {seq}: an event has been deleted or "
        "replaced before it."
    )


def _filtered(
    stmt: Select[Any],
    *,
    actor: str | None,
    action: str | None,
    action_prefix: str | None,
    object_type: str | None,
    object_id: str | int | None,
    since: datetime | None,
    until: datetime | None,
) -> Select[Any]:
    if actor is not None:
        stmt = stmt.where(AuditEvent.actor == actor)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)
    if action_prefix is not None:
        escaped = action_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(AuditEvent.action.like(f"{escaped}%", escape="\\"))
    if object_type is not None:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == str(object_id))
    if since is not None:
        stmt = stmt.where(AuditEvent.occurred_at >= format_timestamp(since))
    if until is not None:
        stmt = stmt.where(AuditEvent.occurred_at < format_timestamp(until))
    return stmt


def iter_events(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    action_prefix: str | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    newest_first: bool = False,
    offset: int = 0,
    limit: int | None = None,
) -> Iterator[AuditEvent]:
    """Events matching every given filter (``since`` inclusive, ``until`` exclusive)."""
    stmt = _filtered(
        select(AuditEvent),
        actor=actor,
        action=action,
        action_prefix=action_prefix,
        object_type=object_type,
        object_id=object_id,
        since=since,
        until=until,
    )
    order = AuditEvent.sequence.desc() if newest_first else AuditEvent.sequence
    stmt = stmt.order_by(order).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    yield from session.execute(stmt.execution_options(yield_per=1000)).scalars()


def count_events(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    action_prefix: str | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """How many events match the filters (same meaning as :func:`iter_events`)."""
    stmt = _filtered(
        select(func.count()).select_from(AuditEvent),
        actor=actor,
        action=action,
        action_prefix=action_prefix,
        object_type=object_type,
        object_id=object_id,
        since=since,
        until=until,
    )
    return int(session.execute(stmt).scalar_one())


def actions_in_log(session: Session) -> Sequence[str]:
    """Every distinct action recorded so far (for filter lists in the audit screens)."""
    rows = session.execute(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    return [str(action) for (action,) in rows]
