"""Two workstations of one unit on the same database (SQLite here, PostgreSQL in the second pass).

Evidence files written by one are read by the other from a shared evidence folder, hash-checked.

A request opened on one is listed on the other; two edits of the same record made from the same
version are detected by optimistic locking (the second gets ConflictError and nothing is lost);
audit events written alternately by both keep the hash chain intact.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest

from app.casework import accounts, requests
from app.casework.accounts import SignedInUser
from app.casework.audit_log import verify_audit_chain
from app.casework.workstation import Workstation
from app.errors import ConflictError
from app.policy.gates import RequestIntake
from app.policy.roles import Role
from app.records.audit import append_event, iter_events
from app.records.case_models import CaseRequest
from app.settings import load_settings

PASSWORD = "unit password 1"
INTAKE = RequestIntake(
    case_number="2026-CR-0777",
    requesting_officer="Det. Alex Moreno",
    requesting_agency="Springfield Police Department",
    purpose_code="IV.B.1a",
    offense="Robbery in the second degree",
    narrative="Store camera still of the suspect at the counter during the robbery.",
    probe_source="agency_personnel",
    probe_obtained_how="Exported by Det. Moreno from the store's CCTV recorder on 2026-02-27.",
    attests_lawful_source=True,
    attests_not_protected_basis=True,
    attests_actual_subject=True,
    interagency=True,
    submitting_agency="Shelbyville Police Department",
)


@dataclass(frozen=True)
class Unit:
    first: Workstation
    second: Workstation
    examiner: SignedInUser  # trained, acknowledged the policy
    supervisor: SignedInUser


def _signed(summary: accounts.UserSummary) -> SignedInUser:
    return SignedInUser(summary.user_id, summary.username, summary.display_name, summary.roles)


@pytest.fixture
def unit(database_url: str) -> Iterator[Unit]:
    first = Workstation.open(load_settings())
    second = Workstation.open(load_settings())
    admin = accounts.create_first_admin(
        first, username="admin", display_name="Admin", password=PASSWORD
    )
    people = {}
    for name, role in (("erin", Role.EXAMINER), ("sam", Role.SUPERVISOR)):
        people[name] = _signed(
            accounts.create_user(
                first,
                by=admin,
                username=name,
                display_name=name.title(),
                password=PASSWORD,
                roles=frozenset({role}),
            )
        )
    today = first.now().date()
    accounts.add_training(
        first,
        by=admin,
        user_id=people["erin"].user_id,
        course="Facial recognition examiner course",
        completed_on=today - timedelta(days=30),
        expires_on=today + timedelta(days=300),
    )
    accounts.acknowledge_policy(
        first,
        user=people["erin"],
        profile_name=first.profile.name,
        profile_version=first.profile.version,
        profile_sha256=first.profile.sha256,
    )
    yield Unit(first, second, people["erin"], people["sam"])
    first.close()
    second.close()


def _read(ws: Workstation, request_id: int) -> CaseRequest:
    """The record as an edit form holds it: read in a transaction that has ended."""
    with ws.database.session(read_only=True) as session:
        row = session.get(CaseRequest, request_id)
        assert row is not None
        return row


def _save(ws: Workstation, row: CaseRequest, user: SignedInUser) -> None:
    """Write back an edited record (with an audit event); its version must still be current."""
    with ws.database.session() as session:
        session.add(row)
        session.flush()
        append_event(
            session,
            actor=user.username,
            action="test.note_edited",
            object_type="request",
            object_id=row.id,
            details={"note": row.status_note},
            occurred_at=ws.now(),
        )


def _append_note(ws: Workstation, request_id: int, user: SignedInUser, token: str) -> int:
    """Append ``token`` to the note, re-reading and retrying after each conflict; conflicts."""
    conflicts = 0
    while True:
        row = _read(ws, request_id)
        row.status_note = f"{row.status_note or ''}{token};"
        try:
            _save(ws, row, user)
            return conflicts
        except ConflictError:
            conflicts += 1


def test_a_change_on_one_workstation_is_seen_on_the_other(unit: Unit) -> None:
    opened = requests.open_request(unit.first, user=unit.examiner, intake=INTAKE)

    listed = requests.list_requests(unit.second, user=unit.supervisor, queue="all")
    assert [r.request_id for r in listed.rows] == [opened.request_id]
    assert listed.rows[0].case_number == "2026-CR-0777"

    # The examiner records the acknowledgment on the second workstation, the supervisor closes
    # the request there; the first workstation sees both.
    requests.record_interagency_acknowledgment(
        unit.second, user=unit.examiner, request_id=opened.request_id, acknowledged_by="Lt. Reyes"
    )
    requests.close_request(
        unit.second, user=unit.supervisor, request_id=opened.request_id, reason="Withdrawn by SPD"
    )
    seen = requests.get_request(unit.first, user=unit.examiner, request_id=opened.request_id)
    assert seen.interagency_ack_by == "Lt. Reyes"
    assert seen.status == "closed"
    assert requests.list_requests(unit.first, user=unit.examiner, queue="mine").rows == ()


def test_the_second_of_two_edits_from_the_same_version_is_refused_and_nothing_is_lost(
    unit: Unit,
) -> None:
    request_id = requests.open_request(unit.first, user=unit.examiner, intake=INTAKE).request_id
    start_version = _read(unit.first, request_id).version_id

    on_first = _read(unit.first, request_id)
    on_second = _read(unit.second, request_id)
    on_first.status_note = "edited on the first workstation"
    on_second.status_note = "edited on the second workstation"
    _save(unit.first, on_first, unit.examiner)
    with pytest.raises(ConflictError, match="Someone else changed this record"):
        _save(unit.second, on_second, unit.supervisor)

    # The refused edit wrote nothing (not even its audit event); the first edit stands.
    reloaded = _read(unit.second, request_id)
    assert reloaded.status_note == "edited on the first workstation"
    assert reloaded.version_id == start_version + 1
    with unit.second.database.session(read_only=True) as session:
        edits = [e.actor for e in iter_events(session, action="test.note_edited")]
    assert edits == ["erin"]

    # After reloading, the second workstation's edit goes through on top of the first one.
    reloaded.status_note += " + second"
    _save(unit.second, reloaded, unit.supervisor)
    final = _read(unit.first, request_id)
    assert final.status_note == "edited on the first workstation + second"
    assert final.version_id == start_version + 2


def test_concurrent_appends_from_both_workstations_are_all_kept(unit: Unit) -> None:
    request_id = requests.open_request(unit.first, user=unit.examiner, intake=INTAKE).request_id
    start_version = _read(unit.first, request_id).version_id
    per_side = 15
    conflicts: dict[str, int] = {}
    failures: list[BaseException] = []

    def append_many(ws: Workstation, user: SignedInUser, side: str) -> None:
        try:
            conflicts[side] = sum(
                _append_note(ws, request_id, user, f"{side}{n}") for n in range(per_side)
            )
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [
        threading.Thread(target=append_many, args=(unit.first, unit.examiner, "a")),
        threading.Thread(target=append_many, args=(unit.second, unit.supervisor, "b")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []

    final = _read(unit.second, request_id)
    tokens = [t for t in (final.status_note or "").split(";") if t]
    expected = {f"{side}{n}" for side in "ab" for n in range(per_side)}
    assert sorted(tokens) == sorted(expected)  # every committed edit is there, exactly once
    assert final.version_id == start_version + 2 * per_side
    # Each side's own appends keep their order.
    for side in "ab":
        assert [t for t in tokens if t.startswith(side)] == [f"{side}{n}" for n in range(per_side)]
    assert set(conflicts) == {"a", "b"}


def test_audit_events_written_alternately_by_both_keep_the_chain_intact(unit: Unit) -> None:
    stations = (unit.first, unit.second)
    for n in range(8):
        requests.open_request(
            stations[n % 2], user=unit.examiner, intake=replace(INTAKE, case_number=f"2026-A-{n}")
        )
    with unit.first.database.session(read_only=True) as session:
        opened = [e.details for e in iter_events(session, action="request.opened")]
        sequences = [e.sequence for e in iter_events(session)]
    assert len(opened) == 8
    assert sequences == list(range(1, len(sequences) + 1))

    for ws in stations:
        report = verify_audit_chain(ws, by=unit.supervisor)
        assert report.ok, report.problem
        assert report.events_checked == len(sequences) + (ws is unit.second)


def test_evidence_in_a_shared_folder_is_read_by_the_other_and_checked_on_read(
    database_url: str, tmp_path: Path, yale_dir: Path
) -> None:
    """Each workstation has its own data folder (index, settings) but the unit shares the
    database and, through FRX_EVIDENCE_DIR, one evidence folder; every read checks the hash."""
    from app.casework import probes
    from app.errors import IntegrityError

    shared = tmp_path / "unit-share" / "evidence"
    first = Workstation.open(
        replace(load_settings(), data_dir=tmp_path / "ws1", evidence_dir=shared)
    )
    second = Workstation.open(
        replace(load_settings(), data_dir=tmp_path / "ws2", evidence_dir=shared)
    )
    try:
        admin = accounts.create_first_admin(
            first, username="admin", display_name="Admin", password=PASSWORD
        )
        erin = _signed(
            accounts.create_user(
                first, by=admin, username="erin", display_name="Erin", password=PASSWORD,
                roles=frozenset({Role.EXAMINER}),
            )
        )
        request_id = requests.open_request(first, user=erin, intake=INTAKE).request_id
        photo = (yale_dir / "subject01.happy").read_bytes()
        probe = probes.add_probe(
            first, user=erin, request_id=request_id, image_bytes=photo,
            original_name="still.gif",
        )
        read = probes.load_probe_image(second, user=erin, probe_id=probe.probe_id)
        assert read.data == photo and not (tmp_path / "ws2" / "evidence").exists()

        stored = second.evidence.path(read.sha256)
        stored.chmod(0o644)
        stored.write_bytes(photo[:-10] + b"tampered!!")
        with pytest.raises(IntegrityError, match="altered or damaged"):
            probes.load_probe_image(second, user=erin, probe_id=probe.probe_id)
        with pytest.raises(IntegrityError):
            probes.load_probe_image(first, user=erin, probe_id=probe.probe_id)
    finally:
        first.close()
        second.close()
