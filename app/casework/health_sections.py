"""The five sections of the workstation health check (``frx admin check``), each read-only.

Every function here returns a :class:`Section`: ``OK``, ``PROBLEM`` or ``SKIPPED`` with one
summary sentence, the problems (plain sentences, every one of them) and the warnings (things an
administrator may want to know that are not damage). Nothing is repaired, rebuilt or deleted.

- database: SQLite's ``PRAGMA integrity_check`` (``quick_check`` when quick); on PostgreSQL
  skipped, since checking the storage is the database server's job;
- audit chain: :func:`app.records.audit.verify_chain` over the whole log;
- evidence store: every evidence row's file exists, has the recorded size and (unless quick)
  its SHA-256, and a damaged one is named with the records that hold it; files nobody refers
  to are warnings (a save rolled back after the file was written, or a purge that could not
  remove a file, leaves such harmless leftovers);
- search index per installed model: what the next search would do with it (use it, catch up,
  build it, or rebuild it because it is damaged, ahead of the database or holds other photos);
- face models: the manifest's SHA-256 against the file, as ``frx model verify`` checks it.
"""

from __future__ import annotations

import os
import stat as stat_module
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from app.casework.evidence_uses import where_it_belongs
from app.casework.gallery_engine import model_manifest
from app.casework.gallery_records import gallery_generation
from app.casework.index_sync import index_path, live_ids_in_database, open_model_index
from app.casework.models import ModelStatus, model_not_installed
from app.casework.workstation import Workstation
from app.engine.index_files import META_FILE
from app.errors import FrxError, ImportCancelled, IndexCorruptError, IndexFormatError
from app.records.audit import ChainReport, verify_chain
from app.records.backup_files import hash_file
from app.records.models import EvidenceFile

Progress = Callable[[int, int, str], None]
Cancelled = Callable[[], bool]

OK = "OK"
PROBLEM = "PROBLEM"
SKIPPED = "SKIPPED"

ORPHAN_NOTE = (
    "Files in the evidence store that no record refers to are harmless leftovers of a save that "
    "was interrupted or rolled back after its file was written, or of a purge that could not "
    "remove a file; they are listed, not deleted, and are not a problem."
)


@dataclass
class Section:
    """One part of the health check and what it found."""

    key: str  # database, audit, evidence, index, models
    title: str
    status: str = OK
    summary: str = ""
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def problem(self, sentence: str) -> None:
        self.problems.append(sentence)
        self.status = PROBLEM

    def to_dict(self) -> dict[str, Any]:
        return {
            "section": self.key,
            "title": self.title,
            "status": self.status,
            "summary": self.summary,
            "problems": list(self.problems),
            "warnings": list(self.warnings),
            "counts": dict(self.counts),
        }


def _plural(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


# ------------------------------------------------------------------------------ database
def check_database(ws: Workstation, *, quick: bool) -> Section:
    """SQLite ``integrity_check`` (``quick_check`` when ``quick``); skipped on PostgreSQL."""
    section = Section("database", "Database")
    if not ws.database.is_sqlite:
        section.status = SKIPPED
        section.summary = (
            f"The database is {ws.database.engine.dialect.name}: checking its storage is the "
            "database server's job (its own tools and monitoring), so it was skipped here."
        )
        return section
    pragma = "quick_check" if quick else "integrity_check"
    try:
        with ws.database.session(read_only=True) as session:
            rows = [str(row[0]) for row in session.execute(text(f"PRAGMA {pragma}"))]
    except SQLAlchemyError as exc:
        section.problem(f"The database cannot be read: {exc.__class__.__name__}.")
        section.summary = f"SQLite {pragma} could not run."
        return section
    if rows == ["ok"]:
        section.summary = f"SQLite {pragma}: ok."
        return section
    for row in rows:
        section.problem(f"SQLite {pragma}: {row}")
    section.summary = (
        f"SQLite {pragma} found damage ({_plural(len(rows), 'message')}); restore the latest "
        "backup (frx admin restore) after saving a copy of the damaged database."
    )
    return section


# ------------------------------------------------------------------------------ audit chain
def chain_sentence(report: ChainReport) -> str:
    """The result as ``frx audit verify`` prints it."""
    if report.ok:
        return f"audit chain intact: {report.events_checked} events"
    where = f"at event {report.first_bad_sequence}" if report.first_bad_sequence is not None else ""
    return (
        f"audit chain BROKEN {where}: {report.problem} "
        f"({report.events_checked} events before it verified)"
    ).replace("  ", " ")


def check_audit(ws: Workstation) -> Section:
    """The whole hash chain, read-only (no ``audit.verified`` event; the check records its own)."""
    section = Section("audit", "Audit chain")
    try:
        with ws.database.session(read_only=True) as session:
            report = verify_chain(session)
    except SQLAlchemyError as exc:
        section.problem(f"The audit log cannot be read: {exc.__class__.__name__}.")
        section.summary = "The audit log could not be read."
        return section
    section.summary = chain_sentence(report) + "."
    section.counts["events_checked"] = report.events_checked
    if not report.ok:
        section.problem(chain_sentence(report) + ".")
    return section


# ------------------------------------------------------------------------------ evidence
def _stray_files(root: Path, referenced: set[str]) -> list[str]:
    """Files under the store that no evidence row names (paths relative to the store)."""
    found: list[str] = []
    if not root.is_dir():
        return found
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        here = Path(folder)
        for name in sorted(files):
            path = here / name
            rel = path.relative_to(root).as_posix()
            if name in referenced and here.parent == root and here.name == name[:2]:
                continue
            found.append(rel)
    return found


def _check_one_file(
    ws: Workstation, sha: str, size: int, *, quick: bool, cancelled: Cancelled | None
) -> tuple[str, str] | None:
    """(kind, sentence) of what is wrong with one evidence file, or None when it is fine."""
    path = ws.evidence.path(sha)
    try:
        info = path.stat()
    except FileNotFoundError:
        return "missing", f"{sha}: missing from the evidence store (the database records it)."
    except OSError as exc:
        return "unreadable", f"{sha}: cannot be read ({exc.strerror or exc})."
    if not stat_module.S_ISREG(info.st_mode):
        return "missing", f"{sha}: missing from the evidence store (not a file)."
    if info.st_size != size:
        return "altered", (
            f"{sha}: altered or damaged: it has {_plural(info.st_size, 'byte')}, the database "
            f"records {size}."
        )
    if quick:
        return None
    try:
        actual, _read = hash_file(path, cancelled)
    except OSError as exc:
        return "unreadable", f"{sha}: cannot be read ({exc.strerror or exc})."
    if actual != sha:
        return "altered", (
            f"{sha}: altered or damaged: its contents no longer match its SHA-256 hash."
        )
    return None


def check_evidence(
    ws: Workstation,
    *,
    quick: bool,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> Section:
    """Every evidence row's file (existence, size, SHA-256 unless ``quick``); stray files."""
    section = Section("evidence", "Evidence store")
    with ws.database.session(read_only=True) as session:
        rows = [
            (str(sha), int(size))
            for sha, size in session.execute(
                select(EvidenceFile.sha256, EvidenceFile.size).order_by(EvidenceFile.sha256)
            )
        ]
    kinds = {"missing": 0, "altered": 0, "unreadable": 0}
    checked_bytes = 0
    total = len(rows)
    damaged: dict[str, str] = {}
    for number, (sha, size) in enumerate(rows, start=1):
        if cancelled is not None and cancelled():
            raise ImportCancelled("Stopped on request.")
        found = _check_one_file(ws, sha, size, quick=quick, cancelled=cancelled)
        if found is None:
            checked_bytes += size
        else:
            kinds[found[0]] += 1
            damaged[sha] = found[1]
        if progress is not None:
            progress(number, total, f"evidence {sha[:12]}")
    if damaged:  # say which records hold each damaged file, so it can be looked up
        with ws.database.session(read_only=True) as session:
            belongs = where_it_belongs(session, damaged)
        for sha, sentence in damaged.items():
            section.problem(sentence + belongs.get(sha, ""))
    strays = _stray_files(ws.evidence.root, {sha for sha, _size in rows})
    section.warnings.extend(f"{rel}: no record refers to it." for rel in strays)
    section.counts.update(files=total, bytes_verified=checked_bytes, orphans=len(strays), **kinds)
    how = "existence and size only, --quick" if quick else "existence, size and SHA-256"
    summary = f"{_plural(total, 'evidence file')} checked ({how})"
    counted = [f"{count} {kind}" for kind, count in kinds.items() if count]
    if counted:
        summary += ": " + ", ".join(counted)
    if strays:
        summary += f"; {_plural(len(strays), 'file')} no record refers to (harmless, not deleted)"
    section.summary = summary + "."
    if strays:
        section.warnings.append(ORPHAN_NOTE)
    return section


# ------------------------------------------------------------------------------ search index
def _index_verdict(ws: Workstation, name: str, section: Section) -> str:
    """What the next search would do with model ``name``'s index (one phrase)."""
    manifest = model_manifest(ws.settings, name)
    path = index_path(ws, name)
    with ws.database.session(read_only=True) as session:
        target = gallery_generation(session)
        in_database = live_ids_in_database(session, manifest)
    if not (path / META_FILE).exists():
        if len(in_database):
            section.warnings.append(
                f"{name}: there is no search index yet; the next search builds it from the "
                f"database ({_plural(len(in_database), 'photo')})."
            )
        return "no index yet (built at the next search)"
    try:
        index = open_model_index(path, manifest)
    except IndexFormatError as exc:
        section.warnings.append(f"{name}: {exc} The next search rebuilds it.")
        return "written by an earlier version (rebuilt at the next search)"
    except IndexCorruptError as exc:
        section.problem(f"{name}: {exc} The next search rebuilds it.")
        return "damaged (rebuilt at the next search)"
    generation = index.generation
    if generation > target:
        section.problem(
            f"{name}: the index reflects gallery generation {generation}, but the database is at "
            f"{target} (a restored or a different database); the next search rebuilds it."
        )
        return f"generation {generation} ahead of the database's {target} (rebuilt next search)"
    if generation < target:
        section.warnings.append(
            f"{name}: the index is at gallery generation {generation}, the database at {target}; "
            "the next search catches up on the newer changes (normal after gallery changes)."
        )
        return f"generation {generation} of {target} (caught up at the next search)"
    if not np.array_equal(np.sort(index.ids()), in_database):
        section.problem(
            f"{name}: the index does not hold the same photos as the gallery in the database "
            f"({len(index)} in the index, {len(in_database)} in the database); the next search "
            "rebuilds it."
        )
        return "holds other photos than the database (rebuilt at the next search)"
    if index.wants_rebuild:
        section.warnings.append(
            f"{name}: the gallery has grown to {_plural(len(index), 'photo')}; the next search "
            "rebuilds the index on the descriptors' principal axes, about twice as fast "
            "to search."
        )
    return f"generation {generation}, current ({_plural(len(in_database), 'photo')})"


def check_indexes(ws: Workstation, statuses: list[ModelStatus]) -> Section:
    """Each installed model's search index against the database, changing nothing."""
    section = Section("index", "Search index")
    phrases: list[str] = []
    names = [status.name for status in statuses]
    for name in names:
        try:
            phrases.append(f"{name}: {_index_verdict(ws, name, section)}")
        except FrxError as exc:
            section.warnings.append(f"{name}: the index was not checked: {exc}")
    folder = ws.settings.index_dir
    if folder.is_dir():
        for extra in sorted(p.name for p in folder.iterdir() if p.is_dir()):
            if extra not in names and not extra.startswith("."):
                section.warnings.append(
                    f"{extra}: an index folder of a model that is not installed (not used)."
                )
    section.counts["indexes"] = len(names)
    section.summary = ("; ".join(phrases) if phrases else "no installed model, no index") + "."
    return section


# ------------------------------------------------------------------------------ face models
def check_models(ws: Workstation, statuses: list[ModelStatus]) -> Section:
    """Each installed model's file against its manifest (``frx model verify``'s check)."""
    section = Section("models", "Face models")
    verified = [s for s in statuses if s.verified]
    for status in statuses:
        if not status.verified:
            section.problem(f"{status.name}: {status.problem}")
    if ws.settings.model_name not in {s.name for s in statuses}:
        section.warnings.append(str(model_not_installed(ws.settings, ws.settings.model_name)))
    section.counts.update(installed=len(statuses), verified=len(verified))
    section.summary = (
        f"{len(verified)} of {_plural(len(statuses), 'installed model')} verified "
        "(file SHA-256 against the manifest)."
        if statuses
        else "no face model is installed."
    )
    return section


__all__ = [
    "OK",
    "ORPHAN_NOTE",
    "PROBLEM",
    "SKIPPED",
    "Section",
    "chain_sentence",
    "check_audit",
    "check_database",
    "check_evidence",
    "check_indexes",
    "check_models",
]
