"""``frx case`` commands beyond the end-to-end flow: purposes, queues, interagency
acknowledgment, answers by option, skipped review, no lead, close; refusals as plain lines."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from case_support import PASSWORD, SearchedCase, events, load_case

from app import cli
from app.casework import requests
from app.casework.workstation import Workstation


@pytest.fixture
def case(ws: Workstation, yale_dir: Path) -> SearchedCase:
    return load_case(ws, yale_dir)


def frx(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{PASSWORD}\n"))
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_purposes_lists_only_the_profile_codes(
    ws: Workstation, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = frx(monkeypatch, capsys, "case", "purposes")
    assert code == 0
    for purpose in ws.profile.purposes:
        assert purpose.code in out
    assert "composite_sketch" in out and ws.profile.sha256 in out


def test_answers_by_option_skip_review_and_queue(
    ws: Workstation,
    case: SearchedCase,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    request = requests.get_request(ws, user=case.people.examiner, request_id=case.request_id)
    answers = [arg for item in ws.worksheet.item_ids for arg in ("--answer", f"{item}=Similar")]
    code, out, err = frx(
        monkeypatch, capsys, "case", "compare", request.request_number, "--rank", "1",
        *answers, "--note", "scars=Scar on the chin in both", "--conclusion", "Possible lead",
        "--as", "erin",
    )  # fmt: skip
    assert code == 0, err
    assert "Scar on the chin in both" in out and "Conclusion: possible_lead" in out
    code, _, err = frx(
        monkeypatch, capsys, "case", "skip-review", "1", "--reason", "busy", "--as", "erin"
    )
    assert code == 2 and "not practicable because" in err
    reason = "not practicable because the only other examiner is on leave until May"
    code, out, err = frx(
        monkeypatch, capsys, "case", "skip-review", "1", "--reason", reason, "--as", "erin"
    )
    assert code == 0, err
    code, out, _ = frx(monkeypatch, capsys, "case", "show", str(case.request_id), "--as", "erin")
    assert f"skipped: {reason}" in out and "concluded_lead" in out
    code, out, _ = frx(monkeypatch, capsys, "case", "list", "--as", "erin")
    assert request.request_number in out and "mine 1" in out
    assert events(ws, "review.skipped")[0].details_dict["reason"] == reason


def test_interagency_request_no_lead_and_close(
    ws: Workstation,
    case: SearchedCase,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = frx(
        monkeypatch, capsys, "case", "open", "--case-number", "X-9", "--officer", "Sgt. Lee",
        "--agency", "County Sheriff", "--submitting-agency", "County Sheriff",
        "--purpose", "IV.B.1c", "--offense", "Missing person", "--narrative", "Found adult.",
        "--probe-source", "other_agency", "--obtained-how", "Emailed by the sheriff's office.",
        "--attest-lawful-source", "--attest-not-protected-basis", "--attest-actual-subject",
        "--as", "erin",
    )  # fmt: skip
    assert code == 0, err
    assert "written 'lead only' acknowledgment" in out
    number = out.split("request ")[1].split(" ")[0]
    code, out, _ = frx(monkeypatch, capsys, "case", "show", number, "--as", "erin")
    assert "WRITTEN ACKNOWLEDGMENT NOT RECORDED" in out
    code, out, err = frx(
        monkeypatch, capsys, "case", "acknowledge", number, "--official", "Lt. Cruz",
        "--as", "erin",
    )  # fmt: skip
    assert code == 0, err
    assert "Recorded the acknowledgment of County Sheriff by Lt. Cruz." in out
    code, _, err = frx(monkeypatch, capsys, "case", "no-lead", number, "--as", "erin")
    assert code == 2 and "only a searched request" in err
    code, out, err = frx(
        monkeypatch, capsys, "case", "no-lead", str(case.request_id), "--as", "erin"
    )
    assert code == 0, err
    assert "concluded without a lead" in out
    code, out, err = frx(
        monkeypatch, capsys, "case", "close", number, "--reason", "Found by patrol", "--as", "sam"
    )
    assert code == 0, err
    assert requests.find_request(ws, user=case.people.examiner, reference=number).status == (
        "closed"
    )
