"""``frx audit export`` and ``frx audit check-export``: round trips through the command line,
filters, refusals and errors as one plain line (exit 2), progress on stderr, the blind review's
withheld events, and checking a file with no database at all."""

from __future__ import annotations

import io
import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from case_support import PASSWORD, SearchedCase, load_case, make_people
from test_audit_export_blind import FINDINGS, _under_review

from app import cli
from app.casework.audit_export import withheld_sentence
from app.casework.audit_export_check import check_export
from app.casework.workstation import Workstation
from app.records.audit import append_event, iter_events
from app.records.models import AuditEvent


def frx(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *args: str,
    password: str = PASSWORD,
) -> tuple[int, str, str]:
    """Run ``frx`` in this process, the password on standard input (not a terminal)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{password}\n"))
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _events(ws: Workstation, action: str | None = None) -> list[AuditEvent]:
    with ws.database.session(read_only=True) as session:
        return list(iter_events(session, action=action))


def _plain_error(code: int, out: str, err: str, *words: str) -> None:
    assert code == 2, (out, err)
    assert err.startswith("frx: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and out == ""
    for word in words:
        assert word in err, err


@pytest.fixture
def people(ws: Workstation) -> None:
    make_people(ws)  # admin, erin and rita (examiners), sam (supervisor)


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize("format", ["csv", "json"])
def test_export_round_trip_then_check(
    ws: Workstation,
    tmp_path: Path,
    format: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = len(_events(ws))
    path = tmp_path / f"audit.{format}"
    code, out, err = frx(
        monkeypatch, capsys, "audit", "export", "--format", format, "--output", str(path),
        "--as", "sam",
    )  # fmt: skip
    assert code == 0, err
    recorded = _events(ws, "audit.exported")[-1]
    details = recorded.details_dict
    assert details["events"] == before + 1  # sam's sign-in is in the file too
    assert details["format"] == format and details["filters"] == {}
    assert f"Exported {before + 1:,} events to {path}" in out
    assert f"SHA-256: {details['sha256']}" in out
    assert f"as event {recorded.sequence} (audit.exported)" in out
    assert "Withheld" not in out and err == ""

    check = check_export(path)
    assert check.intact, check.problem
    assert check.sha256 == details["sha256"]
    assert check.events_checked == check.hashes_verified == details["events"]
    assert (check.first_sequence, check.last_sequence) == (1, recorded.sequence - 1)

    code, out, err = frx(monkeypatch, capsys, "audit", "check-export", str(path))
    assert code == 0, err
    assert f"SHA-256: {details['sha256']}" in out
    assert f"Hashes verified: {details['events']}" in out
    assert out.rstrip().endswith("Result: INTACT")


@pytest.mark.usefixtures("people")
def test_export_with_filters_and_a_tampered_copy(
    ws: Workstation,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    today = ws.now().date()
    path = tmp_path / "users.json"
    code, out, err = frx(
        monkeypatch, capsys, "audit", "export", "--format", "json", "--output", str(path),
        "--kind", "user.*", "--actor", "admin", "--from", str(today - timedelta(days=1)),
        "--to", str(today), "--as", "sam",
    )  # fmt: skip
    assert code == 0, err
    details = _events(ws, "audit.exported")[-1].details_dict
    assert details["filters"]["action_prefix"] == "user."
    assert details["filters"]["actor"] == "admin"
    assert details["filters"]["until"].startswith(str(today + timedelta(days=1)))
    document = json.loads(path.read_text(encoding="utf-8"))
    events = document["events"]
    assert events and len(events) == details["events"]
    assert all(e["action"].startswith("user.") and e["actor"] == "admin" for e in events)
    assert len(events) < len(_events(ws))

    check = check_export(path)
    assert check.intact and not check.whole_log and check.gap_count > 0
    code, out, _ = frx(monkeypatch, capsys, "audit", "check-export", str(path))
    assert code == 0 and f"Gaps: {check.gap_count}" in out

    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"erin"', '"eric"', 1), encoding="utf-8")
    code, out, err = frx(monkeypatch, capsys, "audit", "check-export", str(path))
    assert code == 1, err
    assert "Result: BROKEN at event" in out and "altered" in out


@pytest.mark.usefixtures("people")
def test_an_examiner_may_not_export(
    ws: Workstation,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    path = folder / "audit.csv"
    code, out, err = frx(
        monkeypatch, capsys, "audit", "export", "--format", "csv", "--output", str(path),
        "--as", "erin",
    )  # fmt: skip
    _plain_error(code, out, err, "may export the audit log")
    assert list(folder.iterdir()) == []  # no file, no temporary file
    denied = _events(ws, "permission.denied")[-1]
    assert denied.actor == "erin" and denied.details_dict["attempted"] == "export the audit log"
    assert _events(ws, "audit.exported") == []


@pytest.mark.usefixtures("people")
def test_export_errors_are_one_plain_line(
    ws: Workstation,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    existing = folder / "old.csv"
    existing.write_text("keep me", encoding="utf-8")
    a_file = folder / "a-file"
    a_file.write_text("", encoding="utf-8")
    base = ("audit", "export", "--format", "csv", "--as", "sam", "--output")
    cases: list[tuple[tuple[str, ...], str, str]] = [
        ((str(existing),), "already exists", PASSWORD),
        ((str(a_file / "x.csv"),), "does not exist", PASSWORD),
        ((str(folder),), "is a folder", PASSWORD),
        ((str(folder / "x.csv"), "--from", "2026-02-30"), "is not a date", PASSWORD),
        ((str(folder / "x.csv"), "--to", "2026-03-01T10:00"), "time zone", PASSWORD),
        ((str(folder / "x.csv"), "--from", "2026-03-02", "--to", "2026-03-01"), "before", ""),
        ((str(folder / "x.csv"), "--object-id", "3"), "needs --object-type", PASSWORD),
        ((str(folder / "x.csv"),), "password", "wrong password"),
    ]
    for extra, words, password in cases:
        code, out, err = frx(monkeypatch, capsys, *base, *extra, password=password)
        _plain_error(code, out, err, words)
    assert existing.read_text(encoding="utf-8") == "keep me"
    assert sorted(p.name for p in folder.iterdir()) == ["a-file", "old.csv"]
    assert _events(ws, "audit.exported") == []


@pytest.mark.usefixtures("people")
def test_a_large_export_shows_progress_on_stderr(
    ws: Workstation,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with ws.database.session() as session:
        for number in range(1100):
            append_event(
                session,
                actor="system",
                action="test.filler",
                object_type="audit_log",
                object_id=None,
                details={"n": number},
            )
    path = tmp_path / "big.csv"
    code, out, err = frx(
        monkeypatch, capsys, "audit", "export", "--format", "csv", "--output", str(path),
        "--as", "sam",
    )  # fmt: skip
    assert code == 0, err
    assert "Exporting the audit log: 500 events written" in err
    assert "events exported" in err and err.endswith("\n")
    assert "Exporting" not in out
    total = _events(ws, "audit.exported")[-1].details_dict["events"]
    assert total > 1100 and f"Exported {total:,} events" in out
    assert check_export(path).hashes_verified == total


def test_check_export_needs_no_database(
    ws: Workstation,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make_people(ws)
    path = tmp_path / "audit.csv"
    assert frx(
        monkeypatch, capsys, "audit", "export", "--format", "csv", "--output", str(path),
        "--as", "sam",
    )[0] == 0  # fmt: skip
    elsewhere = tmp_path / "auditor"
    monkeypatch.setenv("FRX_DATA_DIR", str(elsewhere / "data"))
    monkeypatch.setenv("FRX_DATABASE_URL", "postgresql://nobody@127.0.0.1:9/nothing")
    code, out, err = frx(monkeypatch, capsys, "audit", "check-export", str(path))
    assert code == 0, err
    assert "Result: INTACT" in out and not elsewhere.exists()
    # Broken: exit 1; no export at all or no file: exit 2, one plain line.
    path.write_bytes(path.read_bytes().replace(b"sam", b"sal", 1))
    code, out, err = frx(monkeypatch, capsys, "audit", "check-export", str(path))
    assert code == 1 and "Result: BROKEN at event" in out
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(bytes(range(255, 0, -1)) * 10)
    _plain_error(
        *frx(monkeypatch, capsys, "audit", "check-export", str(garbage)), "not an audit export"
    )
    _plain_error(
        *frx(monkeypatch, capsys, "audit", "check-export", str(tmp_path / "none.json")),
        "cannot be read",
    )


@pytest.fixture
def case(ws: Workstation, yale_dir: Path) -> SearchedCase:
    return load_case(ws, yale_dir)


def test_withheld_events_are_reported_not_broken(
    ws: Workstation,
    case: SearchedCase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """rita, the pending blind reviewer, exports: the first findings are withheld, and the
    checker lists those events as not verifiable while the file stays intact."""
    comparison_id = _under_review(ws, case)
    findings = [
        e.sequence
        for e in _events(ws)
        if e.object_type == "comparison"
        and e.object_id == str(comparison_id)
        and e.action in FINDINGS
    ]
    assert len(findings) == 2
    for format in ("csv", "json"):
        path = tmp_path / f"rita.{format}"
        code, out, err = frx(
            monkeypatch, capsys, "audit", "export", "--format", format, "--output", str(path),
            "--as", "rita",
        )  # fmt: skip
        assert code == 0, err
        assert f"Withheld: {withheld_sentence(2)}" in out
        check = check_export(path)
        assert check.intact, check.problem
        assert check.withheld == tuple(findings) and check.withheld_count == 2
        assert check.hashes_verified == check.events_checked - 2
        assert check.sha256 == _events(ws, "audit.exported")[-1].details_dict["sha256"]
        code, out, _ = frx(monkeypatch, capsys, "audit", "check-export", str(path))
        assert code == 0 and "Result: INTACT" in out
        assert "Withheld: 2 events, not verifiable from the file" in out
        assert f"{findings[0]}, {findings[1]}" in out
