"""Shared fixtures: every test gets a fresh data folder; nothing reads the developer's settings.

Database fixtures: ``database_url`` gives each test an empty database at the current schema: on
SQLite a copy of a template migrated once per session, on PostgreSQL (FRX_TEST_DATABASE_URL set) a
fresh ``public`` schema in a database of its own per pytest-xdist worker. ``database``,
``workstation`` / ``ws`` open it. Password hashing uses cheap argon2 parameters in tests.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.casework import account_rules
from app.casework.workstation import Workstation
from app.records.db import Database
from app.settings import Settings, load_settings

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


# Tests that use any of these fixtures touch the database: `make test` runs them a second time
# against PostgreSQL (FRX_TEST_DATABASE_URL).
DATABASE_FIXTURES = frozenset({"database_url", "database", "workstation", "ws"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.database)


@pytest.fixture(autouse=True)
def fresh_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point FRX_DATA_DIR at an empty folder and clear every other FRX_ setting."""
    for name in list(os.environ):
        if name.startswith("FRX_") and name not in ("FRX_SHARED_DATA", "FRX_TEST_DATABASE_URL"):
            monkeypatch.delenv(name, raising=False)
    data_dir = tmp_path / "frx-data"
    monkeypatch.setenv("FRX_DATA_DIR", str(data_dir))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    yield data_dir


def shared_data_dir() -> Path:
    """The real-photo test data folder; a loud failure (never a skip) when it is missing."""
    path = Path(os.environ.get("FRX_SHARED_DATA", DEFAULT_SHARED_DATA))
    if not (path / "lfw-devtrain").is_dir() or not (path / "yalefaces").is_dir():
        pytest.fail(
            f"Test photographs not found at {path}: put ../shared/data beside the checkout "
            "or set FRX_SHARED_DATA.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return shared_data_dir()


@pytest.fixture(scope="session")
def lfw_dir(shared_data: Path) -> Path:
    return shared_data / "lfw-devtrain" / "images"


@pytest.fixture(scope="session")
def yale_dir(shared_data: Path) -> Path:
    return shared_data / "yalefaces"


PG_URL_VARIABLE = "FRX_TEST_DATABASE_URL"


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 with tiny cost: the rules are the same, the suite does not spend seconds hashing."""
    monkeypatch.setattr(
        account_rules,
        "password_hasher",
        PasswordHasher(time_cost=1, memory_cost=64, parallelism=1),
    )


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("db-template")
    settings = Settings(
        data_dir=folder,
        database_url=f"sqlite:///{folder / 'frx.sqlite3'}",
        evidence_dir=folder / "evidence",
    )
    Database.open(settings).close()
    return folder / "frx.sqlite3"


@pytest.fixture(scope="session")
def _postgres_worker_url() -> str | None:
    """A database of this xdist worker's own on the test server (created once)."""
    base = os.environ.get(PG_URL_VARIABLE)
    if not base:
        return None
    url = make_url(base)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"{url.database}_{worker}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if exists is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _reset_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            # A connection an earlier test leaked (a worker thread still running) would hold
            # locks and block the drop for ever: end it, and never wait long for a lock.
            conn.execute(text("SET lock_timeout = '20s'"))
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture
def database_url(
    fresh_data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    _sqlite_template: Path,
    _postgres_worker_url: str | None,
) -> str:
    """URL of an empty database at the current schema, also set as FRX_DATABASE_URL."""
    if _postgres_worker_url is not None:
        _reset_postgres(_postgres_worker_url)
        url = _postgres_worker_url
        Database.open(
            Settings(data_dir=fresh_data_dir, database_url=url, evidence_dir=fresh_data_dir)
        ).close()
    else:
        fresh_data_dir.mkdir(parents=True, exist_ok=True)
        target = fresh_data_dir / "frx.sqlite3"
        shutil.copyfile(_sqlite_template, target)
        url = f"sqlite:///{target}"
    monkeypatch.setenv("FRX_DATABASE_URL", url)
    return url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database.open(load_settings())
    yield db
    db.close()


@pytest.fixture
def workstation(database_url: str) -> Iterator[Workstation]:
    ws = Workstation.open(load_settings())
    yield ws
    _wait_for_background_work()
    ws.close()


def _wait_for_background_work() -> None:
    """GUI tests: let every background task end before its database goes away."""
    workers = sys.modules.get("app.ui.workers")
    if workers is None:
        return
    if not workers.cancel_all_and_wait(30_000):
        raise RuntimeError("background work still running 30 s after the test ended")


@pytest.fixture
def ws(workstation: Workstation) -> Workstation:
    return workstation


class FakeClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


@pytest.fixture
def fake_clock() -> Callable[[], datetime]:
    return FakeClock(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
