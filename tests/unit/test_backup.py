"""Backup, verification and restore of a workstation (``app.casework.backup``/``backup_restore``):
a round trip through a new data folder (audit chain, evidence, ``admin.restored``, the gallery
searchable through a rebuilt index), tampered backups and their verdicts, refusals, and a backup
that fails or is stopped half-way leaving no folder. On PostgreSQL the backup holds no database
and says so; that path is checked too."""

from __future__ import annotations

import errno
import json
import sqlite3
from pathlib import Path

import pytest
from case_support import SearchedCase, events, install_model, load_case, yale_photo
from gallery_support import descriptor_of
from sqlalchemy import select

from app.casework import backup as backup_module
from app.casework.backup import BackupResult, make_backup, verify_backup
from app.casework.backup_restore import restore_backup
from app.casework.gallery_search import search_gallery
from app.casework.index_sync import forget_open_indexes
from app.casework.workstation import Workstation
from app.errors import (
    ImportCancelled,
    IntegrityError,
    InvalidInput,
    PermissionDenied,
    PolicyViolation,
    StorageError,
)
from app.records.audit import verify_chain
from app.records.backup_files import MANIFEST_NAME, evidence_entry_path, hash_file
from app.records.models import EvidenceFile
from app.settings import load_settings

SETTINGS_TEXT = 'agency_name = "Backup Test PD"\n'


@pytest.fixture
def case(ws: Workstation, yale_dir: Path) -> SearchedCase:
    """A searched case (gallery photos, a probe, audit events) and a settings.toml."""
    loaded = load_case(ws, yale_dir)
    (ws.settings.data_dir / "settings.toml").write_text(SETTINGS_TEXT, encoding="utf-8")
    return loaded


def evidence_hashes(ws: Workstation) -> set[str]:
    with ws.database.session(read_only=True) as session:
        return set(session.execute(select(EvidenceFile.sha256)).scalars())


def last_sequence(ws: Workstation) -> int:
    with ws.database.session(read_only=True) as session:
        return verify_chain(session).events_checked


def backed_up(ws: Workstation, case: SearchedCase, tmp_path: Path) -> BackupResult:
    return make_backup(ws, by=case.people.admin, output=tmp_path / "backup")


def manifest_of(folder: Path) -> dict[str, object]:
    return json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))


def rewrite_manifest(folder: Path, change: dict[str, object]) -> None:
    (folder / MANIFEST_NAME).write_text(json.dumps(change, indent=2), encoding="utf-8")


def relist(folder: Path, rel: str) -> None:
    """Put a file's current hash and size in the manifest (a careful tamperer)."""
    manifest = manifest_of(folder)
    sha, size = hash_file(folder / rel)
    for entry in manifest["files"]:  # type: ignore[attr-defined]
        if entry["path"] == rel:
            entry["sha256"], entry["size"] = sha, size
    rewrite_manifest(folder, manifest)


# ------------------------------------------------------------------------------ round trip
def test_backup_verify_restore_round_trip(
    ws: Workstation, case: SearchedCase, tmp_path: Path, yale_dir: Path
) -> None:
    before = last_sequence(ws)
    hashes = evidence_hashes(ws)
    assert len(hashes) >= 7  # six gallery photos and the probe
    progress: list[tuple[int, int]] = []
    result = make_backup(
        ws,
        by=case.people.admin,
        output=tmp_path / "backup",
        progress=lambda done, total, _m: progress.append((done, total)),
    )
    folder = result.folder
    assert folder == tmp_path / "backup" and folder.is_dir()
    assert progress and progress[-1][0] == progress[-1][1]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    manifest = manifest_of(folder)
    assert manifest["format"] == "frx-workstation-backup" and manifest["created_by"] == "admin"
    listed = {entry["path"]: entry for entry in manifest["files"]}  # type: ignore[attr-defined]
    for sha in hashes:
        entry = listed[evidence_entry_path(sha)]
        assert entry["sha256"] == sha
        assert (folder / entry["path"]).read_bytes() == ws.evidence.get(sha)
    assert (folder / "settings.toml").read_text(encoding="utf-8") == SETTINGS_TEXT
    assert "models" in manifest["not_included"] and "index" in manifest["not_included"]
    assert not (folder / "models").exists() and not (folder / "index").exists()
    assert manifest["audit"]["last_sequence"] == before  # type: ignore[index]
    assert result.evidence_files == len(hashes)
    # The backup is audited after the snapshot, with the manifest's hash.
    made = events(ws, "admin.backup_made")
    assert len(made) == 1 and made[0].sequence == before + 1 and made[0].actor == "admin"
    details = json.loads(made[0].details)
    assert details["manifest_sha256"] == result.manifest_sha256
    assert details["folder"] == str(folder) and details["evidence_files"] == len(hashes)

    verdict = verify_backup(folder, expected_manifest_sha256=result.manifest_sha256)
    assert verdict.ok, (verdict.missing, verdict.altered, verdict.extra, verdict.problems)
    assert verdict.manifest_sha256 == result.manifest_sha256

    restored_dir = tmp_path / "restored"
    env = {"FRX_DATA_DIR": str(restored_dir)}
    restored = restore_backup(folder, env=env)
    assert restored.settings_restored and restored.evidence_files == len(hashes)
    assert (restored_dir / "settings.toml").read_text(encoding="utf-8") == SETTINGS_TEXT
    settings = load_settings(env)
    assert settings.agency_name == "Backup Test PD"
    with Workstation.open(settings) as again:
        for sha in hashes:
            assert again.evidence.get(sha)  # read back and hash-checked
        if not ws.settings.is_sqlite:
            assert not result.database_included and not restored.database_restored
            assert manifest["database"]["included"] is False  # type: ignore[index]
            assert "pg_dump" in manifest["database"]["note"]  # type: ignore[index]
            return
        assert result.database_included and restored.database_restored
        with again.database.session(read_only=True) as session:
            chain = verify_chain(session)
        assert chain.ok and chain.events_checked == before + 1
        restored_events = events(again, "admin.restored")
        assert len(restored_events) == 1 and restored_events[0].actor == "system"
        assert restored_events[0].sequence == before + 1
        assert json.loads(restored_events[0].details)["manifest_sha256"] == result.manifest_sha256
        assert events(again, "admin.backup_made") == []  # recorded after the snapshot
        # Models are reinstalled and the index is rebuilt from the database.
        install_model(again)
        forget_open_indexes()
        assert not again.settings.index_dir.exists() or not any(again.settings.index_dir.iterdir())
        probe = descriptor_of(again, yale_photo(yale_dir, "03", "happy"))
        outcome = search_gallery(again, embedding=probe, top_k=3, exact=False)
        assert outcome.method != "exact"
        assert outcome.candidates[0].subject_reference == "YALE-03"
        forget_open_indexes()


def test_verify_backup_command_line_codes(
    ws: Workstation,
    case: SearchedCase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import io
    import sys

    from app import cli

    monkeypatch.setattr(sys, "stdin", io.StringIO("case password 1\n"))
    folder = tmp_path / "cli-backup"
    assert cli.main(["admin", "backup", "--output", str(folder), "--as", "admin"]) == 0
    out, err = capsys.readouterr()
    sha = out.strip().splitlines()[-1].rsplit(" ", 1)[-1]
    assert len(sha) == 64 and "Backing up" in err
    assert ("NOT in this backup" in out) is (not ws.settings.is_sqlite)
    assert cli.main(["admin", "verify-backup", str(folder), "--manifest-sha256", sha]) == 0
    assert "Backup intact" in capsys.readouterr().out
    assert cli.main(["admin", "verify-backup", str(folder), "--manifest-sha256", "0" * 64]) == 1
    capsys.readouterr()
    evidence_file = next(p for p in (folder / "evidence").rglob("*") if p.is_file())
    evidence_file.chmod(0o644)
    evidence_file.write_bytes(b"not the photo")
    assert cli.main(["admin", "verify-backup", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "Altered files (1)" in out and evidence_file.name in out and "DAMAGED" in out
    (folder / MANIFEST_NAME).write_text("{not json", encoding="utf-8")
    assert cli.main(["admin", "verify-backup", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("frx: ") and "not valid JSON" in err
    assert cli.main(["admin", "verify-backup", str(tmp_path / "nowhere")]) == 2
    # Restore through the command line refuses the damaged backup; nothing is written.
    monkeypatch.setenv("FRX_DATA_DIR", str(tmp_path / "new-data"))
    monkeypatch.delenv("FRX_DATABASE_URL")
    assert cli.main(["admin", "restore", str(folder)]) == 2
    assert not (tmp_path / "new-data").exists() or not any((tmp_path / "new-data").iterdir())


def test_restore_command_line(
    ws: Workstation,
    case: SearchedCase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app import cli

    result = backed_up(ws, case, tmp_path)
    target = tmp_path / "new-data"
    (target / "logs").mkdir(parents=True)  # what the frx command itself writes there first
    (target / "logs" / "native.log").write_text("", encoding="utf-8")
    monkeypatch.setenv("FRX_DATA_DIR", str(target))
    monkeypatch.delenv("FRX_DATABASE_URL")
    assert cli.main(["admin", "restore", str(result.folder)]) == 0
    out = capsys.readouterr().out
    assert f"Restored into {target}" in out and "frx model install-default" in out
    if ws.settings.is_sqlite:
        assert result.manifest_sha256 in out and (target / "frx.sqlite3").is_file()
    else:
        assert "pg_restore" in out and not (target / "frx.sqlite3").exists()
    # A second restore into the same (now used) data folder is refused.
    assert cli.main(["admin", "restore", str(result.folder)]) == 2
    assert "not empty" in capsys.readouterr().err


# ------------------------------------------------------------------------------ tampering
def test_altered_and_deleted_evidence_and_extra_files(
    ws: Workstation, case: SearchedCase, tmp_path: Path
) -> None:
    folder = backed_up(ws, case, tmp_path).folder
    files = sorted(p for p in (folder / "evidence").rglob("*") if p.is_file())
    altered, deleted = files[0], files[1]
    altered.chmod(0o644)
    altered.write_bytes(altered.read_bytes()[:-1] + b"\x00")
    deleted.chmod(0o644)
    deleted.unlink()
    (folder / "evidence" / "stray.jpg").write_bytes(b"x")
    verdict = verify_backup(folder)
    assert not verdict.ok
    assert verdict.altered == [altered.relative_to(folder).as_posix()]
    assert verdict.missing == [deleted.relative_to(folder).as_posix()]
    assert verdict.extra == ["evidence/stray.jpg"]
    with pytest.raises(IntegrityError, match="damaged"):
        restore_backup(folder, env={"FRX_DATA_DIR": str(tmp_path / "restored")})
    assert not (tmp_path / "restored").exists()


def test_altered_manifest(ws: Workstation, case: SearchedCase, tmp_path: Path) -> None:
    result = backed_up(ws, case, tmp_path)
    folder = result.folder
    # An entry's hash changed: that file no longer matches.
    manifest = manifest_of(folder)
    entry = next(e for e in manifest["files"] if e["path"].startswith("evidence/"))  # type: ignore[attr-defined]
    entry["sha256"] = "f" * 64
    rewrite_manifest(folder, manifest)
    verdict = verify_backup(folder)
    assert verdict.altered == [entry["path"]]
    # A manifest that drops an evidence file and its entry together (database included: the
    # snapshot still references it), or only edits its own fields, differs from the recorded hash.
    manifest = manifest_of(folder)
    entry["sha256"] = entry["path"].rsplit("/", 1)[-1]
    dropped = manifest["files"].pop(  # type: ignore[attr-defined]
        next(i for i, e in enumerate(manifest["files"]) if e["path"] == entry["path"])  # type: ignore[attr-defined]
    )
    manifest["created_by"] = "someone else"
    rewrite_manifest(folder, manifest)
    (folder / dropped["path"]).chmod(0o644)
    (folder / dropped["path"]).unlink()
    verdict = verify_backup(folder, expected_manifest_sha256=result.manifest_sha256)
    assert not verdict.ok and "not the one that was recorded" in verdict.problems[0]
    if ws.settings.is_sqlite:
        assert verdict.missing == [dropped["path"]]
    with pytest.raises(StorageError, match="not a workstation backup manifest"):
        rewrite_manifest(folder, {"format": "something else"})
        verify_backup(folder)
    (folder / MANIFEST_NAME).unlink()
    with pytest.raises(StorageError, match=r"has no backup-manifest\.json"):
        verify_backup(folder)


def test_corrupted_database_snapshot(ws: Workstation, case: SearchedCase, tmp_path: Path) -> None:
    if not ws.settings.is_sqlite:
        folder = backed_up(ws, case, tmp_path).folder
        assert not (folder / "database").exists() and verify_backup(folder).ok
        return
    folder = backed_up(ws, case, tmp_path).folder
    snapshot = folder / "database" / "frx.sqlite3"
    # Page bytes overwritten and the manifest relisted: the integrity check still catches it.
    data = bytearray(snapshot.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data) - page, 3 * page):
        data[offset + 8 : offset + 200] = b"\xff" * 192
    snapshot.write_bytes(bytes(data))
    relist(folder, "database/frx.sqlite3")
    verdict = verify_backup(folder)
    assert not verdict.ok and not verdict.altered
    assert any("snapshot" in p for p in verdict.problems), verdict.problems


def test_audit_event_edited_in_the_snapshot(
    ws: Workstation, case: SearchedCase, tmp_path: Path
) -> None:
    folder = backed_up(ws, case, tmp_path).folder
    snapshot = folder / "database" / "frx.sqlite3"
    if not ws.settings.is_sqlite:
        # No snapshot in a PostgreSQL backup: a database file slipped in is an extra file.
        snapshot.parent.mkdir()
        snapshot.write_bytes(b"SQLite format 3\x00")
        assert verify_backup(folder).extra == ["database/frx.sqlite3"]
        return
    conn = sqlite3.connect(snapshot)
    conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE sequence = 2")
    conn.commit()
    conn.close()
    assert verify_backup(folder).altered == ["database/frx.sqlite3"]
    relist(folder, "database/frx.sqlite3")
    verdict = verify_backup(folder)
    assert not verdict.ok
    assert any("Event 2 has been altered" in p for p in verdict.problems), verdict.problems


# ------------------------------------------------------------------------------ refusals
def test_only_an_administrator_backs_up_and_the_refusal_is_audited(
    ws: Workstation, case: SearchedCase, tmp_path: Path
) -> None:
    with pytest.raises(PermissionDenied, match="administrator"):
        make_backup(ws, by=case.people.examiner, output=tmp_path / "backup")
    assert not (tmp_path / "backup").exists()
    denied = events(ws, "permission.denied")
    assert denied and denied[-1].actor == "erin"
    assert "backup" in json.loads(denied[-1].details)["attempted"]
    assert events(ws, "admin.backup_made") == []


def test_existing_output_folder_is_refused(
    ws: Workstation, case: SearchedCase, tmp_path: Path
) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "something").write_text("keep me", encoding="utf-8")
    with pytest.raises(InvalidInput, match="not empty"):
        make_backup(ws, by=case.people.admin, output=taken)
    assert (taken / "something").read_text(encoding="utf-8") == "keep me"
    assert sorted(p.name for p in taken.iterdir()) == ["something"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert make_backup(ws, by=case.people.admin, output=empty).folder == empty
    assert (empty / MANIFEST_NAME).is_file()


def test_restore_never_overwrites_a_database(
    ws: Workstation, case: SearchedCase, tmp_path: Path
) -> None:
    folder = backed_up(ws, case, tmp_path).folder
    with pytest.raises(PolicyViolation, match="not empty"):
        restore_backup(folder, env={"FRX_DATA_DIR": str(ws.settings.data_dir)})
    if not ws.settings.is_sqlite:
        return
    # An empty data folder whose settings point at an existing database: refused, undone.
    existing = ws.database.sqlite_path
    assert existing is not None
    before = existing.read_bytes()
    target = tmp_path / "empty-data"
    env = {"FRX_DATA_DIR": str(target), "FRX_DATABASE_URL": f"sqlite:///{existing}"}
    with pytest.raises(PolicyViolation, match="never overwrites a database"):
        restore_backup(folder, env=env)
    assert existing.read_bytes() == before
    assert not target.exists()


# ------------------------------------------------------------------------------ interruption
def test_a_failed_backup_leaves_no_folder(
    ws: Workstation, case: SearchedCase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = backup_module.copy_evidence
    calls = 0

    def disk_fills(*args: object, **kwargs: object) -> int:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(backup_module, "copy_evidence", disk_fills)
    with pytest.raises(StorageError, match="is full"):
        make_backup(ws, by=case.people.admin, output=tmp_path / "backup")
    assert calls == 3
    assert not any(p.name.startswith((".backup", "backup")) for p in tmp_path.iterdir())
    assert events(ws, "admin.backup_made") == []
    # Stopped on request (Ctrl-C) half-way: nothing left either.
    monkeypatch.setattr(backup_module, "copy_evidence", real)
    asked = iter([False, False, True])
    with pytest.raises(ImportCancelled, match="stopped"):
        make_backup(
            ws,
            by=case.people.admin,
            output=tmp_path / "backup",
            cancelled=lambda: next(asked, True),
        )
    assert not any(p.name.startswith((".backup", "backup")) for p in tmp_path.iterdir())


def test_a_failed_restore_removes_what_it_wrote(
    ws: Workstation, case: SearchedCase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.casework import backup_restore

    folder = backed_up(ws, case, tmp_path).folder
    real = backup_restore.copy_hashed
    calls = 0

    def disk_fills(*args: object, **kwargs: object) -> tuple[str, int]:
        nonlocal calls
        calls += 1
        if calls == 4:  # settings.toml, two evidence files, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(backup_restore, "copy_hashed", disk_fills)
    target = tmp_path / "restored"
    with pytest.raises(StorageError, match="is full"):
        restore_backup(folder, env={"FRX_DATA_DIR": str(target)})
    assert calls == 4 and not target.exists()
    # Stopped half-way: the same.
    monkeypatch.setattr(backup_restore, "copy_hashed", real)
    started: list[int] = []  # the restore reports progress once it copies (after verifying)
    with pytest.raises(ImportCancelled, match="restore was stopped"):
        restore_backup(
            folder,
            env={"FRX_DATA_DIR": str(target)},
            progress=lambda done, _total, _m: started.append(done),
            cancelled=lambda: bool(started),
        )
    assert started == [1]
    assert not target.exists()
    # And then it restores completely.
    assert restore_backup(folder, env={"FRX_DATA_DIR": str(target)}).evidence_files >= 7
