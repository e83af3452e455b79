"""Audit log queries (filters, paging, permissions), exports (content, hash, audit) and training
reminders."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from case_support import add_user, intake, make_people
from PIL import Image
from sqlalchemy import func, select, text

from app.casework import accounts, audit_export, disclosure, probes, requests
from app.casework.accounts import SignedInUser
from app.casework.audit_export import export_audit_events
from app.casework.audit_log import (
    AuditFilters,
    audit_actions,
    audit_actors,
    audit_object_types,
    audit_position,
    query_audit_events,
    verify_audit_chain,
)
from app.casework.training import training_due
from app.casework.workstation import Workstation
from app.errors import InvalidInput, PermissionDenied
from app.policy.roles import Role
from app.policy.supervision import TrainingState
from app.records.audit import append_event, count_events, event_hash, iter_events
from app.records.models import AuditEvent

PASSWORD = "long enough password 1"
BASE = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
SEEDED = 30


def make_user(ws: Workstation, admin: SignedInUser, name: str, *roles: Role) -> SignedInUser:
    accounts.create_user(
        ws, by=admin, username=name, display_name=name.title(), password=PASSWORD, roles=roles
    )
    return accounts.sign_in(ws, username=name, password=PASSWORD)


@pytest.fixture
def people(ws: Workstation, fake_clock: Any) -> dict[str, SignedInUser]:
    ws.clock = fake_clock
    admin = accounts.create_first_admin(
        ws, username="boss", display_name="Boss", password=PASSWORD
    )
    return {
        "admin": admin,
        "supervisor": make_user(ws, admin, "sue", Role.SUPERVISOR),
        "examiner": make_user(ws, admin, "ex1", Role.EXAMINER),
        "legal": make_user(ws, admin, "lee", Role.LEGAL_ADVISOR),
    }


@pytest.fixture
def seeded(ws: Workstation, people: dict[str, SignedInUser]) -> list[int]:
    """SEEDED case events an hour apart from BASE, plus a few with tricky case numbers."""
    sequences = []
    with ws.database.session() as session:
        for i in range(SEEDED):
            event = append_event(
                session,
                actor="ex1" if i % 2 == 0 else "sue",
                action="request.opened" if i % 3 == 0 else "search.run",
                object_type="request",
                object_id=str(i),
                details={"case_number": f"C-{i % 3}", "n": i},
                occurred_at=BASE + timedelta(hours=i),
            )
            sequences.append(event.sequence)
        for number, details in (
            ("C-10", {"case_number": "C-10"}),
            ("nested", {"request": {"case_number": "C-1"}}),
            ("lower", {"case_number": "c-1"}),
            ("underscore", {"case_number": "C_1"}),
            ("mention", {"note": "see C-1"}),
        ):
            append_event(
                session,
                actor="ex1",
                action="request_note.added",
                object_type="note",
                object_id=number,
                details=details,
                occurred_at=BASE + timedelta(days=3),
            )
    return sequences


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "exports"
    folder.mkdir()
    return folder


def event_count(ws: Workstation) -> int:
    with ws.database.session(read_only=True) as session:
        return count_events(session)


def last_event(ws: Workstation) -> AuditEvent:
    with ws.database.session(read_only=True) as session:
        return next(iter_events(session, newest_first=True, limit=1))


# ---------------------------------------------------------------------------------- filters
def test_filters_match_the_records_layer(
    ws: Workstation, people: dict[str, SignedInUser], seeded: list[int]
) -> None:
    sue = people["supervisor"]
    cases: list[dict[str, Any]] = [
        {"actor": "sue"},
        {"action": "search.run"},
        {"action_prefix": "request"},
        {"action_prefix": "request_"},  # "_" is literal, not a LIKE wildcard
        {"object_type": "request", "object_id": "7"},
        {"since": BASE + timedelta(hours=10), "until": BASE + timedelta(hours=20)},
        {"actor": "ex1", "action": "request.opened", "since": BASE + timedelta(hours=6)},
    ]
    for filters in cases:
        page = query_audit_events(ws, by=sue, limit=1000, **filters)
        with ws.database.session(read_only=True) as session:
            expected = [e.sequence for e in iter_events(session, newest_first=True, **filters)]
            expected_total = count_events(session, **filters)
        assert [r.sequence for r in page.rows] == expected, filters
        assert page.total == expected_total == len(expected) > 0, filters
    assert query_audit_events(ws, by=sue, action_prefix="request_").total == 5
    window = query_audit_events(
        ws, by=sue, since=BASE + timedelta(hours=10), until=BASE + timedelta(hours=20)
    )
    # since inclusive, until exclusive
    assert sorted(int(r.object_id or -1) for r in window.rows) == list(range(10, 20))


def test_case_number_filter_is_exact_value_at_any_depth(
    ws: Workstation, people: dict[str, SignedInUser], seeded: list[int]
) -> None:
    page = query_audit_events(ws, by=people["supervisor"], case_number=" C-1 ", limit=1000)
    seeded_c1 = {str(i) for i in range(SEEDED) if i % 3 == 1}
    found = {r.object_id for r in page.rows}
    # Not C-10, not C_1 (LIKE wildcard), not a mention in free text; case-insensitive by design.
    assert found == seeded_c1 | {"nested", "lower"}
    assert page.total == len(found)
    assert all(r.details.get("case_number", "C-1").lower() == "c-1" for r in page.rows)
    underscore = query_audit_events(ws, by=people["supervisor"], case_number="C_1")
    assert [r.object_id for r in underscore.rows] == ["underscore"]


def test_case_number_filter_includes_the_case_records_events(ws: Workstation) -> None:
    people = make_people(ws)
    examiner = people.examiner
    ours = requests.open_request(ws, user=examiner, intake=intake(case_number="2026-CR-7"))
    theirs = requests.open_request(ws, user=examiner, intake=intake(case_number="2026-CR-8"))
    image = io.BytesIO()
    Image.fromarray(np.full((90, 120, 3), 128, np.uint8)).save(image, format="PNG")
    probe = probes.add_probe(
        ws, user=examiner, request_id=ours.request_id, image_bytes=image.getvalue(),
        original_name="still.png",
    )
    requests.close_request(ws, user=examiner, request_id=ours.request_id, reason="Duplicate.")
    requests.close_request(ws, user=examiner, request_id=theirs.request_id, reason="Duplicate.")
    legal = add_user(ws, people.admin, "lena", frozenset({Role.LEGAL_ADVISOR}), trained=False,
                     acknowledged=False)
    asked = disclosure.record_disclosure_request(
        ws, user=legal, requester="A newspaper", description="Every record of the case.",
        request_reference=ours.request_id,
    )
    disclosure.decide_disclosure(
        ws, user=legal, disclosure_id=asked.disclosure_id, approve=False, reason="Open case."
    )
    page = query_audit_events(ws, by=people.supervisor, case_number="2026-cr-7", newest_first=False)
    assert [(r.action, r.object) for r in page.rows] == [
        ("request.opened", f"request {ours.request_id}"),  # details carry the case number
        ("probe.added", f"probe {probe.probe_id}"),  # a record of the case
        ("request.closed", f"request {ours.request_id}"),  # the request itself
        ("disclosure.received", f"disclosure {asked.disclosure_id}"),
        ("disclosure.denied", f"disclosure {asked.disclosure_id}"),
    ]
    assert audit_position(ws, by=people.supervisor, sequence=page.rows[1].sequence,
                          filters=AuditFilters(case_number="2026-CR-7")) == len(page.rows) - 2


def test_rows_carry_time_object_and_details(
    ws: Workstation, people: dict[str, SignedInUser], seeded: list[int]
) -> None:
    page = query_audit_events(ws, by=people["admin"], object_type="request", object_id="4")
    (row,) = page.rows
    assert row.time == BASE + timedelta(hours=4)
    assert row.object == "request 4"
    assert row.details == {"case_number": "C-1", "n": 4}
    assert (row.actor, row.action) == ("ex1", "search.run")
    assert len(row.hash) == len(row.prev_hash) == 64
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.actor = "someone else"  # type: ignore[misc]


def test_blank_filters_mean_any_and_bad_ranges_are_refused(
    ws: Workstation, people: dict[str, SignedInUser], seeded: list[int]
) -> None:
    sue = people["supervisor"]
    assert query_audit_events(ws, by=sue, actor="  ", case_number="").total == event_count(ws)
    with pytest.raises(InvalidInput, match="before its end"):
        query_audit_events(ws, by=sue, since=BASE, until=BASE)
    with pytest.raises(InvalidInput, match="time zone"):
        query_audit_events(ws, by=sue, since=datetime(2026, 1, 1))


def test_lists_for_the_filter_bar(
    ws: Workstation, people: dict[str, SignedInUser], seeded: list[int]
) -> None:
    sue = people["supervisor"]
    acts = audit_actions(ws, by=sue)
    assert {"request.opened", "search.run", "user.created", "login.success"} <= set(acts)
    assert acts == sorted(set(acts))
    assert audit_actors(ws, by=sue) == ["boss", "ex1", "lee", "sue"]
    assert audit_object_types(ws, by=sue) == ["note", "request", "user"]


# ---------------------------------------------------------------------------------- paging
def test_paging_walks_the_whole_range_newest_first(
    ws: Workstation, people: dict[str, SignedInUser], seeded: list[int]
) -> None:
    sue = people["supervisor"]
    total = event_count(ws)
    seen: list[int] = []
    offset = 0
    while True:
        page = query_audit_events(ws, by=sue, offset=offset, limit=7)
        assert page.total == total
        assert page.page_count == -(-total // 7)
        if not page.rows:
            break
        assert page.page_number == offset // 7 + 1
        assert (page.first_shown, page.last_shown) == (offset + 1, offset + len(page.rows))
        seen.extend(r.sequence for r in page.rows)
        offset += 7
    assert seen == list(range(total, 0, -1))
    oldest = query_audit_events(ws, by=sue, limit=3, newest_first=False)
    assert [r.sequence for r in oldest.rows] == [1, 2, 3]
    empty = query_audit_events(ws, by=sue, actor="nobody")
    assert (empty.total, empty.rows, empty.first_shown, empty.page_count) == (0, (), 0, 1)


def test_viewing_records_nothing(
    ws: Workstation, people: dict[str, SignedInUser], seeded: list[int]
) -> None:
    before = event_count(ws)
    query_audit_events(ws, by=people["legal"], case_number="C-2")
    audit_actions(ws, by=people["supervisor"])
    assert event_count(ws) == before


# ---------------------------------------------------------------------------------- permissions
def test_examiner_may_not_read_and_the_refusal_is_audited(
    ws: Workstation, people: dict[str, SignedInUser], seeded: list[int]
) -> None:
    ex = people["examiner"]
    for call in (
        lambda: query_audit_events(ws, by=ex),
        lambda: audit_actions(ws, by=ex),
        lambda: audit_actors(ws, by=ex),
    ):
        before = event_count(ws)
        with pytest.raises(PermissionDenied, match="supervisor"):
            call()
        assert event_count(ws) == before + 1
        refusal = last_event(ws)
        assert (refusal.action, refusal.actor) == ("permission.denied", "ex1")
        assert refusal.details_dict["attempted"] == "read the audit log"


def test_roles_are_read_from_the_database_not_the_sign_in_snapshot(
    ws: Workstation, people: dict[str, SignedInUser], seeded: list[int]
) -> None:
    admin, sue = people["admin"], people["supervisor"]
    assert query_audit_events(ws, by=sue).total > 0
    accounts.set_roles(ws, by=admin, user_id=sue.user_id, roles=[Role.EXAMINER])
    with pytest.raises(PermissionDenied):
        query_audit_events(ws, by=sue)  # sue's snapshot still says supervisor
    accounts.set_roles(ws, by=admin, user_id=sue.user_id, roles=[Role.SUPERVISOR])
    accounts.set_active(ws, by=admin, user_id=sue.user_id, active=False)
    with pytest.raises(PermissionDenied):
        query_audit_events(ws, by=sue)


def test_legal_advisor_reads_but_may_not_export(
    ws: Workstation, people: dict[str, SignedInUser], seeded: list[int], out_dir: Path
) -> None:
    lee = people["legal"]
    assert query_audit_events(ws, by=lee, case_number="C-0").total == SEEDED // 3
    target = out_dir / "out.csv"
    before = event_count(ws)
    with pytest.raises(PermissionDenied, match="export"):
        export_audit_events(ws, by=lee, format="csv", destination=target)
    assert not target.exists()
    assert list(out_dir.iterdir()) == []
    assert event_count(ws) == before + 1
    assert last_event(ws).details_dict["attempted"] == "export the audit log"


# ---------------------------------------------------------------------------------- export
def check_export_event(ws: Workstation, path: Path, events: int, filters: dict[str, str]) -> None:
    event = last_event(ws)
    assert (event.action, event.actor, event.object_type) == ("audit.exported", "sue", "audit_log")
    details = event.details_dict
    assert details["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert details["size_bytes"] == path.stat().st_size
    assert details["events"] == events
    assert details["withheld_events"] == 0  # no comparison under blind review in these logs
    assert details["filters"] == filters
    assert details["destination"] == str(path.resolve())


def test_csv_export_writes_the_filtered_range_and_is_audited(
    ws: Workstation, people: dict[str, SignedInUser], seeded: list[int], out_dir: Path
) -> None:
    sue = people["supervisor"]
    target = out_dir / "audit.csv"
    since = BASE + timedelta(hours=3)
    result = export_audit_events(
        ws, by=sue, format="csv", destination=target, actor="ex1", since=since
    )
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    expected = [i for i in range(SEEDED) if i % 2 == 0 and i >= 3]
    request_rows = [r for r in rows if r["object_type"] == "request"]
    assert [int(r["object_id"]) for r in request_rows] == expected  # oldest first
    # + the five notes (day 3) and ex1's sign-in (the fake clock's day, in March)
    assert len(rows) == result.events == len(expected) + 5 + 1
    assert rows[0]["action"] == "login.success"  # in sequence order, not time order
    assert all(r["actor"] == "ex1" for r in rows)
    # Exported exactly as stored: every row's hash can be recomputed from the file.
    for row in rows:
        recomputed = event_hash(
            sequence=int(row["sequence"]),
            occurred_at=row["occurred_at"],
            actor=row["actor"],
            action=row["action"],
            object_type=row["object_type"],
            object_id=row["object_id"] or None,
            details=row["details"],
            prev_hash=row["prev_hash"],
        )
        assert recomputed == row["hash"]
        assert row["withheld"] == "false"
    assert result.sha256 == hashlib.sha256(target.read_bytes()).hexdigest()
    check_export_event(
        ws, target, result.events, {"actor": "ex1", "since": "2026-01-05T11:00:00.000000+00:00"}
    )
    assert result.audit_sequence == last_event(ws).sequence
    assert [p.name for p in out_dir.iterdir()] == ["audit.csv"]  # no temporary file left


def test_json_export_of_a_case_and_replacing_an_old_file(
    ws: Workstation, people: dict[str, SignedInUser], seeded: list[int], out_dir: Path
) -> None:
    sue = people["supervisor"]
    target = out_dir / "case.json"
    target.write_text("old contents")
    result = export_audit_events(
        ws, by=sue, format="json", destination=target, case_number="C-2"
    )
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["exported_by"] == "sue"
    assert document["filters"] == {"case_number": "C-2"}
    assert document["event_count"] == result.events == SEEDED // 3
    assert [e["details"]["case_number"] for e in document["events"]] == ["C-2"] * (SEEDED // 3)
    sequences = [e["sequence"] for e in document["events"]]
    assert sequences == sorted(sequences)
    first = document["events"][0]
    assert set(first) == {
        "sequence", "occurred_at", "actor", "action", "object_type", "object_id",
        "details", "prev_hash", "hash", "withheld",
    }
    assert not any(e["withheld"] for e in document["events"])
    assert document["withheld_count"] == result.withheld_events == 0
    check_export_event(ws, target, SEEDED // 3, {"case_number": "C-2"})


def test_empty_export_is_a_valid_file_and_still_audited(
    ws: Workstation, people: dict[str, SignedInUser], seeded: list[int], out_dir: Path
) -> None:
    target = out_dir / "none.json"
    result = export_audit_events(
        ws, by=people["admin"], format="json", destination=target, actor="nobody"
    )
    document = json.loads(target.read_text(encoding="utf-8"))
    assert (document["events"], document["event_count"], result.events) == ([], 0, 0)
    assert last_event(ws).details_dict["sha256"] == result.sha256


def test_export_refuses_bad_format_and_missing_folder_without_recording(
    ws: Workstation, people: dict[str, SignedInUser], seeded: list[int], out_dir: Path
) -> None:
    sue = people["supervisor"]
    before = event_count(ws)
    with pytest.raises(InvalidInput, match="CSV or JSON"):
        export_audit_events(ws, by=sue, format="xlsx", destination=out_dir / "a.xlsx")
    with pytest.raises(InvalidInput, match="does not exist"):
        export_audit_events(ws, by=sue, format="csv", destination=out_dir / "no" / "a.csv")
    with pytest.raises(InvalidInput, match="folder"):
        export_audit_events(ws, by=sue, format="csv", destination=out_dir)
    assert event_count(ws) == before
    assert list(out_dir.iterdir()) == []


def test_export_that_cannot_be_recorded_leaves_no_file(
    ws: Workstation,
    people: dict[str, SignedInUser],
    seeded: list[int],
    out_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken_append(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(audit_export, "append_event", broken_append)
    target = out_dir / "audit.csv"
    with pytest.raises(RuntimeError):
        export_audit_events(ws, by=people["supervisor"], format="csv", destination=target)
    assert list(out_dir.iterdir()) == []


def test_export_filters_are_recorded_as_text() -> None:
    filters = AuditFilters(actor=" ex1 ", object_type="", until=BASE)
    assert filters.as_details() == {"actor": "ex1", "until": "2026-01-05T08:00:00.000000+00:00"}
    assert AuditFilters().is_empty


# ---------------------------------------------------------------------------------- verify
def test_verify_names_a_tampered_event(
    ws: Workstation, people: dict[str, SignedInUser], seeded: list[int]
) -> None:
    report = verify_audit_chain(ws, by=people["supervisor"])
    assert report.ok and report.events_checked == SEEDED + 5 + len(people) * 2 - 1
    with ws.database.session() as session:
        session.execute(
            text("UPDATE audit_events SET actor = 'someone' WHERE sequence = :s"),
            {"s": seeded[4]},
        )
    report = verify_audit_chain(ws, by=people["supervisor"])
    assert not report.ok and report.first_bad_sequence == seeded[4]
    # The viewer still shows the altered row as stored.
    page = query_audit_events(ws, by=people["supervisor"], actor="someone")
    assert [r.sequence for r in page.rows] == [seeded[4]]


# ---------------------------------------------------------------------------------- training
def test_training_due_lists_examiners_most_urgent_first(
    ws: Workstation, people: dict[str, SignedInUser], fake_clock: Any
) -> None:
    admin = people["admin"]
    today = fake_clock().date()
    soon = make_user(ws, admin, "soon", Role.EXAMINER)
    later = make_user(ws, admin, "later", Role.EXAMINER, Role.SUPERVISOR)
    gone = make_user(ws, admin, "gone", Role.EXAMINER)
    left = make_user(ws, admin, "left", Role.EXAMINER)
    edge = make_user(ws, admin, "edge", Role.EXAMINER)
    for user, days in ((soon, 12), (later, 45), (gone, -3), (left, 2), (edge, 30)):
        accounts.add_training(
            ws,
            by=admin,
            user_id=user.user_id,
            course="Facial comparison",
            completed_on=today - timedelta(days=400),
            expires_on=today + timedelta(days=days),
        )
    accounts.set_active(ws, by=admin, user_id=left.user_id, active=False)
    due = training_due(ws, by=people["supervisor"])
    assert [d.username for d in due] == ["ex1", "gone", "soon", "edge"]
    states = [d.state for d in due]
    assert states == [
        TrainingState.MISSING, TrainingState.EXPIRED, TrainingState.EXPIRING,
        TrainingState.EXPIRING,
    ]
    assert [d.days_left for d in due] == [None, -3, 12, 30]
    assert due[2].valid_until == today + timedelta(days=12)
    assert "in 12 days" in due[2].reminder and "Soon (soon)" in due[2].reminder
    assert "3 days ago" in due[1].reminder
    assert "No training record" in due[0].reminder
    longer = training_due(ws, by=admin, within_days=60)
    assert "later" in [d.username for d in longer]
    shorter = training_due(ws, by=admin, within_days=0)
    assert [d.username for d in shorter] == ["ex1", "gone"]


def test_training_due_counts_only_the_profiles_courses(
    ws: Workstation, people: dict[str, SignedInUser], fake_clock: Any
) -> None:
    admin, ex = people["admin"], people["examiner"]
    today: date = fake_clock().date()
    accounts.add_training(
        ws, by=admin, user_id=ex.user_id, course="First aid",
        completed_on=today, expires_on=today + timedelta(days=365),
    )
    assert training_due(ws, by=admin) == []
    ws.profile = dataclasses.replace(ws.profile, training_courses=("Facial comparison",))
    (item,) = training_due(ws, by=admin)
    assert (item.username, item.state) == ("ex1", TrainingState.MISSING)


def test_training_due_refusals(
    ws: Workstation, people: dict[str, SignedInUser]
) -> None:
    for who in ("examiner", "legal"):
        with pytest.raises(PermissionDenied, match="training"):
            training_due(ws, by=people[who])
    assert last_event(ws).action == "permission.denied"
    with pytest.raises(InvalidInput):
        training_due(ws, by=people["admin"], within_days=-1)
    with ws.database.session(read_only=True) as session:
        denied = session.execute(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "permission.denied")
        ).scalar_one()
    assert denied == 2
