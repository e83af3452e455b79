"""Shared helpers of the request casework tests: people, a valid intake, photos, a small gallery.

The default face model is converted once per test process into a temporary folder and linked
into each test's data folder; photographs are read from ../shared/data through the fixtures.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select

from app.casework import accounts
from app.casework.accounts import SignedInUser
from app.casework.search import SearchSummary
from app.casework.workstation import Workstation
from app.engine.models import DEFAULT_MODEL_NAME, install_default_model
from app.policy.gates import RequestIntake
from app.policy.roles import Role
from app.records.audit import iter_events
from app.records.db import Database
from app.records.models import AuditEvent
from app.settings import Settings

PASSWORD = "case password 1"
# Yale subjects enrolled as the test gallery (one "normal" photo each); probes use other
# conditions of the same people.
YALE_GALLERY = ("01", "02", "03", "04", "05", "06")


@dataclass(frozen=True)
class People:
    admin: SignedInUser
    examiner: SignedInUser  # trained, acknowledged the active policy
    reviewer: SignedInUser  # a second qualified examiner
    supervisor: SignedInUser  # supervisor only (not an examiner)


def _signed(summary: accounts.UserSummary) -> SignedInUser:
    return SignedInUser(summary.user_id, summary.username, summary.display_name, summary.roles)


def add_user(
    ws: Workstation,
    admin: SignedInUser,
    name: str,
    roles: frozenset[Role],
    *,
    trained: bool = True,
    acknowledged: bool = True,
    training_days: tuple[int, int] = (-30, 335),
) -> SignedInUser:
    """A new user; ``training_days``: completion and expiry relative to today."""
    user = _signed(
        accounts.create_user(
            ws, by=admin, username=name, display_name=name.title(), password=PASSWORD, roles=roles
        )
    )
    today = ws.now().date()
    if trained:
        accounts.add_training(
            ws,
            by=admin,
            user_id=user.user_id,
            course="Facial recognition examiner course",
            completed_on=today + timedelta(days=training_days[0]),
            expires_on=today + timedelta(days=training_days[1]),
        )
    if acknowledged:
        acknowledge(ws, user)
    return user


def acknowledge(ws: Workstation, user: SignedInUser) -> None:
    accounts.acknowledge_policy(
        ws,
        user=user,
        profile_name=ws.profile.name,
        profile_version=ws.profile.version,
        profile_sha256=ws.profile.sha256,
    )


def make_people(ws: Workstation) -> People:
    admin = accounts.create_first_admin(
        ws, username="admin", display_name="Admin", password=PASSWORD
    )
    return People(
        admin=admin,
        examiner=add_user(ws, admin, "erin", frozenset({Role.EXAMINER})),
        reviewer=add_user(ws, admin, "rita", frozenset({Role.EXAMINER})),
        supervisor=add_user(ws, admin, "sam", frozenset({Role.SUPERVISOR}), trained=False),
    )


def intake(**changes: object) -> RequestIntake:
    """A complete, valid intake under the MPTC profile; ``changes`` replace fields."""
    base = RequestIntake(
        case_number="2026-CR-0042",
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
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def actions(ws: Workstation) -> list[str]:
    with ws.database.session(read_only=True) as session:
        return [e.action for e in iter_events(session)]


def events(ws: Workstation, action: str) -> list[AuditEvent]:
    with ws.database.session(read_only=True) as session:
        return list(iter_events(session, action=action))


def count_rows(ws: Workstation, model: type) -> int:
    with ws.database.session(read_only=True) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def yale_photo(yale_dir: Path, subject: str, condition: str) -> bytes:
    return (yale_dir / f"subject{subject}.{condition}").read_bytes()


@functools.cache
def _installed_models() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="frx-case-models-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    install_default_model(folder)
    return folder


def install_model(ws: Workstation) -> None:
    """The default model in this test's data folder (converted once per test process)."""
    source = _installed_models() / DEFAULT_MODEL_NAME
    target = ws.settings.models_dir / DEFAULT_MODEL_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        shutil.copytree(source, target)


def enrol_yale_gallery(ws: Workstation, admin: SignedInUser, yale_dir: Path) -> dict[str, int]:
    """Enrol one 'normal' photo of each YALE_GALLERY subject; subject reference -> photo id."""
    from app.casework import gallery

    install_model(ws)
    photos: dict[str, int] = {}
    for number, subject in enumerate(YALE_GALLERY, start=1):
        result = gallery.enrol_photo(
            ws,
            by=admin,
            subject_reference=f"YALE-{subject}",
            name=f"Yale subject {subject}",
            image_bytes=yale_photo(yale_dir, subject, "normal"),
            photo_date=date(2020, 1, number),
            source_type="arrest_photograph",
            source_reference=f"ARR-{subject}",
            lawful_basis="Arrest record, not sealed",
            file_name=f"subject{subject}.normal",
        )
        photos[f"YALE-{subject}"] = result.photo_id
    return photos


@dataclass(frozen=True)
class SearchedCase:
    """A request with a probe of Yale subject 03 searched against the Yale gallery."""

    people: People
    photos: dict[str, int]  # subject reference -> gallery photo id
    request_id: int
    probe_id: int
    search: SearchSummary


def searched_case(ws: Workstation, yale_dir: Path, *, condition: str = "happy") -> SearchedCase:
    from app.casework import probes, requests, search

    people = make_people(ws)
    photos = enrol_yale_gallery(ws, people.admin, yale_dir)
    request = requests.open_request(ws, user=people.examiner, intake=intake())
    probe = probes.add_probe(
        ws,
        user=people.examiner,
        request_id=request.request_id,
        image_bytes=yale_photo(yale_dir, "03", condition),
        original_name=f"subject03.{condition}",
    )
    summary = search.run_search(ws, user=people.examiner, request_id=request.request_id)
    return SearchedCase(people, photos, request.request_id, probe.probe_id, summary)


def candidate_id(case: SearchedCase, reference: str = "YALE-03") -> int:
    return next(c.candidate_id for c in case.search.candidates if c.subject_reference == reference)


def all_answers(ws: Workstation, answer: str = "similar") -> dict[str, str]:
    return dict.fromkeys(ws.worksheet.item_ids, answer)


@functools.cache
def _case_snapshot(yale_dir: str) -> tuple[Path, SearchedCase]:
    """A searched case built once per test process in a data folder of its own (SQLite)."""
    folder = Path(tempfile.mkdtemp(prefix="frx-case-snapshot-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    settings = Settings(
        data_dir=folder,
        database_url=f"sqlite:///{folder / 'frx.sqlite3'}",
        evidence_dir=folder / "evidence",
    )
    with Workstation.open(settings) as ws:
        case = searched_case(ws, Path(yale_dir))
    return folder, case


def load_case(ws: Workstation, yale_dir: Path) -> SearchedCase:
    """``searched_case`` in this test's workstation: on SQLite a copy of one built once per test
    process (database, evidence and index files), on PostgreSQL built afresh."""
    target = ws.database.sqlite_path
    if target is None:
        return searched_case(ws, yale_dir)
    snapshot, case = _case_snapshot(str(yale_dir))
    ws.database.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
        source = Path(f"{snapshot / 'frx.sqlite3'}{suffix}")
        if source.exists():
            shutil.copyfile(source, f"{target}{suffix}")
    shutil.copytree(snapshot / "evidence", ws.settings.evidence_dir, dirs_exist_ok=True)
    shutil.copytree(snapshot / "index", ws.settings.index_dir, dirs_exist_ok=True)
    install_model(ws)
    ws.database = Database.open(ws.settings)
    return case
