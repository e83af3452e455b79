"""Backing up a workstation (administrators only) and checking a backup folder.

:func:`make_backup` writes a new folder holding a consistent snapshot of the SQLite database
(SQLite's online backup API, while the workstation may be running), every evidence file the
snapshot references (copied, never moved, and checked against its SHA-256), ``settings.toml``
when there is one, and ``backup-manifest.json`` listing every file with its size and SHA-256.
The face models (reinstalled with ``frx model install-default``) and the search index (rebuilt
from the database) are not included; the manifest says so. Everything is written into a hidden
folder next to the destination and renamed at the end, so a failed, cancelled or killed backup
never leaves a folder that looks complete. The ``admin.backup_made`` event is recorded after the
snapshot, so it is not part of the backup it describes.

With PostgreSQL the database is not included (the agency backs it up with its PostgreSQL tools,
``pg_dump``); the evidence and settings are, and the manifest records that the database is not.

:func:`verify_backup` needs no database and no sign-in: it recomputes every file's hash, and
checks the snapshot read-only (``PRAGMA integrity_check``, the audit chain, the evidence files it
references against the manifest, the last audit event against the manifest).
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import __version__
from app.casework.account_rules import SignedInUser
from app.casework.accounts import check_administrator
from app.casework.workstation import Workstation
from app.errors import ImportCancelled, InvalidInput, StorageError
from app.records.audit import append_event, format_timestamp
from app.records.backup_files import (
    BACKUP_FORMAT,
    DATABASE_FILE,
    FORMAT_VERSION,
    MANIFEST_NAME,
    SETTINGS_NAME,
    Cancelled,
    FileEntry,
    check_folder,
    copy_evidence,
    copy_hashed,
    disk_error,
    evidence_entry_path,
    hash_file,
    read_manifest,
    write_manifest,
)
from app.records.backup_snapshot import (
    DatabaseFacts,
    check_snapshot,
    live_facts,
    snapshot_facts,
    snapshot_sqlite,
)

Progress = Callable[[int, int, str], None]

NOT_INCLUDED = {
    "models": "The face models are not included: reinstall them with 'frx model install-default'.",
    "index": "The search index is not included: it is rebuilt from the database.",
}
POSTGRESQL_NOTE = (
    "The database is PostgreSQL and is not included in this backup: back it up with the "
    "agency's PostgreSQL tools (pg_dump)."
)


@dataclass(frozen=True)
class BackupResult:
    """What a backup wrote."""

    folder: Path
    manifest_sha256: str
    files: int  # listed in the manifest (the manifest itself not counted)
    evidence_files: int
    bytes: int
    database_included: bool
    last_audit_sequence: int | None


def _check_destination(output: Path) -> None:
    if output.exists() and not output.is_dir():
        raise InvalidInput(f"{output} is a file, not a folder; choose a new folder for the backup.")
    if output.is_dir() and any(output.iterdir()):
        raise InvalidInput(
            f"The folder {output} already exists and is not empty; a backup is written into a "
            "new folder. Choose another folder."
        )


def _copy_files(
    ws: Workstation, work: Path, progress: Progress | None, cancelled: Cancelled | None
) -> tuple[DatabaseFacts, list[FileEntry], bool]:
    """Snapshot (SQLite), evidence and settings into ``work``; the facts and the entries."""
    entries: list[FileEntry] = []
    sqlite_path = ws.database.sqlite_path
    included = sqlite_path is not None
    if sqlite_path is not None:
        target = work / DATABASE_FILE
        target.parent.mkdir(parents=True)
        if progress is not None:
            progress(0, 1, "database snapshot")
        snapshot_sqlite(sqlite_path, target)
        facts = snapshot_facts(target)
        sha, size = hash_file(target)
        entries.append(FileEntry(DATABASE_FILE, size, sha))
    else:
        with ws.database.session(read_only=True) as session:
            facts = live_facts(session)
    total = len(facts.evidence) + 1
    for number, (sha, _size) in enumerate(facts.evidence, start=1):
        if cancelled is not None and cancelled():
            raise _stopped()
        rel = evidence_entry_path(sha)
        size = copy_evidence(ws.evidence.path(sha), work / rel, sha, cancelled=cancelled)
        entries.append(FileEntry(rel, size, sha))
        if progress is not None:
            progress(number, total, f"evidence {sha[:12]}")
    settings_file = ws.settings.data_dir / SETTINGS_NAME
    if settings_file.is_file():
        sha, size = copy_hashed(settings_file, work / SETTINGS_NAME)
        entries.append(FileEntry(SETTINGS_NAME, size, sha))
    if progress is not None:
        progress(total, total, "manifest")
    return facts, entries, included


def _stopped() -> ImportCancelled:
    return ImportCancelled("The backup was stopped; no backup folder was left behind.")


def _manifest(
    ws: Workstation,
    by: SignedInUser,
    facts: DatabaseFacts,
    entries: list[FileEntry],
    included: bool,
) -> dict[str, Any]:
    database: dict[str, Any] = {
        "included": included,
        "engine": "sqlite" if included else ws.database.engine.dialect.name,
        "schema_revision": facts.schema_revision,
    }
    if included:
        database["path"] = DATABASE_FILE
    else:
        database["note"] = POSTGRESQL_NOTE
    return {
        "format": BACKUP_FORMAT,
        "format_version": FORMAT_VERSION,
        "app_version": __version__,
        "created_at": format_timestamp(ws.now()),
        "created_by": by.username,
        "database": database,
        "audit": {
            "last_sequence": facts.last_audit_sequence,
            "last_hash": facts.last_audit_hash,
            "note": "The admin.backup_made event is recorded after the snapshot, so it is not "
            "in this backup.",
        },
        "evidence_files": len(facts.evidence),
        "settings_included": any(e.path == SETTINGS_NAME for e in entries),
        "not_included": NOT_INCLUDED,
        "files": [entry.to_dict() for entry in entries],
    }


def make_backup(
    ws: Workstation,
    *,
    by: SignedInUser,
    output: Path,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> BackupResult:
    """Back up the workstation into the new folder ``output`` (administrators only, audited)."""
    check_administrator(ws, by=by, attempted="make a backup of the workstation")
    output = Path(output).expanduser().absolute()
    _check_destination(output)
    work = output.parent / f".{output.name}.partial-{secrets.token_hex(4)}"
    done = False
    try:
        work.mkdir(parents=True)
        facts, entries, included = _copy_files(ws, work, progress, cancelled)
        manifest = _manifest(ws, by, facts, entries, included)
        manifest_sha = write_manifest(work, manifest)
        if output.is_dir():
            output.rmdir()  # an empty folder the administrator made for the backup
        os.rename(work, output)
        done = True
    except ImportCancelled:
        raise _stopped() from None
    except OSError as exc:
        raise disk_error(exc, output.parent, "the backup") from exc
    except sqlite3.Error as exc:
        raise StorageError(f"The database snapshot could not be taken: {exc}.") from exc
    finally:
        if not done:
            shutil.rmtree(work, ignore_errors=True)
    result = BackupResult(
        folder=output,
        manifest_sha256=manifest_sha,
        files=len(entries),
        evidence_files=len(facts.evidence),
        bytes=sum(entry.size for entry in entries),
        database_included=included,
        last_audit_sequence=facts.last_audit_sequence,
    )
    with ws.database.session() as session:
        append_event(
            session,
            actor=by.username,
            action="admin.backup_made",
            object_type="backup",
            object_id=result.manifest_sha256[:16],
            details={
                "folder": str(output),
                "manifest_sha256": result.manifest_sha256,
                "files": result.files,
                "evidence_files": result.evidence_files,
                "bytes": result.bytes,
                "database_included": included,
                "last_audit_sequence": facts.last_audit_sequence,
            },
            occurred_at=ws.now(),
        )
    return result


# ------------------------------------------------------------------------------ verification
@dataclass
class BackupVerdict:
    """The result of checking a backup folder; ``ok`` when nothing is missing, altered or extra
    and the database snapshot (when included) passes its checks."""

    folder: Path
    manifest_sha256: str
    manifest: dict[str, Any]
    files: int
    bytes: int
    missing: list[str] = field(default_factory=list)
    altered: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.altered or self.extra or self.problems)

    @property
    def database_included(self) -> bool:
        return bool(self.manifest.get("database", {}).get("included"))


def verify_backup(
    folder: Path,
    *,
    expected_manifest_sha256: str | None = None,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> BackupVerdict:
    """Check a backup folder against its manifest (no database, no sign-in needed).

    StorageError when the folder or its manifest cannot be read at all.
    """
    folder = Path(folder).expanduser()
    manifest = read_manifest(folder)
    try:
        check = check_folder(folder, manifest, progress=progress, cancelled=cancelled)
    except ImportCancelled:
        raise ImportCancelled("The check of the backup was stopped; nothing was changed.") from None
    verdict = BackupVerdict(
        folder=folder,
        manifest_sha256=manifest.sha256,
        manifest=manifest.data,
        files=check.checked,
        bytes=check.bytes_checked,
        missing=check.missing,
        altered=check.altered,
        extra=check.extra,
    )
    if expected_manifest_sha256 is not None and (
        expected_manifest_sha256.strip().lower() != manifest.sha256
    ):
        verdict.problems.append(
            "The manifest is not the one that was recorded: its SHA-256 is "
            f"{manifest.sha256}, not {expected_manifest_sha256.strip()}."
        )
    if manifest.database_included:
        _check_database(folder, manifest.data, {e.path for e in manifest.files}, verdict)
    return verdict


def _check_database(
    folder: Path, manifest: dict[str, Any], listed: set[str], verdict: BackupVerdict
) -> None:
    if DATABASE_FILE not in listed:
        verdict.problems.append("The manifest says the database is included but does not list it.")
        return
    if DATABASE_FILE in verdict.missing:
        return
    snapshot = check_snapshot(folder / DATABASE_FILE)
    if not snapshot.ok:
        verdict.problems.append(snapshot.problem or "The database snapshot failed its checks.")
    facts = snapshot.facts
    if facts is None:
        return
    audit = manifest.get("audit") or {}
    if (facts.last_audit_sequence, facts.last_audit_hash) != (
        audit.get("last_sequence"),
        audit.get("last_hash"),
    ):
        verdict.problems.append(
            "The last audit event in the database snapshot is not the one the manifest records."
        )
    if facts.schema_revision != manifest.get("database", {}).get("schema_revision"):
        verdict.problems.append(
            "The database snapshot's schema revision is not the one the manifest records."
        )
    for sha, _size in facts.evidence:
        rel = evidence_entry_path(sha)
        if rel not in listed and rel not in verdict.missing:
            verdict.missing.append(rel)


__all__ = [
    "MANIFEST_NAME",
    "NOT_INCLUDED",
    "POSTGRESQL_NOTE",
    "BackupResult",
    "BackupVerdict",
    "make_backup",
    "verify_backup",
]
