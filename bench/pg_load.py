"""Two workstations doing casework at once against PostgreSQL (run by hand).

    .venv/bin/python -m bench.pg_load [--seconds 60] [--single-seconds 10] [--database frx_load]

Starts (or reuses) the throw-away server of ``tools/pg-test-server.sh``, recreates the database
``--database`` on it, creates an administrator and two trained examiners who acknowledged the
policy, then measures casework operations per second: first ONE process alone (the reference),
then TWO processes at once (``multiprocessing`` with spawn, each opening its own Workstation).
Each cycle opens an interagency request, records the acknowledgment, closes the request, and
appends a token to one request shared by both processes through an optimistic-locking update
(read in one transaction, written in another; a ConflictError is counted and retried).

At the end: the audit chain must be intact, every token either process committed must be in the
shared record (a lost update would drop one), its version must have advanced once per committed
update, and the audit log must hold one ``request.opened`` per request the workers opened.
Last line: ``ops_per_s <total of the two-process phase>``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from app.casework import accounts, requests  # noqa: E402
from app.casework.accounts import SignedInUser  # noqa: E402
from app.casework.audit_log import verify_audit_chain  # noqa: E402
from app.casework.workstation import Workstation  # noqa: E402
from app.errors import ConflictError  # noqa: E402
from app.policy.gates import RequestIntake  # noqa: E402
from app.policy.roles import Role  # noqa: E402
from app.records.audit import append_event  # noqa: E402
from app.records.case_models import CaseRequest  # noqa: E402
from app.records.models import AuditEvent  # noqa: E402
from app.settings import Settings  # noqa: E402

PASSWORD = "load test password 1"
TOKEN_SEPARATOR = ";"

INTAKE = RequestIntake(
    case_number="2026-CR-LOAD",
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
class WorkerResult:
    name: str
    seconds: float
    operations: int
    requests_opened: int
    shared_updates: int  # committed token appends: tokens <name>-1 .. <name>-<shared_updates>
    conflicts: int


def start_server() -> str:
    """The URL of the throw-away server's default test database (started if needed)."""
    done = subprocess.run(
        [str(REPO / "tools" / "pg-test-server.sh"), "start"],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip().splitlines()[-1]


def fresh_database(server_url: str, name: str) -> str:
    """Drop and recreate database ``name`` on the server; its URL."""
    url = make_url(server_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def settings_for(url: str, folder: Path) -> Settings:
    return Settings(data_dir=folder, database_url=url, evidence_dir=folder / "evidence")


def _signed(summary: accounts.UserSummary) -> SignedInUser:
    return SignedInUser(summary.user_id, summary.username, summary.display_name, summary.roles)


def make_users(ws: Workstation, names: list[str]) -> tuple[SignedInUser, list[SignedInUser]]:
    """An administrator and trained examiners who acknowledged the active policy."""
    admin = accounts.create_first_admin(
        ws, username="admin", display_name="Admin", password=PASSWORD
    )
    today = ws.now().date()
    examiners = []
    for name in names:
        user = _signed(
            accounts.create_user(
                ws,
                by=admin,
                username=name,
                display_name=name.title(),
                password=PASSWORD,
                roles=frozenset({Role.EXAMINER}),
            )
        )
        accounts.add_training(
            ws,
            by=admin,
            user_id=user.user_id,
            course="Facial recognition examiner course",
            completed_on=today - timedelta(days=30),
            expires_on=today + timedelta(days=300),
        )
        accounts.acknowledge_policy(
            ws,
            user=user,
            profile_name=ws.profile.name,
            profile_version=ws.profile.version,
            profile_sha256=ws.profile.sha256,
        )
        examiners.append(user)
    return admin, examiners


def append_token(ws: Workstation, *, user: SignedInUser, request_id: int, token: str) -> None:
    """Append ``token`` to the shared request's note the way an edit form does: read in one
    transaction, write in another. The write carries the version read, so a change committed
    meanwhile by another workstation raises ConflictError instead of being overwritten."""
    with ws.database.session(read_only=True) as session:
        row = session.get(CaseRequest, request_id)
        assert row is not None
    row.status_note = f"{row.status_note or ''}{token}{TOKEN_SEPARATOR}"
    row.updated_at = ws.now()
    with ws.database.session() as session:
        session.add(row)
        session.flush()
        append_event(
            session,
            actor=user.username,
            action="bench.shared_note_updated",
            object_type="request",
            object_id=request_id,
            details={"token": token},
            occurred_at=ws.now(),
        )


def worker(
    url: str, folder: str, user: SignedInUser, shared_id: int, seconds: float, go: EventType
) -> WorkerResult:
    """Casework cycles for ``seconds`` once ``go`` is set; runs in its own process."""
    ws = Workstation.open(settings_for(url, Path(folder)))
    name = user.username
    operations = opened = updates = conflicts = 0
    go.wait()
    start = time.perf_counter()
    deadline = start + seconds
    try:
        while time.perf_counter() < deadline:
            intake = replace(INTAKE, case_number=f"2026-CR-{name}-{opened + 1}")
            request = requests.open_request(ws, user=user, intake=intake)
            opened += 1
            requests.record_interagency_acknowledgment(
                ws, user=user, request_id=request.request_id, acknowledged_by="Lt. Dana Reyes"
            )
            requests.close_request(
                ws, user=user, request_id=request.request_id, reason="Load test cycle done"
            )
            operations += 3
            for _ in range(2):  # two shared updates per cycle: more chances to collide
                while True:
                    try:
                        append_token(
                            ws, user=user, request_id=shared_id, token=f"{name}-{updates + 1}"
                        )
                        break
                    except ConflictError:
                        conflicts += 1
                updates += 1
                operations += 1
        elapsed = time.perf_counter() - start
    finally:
        ws.close()
    return WorkerResult(name, elapsed, operations, opened, updates, conflicts)


def _run_worker(queue: Any, *args: Any) -> None:
    try:
        queue.put(worker(*args))
    except BaseException as exc:  # the parent stops at once instead of waiting for a result
        queue.put(f"{type(exc).__name__}: {exc}")
        raise


def run_phase(
    url: str, folder: Path, users: list[SignedInUser], shared_id: int, seconds: float
) -> list[WorkerResult]:
    """Run one process per user at once; their results."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    go = context.Event()
    processes = [
        context.Process(
            target=_run_worker, args=(queue, url, str(folder), user, shared_id, seconds, go)
        )
        for user in users
    ]
    for process in processes:
        process.start()
    time.sleep(3.0)  # let every process import and open its workstation before the clock starts
    go.set()
    results = [queue.get(timeout=seconds + 120) for _ in processes]
    failures = [r for r in results if isinstance(r, str)]
    if failures:
        raise SystemExit(f"a worker process failed: {failures[0]}")
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise SystemExit(f"worker process failed with exit code {process.exitcode}")
    return sorted(results, key=lambda r: r.name)


def shared_version(ws: Workstation, shared_id: int) -> int:
    with ws.database.session(read_only=True) as session:
        row = session.get(CaseRequest, shared_id)
        assert row is not None
        return row.version_id


def check_outcome(
    ws: Workstation, shared_id: int, start_version: int, results: list[WorkerResult]
) -> list[str]:
    """Problems found after the run (empty when nothing was lost and the chain is intact)."""
    problems: list[str] = []
    report = verify_audit_chain(ws)
    if not report.ok:
        problems.append(f"audit chain broken: {report.problem}")
    with ws.database.session(read_only=True) as session:
        row = session.get(CaseRequest, shared_id)
        assert row is not None
        tokens = [t for t in (row.status_note or "").split(TOKEN_SEPARATOR) if t]
        version = row.version_id
        opened_events = session.execute(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "request.opened")
        ).scalar_one()
    expected = {f"{r.name}-{n}" for r in results for n in range(1, r.shared_updates + 1)}
    if len(tokens) != len(set(tokens)) or set(tokens) != expected:
        missing = sorted(expected - set(tokens))[:5]
        problems.append(
            f"lost update: {len(expected)} tokens committed, {len(tokens)} stored, "
            f"missing e.g. {missing}"
        )
    if version != start_version + len(expected):
        problems.append(
            f"shared record at version {version}, expected {start_version + len(expected)}"
        )
    opened = 1 + sum(r.requests_opened for r in results)  # +1: the shared request
    if opened_events != opened:
        problems.append(f"{opened_events} request.opened events for {opened} requests opened")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="two-process phase")
    parser.add_argument(
        "--single-seconds",
        type=float,
        default=None,
        help="single-process reference phase (default: a third of --seconds)",
    )
    parser.add_argument("--database", default="frx_load")
    args = parser.parse_args(argv)
    single_seconds = args.single_seconds or max(5.0, args.seconds / 3)

    url = fresh_database(start_server(), args.database)
    folder = Path(tempfile.mkdtemp(prefix="frx-pg-load-"))
    shown = make_url(url).render_as_string(hide_password=True)
    sys.stdout.write(f"database {shown}\n")
    ws = Workstation.open(settings_for(url, folder))
    try:
        _admin, examiners = make_users(ws, ["examiner1", "examiner2", "examiner3"])
        shared = requests.open_request(
            ws, user=examiners[0], intake=replace(INTAKE, case_number="2026-CR-SHARED")
        )
        start_version = shared_version(ws, shared.request_id)
        single = run_phase(url, folder, examiners[2:], shared.request_id, single_seconds)
        double = run_phase(url, folder, examiners[:2], shared.request_id, args.seconds)
        problems = check_outcome(ws, shared.request_id, start_version, single + double)
    finally:
        ws.close()

    reference = single[0].operations / single[0].seconds
    sys.stdout.write(
        f"single process: {single[0].operations} operations in {single[0].seconds:.1f} s "
        f"= {reference:.1f} ops/s, {single[0].conflicts} conflicts\n"
    )
    total = 0.0
    for result in double:
        rate = result.operations / result.seconds
        total += rate
        sys.stdout.write(
            f"{result.name}: {result.operations} operations in {result.seconds:.1f} s = "
            f"{rate:.1f} ops/s ({result.requests_opened} requests opened/acknowledged/closed, "
            f"{result.shared_updates} shared updates, {result.conflicts} conflicts retried)\n"
        )
    conflicts = sum(r.conflicts for r in double)
    updates = sum(r.shared_updates for r in double)
    sys.stdout.write(
        f"two processes: {total:.1f} ops/s in total, {conflicts} conflicts detected on "
        f"{updates} committed shared updates\n"
        f"ratio two processes / one process: {total / reference:.2f}\n"
    )
    if problems:
        for problem in problems:
            sys.stdout.write(f"PROBLEM: {problem}\n")
    else:
        sys.stdout.write("no lost update, audit chain intact\n")
    sys.stdout.write(f"ops_per_s {total:.1f}\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
