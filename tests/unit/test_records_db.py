"""The database: migrations match the models, refusals that change nothing, backups, sessions."""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text

from app.errors import ConfigurationError, ConflictError, StorageError
from app.records import db as db_module
from app.records.all_models import Base
from app.records.audit import GENESIS_HASH
from app.records.db import Database, alembic_config, backup_sqlite, head_revision, script_directory
from app.records.models import AuditAnchor, EvidenceFile, User
from app.settings import Settings, load_settings


def sqlite_settings(folder: Path, name: str = "frx.sqlite3") -> Settings:
    return Settings(
        data_dir=folder, database_url=f"sqlite:///{folder / name}", evidence_dir=folder / "ev"
    )


def schema_differences(database: Database) -> list[object]:
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def new_user_row(name: str) -> User:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return User(
        username=name,
        display_name=name,
        active=True,
        password_hash="x",
        failed_logins=0,
        password_changed_at=now,
        created_at=now,
        created_by="test",
    )


# ---------------------------------------------------------------------------- migrations
def test_migrations_on_an_empty_database_match_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.begin() as conn:  # start from nothing at all
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()

    database = Database.open(load_settings())
    try:
        assert database.schema_revision() == head_revision()
        assert schema_differences(database) == []
        with database.session(read_only=True) as session:
            anchor = session.get(AuditAnchor, 1)
            assert anchor is not None
            assert (anchor.last_sequence, anchor.last_hash) == (0, GENESIS_HASH)
        tables = set(inspect(database.engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
    finally:
        database.close()


def test_schema_comparison_notices_a_difference(database: Database) -> None:
    # Proves the comparison above would catch a migration that does not match the models.
    with database.engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_audit_events_actor"))
    differences = schema_differences(database)
    assert any("ix_audit_events_actor" in repr(d) for d in differences)


def test_every_revision_chains_to_one_head() -> None:
    script = script_directory()
    heads = script.get_heads()
    assert heads == [head_revision()]
    revisions = list(script.walk_revisions())
    assert revisions[-1].revision == "0001_foundation"
    assert revisions[-1].down_revision is None


def test_sqlite_runs_in_wal_mode_with_foreign_keys(fresh_data_dir: Path) -> None:
    database = Database.open(load_settings())
    try:
        with database.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
        assert (fresh_data_dir / "frx.sqlite3").is_file()
        assert database.display_url.endswith("frx.sqlite3")
    finally:
        database.close()


def test_write_sessions_take_the_sqlite_write_lock_at_begin(fresh_data_dir: Path) -> None:
    database = Database.open(load_settings())
    other = sqlite3.connect(fresh_data_dir / "frx.sqlite3", timeout=0, isolation_level=None)
    try:
        with database.session() as session:
            session.execute(select(User.id)).all()  # a read only; the lock is already held
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        with database.session(read_only=True) as session:
            session.execute(select(User.id)).all()
            other.execute("BEGIN IMMEDIATE")  # readers do not block writers
            other.execute("ROLLBACK")
    finally:
        other.close()
        database.close()


def test_two_writers_wait_for_each_other_instead_of_failing(database: Database) -> None:
    errors: list[BaseException] = []

    def writer(prefix: str) -> None:
        try:
            for i in range(10):
                with database.session() as session:
                    count = len(session.execute(select(User.id)).all())
                    session.add(new_user_row(f"{prefix}{i}-{count}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(p,)) for p in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with database.session(read_only=True) as session:
        assert len(session.execute(select(User.id)).all()) == 20


# ---------------------------------------------------------------------------- refusals
def _stamp_future(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    engine.dispose()


def test_database_from_a_newer_version_is_refused_unchanged(fresh_data_dir: Path) -> None:
    Database.open(load_settings()).close()
    path = fresh_data_dir / "frx.sqlite3"
    _stamp_future(f"sqlite:///{path}")
    before = path.read_bytes()
    with pytest.raises(StorageError, match="newer version of the workstation") as info:
        Database.open(load_settings())
    assert "Update the software" in str(info.value)
    assert path.read_bytes() == before
    assert not (fresh_data_dir / "backups").exists()


def test_newer_version_refused_on_any_database(database_url: str) -> None:
    _stamp_future(database_url)
    with pytest.raises(StorageError, match="newer version"):
        Database.open(load_settings())
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == (
            "9999_from_the_future"
        )
    engine.dispose()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"this is a shopping list, not a database\n" * 20, "not an SQLite file"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "not an SQLite file"),
    ],
)
def test_empty_or_foreign_file_is_refused_unchanged(
    fresh_data_dir: Path, content: bytes, message: str
) -> None:
    fresh_data_dir.mkdir(parents=True)
    path = fresh_data_dir / "frx.sqlite3"
    path.write_bytes(content)
    with pytest.raises(StorageError, match=message) as info:
        Database.open(load_settings())
    assert str(path) in str(info.value)
    assert path.read_bytes() == content


def test_damaged_sqlite_file_is_refused_unchanged(fresh_data_dir: Path) -> None:
    database = Database.open(load_settings())
    with database.session() as session:
        for i in range(300):
            session.add(
                EvidenceFile(
                    sha256=f"{i:064x}",
                    size=i,
                    media_type="image/jpeg",
                    original_name=f"photo-{i}.jpg" * 20,
                    created_at=datetime(2026, 1, 1, tzinfo=UTC),
                    created_by="test",
                )
            )
    database.close()
    path = fresh_data_dir / "frx.sqlite3"
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 6 * page
    for offset in range(2 * page, len(data) - page, page):  # keep the header page intact
        data[offset + 100 : offset + 900] = os.urandom(800)
    path.write_bytes(bytes(data))
    damaged = path.read_bytes()
    with pytest.raises(StorageError, match="damaged") as info:
        Database.open(load_settings())
    assert str(path) in str(info.value)
    assert path.read_bytes() == damaged


def test_foreign_sqlite_database_is_refused_unchanged(fresh_data_dir: Path) -> None:
    fresh_data_dir.mkdir(parents=True)
    path = fresh_data_dir / "frx.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE recipes (name TEXT)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StorageError, match="not a workstation database"):
        Database.open(load_settings())
    assert path.read_bytes() == before


def _fail_probe_writes(monkeypatch: pytest.MonkeyPatch, error: int, call: str) -> None:
    real = getattr(os, call)

    def failing(target: object, *args: object, **kwargs: object) -> object:
        if call == "open" and ".frx-write-test" not in str(target):
            return real(target, *args, **kwargs)
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(db_module.os, call, failing)


def test_read_only_data_folder_is_a_plain_error(
    fresh_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root here, so chmod cannot make a folder read-only; fail the probe instead.
    _fail_probe_writes(monkeypatch, errno.EROFS, "open")
    with pytest.raises(StorageError, match="read-only") as info:
        Database.open(load_settings())
    assert str(fresh_data_dir) in str(info.value)
    assert not (fresh_data_dir / "frx.sqlite3").exists()


def test_full_disk_at_open_is_a_plain_error(
    fresh_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_probe_writes(monkeypatch, errno.ENOSPC, "write")
    with pytest.raises(StorageError, match="full"):
        Database.open(load_settings())
    assert not (fresh_data_dir / "frx.sqlite3").exists()
    assert list(fresh_data_dir.iterdir()) == []  # the probe file was removed


def test_data_folder_that_is_a_file_is_a_plain_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("FRX_DATA_DIR", str(blocker))
    with pytest.raises(StorageError, match="not-a-folder"):
        Database.open(load_settings())


def test_database_filling_the_disk_is_a_plain_error(fresh_data_dir: Path) -> None:
    database = Database.open(load_settings())
    try:
        with pytest.raises(StorageError, match="full"), database.session() as session:
            # SQLite's own size limit gives the same error a full disk gives (SQLITE_FULL).
            pages = session.execute(text("PRAGMA page_count")).scalar_one()
            session.execute(text(f"PRAGMA max_page_count = {pages + 2}"))
            for i in range(200):
                session.add(
                    EvidenceFile(
                        sha256=f"{i:064x}",
                        size=i,
                        media_type="image/png",
                        original_name="x" * 400,
                        created_at=datetime(2026, 1, 1, tzinfo=UTC),
                        created_by="t",
                    )
                )
            session.flush()
        with database.session(read_only=True) as session:
            assert session.execute(select(EvidenceFile.sha256)).all() == []
    finally:
        database.close()


# ---------------------------------------------------------------------------- backup and upgrade
def test_backup_copy_is_a_complete_database(tmp_path: Path) -> None:
    source = tmp_path / "live.sqlite3"
    conn = sqlite3.connect(source)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (v INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(1000)])
    conn.commit()
    # The connection stays open with committed data still in the WAL: the backup sees it.
    copy = backup_sqlite(source, tmp_path / "backups", label="test")
    conn.close()
    assert copy.parent == tmp_path / "backups"
    assert copy.name.startswith("live-") and copy.name.endswith("-test.sqlite3")
    assert not list((tmp_path / "backups").glob("*.part"))
    check = sqlite3.connect(copy)
    assert check.execute("SELECT count(*), sum(v) FROM t").fetchone() == (1000, 499500)
    check.close()


def _older_revision() -> str:
    revisions = [r.revision for r in script_directory().walk_revisions()]
    return revisions[1] if len(revisions) > 1 else "base"


def test_database_behind_is_backed_up_then_upgraded(
    database_url: str, fresh_data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    older = _older_revision()
    engine = create_engine(database_url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), older)
        conn.execute(text("CREATE TABLE backup_marker (note VARCHAR(20))"))
        conn.execute(text("INSERT INTO backup_marker VALUES ('before upgrade')"))
    engine.dispose()

    with caplog.at_level(logging.WARNING, logger="app.records.db"):
        database = Database.open(load_settings())
    try:
        assert database.schema_revision() == head_revision()
        assert schema_differences(database) == [] or all(
            "backup_marker" in repr(d) for d in schema_differences(database)
        )
    finally:
        database.close()

    if database_url.startswith("sqlite"):
        backups = list((fresh_data_dir / "backups").glob("*.sqlite3"))
        assert len(backups) == 1
        assert f"from-{older}" in backups[0].name
        copy = sqlite3.connect(backups[0])
        try:
            assert copy.execute("SELECT note FROM backup_marker").fetchall() == [
                ("before upgrade",)
            ]
            stored = [row[0] for row in copy.execute("SELECT version_num FROM alembic_version")]
            assert stored == ([] if older == "base" else [older])
        finally:
            copy.close()
    else:
        assert "database administrator must have made a backup" in caplog.text


def test_up_to_date_database_is_not_backed_up(fresh_data_dir: Path) -> None:
    Database.open(load_settings()).close()
    Database.open(load_settings()).close()
    assert not (fresh_data_dir / "backups").exists()


# ---------------------------------------------------------------------------- sessions
def test_session_commits_on_success_and_rolls_back_on_error(database: Database) -> None:
    with database.session() as session:
        session.add(new_user_row("kept"))
    with pytest.raises(RuntimeError), database.session() as session:
        session.add(new_user_row("dropped"))
        session.flush()
        raise RuntimeError("boom")
    with database.session(read_only=True) as session:
        names = session.execute(select(User.username)).scalars().all()
    assert names == ["kept"]


def test_read_only_session_never_commits(database: Database) -> None:
    with database.session(read_only=True) as session:
        session.add(new_user_row("ghost"))
        session.flush()
    with database.session(read_only=True) as session:
        assert session.execute(select(User.id)).all() == []


def test_stale_update_is_a_conflict(database: Database) -> None:
    with database.session() as session:
        session.add(new_user_row("shared"))
    with database.session(read_only=True) as session:
        stale = session.execute(select(User)).scalar_one()
    with database.session() as session:
        fresh = session.execute(select(User)).scalar_one()
        fresh.display_name = "changed elsewhere"
    assert fresh.version_id == stale.version_id + 1
    with pytest.raises(ConflictError, match="Someone else changed"), database.session() as session:
        session.add(stale)
        stale.display_name = "my change"
    with database.session(read_only=True) as session:
        assert session.execute(select(User.display_name)).scalar_one() == "changed elsewhere"


def test_utc_times_come_back_timezone_aware(database: Database) -> None:
    moment = datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    row = new_user_row("clock")
    row.locked_until = moment
    with database.session() as session:
        session.add(row)
    with database.session(read_only=True) as session:
        loaded = session.execute(select(User)).scalar_one()
        assert loaded.locked_until == moment
        assert loaded.locked_until is not None and loaded.locked_until.tzinfo is not None
    naive = new_user_row("naive")
    naive.created_at = datetime(2026, 1, 1)
    with pytest.raises(Exception, match="naive"), database.session() as session:
        session.add(naive)


def test_username_lower_case_is_enforced_by_the_database(database: Database) -> None:
    with pytest.raises(Exception, match=r"(?i)check|constraint"), database.session() as session:
        session.add(new_user_row("MixedCase"))


def test_display_url_masks_the_password() -> None:
    engine = create_engine("postgresql+psycopg://frx:s3cret@db.example:5432/frx")
    database = Database(engine, sqlite_path=None)
    assert "s3cret" not in database.display_url
    assert "***" in database.display_url
    engine.dispose()


def test_plain_postgresql_url_uses_psycopg() -> None:
    url = db_module._normalise_url("postgresql://u@h/db")
    assert url.drivername == "postgresql+psycopg"


@pytest.mark.parametrize(
    ("url", "message"),
    [("mysql://u:pw@h/db", "unsupported database"), ("not a url", "not valid")],
)
def test_unusable_database_url_is_a_plain_error(
    url: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRX_DATABASE_URL", url)
    with pytest.raises(ConfigurationError, match=message) as info:
        Database.open(load_settings())
    assert "pw" not in str(info.value)


def test_unreachable_server_is_a_plain_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRX_DATABASE_URL", "postgresql://frx:pw@127.0.0.1:1/nothing")
    with pytest.raises(StorageError, match="cannot be used") as info:
        Database.open(load_settings())
    assert "\n" not in str(info.value) and ":pw@" not in str(info.value)
