"""Evidence store: content addressing, atomic writes, verification on every read."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from app.errors import IntegrityError, NotFound, StorageError
from app.records import evidence as evidence_module
from app.records.db import Database
from app.records.evidence import EvidenceStore, register_evidence
from app.records.models import EvidenceFile


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "evidence")


def all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def tamper(path: Path, data: bytes) -> None:
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    path.write_bytes(data)


def test_round_trip_names_the_file_by_its_hash(store: EvidenceStore) -> None:
    data = b"probe image bytes \x00\xff" * 1000
    sha = store.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.path(sha) == store.root / sha[:2] / sha
    assert store.path(sha).read_bytes() == data
    assert store.get(sha) == data
    assert store.exists(sha) and store.verify(sha)
    assert list(store.iter_hashes()) == [sha]


def test_large_file_round_trip(store: EvidenceStore) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)  # several write chunks
    sha = store.put(data)
    assert store.get(sha) == data


def test_storing_the_same_bytes_twice_is_one_file(store: EvidenceStore) -> None:
    first = store.put(b"same")
    mtime = store.path(first).stat().st_mtime_ns
    second = store.put(b"same")
    assert first == second
    assert store.path(first).stat().st_mtime_ns == mtime
    assert all_files(store.root) == [store.path(first)]


def test_stored_files_are_read_only(store: EvidenceStore) -> None:
    sha = store.put(b"keep me as I am")
    mode = stat.S_IMODE(store.path(sha).stat().st_mode)
    assert mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) == 0


def test_altered_file_is_detected_on_read(store: EvidenceStore) -> None:
    sha = store.put(b"original photo")
    tamper(store.path(sha), b"edited photo!!")
    with pytest.raises(IntegrityError, match=sha):
        store.get(sha)
    assert store.verify(sha) is False


def test_truncated_file_is_detected_on_read(store: EvidenceStore) -> None:
    data = b"0123456789" * 100
    sha = store.put(data)
    tamper(store.path(sha), data[:-1])
    with pytest.raises(IntegrityError, match="altered or damaged"):
        store.get(sha)


def test_missing_file_is_not_found(store: EvidenceStore) -> None:
    sha = hashlib.sha256(b"never stored").hexdigest()
    with pytest.raises(NotFound, match=sha):
        store.get(sha)
    assert store.verify(sha) is False and store.exists(sha) is False


@pytest.mark.parametrize("bad", ["", "abc", "../../etc/passwd", "G" * 64, "A" * 64])
def test_only_real_hashes_are_accepted(store: EvidenceStore, bad: str) -> None:
    with pytest.raises(NotFound, match="not an evidence hash"):
        store.get(bad)


def test_put_repairs_a_damaged_copy(store: EvidenceStore) -> None:
    sha = store.put(b"the real bytes")
    tamper(store.path(sha), b"garbage")
    assert store.put(b"the real bytes") == sha
    assert store.get(sha) == b"the real bytes"


def test_delete(store: EvidenceStore) -> None:
    sha = store.put(b"to be purged")
    assert store.delete(sha) is True
    assert not store.exists(sha)
    assert store.delete(sha) is False


def _fail(monkeypatch: pytest.MonkeyPatch, name: str, error: int) -> None:
    def failing(*args: object, **kwargs: object) -> object:
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(evidence_module.os, name, failing)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        ("write", errno.ENOSPC, "full"),
        ("fsync", errno.ENOSPC, "full"),
        ("replace", errno.EROFS, "read-only"),
        ("write", errno.EIO, "could not be saved"),
    ],
)
def test_failed_write_leaves_no_partial_file(
    store: EvidenceStore, monkeypatch: pytest.MonkeyPatch, call: str, error: int, message: str
) -> None:
    kept = store.put(b"already stored")
    _fail(monkeypatch, call, error)
    with pytest.raises(StorageError, match=message) as info:
        store.put(b"new evidence that does not fit" * 1000)
    assert str(store.root) in str(info.value)
    monkeypatch.undo()
    assert all_files(store.root) == [store.path(kept)]
    assert list(store.iter_hashes()) == [kept]


def test_read_only_evidence_folder_is_a_plain_error(
    store: EvidenceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail(monkeypatch, "open", errno.EACCES)
    with pytest.raises(StorageError, match="read-only or not writable"):
        store.put(b"x")
    monkeypatch.undo()
    assert all_files(store.root) == []


def test_register_evidence_stores_bytes_and_row(database: Database, tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "ev")
    with database.session() as session:
        row = register_evidence(
            session,
            store,
            data=b"\xff\xd8jpeg",
            media_type="image/jpeg",
            original_name="C:\\Users\\det\\Desktop\\probe.jpg",
            actor="examiner1",
        )
        again = register_evidence(
            session,
            store,
            data=b"\xff\xd8jpeg",
            media_type="image/jpeg",
            original_name="/other/name.jpg",
            actor="examiner2",
        )
        assert again is row
    with database.session(read_only=True) as session:
        rows = session.execute(select(EvidenceFile)).scalars().all()
    assert len(rows) == 1
    stored = rows[0]
    assert stored.sha256 == hashlib.sha256(b"\xff\xd8jpeg").hexdigest()
    assert (stored.size, stored.media_type, stored.original_name, stored.created_by) == (
        6,
        "image/jpeg",
        "probe.jpg",
        "examiner1",
    )
    assert store.get(stored.sha256) == b"\xff\xd8jpeg"
