"""A lead report from start to release, on real photographs from ../shared/data.

Casework builds the case (Yale gallery, request, a probe with a logged edit, a search with the
edited copy, the worksheet against the original, a blind second review); ``frx`` then issues the
report, verifies the file (and refuses an altered one), refuses an export without a release
record and a release outside law enforcement, records the release, exports the file, and the
audit chain verifies, also after a retention dry run.
"""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from app import cli
from app.casework import accounts, comparisons, gallery, probes, requests, reviews, search
from app.casework.accounts import SignedInUser
from app.casework.workstation import Workstation
from app.engine.edits import EditOperation
from app.engine.models import install_default_model
from app.policy.gates import RequestIntake
from app.policy.roles import Role
from app.records.audit import iter_events
from app.reports.data import sha256_hex

PASSWORD = "report flow password 1"
GALLERY = ("01", "02", "03", "04", "05")
BANNER = "INVESTIGATIVE LEAD ONLY - NOT PROBABLE CAUSE TO ARREST"


def _person(ws: Workstation, admin: SignedInUser, name: str, roles: set[Role]) -> SignedInUser:
    summary = accounts.create_user(
        ws,
        by=admin,
        username=name,
        display_name=name.title(),
        password=PASSWORD,
        roles=frozenset(roles),
    )
    today = ws.now().date()
    accounts.add_training(
        ws,
        by=admin,
        user_id=summary.user_id,
        course="Facial recognition examiner course",
        completed_on=today - timedelta(days=10),
        expires_on=today + timedelta(days=355),
    )
    user = SignedInUser(summary.user_id, name, summary.display_name, summary.roles)
    accounts.acknowledge_policy(
        ws,
        user=user,
        profile_name=ws.profile.name,
        profile_version=ws.profile.version,
        profile_sha256=ws.profile.sha256,
    )
    return user


def _reviewed_lead(ws: Workstation, yale_dir: Path) -> tuple[SignedInUser, int, int]:
    """The case up to a concurring second review: (examiner, request id, comparison id)."""
    admin = accounts.create_first_admin(
        ws, username="admin", display_name="Admin", password=PASSWORD
    )
    examiner = _person(ws, admin, "erin", {Role.EXAMINER})
    reviewer = _person(ws, admin, "rita", {Role.EXAMINER})
    install_default_model(ws.settings.models_dir)
    for number, subject in enumerate(GALLERY, start=1):
        gallery.enrol_photo(
            ws,
            by=admin,
            subject_reference=f"YALE-{subject}",
            name=f"Subject {subject}",
            image_bytes=(yale_dir / f"subject{subject}.normal").read_bytes(),
            photo_date=date(2021, 5, number),
            source_type="arrest_photograph",
            source_reference=f"ARR-{subject}",
            lawful_basis="Arrest record, not sealed",
            file_name=f"subject{subject}.normal",
        )
    request = requests.open_request(
        ws,
        user=examiner,
        intake=RequestIntake(
            case_number="2026-CR-0777",
            requesting_officer="Det. Sam Reyes",
            requesting_agency="Springfield Police Department",
            purpose_code="IV.B.1a",
            offense="Burglary in the third degree",
            narrative="Doorbell camera still of a man leaving the burgled house.",
            probe_source="private_citizen",
            probe_obtained_how="Emailed by the homeowner to Det. Reyes on 2026-02-20.",
            attests_lawful_source=True,
            attests_not_protected_basis=True,
            attests_actual_subject=True,
        ),
    )
    probe = probes.add_probe(
        ws,
        user=examiner,
        request_id=request.request_id,
        image_bytes=(yale_dir / "subject04.glasses").read_bytes(),
        original_name="doorbell-still.gif",
    )
    edited = probes.edit_probe(
        ws,
        user=examiner,
        probe_id=probe.probe_id,
        parent_version_id=None,
        operation=EditOperation("brightness", {"amount": 12.0}),
    )
    found = search.run_search(
        ws, user=examiner, request_id=request.request_id, probe_version_id=edited.version_id
    )
    candidate = next(c for c in found.candidates if c.subject_reference == "YALE-04")
    started = comparisons.start_comparison(ws, user=examiner, candidate_id=candidate.candidate_id)
    answers = dict.fromkeys(ws.worksheet.item_ids, "similar")
    answers["scars"] = "not_visible"
    comparisons.record_answers(
        ws, user=examiner, comparison_id=started.comparison_id, answers=answers
    )
    comparisons.conclude(
        ws, user=examiner, comparison_id=started.comparison_id, conclusion="possible_lead"
    )
    reviews.submit_for_review(ws, user=examiner, comparison_id=started.comparison_id)
    review = reviews.start_review(ws, user=reviewer, comparison_id=started.comparison_id)
    reviews.record_review(
        ws,
        user=reviewer,
        review_id=review.review_id,
        conclusion="possible_lead",
        answers=answers,
    )
    return examiner, request.request_id, started.comparison_id


def test_lead_report_issued_verified_and_released_through_frx(
    ws: Workstation,
    yale_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def frx(*args: str, passwords: int = 1) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(f"{PASSWORD}\n" * passwords))
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    examiner, request_id, comparison_id = _reviewed_lead(ws, yale_dir)
    code, out, err = frx("report", "issue", "--comparison", str(comparison_id), "--as", "erin")
    assert code == 0, err
    number = out.split()[2]  # "Lead report FRX-2026-000001 version 1 ..."
    assert number.startswith("FRX-") and "current" in out

    # No export without a release record; no release outside law enforcement.
    target = tmp_path / "lead-report.pdf"
    code, _, err = frx(
        "report", "export", number, "--to", str(target), "--dissemination", "1", "--as", "erin"
    )
    assert code == 2 and "no dissemination record 1" in err and not target.exists()
    release = [
        "report",
        "disseminate",
        number,
        "--agency",
        "Springfield Police Department",
        "--official",
        "Det. Sam Reyes",
        "--need-to-know",
        "Case agent for this burglary",
        "--method",
        "Printed copy handed over",
    ]
    code, _, err = frx(*release, "--type", "not_law_enforcement", "--as", "erin")
    assert code == 2 and "law enforcement" in err
    code, out, err = frx(*release, "--type", "law_enforcement_agency", "--as", "erin")
    assert code == 0 and "dissemination 1" in out, err
    code, out, err = frx(
        "report", "export", number, "--to", str(target), "--dissemination", "1", "--as", "erin"
    )
    assert code == 0, err

    # The exported file is the issued report; one changed byte and it is not.
    code, out, _ = frx("report", "verify", str(target), passwords=0)
    assert code == 0 and out.startswith("VALID") and "2026-CR-0777" in out and "erin" in out
    altered = bytearray(target.read_bytes())
    altered[200] ^= 0x20
    (tmp_path / "altered.pdf").write_bytes(bytes(altered))
    code, out, _ = frx("report", "verify", str(tmp_path / "altered.pdf"), passwords=0)
    assert code == 1 and out.startswith("NOT VALID") and number in out

    # What the report says: the banner on every page, the edited copy and its history.
    text = subprocess.run(
        ["pdftotext", str(target), "-"], check=True, capture_output=True, text=True
    ).stdout
    pages = [page for page in text.split("\f") if page.strip()]
    assert all(BANNER in page and "2026-CR-0777" in page for page in pages)
    flat = " ".join(text.split())
    assert "YALE-04" in flat and "ARR-04" in flat and "Rita (rita)" in flat
    assert "Brightness +12" in flat and "amount=12" in flat  # the logged edit, with its parameter
    report = requests.get_request(ws, user=examiner, request_id=request_id)
    assert report.status == "concluded_lead"

    code, out, err = frx("retention", "purge", "--dry-run", "--as", "admin")
    assert code == 0 and "0 record(s) past retention" in out, err
    code, out, _ = frx("audit", "verify", passwords=0)
    assert code == 0 and "intact" in out
    with ws.database.session(read_only=True) as session:
        actions = [e.action for e in iter_events(session, action_prefix="report.")]
        issued = next(iter_events(session, action="report.issued"))
    assert actions == [
        "report.issued",
        "report.export_refused",
        "report.disseminated",
        "report.exported",
        "report.verified",
        "report.verified",
    ]
    assert issued.details_dict["sha256"] == sha256_hex(target.read_bytes())
