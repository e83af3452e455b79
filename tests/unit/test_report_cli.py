"""``frx report`` / ``frx disclosure`` / ``frx retention`` without a case: verify exit codes,
the disclosure round trip, legal holds and the purge preview, refusals as one plain line."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from case_support import PASSWORD, add_user, events, make_people

from app import cli
from app.casework.workstation import Workstation
from app.policy.roles import Role

Frx = Callable[..., tuple[int, str, str]]


@pytest.fixture
def frx(
    ws: Workstation, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Frx:
    def run(*args: str, passwords: int = 1) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(f"{PASSWORD}\n" * passwords))
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_verify_exit_code_is_one_for_a_file_not_issued_here(
    ws: Workstation, frx: Frx, tmp_path: Path
) -> None:
    bogus = tmp_path / "report.pdf"
    bogus.write_bytes(
        b"%PDF-1.4\n1 0 obj << /Keywords (FRX report FRX-2020-000009 version 3; "
        b"case 77-A; content fingerprint " + b"ab" * 32 + b") >> endobj\n%%EOF\n"
    )
    code, out, _ = frx("report", "verify", str(bogus), passwords=0)
    assert code == 1 and out.startswith("NOT VALID")
    assert "FRX-2020-000009 version 3 for case 77-A" in out and "no such report" in out
    code, _, err = frx("report", "verify", str(tmp_path / "missing.pdf"), passwords=0)
    assert code == 2 and err.startswith("frx: ") and "is not a file" in err
    assert events(ws, "report.verified")[0].details_dict["claimed_report_number"] == (
        "FRX-2020-000009"
    )


def test_recipient_types_and_unknown_report(ws: Workstation, frx: Frx) -> None:
    make_people(ws)
    code, out, _ = frx("report", "recipient-types", passwords=0)
    assert code == 0 and "law_enforcement_agency" in out and "may NOT receive" in out
    code, _, err = frx("report", "issue", "--comparison", "99", "--as", "erin")
    assert code == 2 and "no comparison with number 99" in err
    code, _, err = frx("report", "show", "FRX-2026-000404", "--as", "erin")
    assert code == 2 and "no report 'FRX-2026-000404'" in err


def test_disclosure_round_trip_and_retention_commands(ws: Workstation, frx: Frx) -> None:
    people = make_people(ws)
    add_user(ws, people.admin, "lena", frozenset({Role.LEGAL_ADVISOR}), trained=False)
    run = frx
    code, out, err = run(
        "disclosure",
        "record",
        "--requester",
        "Springfield Gazette",
        "--description",
        "Number of searches in 2026",
        "--as",
        "sam",
    )
    assert code == 0 and "Disclosure request 1: received" in out, err
    code, _, err = run(
        "disclosure",
        "release",
        "1",
        "--description",
        "Counts",
        "--method",
        "Letter",
        "--as",
        "sam",
    )
    assert code == 2 and "legal advisor's approval" in err
    code, out, err = run(
        "disclosure",
        "decide",
        "1",
        "--approve",
        "--reason",
        "Aggregate numbers only",
        "--as",
        "lena",
    )
    assert code == 0 and "approved" in out and "Approved by lena" in out, err
    code, out, err = run(
        "disclosure",
        "release",
        "1",
        "--description",
        "Counts",
        "--method",
        "Letter",
        "--as",
        "sam",
    )
    assert code == 0 and "released" in out, err
    code, out, _ = run("disclosure", "list", "--status", "released", "--as", "lena")
    assert "Disclosure request 1: released" in out

    code, out, err = run(
        "retention",
        "hold",
        "disclosure",
        "1",
        "--reason",
        "Complaint about the release",
        "--as",
        "lena",
    )
    assert code == 0 and "Hold 1: disclosure 1" in out and "active" in out, err
    code, out, _ = run("retention", "holds", "--as", "admin")
    assert "Hold 1" in out
    code, out, err = run("retention", "purge", "--dry-run", "--as", "admin")
    assert code == 0 and "0 record(s) past retention would be removed" in out, err
    code, _, err = run("retention", "purge", "--as", "erin")
    assert code == 2 and "may purge records past retention" in err
    code, out, _ = run("retention", "lift", "1", "--reason", "Complaint closed", "--as", "lena")
    assert code == 0 and "lifted" in out
