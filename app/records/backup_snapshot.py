"""The database part of a backup: an SQLite snapshot, what it holds, and its checks.

The snapshot is taken with SQLite's online backup API (a consistent copy while the workstation
runs) and turned into one self-contained file. Its facts (schema revision, last audit event,
the evidence files it references) are read from the snapshot itself, so the manifest describes
exactly the moment copied. A snapshot is checked read-only: ``PRAGMA integrity_check`` and the
audit chain's verification (:func:`app.records.audit.verify_chain`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.records.audit import ChainReport, verify_chain
from app.records.db import VERSION_TABLE, copy_sqlite_online
from app.records.models import AuditEvent, EvidenceFile


@dataclass(frozen=True)
class DatabaseFacts:
    """What a database (or its snapshot) holds that a backup's manifest records."""

    schema_revision: str | None
    last_audit_sequence: int | None
    last_audit_hash: str | None
    evidence: tuple[tuple[str, int], ...]  # (sha256, size) of every evidence file


def snapshot_sqlite(source: Path, target: Path) -> None:
    """A consistent, self-contained copy of the live SQLite database (raises OSError,
    sqlite3.Error)."""
    copy_sqlite_online(source, target, standalone=True)


@contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        yield conn
    finally:
        conn.close()


def snapshot_facts(path: Path) -> DatabaseFacts:
    """The facts of an SQLite snapshot, read without changing it (raises sqlite3.Error)."""
    with _read_only(path) as conn:
        revision_row = conn.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
        last = conn.execute(
            "SELECT sequence, hash FROM audit_events ORDER BY sequence DESC LIMIT 1"
        ).fetchone()
        evidence = tuple(
            (str(sha), int(size))
            for sha, size in conn.execute("SELECT sha256, size FROM evidence_files ORDER BY sha256")
        )
    return DatabaseFacts(
        schema_revision=None if revision_row is None else str(revision_row[0]),
        last_audit_sequence=None if last is None else int(last[0]),
        last_audit_hash=None if last is None else str(last[1]),
        evidence=evidence,
    )


def live_facts(session: Session) -> DatabaseFacts:
    """The same facts read from the live database (PostgreSQL: no snapshot is taken)."""
    heads = MigrationContext.configure(session.connection()).get_current_heads()
    last = session.execute(
        select(AuditEvent.sequence, AuditEvent.hash).order_by(AuditEvent.sequence.desc()).limit(1)
    ).first()
    evidence = tuple(
        (str(sha), int(size))
        for sha, size in session.execute(
            select(EvidenceFile.sha256, EvidenceFile.size).order_by(EvidenceFile.sha256)
        )
    )
    return DatabaseFacts(
        schema_revision=heads[0] if heads else None,
        last_audit_sequence=None if last is None else int(last[0]),
        last_audit_hash=None if last is None else str(last[1]),
        evidence=evidence,
    )


@dataclass(frozen=True)
class SnapshotCheck:
    """The checks of a database snapshot; ``problem`` is a plain sentence when not ``ok``."""

    ok: bool
    problem: str | None
    facts: DatabaseFacts | None
    chain: ChainReport | None


def check_snapshot(path: Path) -> SnapshotCheck:
    """``PRAGMA integrity_check`` and the audit chain of a snapshot, opened read-only."""
    try:
        with _read_only(path) as conn:
            rows = [str(row[0]) for row in conn.execute("PRAGMA integrity_check").fetchall()]
        if rows != ["ok"]:
            return SnapshotCheck(
                False, f"The database snapshot is damaged (integrity check: {rows[0]}).", None, None
            )
        facts = snapshot_facts(path)
    except sqlite3.Error as exc:
        return SnapshotCheck(False, f"The database snapshot cannot be read ({exc}).", None, None)
    uri = f"{path.resolve().as_uri()}?mode=ro"
    engine = create_engine(
        "sqlite://",
        creator=lambda: sqlite3.connect(uri, uri=True),
        poolclass=NullPool,
    )
    try:
        with Session(engine) as session:
            chain = verify_chain(session)
    except (SQLAlchemyError, sqlite3.Error) as exc:
        return SnapshotCheck(
            False, f"The audit log in the database snapshot cannot be read ({exc}).", facts, None
        )
    finally:
        engine.dispose()
    if not chain.ok:
        return SnapshotCheck(
            False,
            f"The audit log in the database snapshot is broken: {chain.problem}",
            facts,
            chain,
        )
    return SnapshotCheck(True, None, facts, chain)
