"""Content-addressed evidence store: files named by their SHA-256, written atomically, verified.

Layout: ``root/ab/abcdef...`` (the first two hex digits as a folder). A file is written to a
temporary name in its final folder, flushed to disk and renamed into place, so a crash or a full
disk never leaves a partial file under a hash name. Every read checks the hash.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.orm import Session

from app.errors import IntegrityError, NotFound, StorageError
from app.records.base import utcnow
from app.records.models import EvidenceFile

log = logging.getLogger(__name__)

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1024 * 1024


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_sha(sha: str) -> str:
    if not isinstance(sha, str) or not _SHA256_RE.match(sha):
        raise NotFound(f"'{sha}' is not an evidence hash (64 lower-case hexadecimal digits).")
    return sha


def _write_error(exc: OSError, root: Path) -> StorageError:
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return StorageError(
            f"The disk holding the evidence folder {root} is full; nothing was saved. "
            "Free some space and try again."
        )
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return StorageError(
            f"The evidence folder {root} is read-only or not writable by this account; "
            "nothing was saved."
        )
    return StorageError(f"Evidence could not be saved in {root}: {exc.strerror or exc}.")


def _read_error(exc: OSError, sha: str) -> StorageError:
    return StorageError(f"Evidence file {sha} cannot be read: {exc.strerror or exc}.")


class EvidenceStore:
    """Files named by SHA-256 under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha: str) -> Path:
        sha = _check_sha(sha)
        return self.root / sha[:2] / sha

    def exists(self, sha: str) -> bool:
        return self.path(sha).is_file()

    def put(self, data: bytes) -> str:
        """Store ``data``, return its SHA-256 hex digest; the same bytes again are a no-op.

        A damaged file already under that hash is replaced by the correct bytes.
        """
        sha = sha256_hex(data)
        target = self.path(sha)
        if target.is_file():
            if self.verify(sha):
                return sha
            log.warning("evidence file %s was damaged; rewriting it from the given bytes", sha)
        folder = target.parent
        tmp: Path | None = None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            candidate = folder / f".{sha}.{secrets.token_hex(8)}.part"
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            tmp = candidate
            try:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view[:_CHUNK])
                    view = view[written:]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.chmod(tmp, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
            if target.exists():  # the damaged copy is read-only; some systems refuse to replace it
                os.chmod(target, stat.S_IRUSR | stat.S_IWUSR)
            os.replace(tmp, target)
            tmp = None
            _fsync_folder(folder)
        except OSError as exc:
            raise _write_error(exc, self.root) from exc
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
        return sha

    def get(self, sha: str) -> bytes:
        """The stored bytes; IntegrityError when they no longer match the hash, NotFound if gone."""
        path = self.path(sha)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"Evidence file {sha} is missing from {self.root}.") from None
        except OSError as exc:
            raise _read_error(exc, sha) from exc
        if sha256_hex(data) != sha:
            raise IntegrityError(
                f"Evidence file {sha} has been altered or damaged: its contents no longer match "
                "its SHA-256 hash."
            )
        return data

    def verify(self, sha: str) -> bool:
        """True when the file exists and its contents match the hash (streamed, any size)."""
        path = self.path(sha)
        digest = hashlib.sha256()
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    digest.update(chunk)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise _read_error(exc, sha) from exc
        return digest.hexdigest() == sha

    def delete(self, sha: str) -> bool:
        """Remove a file (only the retention purge does this); False when it was not there."""
        path = self.path(sha)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise _write_error(exc, self.root) from exc
        return True

    def iter_hashes(self) -> Iterator[str]:
        """Every hash stored (file names that look like hashes in the two-digit folders)."""
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir() or len(folder.name) != 2:
                continue
            for item in sorted(folder.iterdir()):
                if _SHA256_RE.match(item.name) and item.name[:2] == folder.name:
                    yield item.name


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (best effort: not every platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _plain_name(name: str) -> str:
    """The file name without any folder part (Windows or POSIX), at most 500 characters."""
    base = re.split(r"[\\/]", name)[-1].strip()
    return base[-500:] if base else "unnamed"


def register_evidence(
    session: Session,
    store: EvidenceStore,
    *,
    data: bytes,
    media_type: str,
    original_name: str,
    actor: str,
) -> EvidenceFile:
    """Store the bytes and their database row (the first registration's name and time are kept).

    The file is written before the transaction commits; if the transaction is then rolled back the
    file stays as a harmless orphan (content-addressed, never half-written).
    """
    sha = store.put(data)
    row = session.get(EvidenceFile, sha)
    if row is None:
        row = EvidenceFile(
            sha256=sha,
            size=len(data),
            media_type=media_type[:100],
            original_name=_plain_name(original_name),
            created_at=utcnow(),
            created_by=actor,
        )
        session.add(row)
        session.flush()
    return row
