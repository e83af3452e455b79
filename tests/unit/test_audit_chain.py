"""The hash-chained audit log: appending, canonical details, and tampering found by verify."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from pathlib import PurePosixPath

import pytest
from sqlalchemy import select, text

from app.errors import IntegrityError
from app.records.audit import (
    GENESIS_HASH,
    ChainReport,
    append_event,
    canonical_json,
    count_events,
    event_hash,
    format_timestamp,
    iter_events,
    verify_chain,
)
from app.records.db import Database
from app.records.models import AuditAnchor, AuditEvent

START = datetime(2026, 2, 3, 4, 5, 6, 789012, tzinfo=UTC)


class Colour(Enum):
    RED = "red"


def fill(database: Database, count: int, *, start: int = 0) -> None:
    with database.session() as session:
        for i in range(start, start + count):
            append_event(
                session,
                actor=f"user{i % 3}",
                action=("login.success", "case.opened", "search.run")[i % 3],
                object_type="case" if i % 3 else "user",
                object_id=i,
                details={"n": i, "when": date(2026, 1, 1) + timedelta(days=i)},
                occurred_at=START + timedelta(minutes=i),
            )


def verify(database: Database) -> ChainReport:
    with database.session(read_only=True) as session:
        return verify_chain(session)


def raw(database: Database, *statements: str) -> None:
    with database.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def test_empty_log_is_intact(database: Database) -> None:
    assert verify(database) == ChainReport(True, 0, None, None)


def test_events_link_to_each_other_from_the_genesis_hash(database: Database) -> None:
    fill(database, 5)
    with database.session(read_only=True) as session:
        events = list(iter_events(session))
        anchor = session.get(AuditAnchor, 1)
    assert [e.sequence for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash
    assert anchor is not None
    assert (anchor.last_sequence, anchor.last_hash) == (5, events[-1].hash)
    first = events[0]
    expected = hashlib.sha256(
        json.dumps(
            [
                1,
                first.occurred_at,
                first.actor,
                first.action,
                first.object_type,
                first.object_id,
                first.details,
                GENESIS_HASH,
            ],
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
    ).hexdigest()
    assert first.hash == expected
    assert first.occurred_at == "2026-02-03T04:05:06.789012+00:00"
    assert first.object_id == "0"
    assert verify(database) == ChainReport(True, 5, None, None)


def test_details_are_canonical_json() -> None:
    details = {
        "b": 1,
        "a": {"z": [1, 2], "y": "é"},
        "day": date(2026, 1, 2),
        "moment": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "colour": Colour.RED,
        "tags": {"b", "a"},
        "path": PurePosixPath("/x/y"),
    }
    assert canonical_json(details) == (
        '{"a":{"y":"é","z":[1,2]},"b":1,"colour":"red","day":"2026-01-02",'
        '"moment":"2026-01-02T03:04:05.000000+00:00","path":"/x/y","tags":["a","b"]}'
    )
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})
    with pytest.raises(TypeError, match="cannot record"):
        canonical_json({"x": object()})
    with pytest.raises(ValueError, match="timezone"):
        format_timestamp(datetime(2026, 1, 1))


def test_details_round_trip(database: Database) -> None:
    with database.session() as session:
        event = append_event(
            session,
            actor="a",
            action="x",
            object_type="t",
            object_id=None,
            details={"reason": "wrong password", "count": 2},
        )
    assert event.details_dict == {"count": 2, "reason": "wrong password"}
    assert event.object_id is None


def test_append_is_part_of_the_callers_transaction(database: Database) -> None:
    fill(database, 2)
    with pytest.raises(RuntimeError), database.session() as session:
        append_event(session, actor="a", action="x", object_type="t", object_id=1, details={})
        raise RuntimeError("the use case failed")
    fill(database, 1, start=2)
    report = verify(database)
    assert report.ok and report.events_checked == 3


def test_altered_event_is_named(database: Database) -> None:
    fill(database, 6)
    raw(database, "UPDATE audit_events SET details = '[99]' WHERE sequence = 4")
    report = verify(database)
    assert not report.ok
    assert report.first_bad_sequence == 4
    assert report.events_checked == 3
    assert report.problem is not None and "Event 4 has been altered" in report.problem


def test_altered_actor_is_named(database: Database) -> None:
    fill(database, 3)
    raw(database, "UPDATE audit_events SET actor = 'somebody_else' WHERE sequence = 2")
    report = verify(database)
    assert (report.ok, report.first_bad_sequence) == (False, 2)
    assert report.problem is not None and "altered" in report.problem


def test_altered_event_with_recomputed_hash_is_still_caught(database: Database) -> None:
    fill(database, 5)
    with database.session(read_only=True) as session:
        event = session.execute(select(AuditEvent).where(AuditEvent.sequence == 3)).scalar_one()
        forged = event_hash(
            sequence=3,
            occurred_at=event.occurred_at,
            actor="forger",
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            details=event.details,
            prev_hash=event.prev_hash,
        )
    raw(
        database,
        f"UPDATE audit_events SET actor = 'forger', hash = '{forged}' WHERE sequence = 3",
    )
    report = verify(database)
    assert report.first_bad_sequence == 4  # event 4 no longer links to event 3
    assert report.problem is not None and "broken before event 4" in report.problem


def test_deleted_event_is_named(database: Database) -> None:
    fill(database, 6)
    raw(database, "DELETE FROM audit_events WHERE sequence = 3")
    report = verify(database)
    assert (report.ok, report.first_bad_sequence, report.events_checked) == (False, 4, 2)
    assert report.problem is not None and "Event 3 has been deleted" in report.problem


def test_several_deleted_events_are_named(database: Database) -> None:
    fill(database, 8)
    raw(database, "DELETE FROM audit_events WHERE sequence IN (3, 4, 5)")
    report = verify(database)
    assert report.problem is not None and "Events 3 to 5 have been deleted" in report.problem


def test_deleted_and_renumbered_event_is_found(database: Database) -> None:
    fill(database, 5)
    raw(
        database,
        "DELETE FROM audit_events WHERE sequence = 3",
        "UPDATE audit_events SET sequence = sequence + 100 WHERE sequence > 3",
        "UPDATE audit_events SET sequence = sequence - 101 WHERE sequence > 100",
    )
    report = verify(database)
    assert not report.ok and report.first_bad_sequence == 3


def test_reordered_events_are_named(database: Database) -> None:
    fill(database, 6)
    raw(
        database,
        "UPDATE audit_events SET sequence = 100 WHERE sequence = 3",
        "UPDATE audit_events SET sequence = 3 WHERE sequence = 4",
        "UPDATE audit_events SET sequence = 4 WHERE sequence = 100",
    )
    report = verify(database)
    assert (report.ok, report.first_bad_sequence, report.events_checked) == (False, 3, 2)
    assert report.problem is not None and "out of order" in report.problem
    assert "reordered" in report.problem


def test_removed_tail_is_detected(database: Database) -> None:
    fill(database, 7)
    raw(database, "DELETE FROM audit_events WHERE sequence >= 6")
    report = verify(database)
    assert (report.ok, report.first_bad_sequence, report.events_checked) == (False, 6, 5)
    assert report.problem is not None
    assert "Events 6 to 7 have been removed from the end" in report.problem


def test_replaced_last_event_is_detected(database: Database) -> None:
    fill(database, 4)
    with database.session(read_only=True) as session:
        last = session.execute(select(AuditEvent).where(AuditEvent.sequence == 4)).scalar_one()
        forged = event_hash(
            sequence=4,
            occurred_at=last.occurred_at,
            actor=last.actor,
            action="nothing.happened",
            object_type=last.object_type,
            object_id=last.object_id,
            details=last.details,
            prev_hash=last.prev_hash,
        )
    raw(
        database,
        f"UPDATE audit_events SET action = 'nothing.happened', hash = '{forged}' "
        "WHERE sequence = 4",
    )
    report = verify(database)
    assert (report.ok, report.first_bad_sequence) == (False, 4)
    assert report.problem is not None and "end of the audit log has been replaced" in report.problem


def test_event_added_outside_the_workstation_is_detected(database: Database) -> None:
    fill(database, 3)
    with database.session(read_only=True) as session:
        last = session.execute(select(AuditEvent).where(AuditEvent.sequence == 3)).scalar_one()
        stamp = format_timestamp(START)
        digest = event_hash(
            sequence=4,
            occurred_at=stamp,
            actor="x",
            action="y",
            object_type="z",
            object_id=None,
            details="{}",
            prev_hash=last.hash,
        )
    raw(
        database,
        "INSERT INTO audit_events (sequence, occurred_at, actor, action, object_type, object_id,"
        f" details, prev_hash, hash) VALUES (4, '{stamp}', 'x', 'y', 'z', NULL, '{{}}',"
        f" '{last.hash}', '{digest}')",
    )
    report = verify(database)
    assert (report.ok, report.first_bad_sequence) == (False, 4)
    assert report.problem is not None and "outside the workstation" in report.problem


def test_missing_anchor_is_detected_and_blocks_appending(database: Database) -> None:
    fill(database, 2)
    raw(database, "DELETE FROM audit_anchor")
    report = verify(database)
    assert not report.ok and report.problem is not None and "anchor" in report.problem
    with pytest.raises(IntegrityError, match="anchor"), database.session() as session:
        append_event(session, actor="a", action="x", object_type="t", object_id=1, details={})


def test_concurrent_writers_keep_one_unbroken_chain(database: Database) -> None:
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for i in range(15):
                with database.session() as session:
                    append_event(
                        session, actor=name, action="w", object_type="t", object_id=i, details={}
                    )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{k}",)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = verify(database)
    assert report == ChainReport(True, 45, None, None)


def test_iter_and_count_events_with_filters(database: Database) -> None:
    fill(database, 9)
    with database.session(read_only=True) as session:
        assert count_events(session) == 9
        by_actor = [e.sequence for e in iter_events(session, actor="user1")]
        assert by_actor == [2, 5, 8]
        assert [e.sequence for e in iter_events(session, action="search.run")] == [3, 6, 9]
        assert count_events(session, action_prefix="case.") == 3
        assert count_events(session, action_prefix="case_") == 0  # "_" is not a wildcard
        assert [e.sequence for e in iter_events(session, object_type="case", object_id=4)] == [5]
        window = iter_events(
            session, since=START + timedelta(minutes=2), until=START + timedelta(minutes=5)
        )
        assert [e.sequence for e in window] == [3, 4, 5]
        newest = iter_events(session, newest_first=True, offset=1, limit=3)
        assert [e.sequence for e in newest] == [8, 7, 6]


def test_one_removed_last_event_is_named_in_the_singular(database: Database) -> None:
    fill(database, 5)
    raw(database, "DELETE FROM audit_events WHERE sequence = 5")
    report = verify(database)
    assert (report.ok, report.first_bad_sequence) == (False, 5)
    assert report.problem is not None
    assert report.problem.startswith("Event 5 has been removed from the end of the audit log")
