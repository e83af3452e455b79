"""A whole case, headless, through ``frx`` on real photographs from ../shared/data.

Gallery import of LFW arrest-photo stand-ins, a request under the MPTC profile, a probe (another
photo of one gallery person, shrunk like a surveillance still) with a logged edit, the search,
the worksheet, a blind second review by another examiner, and an intact audit chain - plus the
refusals the same commands give when a rule is broken.
"""

from __future__ import annotations

import csv
import io
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from PIL import Image

from app import cli
from app.casework.workstation import Workstation
from app.engine.images import load_image_file
from app.engine.pipeline import FacePipeline
from app.records.audit import iter_events
from app.records.evidence import sha256_hex
from app.settings import load_settings

PASSWORD = "flow password 1"
GALLERY_PEOPLE = 12
PROBE_PERSON = 4  # index into the gallery people: their second photo is the probe


def frx(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *args: str,
    passwords: int = 1,
) -> tuple[int, str, str]:
    """Run ``frx`` in this process; each password is read as one line of standard input."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{PASSWORD}\n" * passwords))
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def ok(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *args: str,
    passwords: int = 1,
) -> str:
    code, out, err = frx(monkeypatch, capsys, *args, passwords=passwords)
    assert code == 0, f"frx {' '.join(args)} failed: {err}{out}"
    return out


def _people_with_two_photos(lfw_dir: Path) -> list[str]:
    """People with two LFW photos that each show one face (a gallery photo must)."""
    lines = (lfw_dir.parent / "peopleDevTrain.txt").read_text(encoding="utf-8").splitlines()[1:]
    names = [name for name, count in (line.split("\t") for line in lines) if int(count) >= 2]
    detector = FacePipeline(None)
    chosen: list[str] = []
    for name in names[::23]:
        photos = [lfw_dir / name / f"{name}_{number:04d}.jpg" for number in (1, 2)]
        if all(len(detector.detect(load_image_file(p)[1].rgb).faces) == 1 for p in photos):
            chosen.append(name)
        if len(chosen) == GALLERY_PEOPLE:
            return chosen
    raise AssertionError("not enough single-face LFW photos")


def _manifest(tmp_path: Path, people: list[str]) -> Path:
    path = tmp_path / "gallery.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["file", "subject_reference", "name", "photo_date", "source_type", "source_reference"]
        )
        for number, name in enumerate(people, start=1):
            writer.writerow(
                [
                    f"{name}/{name}_0001.jpg",
                    f"SID-{number:04d}",
                    name.replace("_", " "),
                    (date(2019, 1, 1) + timedelta(days=number)).isoformat(),
                    "arrest_photograph",
                    f"ARR-{number:06d}",
                ]
            )
    return path


def _surveillance_still(photo: Path, target: Path) -> bytes:
    """The probe: a shrunk, re-compressed copy, as a camera still would be."""
    with Image.open(photo) as image:
        small = image.convert("RGB").resize((200, 200), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, format="JPEG", quality=70)
    target.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def test_whole_case_headless_on_real_photos(
    database_url: str,
    lfw_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def run(*args: str, passwords: int = 1) -> str:
        return ok(monkeypatch, capsys, *args, passwords=passwords)

    def refused(*args: str, message: str) -> None:
        code, out, err = frx(monkeypatch, capsys, *args)
        assert code == 2, out
        assert err.startswith("frx: ") and message in err, err
        assert "Traceback" not in err

    today = date.today()
    # --- people, model, gallery ------------------------------------------------------------
    run("init", "--admin", "chief", passwords=1)
    for name, roles in (("erin", "examiner"), ("rita", "examiner"), ("sam", "supervisor")):
        run("user", "add", name, "--roles", roles, "--as", "chief", passwords=2)
    for name in ("erin", "rita"):
        run(
            "user",
            "train",
            name,
            "--course",
            "FR examiner course",
            "--completed",
            (today - timedelta(days=10)).isoformat(),
            "--expires",
            (today + timedelta(days=355)).isoformat(),
            "--as",
            "chief",
        )
    run("model", "install-default", passwords=0)
    people = _people_with_two_photos(lfw_dir)
    imported = run(
        "gallery",
        "import",
        "--folder",
        str(lfw_dir),
        "--manifest",
        str(_manifest(tmp_path, people)),
        "--as",
        "chief",
    )
    assert f"enrolled:              {GALLERY_PEOPLE}" in imported

    # --- the examiner must acknowledge the policy before searching ----------------------------
    policy = run("case", "policy", "--as", "erin")
    assert "You cannot search yet" in policy and "acknowledged" in policy
    assert "You may search" in run("case", "policy", "--acknowledge", "--as", "rita")

    # --- intake: a missing attestation is refused, a complete request opened --------------------
    intake = [
        "case",
        "open",
        "--case-number",
        "2026-CR-0042",
        "--officer",
        "Det. Alex Moreno",
        "--agency",
        "Springfield PD",
        "--purpose",
        "IV.B.1a",
        "--offense",
        "Robbery",
        "--narrative",
        "Suspect photographed by the store camera at the counter.",
        "--probe-source",
        "agency_personnel",
        "--obtained-how",
        "Exported from the store's CCTV recorder by Det. Moreno.",
        "--attest-lawful-source",
        "--attest-not-protected-basis",
    ]
    refused(*intake, "--as", "erin", message="actual subject")
    opened = run(*intake, "--attest-actual-subject", "--as", "erin")
    request = opened.split("request ")[1].split(" ")[0]
    assert request.startswith("REQ-")

    # --- probe: stored untouched; mirror refused; a logged crop ---------------------------------
    person = people[PROBE_PERSON]
    probe_file = tmp_path / "still.jpg"
    probe_bytes = _surveillance_still(lfw_dir / person / f"{person}_0002.jpg", probe_file)
    added = run("case", "probe", "add", request, str(probe_file), "--as", "erin")
    assert sha256_hex(probe_bytes) in added and "Face 0" in added
    refused("case", "probe", "edit", "1", "--op", "mirror", "--as", "erin", message="Mirroring")
    edited = run(
        "case",
        "probe",
        "edit",
        "1",
        "--op",
        "crop",
        "--param",
        "x=20",
        "--param",
        "y=20",
        "--param",
        "width=160",
        "--param",
        "height=170",
        "--as",
        "erin",
    )
    assert "Made copy 1: Crop to 160 x 170 pixels at (20, 20)" in edited

    # --- search: refused before the policy is acknowledged, then the candidate list -------------
    refused("case", "search", request, "--copy", "1", "--as", "erin", message="acknowledged")
    run("case", "policy", "--acknowledge", "--as", "erin")
    listing = run("case", "search", request, "--copy", "1", "--as", "erin")
    banner = "INVESTIGATIVE LEAD ONLY - NOT PROBABLE CAUSE TO ARREST"
    assert listing.startswith(banner) and listing.rstrip().endswith(banner)
    rows = [line.split() for line in listing.splitlines() if line[:1].isdigit()]
    assert len(rows) == GALLERY_PEOPLE
    assert rows[0][2] == f"SID-{PROBE_PERSON + 1:04d}", listing  # the same person ranks first
    assert "edited copy 1" in listing
    again = run("case", "candidates", request, "--as", "erin")
    assert again.splitlines()[3:] == listing.splitlines()[3:]

    # --- comparison: incomplete worksheet refused; complete one concluded and submitted ----------
    refused(
        "case",
        "compare",
        request,
        "--rank",
        "1",
        "--answer",
        "eyes=similar",
        "--conclusion",
        "possible_lead",
        "--as",
        "erin",
        message="Every worksheet item",
    )
    ws = Workstation.open(load_settings())
    try:
        items = ws.worksheet.item_ids
    finally:
        ws.close()
    answers = tmp_path / "answers.toml"
    answers.write_text(
        "[answers]\n"
        + "".join(f'{item} = "similar"\n' for item in items if item != "scars")
        + 'scars = { answer = "not_visible", note = "Too small to tell" }\n',
        encoding="utf-8",
    )
    compared = run(
        "case",
        "compare",
        request,
        "--rank",
        "1",
        "--answers",
        str(answers),
        "--conclusion",
        "possible_lead",
        "--submit",
        "--as",
        "erin",
    )
    assert "Conclusion: possible_lead" in compared and "waiting for a second examiner" in compared

    # --- blind second review: not by the same examiner; first findings only after recording ------
    refused("case", "review", "1", "--as", "erin", message="different examiner")
    blind = run("case", "review", "1", "--answers", str(answers), "--as", "rita")
    assert "in_progress" in blind and "first examiner" not in blind
    supervisor_view = run("case", "show", request, "--as", "sam")  # no findings before review
    assert "awaiting_review" in supervisor_view and "Comparison 1" not in supervisor_view
    reviewed = run(
        "case",
        "review",
        "1",
        "--conclusion",
        "possible_lead",
        "--answers",
        str(answers),
        "--as",
        "rita",
    )
    assert "agrees with the first examiner" in reviewed
    assert "The first examiner (erin) concluded: possible_lead" in reviewed

    shown = run("case", "show", request, "--as", "erin")
    assert f"Request {request}" in shown and "concluded_lead" in shown

    # --- the record: original untouched, probe not in the gallery, audit chain intact -----------
    ws = Workstation.open(load_settings())
    try:
        assert ws.evidence.get(sha256_hex(probe_bytes)) == probe_bytes
        with ws.database.session(read_only=True) as session:
            actions = [e.action for e in iter_events(session)]
    finally:
        ws.close()
    for action in (
        "request.refused",
        "request.opened",
        "probe.added",
        "probe.edit_refused",
        "probe.edited",
        "search.refused",
        "search.run",
        "comparison.refused",
        "comparison.concluded",
        "review.requested",
        "review.refused",
        "review.started",
        "review.recorded",
    ):
        assert action in actions, action
    assert "audit chain intact" in run("audit", "verify", passwords=0)
