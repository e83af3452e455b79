"""The database: open (checks, backup, upgrade to the current schema), sessions, close.

SQLite (default, a file in the data folder) runs in WAL mode with foreign keys on, a busy timeout,
and every write transaction taking the write lock at ``BEGIN IMMEDIATE`` so two writers wait for
each other instead of dead-locking on a lock upgrade. PostgreSQL works through a
``postgresql+psycopg://`` URL.

Opening refuses, with a plain :class:`StorageError` and without changing anything, an empty or
foreign file, a damaged SQLite file, a database made by a newer version of the software, a
read-only data folder and a full disk. A database that is behind is copied into the backups folder
(SQLite) before it is upgraded.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util.exc import CommandError
from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.pool import StaticPool

from app.errors import ConfigurationError, ConflictError, StorageError
from app.records.base import utcnow
from app.settings import Settings

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_HEADER = b"SQLite format 3\x00"
SQLITE_BUSY_TIMEOUT_S = 30.0
VERSION_TABLE = "alembic_version"
_READ_ONLY_OPTION = "frx_read_only"


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configuration for the package's migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = script_directory().get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise RuntimeError("no migrations found")
    return head


def _storage_error_for_os(exc: OSError, what: str) -> StorageError:
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return StorageError(f"The disk holding {what} is full. Free some space and try again.")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return StorageError(
            f"{what[0].upper()}{what[1:]} is read-only or not writable by this account. "
            "Use a writable data folder (FRX_DATA_DIR)."
        )
    return StorageError(f"{what[0].upper()}{what[1:]} cannot be used: {exc.strerror or exc}.")


def storage_error_for_db(exc: BaseException, display_url: str) -> StorageError:
    """Turn a database driver error into a plain sentence (full disk, read-only, unreachable)."""
    original = " ".join(str(getattr(exc, "orig", exc)).split())
    text = original.lower()
    if "disk is full" in text or "no space" in text or "diskfull" in text or "53100" in text:
        return StorageError(
            f"The disk holding the database {display_url} is full. Free some space and try again."
        )
    if "readonly" in text or "read-only" in text or "read only" in text:
        return StorageError(
            f"The database {display_url} is read-only. Use a writable data folder "
            "(FRX_DATA_DIR) or ask the database administrator."
        )
    if "malformed" in text or "not a database" in text or "disk i/o" in text:
        return StorageError(f"The database {display_url} is damaged and cannot be used.")
    if "locked" in text or "busy" in text:
        return StorageError(
            f"The database {display_url} is busy (another program holds it). Try again."
        )
    return StorageError(f"The database {display_url} cannot be used: {original}")


def _normalise_url(raw: str) -> URL:
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise ConfigurationError(f"The database URL '{raw}' is not valid.") from exc
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigurationError(
            f"The database URL '{url.render_as_string(hide_password=True)}' names an "
            "unsupported database: use SQLite (the default) or PostgreSQL."
        )
    return url


@dataclass(frozen=True)
class _SqliteState:
    """What a raw look at an existing SQLite file found (taken before the engine exists)."""

    has_tables: bool
    has_version_table: bool
    revisions: tuple[str, ...]


def _inspect_sqlite_file(path: Path) -> _SqliteState | None:
    """Look at an existing SQLite file without changing it; None when there is no file yet."""
    if not path.exists():
        return None
    if not path.is_file():
        raise StorageError(f"The database path {path} is not a file.")
    try:
        with path.open("rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise _storage_error_for_os(exc, f"the database file {path}") from exc
    if not header:
        raise StorageError(
            f"The database file {path} is empty (0 bytes), so it is not a workstation database. "
            "Move it away to start a new database, or restore it from a backup."
        )
    if header != SQLITE_HEADER:
        raise StorageError(
            f"The file {path} is not a workstation database (not an SQLite file). "
            "Check the data folder or FRX_DATABASE_URL."
        )
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=SQLITE_BUSY_TIMEOUT_S)
    except sqlite3.Error as exc:
        raise StorageError(f"The database file {path} cannot be opened: {exc}.") from exc
    try:
        check = conn.execute("PRAGMA quick_check").fetchall()
        if [row[0] for row in check] != ["ok"]:
            raise StorageError(
                f"The database file {path} is damaged (integrity check failed). "
                "Restore it from a backup in the backups folder."
            )
        tables = conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        names = {row[0] for row in tables}
        revisions: tuple[str, ...] = ()
        if VERSION_TABLE in names:
            revisions = tuple(
                str(row[0]) for row in conn.execute(f"SELECT version_num FROM {VERSION_TABLE}")
            )
    except sqlite3.DatabaseError as exc:
        raise StorageError(
            f"The database file {path} is damaged and cannot be read ({exc}). "
            "Restore it from a backup in the backups folder."
        ) from exc
    finally:
        conn.close()
    user_tables = {n for n in names if not n.startswith("sqlite_")}
    return _SqliteState(
        has_tables=bool(user_tables - {VERSION_TABLE}),
        has_version_table=VERSION_TABLE in names,
        revisions=revisions,
    )


def _check_writable(folder: Path, what: str) -> None:
    """Create the folder and prove a small file can be written there (read-only, full disk)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".frx-write-test-{os.getpid()}"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"frx write test\n" * 64)
            os.fsync(fd)
        finally:
            os.close(fd)
            probe.unlink(missing_ok=True)
    except OSError as exc:
        raise _storage_error_for_os(exc, what) from exc


def copy_sqlite_online(source: Path, target: Path, *, standalone: bool = False) -> None:
    """Copy an SQLite database into a new file ``target`` with SQLite's online backup API.

    The copy is consistent even while other connections use (and write) the database.
    ``standalone`` turns the copy's journal into a rollback journal, so it is one self-contained
    file that can be opened read-only. Raises ``sqlite3.Error`` or ``OSError``.
    """
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            if standalone:
                dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()


def backup_sqlite(source: Path, backups_dir: Path, *, label: str) -> Path:
    """Copy an SQLite database with SQLite's online backup API into ``backups_dir``.

    The copy is consistent even while other connections use the database. Returns its path.
    """
    _check_writable(backups_dir, f"the backups folder {backups_dir}")
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%fZ")
    target = backups_dir / f"{source.stem}-{stamp}-{label}.sqlite3"
    partial = target.with_name(target.name + ".part")
    try:
        copy_sqlite_online(source, partial)
        os.replace(partial, target)
    except (sqlite3.Error, OSError) as exc:
        partial.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _storage_error_for_os(exc, f"the backups folder {backups_dir}") from exc
        raise StorageError(f"The backup copy of {source} could not be made: {exc}.") from exc
    log.info("database backed up to %s", target)
    return target


def _install_sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Readers start deferred (no lock); writers take the write lock at BEGIN.
        if conn.get_execution_options().get(_READ_ONLY_OPTION):
            conn.exec_driver_sql("BEGIN DEFERRED")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """An open, up-to-date workstation database."""

    def __init__(self, engine: Engine, *, sqlite_path: Path | None) -> None:
        self.engine = engine
        self.sqlite_path = sqlite_path
        self._sessions = sessionmaker(bind=engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            bind=engine.execution_options(**{_READ_ONLY_OPTION: True}), expire_on_commit=False
        )

    @property
    def display_url(self) -> str:
        """The URL with any password masked, for the status bar and messages."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    # ----------------------------------------------------------------------------- opening
    @classmethod
    def open(cls, settings: Settings) -> Database:
        """Open the configured database and upgrade its schema to the current revision."""
        _check_writable(settings.data_dir, f"the data folder {settings.data_dir}")
        url = _normalise_url(settings.database_url)
        sqlite_path: Path | None = None
        state: _SqliteState | None = None
        if url.get_backend_name() == "sqlite":
            if url.database and url.database != ":memory:":
                sqlite_path = Path(url.database).expanduser()
                _check_writable(sqlite_path.parent, f"the database folder {sqlite_path.parent}")
                state = _inspect_sqlite_file(sqlite_path)
                if state is not None:
                    _refuse_unknown_database(
                        str(sqlite_path), state.revisions, state.has_tables, state.has_version_table
                    )
            engine = cls._sqlite_engine(url, in_memory=sqlite_path is None)
        else:
            try:
                engine = create_engine(url, pool_pre_ping=True)
            except (ArgumentError, ModuleNotFoundError) as exc:
                raise ConfigurationError(
                    f"The database URL '{url.render_as_string(hide_password=True)}' cannot be "
                    f"used: {exc}"
                ) from exc
        database = cls(engine, sqlite_path=sqlite_path)
        try:
            database._upgrade(settings, state)
        except BaseException:
            engine.dispose()
            raise
        return database

    @staticmethod
    def _sqlite_engine(url: URL, *, in_memory: bool) -> Engine:
        kwargs: dict[str, Any] = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
        if in_memory:
            kwargs["poolclass"] = StaticPool
            kwargs["connect_args"]["check_same_thread"] = False
        engine = create_engine(url, **kwargs)
        _install_sqlite_events(engine)
        return engine

    def _upgrade(self, settings: Settings, sqlite_state: _SqliteState | None) -> None:
        head = head_revision()
        try:
            with self.engine.connect() as conn:
                current = tuple(MigrationContext.configure(conn).get_current_heads())
                names = set(inspect(conn).get_table_names())
                conn.rollback()
            _refuse_unknown_database(
                self.display_url, current, bool(names - {VERSION_TABLE}), VERSION_TABLE in names
            )
            if current == (head,):
                return
            existing = VERSION_TABLE in names
            if existing:
                log.warning("database at revision %s is behind %s; upgrading", current, head)
                if self.sqlite_path is not None and sqlite_state is not None:
                    label = f"before-{head}-from-{'-'.join(current) or 'base'}"
                    backup_sqlite(self.sqlite_path, settings.backups_dir, label=label)
                elif self.sqlite_path is None and self.is_sqlite:
                    pass  # in-memory database: nothing to back up
                else:
                    log.warning(
                        "the database %s is being upgraded to %s; the database administrator "
                        "must have made a backup before this upgrade",
                        self.display_url,
                        head,
                    )
            with self.engine.begin() as conn:
                command.upgrade(alembic_config(conn), "head")
        except OperationalError as exc:
            raise storage_error_for_db(exc, self.display_url) from exc
        except DBAPIError as exc:
            raise StorageError(
                f"The database {self.display_url} could not be prepared: {exc.orig}"
            ) from exc

    def schema_revision(self) -> str | None:
        """The schema revision stored in the database (None for an empty database)."""
        with self.engine.connect() as conn:
            heads = MigrationContext.configure(conn).get_current_heads()
            conn.rollback()
        return heads[0] if heads else None

    # ----------------------------------------------------------------------------- sessions
    @contextmanager
    def session(self, *, read_only: bool = False) -> Iterator[Session]:
        """A unit of work: commits when the block ends normally, rolls back on any error.

        ``read_only=True`` starts without taking the SQLite write lock and never commits.
        Driver errors become :class:`StorageError`, lost optimistic locks :class:`ConflictError`.
        """
        factory = self._read_sessions if read_only else self._sessions
        session = factory()
        try:
            yield session
            if not read_only:
                session.commit()
            # A read-only session ends in close(): its transaction is rolled back without
            # expiring the loaded objects, so callers may keep using them.
        except StaleDataError as exc:
            session.rollback()
            raise ConflictError(
                "Someone else changed this record meanwhile. Reload it and try again."
            ) from exc
        except OperationalError as exc:
            session.rollback()
            raise storage_error_for_db(exc, self.display_url) from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def close(self) -> None:
        self.engine.dispose()


def _refuse_unknown_database(
    name: str, revisions: tuple[str, ...], has_tables: bool, has_version_table: bool
) -> None:
    """Refuse a database made by a newer version, or one that is not a workstation database."""
    if revisions:
        script = script_directory()
        for revision in revisions:
            try:
                known = script.get_revision(revision)
            except (RevisionError, CommandError):
                known = None
            if known is None:
                raise StorageError(
                    f"The database {name} was made by a newer version of the workstation "
                    f"(schema '{revision}'). Update the software to use it; nothing was changed."
                )
    elif has_tables and not has_version_table:
        raise StorageError(
            f"The database {name} holds tables but is not a workstation database. "
            "Check the data folder or FRX_DATABASE_URL; nothing was changed."
        )
