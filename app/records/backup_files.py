"""Files of a workstation backup: streamed, hash-checked copies, the manifest, the folder check.

A backup folder holds ``backup-manifest.json`` and, under the paths the manifest names, the
database snapshot (``database/frx.sqlite3``), the evidence files (``evidence/ab/abcdef...``, the
store's own layout) and ``settings.toml``. Every file is listed with its size and SHA-256.
Files are copied a chunk at a time (never whole into memory), flushed to disk, and their hash is
computed from the bytes written; an evidence file whose bytes do not match its name is refused.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from app.errors import ImportCancelled, IntegrityError, StorageError

MANIFEST_NAME = "backup-manifest.json"
BACKUP_FORMAT = "frx-workstation-backup"
FORMAT_VERSION = 1
DATABASE_FILE = "database/frx.sqlite3"
EVIDENCE_FOLDER = "evidence"
SETTINGS_NAME = "settings.toml"
CHUNK = 1024 * 1024
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")

Cancelled = Callable[[], bool]


@dataclass(frozen=True)
class FileEntry:
    """One file of a backup: its path relative to the backup folder (``/`` separated)."""

    path: str
    size: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}


def evidence_entry_path(sha: str) -> str:
    """Where an evidence file lives in a backup (the store's own two-level layout)."""
    return f"{EVIDENCE_FOLDER}/{sha[:2]}/{sha}"


def disk_error(exc: OSError, where: Path, what: str) -> StorageError:
    """A plain sentence for an operating-system error while writing ``what`` into ``where``."""
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return StorageError(
            f"The disk holding {where} is full, so {what} could not be completed; nothing was "
            "left behind. Free some space or choose another disk and try again."
        )
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return StorageError(
            f"{where} is read-only or not writable by this account, so {what} could not be "
            "completed; nothing was left behind."
        )
    return StorageError(f"{what[0].upper()}{what[1:]} failed in {where}: {exc.strerror or exc}.")


def hash_file(path: Path, cancelled: Cancelled | None = None) -> tuple[str, int]:
    """SHA-256 and size of a file, read a chunk at a time."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            if cancelled is not None and cancelled():
                raise ImportCancelled("Stopped on request.")
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def copy_hashed(
    source: Path, target: Path, *, cancelled: Cancelled | None = None, mode: int = 0o600
) -> tuple[str, int]:
    """Copy ``source`` into the new file ``target`` a chunk at a time, flush it to disk, and
    return the SHA-256 and size of the bytes written. Raises ``OSError``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as src:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            while chunk := src.read(CHUNK):
                if cancelled is not None and cancelled():
                    raise ImportCancelled("Stopped on request.")
                view = memoryview(chunk)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                digest.update(chunk)
                size += len(chunk)
            os.fsync(fd)
        finally:
            os.close(fd)
    return digest.hexdigest(), size


def copy_evidence(
    source: Path, target: Path, sha: str, *, cancelled: Cancelled | None = None
) -> int:
    """Copy one evidence file, checking its bytes against its hash; returns its size."""
    try:
        actual, size = copy_hashed(source, target, cancelled=cancelled, mode=0o444)
    except FileNotFoundError:
        raise IntegrityError(
            f"Evidence file {sha} is recorded in the database but missing from the evidence "
            f"store ({source.parent.parent})."
        ) from None
    if actual != sha:
        raise IntegrityError(
            f"Evidence file {sha} in the store has been altered or damaged: its contents no "
            "longer match its SHA-256 hash. Investigate before making a backup."
        )
    return size


# ------------------------------------------------------------------------------ manifest
def write_manifest(folder: Path, manifest: dict[str, Any]) -> str:
    """Write ``backup-manifest.json`` (flushed to disk) and return its SHA-256."""
    data = (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    path = folder / MANIFEST_NAME
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Manifest:
    """A backup's manifest as read back, with its own SHA-256."""

    data: dict[str, Any]
    sha256: str
    files: tuple[FileEntry, ...]

    @property
    def database_included(self) -> bool:
        return bool(self.data.get("database", {}).get("included"))


def _unreadable(folder: Path, why: str) -> StorageError:
    return StorageError(f"{folder} cannot be read as a workstation backup: {why}.")


def _safe_relative(text: object) -> str | None:
    """A relative path inside the backup folder, or None (absolute, '..', odd characters)."""
    if not isinstance(text, str) or not text or "\\" in text or "\x00" in text:
        return None
    path = PurePosixPath(text)
    if path.is_absolute() or any(part in ("..", ".", "") for part in path.parts):
        return None
    return path.as_posix()


def read_manifest(folder: Path) -> Manifest:
    """Read and check the manifest's form; StorageError (a plain reason) when it cannot be used."""
    path = folder / MANIFEST_NAME
    if not folder.is_dir():
        raise _unreadable(folder, "it is not a folder")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _unreadable(folder, f"it has no {MANIFEST_NAME}") from None
    except OSError as exc:
        raise _unreadable(folder, f"{MANIFEST_NAME} cannot be read ({exc.strerror})") from exc
    try:
        content = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _unreadable(folder, f"{MANIFEST_NAME} is not valid JSON") from None
    if not isinstance(content, dict) or content.get("format") != BACKUP_FORMAT:
        raise _unreadable(folder, f"{MANIFEST_NAME} is not a workstation backup manifest")
    version = content.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise _unreadable(
            folder, f"it was made in backup format {version!r}, newer than this software reads"
        )
    raw_files = content.get("files")
    if not isinstance(raw_files, list) or not isinstance(content.get("database"), dict):
        raise _unreadable(folder, f"{MANIFEST_NAME} has no list of files")
    files: list[FileEntry] = []
    for item in raw_files:
        rel = _safe_relative(item.get("path")) if isinstance(item, dict) else None
        size = item.get("size") if isinstance(item, dict) else None
        sha = item.get("sha256") if isinstance(item, dict) else None
        if (
            rel is None
            or not isinstance(size, int)
            or size < 0
            or not isinstance(sha, str)
            or not _SHA256_RE.match(sha)
        ):
            raise _unreadable(folder, f"{MANIFEST_NAME} lists a file in a form it cannot use")
        files.append(FileEntry(rel, size, sha))
    return Manifest(content, hashlib.sha256(data).hexdigest(), tuple(files))


# ------------------------------------------------------------------------------ folder check
@dataclass
class FolderCheck:
    """Files of a backup compared with its manifest (paths relative to the backup folder)."""

    missing: list[str] = field(default_factory=list)
    altered: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    checked: int = 0
    bytes_checked: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.altered or self.extra)


def _files_under(folder: Path) -> Iterator[str]:
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            yield (Path(root) / name).relative_to(folder).as_posix()


def check_folder(
    folder: Path,
    manifest: Manifest,
    *,
    progress: Callable[[int, int, str], None] | None = None,
    cancelled: Cancelled | None = None,
) -> FolderCheck:
    """Recompute every listed file's SHA-256 and size; list missing, altered and extra files.

    An evidence file also counts as altered when the manifest's hash is not the one its name
    (and so the database) gives it.
    """
    result = FolderCheck()
    listed = {entry.path for entry in manifest.files}
    total = len(manifest.files)
    for number, entry in enumerate(manifest.files, start=1):
        path = folder / entry.path
        try:
            sha, size = hash_file(path, cancelled)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            result.missing.append(entry.path)
        except OSError:
            result.altered.append(entry.path)
        else:
            named = entry.path.startswith(f"{EVIDENCE_FOLDER}/")
            if sha != entry.sha256 or size != entry.size or (named and path.name != sha):
                result.altered.append(entry.path)
            result.bytes_checked += size
        result.checked += 1
        if progress is not None:
            progress(number, total, entry.path)
    result.extra = [p for p in _files_under(folder) if p != MANIFEST_NAME and p not in listed]
    return result
