"""The workstation health check (``app.casework.health_check``, ``frx admin check``): a searched
case's workstation checks all OK and records ``admin.checked``; then each fault on its own makes
the right section say PROBLEM (exit 1): an altered, resized or deleted evidence file (--quick
does not hash), an audit event edited with SQL, a truncated index or one ahead of the database,
an altered model file. Files no record refers to are warnings (harmless leftovers), not problems.
An examiner is refused (audited, exit 2); Ctrl-C stops without recording; --json holds every
problem. On PostgreSQL the database section says it is skipped."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
from pathlib import Path

import pytest
from case_support import PASSWORD, SearchedCase, events, load_case
from sqlalchemy import select, text

from app import cli
from app.casework.evidence_uses import evidence_uses
from app.casework.health_check import HealthReport, run_health_check
from app.casework.health_sections import ORPHAN_NOTE, Section
from app.casework.index_sync import index_path
from app.casework.workstation import Workstation
from app.commands.admin_check import render
from app.engine.index import FaceIndex
from app.engine.index_files import META_FILE, IndexMeta, part_file
from app.engine.model_manifest import MANIFEST_FILE
from app.errors import ImportCancelled, PermissionDenied
from app.records.case_models import ProbeImage
from app.records.evidence import register_evidence
from app.records.gallery_models import GalleryPhoto, ImportBatch
from app.records.models import EvidenceFile


@pytest.fixture
def case(ws: Workstation, yale_dir: Path) -> SearchedCase:
    return load_case(ws, yale_dir)


def check(ws: Workstation, case: SearchedCase, *, quick: bool = False) -> HealthReport:
    return run_health_check(ws, by=case.people.admin, quick=quick)


def statuses(report: HealthReport) -> dict[str, str]:
    return {section.key: section.status for section in report.sections}


def expected_ok(ws: Workstation) -> dict[str, str]:
    database = "OK" if ws.settings.is_sqlite else "SKIPPED"
    return {"database": database, "audit": "OK", "evidence": "OK", "index": "OK", "models": "OK"}


def only_problem(ws: Workstation, report: HealthReport, key: str) -> list[str]:
    """The problems of section ``key``, after checking every other section is fine."""
    assert not report.ok
    assert statuses(report) == {**expected_ok(ws), key: "PROBLEM"}
    return report.section(key).problems


def evidence_rows(ws: Workstation) -> list[tuple[str, int]]:
    with ws.database.session(read_only=True) as session:
        rows = session.execute(select(EvidenceFile.sha256, EvidenceFile.size))
        return sorted((str(sha), int(size)) for sha, size in rows)


def writable(path: Path) -> Path:
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    return path


def frx_check(monkeypatch: pytest.MonkeyPatch, *args: str, user: str = "admin") -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{PASSWORD}\n"))
    return cli.main(["admin", "check", *args, "--as", user])


# ------------------------------------------------------------------------------ all OK
def test_all_ok_is_recorded(ws: Workstation, case: SearchedCase) -> None:
    rows = evidence_rows(ws)
    assert len(rows) >= 7
    seen: list[tuple[int, int]] = []
    report = run_health_check(
        ws, by=case.people.admin, progress=lambda done, total, _m: seen.append((done, total))
    )
    assert report.ok and report.verdict == "ok", [s.to_dict() for s in report.sections]
    assert statuses(report) == expected_ok(ws)
    evidence = report.section("evidence")
    assert evidence.counts["files"] == len(rows) and evidence.counts["orphans"] == 0
    assert evidence.counts["bytes_verified"] == sum(size for _sha, size in rows)
    assert "SHA-256" in evidence.summary and not evidence.problems and not evidence.warnings
    assert report.section("audit").summary.startswith("audit chain intact: ")
    if ws.settings.is_sqlite:
        assert report.section("database").summary == "SQLite integrity_check: ok."
    else:
        assert "database server's job" in report.section("database").summary
    assert report.section("models").counts == {"installed": 1, "verified": 1}
    assert (len(rows), len(rows)) in seen
    checked = events(ws, "admin.checked")
    assert len(checked) == 1 and checked[0].actor == "admin"
    assert checked[0].sequence == report.recorded_sequence
    details = json.loads(checked[0].details)
    assert details["verdict"] == "ok" and details["quick"] is False
    assert details["sections"]["evidence"]["files"] == len(rows)
    assert details["sections"]["audit"]["events_checked"] == checked[0].sequence - 1
    # The supervisor may run it too; --quick uses quick_check.
    quick = run_health_check(ws, by=case.people.supervisor, quick=True)
    assert quick.ok and "existence and size only" in quick.section("evidence").summary
    if ws.settings.is_sqlite:
        assert quick.section("database").summary == "SQLite quick_check: ok."
    assert events(ws, "admin.checked")[-1].actor == "sam"


def test_command_line_ok_and_json(
    ws: Workstation,
    case: SearchedCase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = tmp_path / "health.json"
    assert frx_check(monkeypatch, "--json", str(target)) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("Database: ") and lines[1].startswith("Audit chain: OK")
    assert lines[2].startswith("Evidence store: OK") and lines[3].startswith("Search index: OK")
    assert lines[4].startswith("Face models: OK")
    assert "Verdict: ALL OK." in lines and lines[-1] == f"Full report written to {target}."
    assert "Checking" in err
    report = json.loads(target.read_text(encoding="utf-8"))
    assert report["format"] == "frx-health-check" and report["verdict"] == "ok"
    assert report["checked_by"] == "admin" and report["quick"] is False
    assert [s["section"] for s in report["sections"]] == [
        "database",
        "audit",
        "evidence",
        "index",
        "models",
    ]
    assert report["audit_event"] == events(ws, "admin.checked")[-1].sequence
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".health")] == []
    # A folder is not a file for the report: refused before anything is checked.
    before = len(events(ws, "admin.checked"))
    assert frx_check(monkeypatch, "--json", str(tmp_path)) == 2
    assert "is a folder" in capsys.readouterr().err
    assert len(events(ws, "admin.checked")) == before


# ------------------------------------------------------------------------------ evidence
def test_altered_evidence_full_check_catches_quick_does_not(
    ws: Workstation,
    case: SearchedCase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sha, size = evidence_rows(ws)[0]
    path = writable(ws.evidence.path(sha))
    data = bytearray(path.read_bytes())
    data[size // 2] ^= 0xFF  # same size, other bytes
    path.write_bytes(bytes(data))
    problems = only_problem(ws, check(ws, case), "evidence")
    assert problems == [
        f"{sha}: altered or damaged: its contents no longer match its SHA-256 hash."
        + used_by(ws, sha)
    ]
    assert check(ws, case, quick=True).ok  # --quick does not hash
    assert json.loads(events(ws, "admin.checked")[-2].details)["verdict"] == "problems"
    # A size change is caught by --quick as well.
    path.write_bytes(bytes(data) + b"\0")
    report = check(ws, case, quick=True)
    (problem,) = only_problem(ws, report, "evidence")
    assert problem.startswith(f"{sha}: altered or damaged: it has {size + 1} bytes")
    assert report.section("evidence").counts["altered"] == 1
    target = tmp_path / "report.json"
    assert frx_check(monkeypatch, "--quick", "--json", str(target)) == 1
    out = capsys.readouterr().out
    assert "Evidence store: PROBLEM" in out and "Evidence store problems (1):" in out
    assert f"  {problem}" in out and "Verdict: PROBLEMS FOUND (evidence store)." in out
    saved = json.loads(target.read_text(encoding="utf-8"))
    assert saved["verdict"] == "problems" and saved["sections"][2]["problems"] == [problem]


def test_deleted_evidence_file(ws: Workstation, case: SearchedCase) -> None:
    gone = evidence_rows(ws)[-1][0]
    ws.evidence.path(gone).unlink()
    for quick in (False, True):
        report = check(ws, case, quick=quick)
        problems = only_problem(ws, report, "evidence")
        assert problems == [
            f"{gone}: missing from the evidence store (the database records it)."
            + used_by(ws, gone)
        ]
        assert report.section("evidence").counts["missing"] == 1


def used_by(ws: Workstation, sha: str) -> str:
    """The clause a damaged file's problem ends with (checked on its own below)."""
    with ws.database.session(read_only=True) as session:
        uses = evidence_uses(session, [sha])[sha]
    assert uses
    return f" Used by: {'; '.join(uses)}."


def test_damaged_files_are_named_with_the_records_that_hold_them(
    ws: Workstation, case: SearchedCase
) -> None:
    with ws.database.session(read_only=True) as session:
        probe_sha = session.execute(
            select(ProbeImage.original_sha256).where(ProbeImage.id == case.probe_id)
        ).scalar_one()
        photo_sha = session.execute(
            select(GalleryPhoto.evidence_sha256).where(GalleryPhoto.id == case.photos["YALE-05"])
        ).scalar_one()
    for sha in (probe_sha, photo_sha):
        ws.evidence.path(sha).unlink()
    problems = only_problem(ws, check(ws, case, quick=True), "evidence")
    by_sha = {problem[:64]: problem for problem in problems}
    assert by_sha.keys() == {probe_sha, photo_sha}
    probe_problem = by_sha[probe_sha]
    assert "Used by: the probe photo of request 2026-CR-0042" in probe_problem
    # The probe was searched as it is, so the same file is the search's image too.
    assert "the searched image of request 2026-CR-0042" in probe_problem
    assert by_sha[photo_sha].endswith(
        f"Used by: gallery photo {case.photos['YALE-05']} of subject YALE-05."
    )


def test_an_import_manifest_and_an_unclaimed_file_are_named_too(
    ws: Workstation, case: SearchedCase
) -> None:
    with ws.database.session() as session:
        manifest = register_evidence(
            session,
            ws.evidence,
            data=b"file,subject_reference\n",
            media_type="text/csv",
            original_name="batch.csv",
            actor="admin",
        ).sha256
        unclaimed = register_evidence(
            session,
            ws.evidence,
            data=b"kept by nothing",
            media_type="text/plain",
            original_name="note.txt",
            actor="admin",
        ).sha256
        batch = ImportBatch(
            manifest_sha256=manifest,
            manifest_name="batch.csv",
            folder="/photos",
            model_name=ws.settings.model_name,
            started_at=ws.now(),
            started_by="admin",
            status="finished",
        )
        session.add(batch)
        session.flush()
        batch_id = batch.id
    for sha in (manifest, unclaimed):
        ws.evidence.path(sha).unlink()
    problems = only_problem(ws, check(ws, case, quick=True), "evidence")
    by_sha = {problem[:64]: problem for problem in problems}
    assert by_sha[manifest].endswith(
        f"Used by: the manifest 'batch.csv' of gallery import {batch_id}."
    )
    assert by_sha[unclaimed].endswith(
        "Stored as 'note.txt' by admin; no case, gallery or report record refers to it."
    )


def test_orphan_files_are_warnings_not_problems(
    ws: Workstation,
    case: SearchedCase,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    orphan = ws.evidence.put(b"bytes whose database row was rolled back")
    leftover = ws.evidence.root / orphan[:2] / f".{orphan}.0123abcd.part"
    leftover.write_bytes(b"half")
    report = check(ws, case)
    assert report.ok and statuses(report) == expected_ok(ws)
    evidence = report.section("evidence")
    assert evidence.counts["orphans"] == 2 and not evidence.problems
    assert f"{orphan[:2]}/{orphan}: no record refers to it." in evidence.warnings
    assert ORPHAN_NOTE in evidence.warnings and "harmless" in evidence.summary
    assert ws.evidence.path(orphan).exists() and leftover.exists()  # listed, never deleted
    assert frx_check(monkeypatch) == 0
    out = capsys.readouterr().out
    assert "Evidence store warnings (not problems) (3):" in out and orphan in out
    assert "Verdict: ALL OK." in out


# ------------------------------------------------------------------------------ audit chain
def test_audit_event_edited_with_sql(ws: Workstation, case: SearchedCase) -> None:
    with ws.database.session() as session:
        session.execute(
            text("UPDATE audit_events SET details = :d WHERE sequence = :s"),
            {"d": '{"edited":true}', "s": 3},
        )
    report = check(ws, case)
    (problem,) = only_problem(ws, report, "audit")
    assert problem.startswith("audit chain BROKEN at event 3: ")
    assert "(2 events before it verified)" in problem
    assert report.section("audit").summary == problem
    # The check is still recorded (after the broken event, as any event is).
    assert json.loads(events(ws, "admin.checked")[-1].details)["verdict"] == "problems"


def test_audit_anchor_removed_check_not_recordable(ws: Workstation, case: SearchedCase) -> None:
    with ws.database.session() as session:
        session.execute(text("DELETE FROM audit_anchor"))
    report = check(ws, case)
    broken, unrecorded = only_problem(ws, report, "audit")
    assert "anchor record is missing" in broken
    assert unrecorded.startswith("The check could not be recorded in the audit log: ")
    assert report.recorded_sequence is None and events(ws, "admin.checked") == []


def test_unreadable_evidence_file(
    ws: Workstation, case: SearchedCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.casework import health_sections

    sha = evidence_rows(ws)[1][0]
    real_hash = health_sections.hash_file

    def refusing(path: Path, cancelled: object = None) -> tuple[str, int]:
        if path.name == sha:
            raise PermissionError(13, "Permission denied")
        return real_hash(path)

    monkeypatch.setattr(health_sections, "hash_file", refusing)
    report = check(ws, case)
    assert only_problem(ws, report, "evidence") == [
        f"{sha}: cannot be read (Permission denied)." + used_by(ws, sha)
    ]
    assert report.section("evidence").counts["unreadable"] == 1


# ------------------------------------------------------------------------------ search index
def model_index(ws: Workstation) -> Path:
    return index_path(ws, ws.settings.model_name)


def test_truncated_index(ws: Workstation, case: SearchedCase) -> None:
    binary = model_index(ws) / part_file(0)
    assert binary.is_file()
    data = binary.read_bytes()
    writable(binary).write_bytes(data[: len(data) // 2])
    (problem,) = only_problem(ws, check(ws, case), "index")
    assert problem.startswith(f"{ws.settings.model_name}: The face search index in ")
    assert "cannot be used" in problem and problem.endswith("The next search rebuilds it.")
    assert binary.stat().st_size == len(data) // 2  # reported, not rebuilt


def test_index_ahead_of_the_database(ws: Workstation, case: SearchedCase) -> None:
    folder = model_index(ws)
    index = FaceIndex.open(folder, threads=1)
    ahead = index.generation + 1000
    index.save(ahead)
    report = check(ws, case)
    (problem,) = only_problem(ws, report, "index")
    assert f"gallery generation {ahead}, but the database is at {ahead - 1000}" in problem
    assert "restored or a different database" in problem
    assert "rebuilt next search" in report.section("index").summary


def test_index_behind_is_a_warning(ws: Workstation, case: SearchedCase) -> None:
    folder = model_index(ws)
    index = FaceIndex.open(folder, threads=1)
    assert index.generation > 0
    index.save(index.generation - 1)
    report = check(ws, case)
    assert report.ok and statuses(report) == expected_ok(ws)
    (warning,) = report.section("index").warnings
    assert "the next search catches up" in warning


def test_index_holding_other_photos(ws: Workstation, case: SearchedCase) -> None:
    folder = model_index(ws)
    index = FaceIndex.open(folder, threads=1)
    generation = index.generation
    assert index.mark_deleted(int(index.ids()[0]))
    index.save(generation)
    (problem,) = only_problem(ws, check(ws, case), "index")
    assert "does not hold the same photos" in problem


def test_index_grown_past_the_projection_threshold_is_a_warning(
    ws: Workstation, case: SearchedCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.engine import index as index_module

    live = len(FaceIndex.open(model_index(ws), threads=1))
    monkeypatch.setattr(index_module, "PROJECT_FROM", live)
    report = check(ws, case)
    assert report.ok and statuses(report) == expected_ok(ws)
    (warning,) = report.section("index").warnings
    assert f"the gallery has grown to {live} photo" in warning
    assert "the next search rebuilds the index" in warning


def test_index_of_an_earlier_version_is_a_warning_not_a_problem(
    ws: Workstation, case: SearchedCase
) -> None:
    meta = model_index(ws) / META_FILE
    body = json.loads(meta.read_text())
    body.pop("meta_sha256")
    body["format_version"] = 1
    writable(meta).write_bytes(IndexMeta(**body).to_json_bytes())
    report = check(ws, case)
    assert report.ok and statuses(report) == expected_ok(ws)
    (warning,) = report.section("index").warnings
    assert "was written in format 1 by another version of the workstation" in warning
    assert warning.endswith("The next search rebuilds it.")
    assert "earlier version" in report.section("index").summary


# ------------------------------------------------------------------------------ face models
def test_model_file_altered(ws: Workstation, case: SearchedCase) -> None:
    folder = ws.settings.models_dir / ws.settings.model_name
    model_file = next(p for p in sorted(folder.iterdir()) if p.name != MANIFEST_FILE)
    with writable(model_file).open("r+b") as fh:
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 0xFF]))
    (problem,) = only_problem(ws, check(ws, case), "models")
    assert problem.startswith(f"{ws.settings.model_name}: ")
    assert "0 of 1 installed model verified" in check(ws, case).section("models").summary


# ------------------------------------------------------------------------------ refusal, stop
def test_examiner_is_refused_and_audited(
    ws: Workstation,
    case: SearchedCase,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(PermissionDenied, match="Only an active supervisor or administrator"):
        run_health_check(ws, by=case.people.examiner)
    denied = events(ws, "permission.denied")
    assert denied[-1].actor == "erin"
    assert "run the workstation health check" in denied[-1].details
    assert frx_check(monkeypatch, user="erin") == 2
    assert "Only an active supervisor or administrator" in capsys.readouterr().err
    assert len(events(ws, "permission.denied")) == len(denied) + 1
    assert events(ws, "admin.checked") == []


def test_stopped_check_records_nothing(ws: Workstation, case: SearchedCase) -> None:
    calls: list[int] = []

    def stop_during_evidence() -> bool:
        calls.append(1)
        return len(calls) > 4

    with pytest.raises(ImportCancelled, match="health check was stopped"):
        run_health_check(ws, by=case.people.admin, cancelled=stop_during_evidence)
    assert events(ws, "admin.checked") == []


def test_long_lists_are_cut_at_twenty_in_the_text_only() -> None:
    from datetime import UTC, datetime

    moment = datetime(2026, 1, 1, tzinfo=UTC)
    section = Section("evidence", "Evidence store")
    for number in range(25):
        section.problem(f"file {number} is missing.")
    report = HealthReport(False, "admin", moment, moment, [section])
    text_report = render(report)
    assert "Evidence store problems (25):" in text_report
    assert "  file 19 is missing." in text_report and "file 20 is missing" not in text_report
    assert "  and 5 more" in text_report
    assert text_report.endswith("Verdict: PROBLEMS FOUND (evidence store).\n")
    assert len(report.to_dict()["sections"][0]["problems"]) == 25
