"""Restoring a backup into an empty or new data folder (``frx admin restore``).

The backup is verified first (:func:`app.casework.backup.verify_backup`); a damaged one is not
restored. The data folder must be empty or not exist (a ``logs`` folder the command line made
itself is allowed), and an existing database is never overwritten. ``settings.toml`` is copied
first, so the restored settings decide where the database and the evidence go; then the
evidence files (each checked against its SHA-256) and the database snapshot. Opening the
restored database upgrades its schema when the backup is older (as every start does, with the
usual copy into ``backups/``), and ``admin.restored`` is recorded by ``system`` (nobody is
signed in yet) naming the backup's manifest SHA-256. The next start installs the face model as
on a first start, and the first search builds the search index from the database.

A backup without its database (PostgreSQL) restores the evidence and settings only; the database
is restored with the agency's PostgreSQL tools and nothing is recorded here.

If anything fails, what the restore wrote is removed again, so the data folder stays empty.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from app.casework.backup import BackupVerdict, verify_backup
from app.errors import ImportCancelled, IntegrityError, PolicyViolation, StorageError
from app.records.audit import append_event
from app.records.backup_files import (
    DATABASE_FILE,
    EVIDENCE_FOLDER,
    SETTINGS_NAME,
    Cancelled,
    copy_hashed,
    disk_error,
)
from app.records.base import utcnow
from app.records.db import Database
from app.records.evidence import EvidenceStore
from app.settings import Settings, default_data_dir, load_settings

Progress = Callable[[int, int, str], None]
SYSTEM_ACTOR = "system"
# What may already be in a data folder we restore into: the command line's own log folder.
_ALLOWED_IN_EMPTY = frozenset({"logs"})


@dataclass(frozen=True)
class RestoreResult:
    """What a restore wrote and where."""

    data_dir: Path
    manifest_sha256: str
    database_restored: bool
    database_path: Path | None
    evidence_files: int
    settings_restored: bool
    schema_revision: str | None


@dataclass
class _Written:
    """Files and folders the restore created, removed again when it fails."""

    files: list[Path] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)

    def undo(self) -> None:
        for path in reversed(self.files):
            path.unlink(missing_ok=True)
        for folder in reversed(self.folders):
            shutil.rmtree(folder, ignore_errors=True)


def _require_empty(data_dir: Path) -> None:
    if data_dir.exists() and not data_dir.is_dir():
        raise PolicyViolation(f"The data folder {data_dir} is a file; nothing was restored.")
    if not data_dir.is_dir():
        return
    others = sorted(p.name for p in data_dir.iterdir() if p.name not in _ALLOWED_IN_EMPTY)
    if others:
        raise PolicyViolation(
            f"The data folder {data_dir} is not empty (it holds {', '.join(others[:5])}). A backup "
            "is restored only into an empty or new data folder (set FRX_DATA_DIR); nothing was "
            "restored and nothing was overwritten."
        )


def _mkdirs(folder: Path, written: _Written) -> None:
    missing: list[Path] = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    folder.mkdir(parents=True, exist_ok=True)
    written.folders.extend(reversed(missing))


def _sqlite_target(settings: Settings) -> Path:
    if not settings.is_sqlite:
        raise PolicyViolation(
            "The backup holds an SQLite database, but the settings name a PostgreSQL database. "
            "Restore into a data folder that uses SQLite; nothing was restored."
        )
    name = make_url(settings.database_url).database
    if not name or name == ":memory:":
        raise PolicyViolation("The settings name no database file to restore into.")
    return Path(name).expanduser()


def _refuse_damaged(verdict: BackupVerdict) -> None:
    if verdict.ok:
        return
    counts = [
        f"{len(items)} {what}"
        for items, what in (
            (verdict.missing, "missing"),
            (verdict.altered, "altered"),
            (verdict.extra, "extra"),
        )
        if items
    ]
    detail = "; ".join([*(["files: " + ", ".join(counts)] if counts else []), *verdict.problems])
    raise IntegrityError(
        f"The backup in {verdict.folder} is damaged ({detail}); nothing was restored. "
        f"'frx admin verify-backup {verdict.folder}' lists what is wrong."
    )


def restore_backup(
    source: Path,
    *,
    env: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> RestoreResult:
    """Verify the backup in ``source`` and restore it into the (empty) configured data folder."""
    environment = dict(os.environ if env is None else env)
    data_dir = Path(environment.get("FRX_DATA_DIR") or default_data_dir()).expanduser()
    _require_empty(data_dir)
    verdict = verify_backup(source, cancelled=cancelled)
    _refuse_damaged(verdict)
    source = verdict.folder
    written = _Written()
    try:
        result = _restore(source, verdict, data_dir, environment, written, progress, cancelled)
    except ImportCancelled:
        written.undo()
        raise ImportCancelled("The restore was stopped; what it had copied was removed.") from None
    except OSError as exc:
        written.undo()
        raise disk_error(exc, data_dir, "the restore") from exc
    except BaseException:
        written.undo()
        raise
    return result


def _restore(
    source: Path,
    verdict: BackupVerdict,
    data_dir: Path,
    env: dict[str, str],
    written: _Written,
    progress: Progress | None,
    cancelled: Cancelled | None,
) -> RestoreResult:
    _mkdirs(data_dir, written)
    listed = [entry["path"] for entry in verdict.manifest["files"]]
    settings_restored = SETTINGS_NAME in listed
    if settings_restored:
        target = data_dir / SETTINGS_NAME
        copy_hashed(source / SETTINGS_NAME, target, mode=0o644)
        written.files.append(target)
    settings = load_settings(env)
    db_target = _sqlite_target(settings) if verdict.database_included else None
    if db_target is not None and db_target.exists():
        raise PolicyViolation(
            f"A database already exists at {db_target}; a restore never overwrites a database. "
            "Nothing was restored."
        )
    evidence = [p for p in listed if p.startswith(f"{EVIDENCE_FOLDER}/")]
    store = EvidenceStore(settings.evidence_dir)
    total = len(evidence) + 1
    for number, rel in enumerate(evidence, start=1):
        if cancelled is not None and cancelled():
            raise ImportCancelled("Stopped on request.")
        sha = Path(rel).name
        target = store.path(sha)
        if not store.verify(sha):  # a shared evidence folder may already hold it
            _mkdirs(target.parent, written)
            partial = target.with_name(f".{sha}.restore.part")
            written.files.append(partial)
            actual, _size = copy_hashed(source / rel, partial, cancelled=cancelled, mode=0o444)
            if actual != sha:
                raise IntegrityError(f"Evidence file {sha} changed while it was restored.")
            os.replace(partial, target)
            written.files.append(target)
        if progress is not None:
            progress(number, total, f"evidence {sha[:12]}")
    revision = verdict.manifest.get("database", {}).get("schema_revision")
    if db_target is not None:
        _mkdirs(db_target.parent, written)
        partial = db_target.with_name(db_target.name + ".restore.part")
        written.files.append(partial)
        copy_hashed(source / DATABASE_FILE, partial, cancelled=cancelled)
        os.replace(partial, db_target)
        written.files.extend(Path(f"{db_target}{suffix}") for suffix in ("", "-wal", "-shm"))
        revision = _record_restore(settings, verdict)
    if progress is not None:
        progress(total, total, "done")
    return RestoreResult(
        data_dir=data_dir,
        manifest_sha256=verdict.manifest_sha256,
        database_restored=db_target is not None,
        database_path=db_target,
        evidence_files=len(evidence),
        settings_restored=settings_restored,
        schema_revision=revision,
    )


def _record_restore(settings: Settings, verdict: BackupVerdict) -> str | None:
    """Open the restored database (upgrading an older schema) and record ``admin.restored``."""
    try:
        database = Database.open(settings)
    except sqlite3.Error as exc:  # pragma: no cover - Database.open reports its own errors
        raise StorageError(f"The restored database cannot be opened: {exc}.") from exc
    try:
        with database.session() as session:
            append_event(
                session,
                actor=SYSTEM_ACTOR,
                action="admin.restored",
                object_type="backup",
                object_id=verdict.manifest_sha256[:16],
                details={
                    "manifest_sha256": verdict.manifest_sha256,
                    "backup_created_at": verdict.manifest.get("created_at"),
                    "backup_created_by": verdict.manifest.get("created_by"),
                    "backup_folder": str(verdict.folder),
                    "backup_schema_revision": verdict.manifest.get("database", {}).get(
                        "schema_revision"
                    ),
                    "evidence_files": verdict.manifest.get("evidence_files"),
                },
                occurred_at=utcnow(),
            )
        return database.schema_revision()
    finally:
        database.close()
