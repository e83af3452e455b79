"""Issuing reports (issues 6 item 6, 8): the lead-report gate, what the PDF carries, the hash in
the record and the audit log, verification of report files, superseded versions, no-lead reports.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from case_support import events, intake, load_case, yale_photo
from report_support import (
    NOTE,
    concluded,
    load_reported_case,
    one_line,
    pdf_pages,
    reviewed,
)
from sqlalchemy import select

from app.casework import comparisons, probes, report_verify, reports, requests, reviews, search
from app.casework.accounts import SignedInUser
from app.casework.workstation import Workstation
from app.errors import IntegrityError, PermissionDenied, PolicyViolation
from app.records.models import EvidenceFile
from app.records.report_models import Report
from app.reports.data import sha256_hex

BANNER = "INVESTIGATIVE LEAD ONLY - NOT PROBABLE CAUSE TO ARREST"


def _text(ws: Workstation, user: SignedInUser, report_id: int, tmp_path: Path) -> str:
    pdf = reports.report_pdf(ws, user=user, report_id=report_id)
    return one_line("\n".join(pdf_pages(pdf, tmp_path)))


def test_lead_report_is_stored_hashed_and_audited(
    ws: Workstation, yale_dir: Path, tmp_path: Path
) -> None:
    reported = load_reported_case(ws, yale_dir)
    report, case = reported.report, reported.case
    examiner = case.people.examiner
    assert report.report_number.startswith("FRX-") and report.version == 1
    assert (report.kind, report.status, report.is_current) == ("lead", "issued", True)
    assert report.case_number == "2026-CR-0042" and report.comparison_id == reported.comparison_id

    pdf = reports.report_pdf(ws, user=examiner, report_id=report.report_id)
    assert pdf.startswith(b"%PDF") and sha256_hex(pdf) == report.pdf_sha256
    assert len(pdf) == report.pdf_size
    issued = events(ws, "report.issued")
    assert len(issued) == 1 and issued[0].object_id == str(report.report_id)
    assert issued[0].details_dict["sha256"] == report.pdf_sha256
    assert issued[0].details_dict["case_number"] == "2026-CR-0042"
    with ws.database.session(read_only=True) as session:
        evidence = session.get(EvidenceFile, report.pdf_sha256)
        assert evidence is not None and evidence.media_type == "application/pdf"

    pages = pdf_pages(pdf, tmp_path)
    assert len(pages) >= 2
    for page in pages:
        assert BANNER in page
        assert "2026-CR-0042" in page and report.report_number in page
    text = one_line("\n".join(pages))
    for expected in (
        "Det. Alex Moreno",
        "Springfield Police Department",
        "IV.B.1a",
        "Robbery in the second degree",
        "YALE-03",
        "ARR-03",
        "dlib-resnet-v1",
        "Rita (rita)",  # the second examiner, by name
        "Erin (erin)",
        "Possible lead",
        NOTE,
        case.search.model_sha256,
        ws.profile.report.advisory,
        ws.profile.report.dissemination_restriction,
    ):
        assert expected in text, expected


def test_verify_accepts_the_issued_file_and_rejects_altered_and_unknown_files(
    ws: Workstation, yale_dir: Path
) -> None:
    reported = load_reported_case(ws, yale_dir)
    report = reported.report
    pdf = reports.report_pdf(ws, user=reported.case.people.examiner, report_id=report.report_id)

    good = report_verify.verify_report_file(ws, data=pdf)
    assert good.valid and good.report is not None
    assert good.report.report_id == report.report_id and good.report.issued_by == "erin"
    assert good.report.case_number == "2026-CR-0042" and good.stored_copy_intact is True
    assert "VALID" in good.message and "current version" in good.message

    changed = bytearray(pdf)
    changed[len(changed) // 2] ^= 0x01  # one byte, in the middle
    altered = report_verify.verify_report_file(ws, data=bytes(changed))
    assert not altered.valid and altered.report is None
    assert altered.claimed_report_number == report.report_number and altered.claimed_exists
    assert altered.claimed_case_number == "2026-CR-0042"
    assert "altered" in altered.message

    forged = pdf.replace(report.report_number.encode(), b"FRX-1999-000777")
    claimed = report_verify.verify_report_file(ws, data=forged)
    assert not claimed.valid and claimed.claimed_report_number == "FRX-1999-000777"
    assert not claimed.claimed_exists and "no such report" in claimed.message

    unknown = report_verify.verify_report_file(ws, data=b"%PDF-1.4\n% not a report\n%%EOF\n")
    assert not unknown.valid and unknown.claimed_report_number is None
    assert "NOT VALID" in unknown.message

    recorded = events(ws, "report.verified")
    assert [e.details_dict["valid"] for e in recorded] == [True, False, False, False]
    assert recorded[0].actor == "system"


def test_reissue_makes_the_next_version_and_keeps_the_previous_as_superseded(
    ws: Workstation, yale_dir: Path
) -> None:
    reported = load_reported_case(ws, yale_dir)
    examiner = reported.case.people.examiner
    first = reported.report
    second = reports.issue_lead_report(
        ws, user=examiner, comparison_id=reported.comparison_id, reason="Corrected a note"
    )
    assert second.report_number == first.report_number and second.version == 2
    assert second.pdf_sha256 != first.pdf_sha256 and second.is_current
    old = reports.get_report(ws, user=examiner, report_id=first.report_id)
    assert old.status == "superseded" and old.superseded_by_id == second.report_id
    assert old.superseded_at == second.issued_at
    # The old file is kept, still verifies, and says it is superseded.
    old_pdf = reports.report_pdf(ws, user=examiner, report_id=first.report_id)
    check = report_verify.verify_report_file(ws, data=old_pdf, user=examiner)
    assert check.valid and check.superseded_by == f"{first.report_number} version 2"
    assert "SUPERSEDED" in check.message
    assert reports.find_report_id(ws, reference=first.report_number) == second.report_id
    assert reports.find_report_id(ws, reference=first.report_number, version=1) == first.report_id
    superseded = events(ws, "report.superseded")
    assert superseded[0].object_id == str(first.report_id)
    assert events(ws, "report.issued")[-1].details_dict["supersedes"]["version"] == 1
    assert events(ws, "report.issued")[-1].details_dict["reason"] == "Corrected a note"
    listed = reports.list_reports(ws, user=examiner, request_id=reported.case.request_id)
    assert [(r.version, r.status) for r in listed] == [(2, "issued"), (1, "superseded")]


def test_lead_report_needs_a_possible_lead_that_passed_second_review(
    ws: Workstation, yale_dir: Path
) -> None:
    case = load_case(ws, yale_dir)
    examiner = case.people.examiner
    not_lead = concluded(ws, case, conclusion="not_a_lead", reference="YALE-01")
    with pytest.raises(PolicyViolation, match="possible lead"):
        reports.issue_lead_report(ws, user=examiner, comparison_id=not_lead)

    lead = concluded(ws, case)
    with pytest.raises(PolicyViolation, match="review is not recorded yet"):
        reports.issue_lead_report(ws, user=examiner, comparison_id=lead)
    reviewed(ws, case, lead, conclusion="inconclusive")
    with pytest.raises(PolicyViolation, match="did not concur"):
        reports.issue_lead_report(ws, user=examiner, comparison_id=lead)

    refused = events(ws, "report.refused")
    assert [e.object_id for e in refused] == [str(not_lead), str(lead), str(lead)]
    assert all("reason" in e.details_dict for e in refused)
    with ws.database.session(read_only=True) as session:
        assert session.execute(select(Report)).first() is None


def test_draft_comparison_cannot_be_reported(ws: Workstation, yale_dir: Path) -> None:
    case = load_case(ws, yale_dir)
    examiner = case.people.examiner
    started = comparisons.start_comparison(
        ws, user=examiner, candidate_id=case.search.candidates[0].candidate_id
    )
    with pytest.raises(PolicyViolation, match="not concluded"):
        reports.issue_lead_report(ws, user=examiner, comparison_id=started.comparison_id)


def test_skipped_review_reason_is_printed(ws: Workstation, yale_dir: Path, tmp_path: Path) -> None:
    case = load_case(ws, yale_dir)
    examiner = case.people.examiner
    lead = concluded(ws, case)
    reason = "Not practicable because the only other examiner is on leave until next month"
    reviews.skip_review(ws, user=examiner, comparison_id=lead, reason=reason)
    report = reports.issue_lead_report(ws, user=examiner, comparison_id=lead)
    text = one_line(
        "\n".join(
            pdf_pages(reports.report_pdf(ws, user=examiner, report_id=report.report_id), tmp_path)
        )
    )
    assert reason in text


def test_only_the_assigned_examiner_issues(ws: Workstation, yale_dir: Path) -> None:
    case = load_case(ws, yale_dir)
    lead = concluded(ws, case)
    reviewed(ws, case, lead)
    with pytest.raises(PermissionDenied, match="assigned to another examiner"):
        reports.issue_lead_report(ws, user=case.people.reviewer, comparison_id=lead)
    with pytest.raises(PermissionDenied, match="Only an examiner"):
        reports.issue_lead_report(ws, user=case.people.supervisor, comparison_id=lead)
    assert [e.actor for e in events(ws, "report.refused")] == ["rita", "sam"]


def test_interagency_request_needs_the_acknowledgment_which_is_printed(
    ws: Workstation, yale_dir: Path, tmp_path: Path
) -> None:
    case = load_case(ws, yale_dir)
    examiner = case.people.examiner
    other = requests.open_request(
        ws,
        user=examiner,
        intake=intake(
            case_number="SH-2026-17", interagency=True, submitting_agency="Shelbyville Police"
        ),
    )
    probes.add_probe(
        ws,
        user=examiner,
        request_id=other.request_id,
        image_bytes=yale_photo(yale_dir, "03", "sad"),
        original_name="subject03.sad",
    )
    found = search.run_search(ws, user=examiner, request_id=other.request_id)
    candidate = next(c for c in found.candidates if c.subject_reference == "YALE-03")
    other_case = dataclasses.replace(case, request_id=other.request_id, search=found)
    lead = concluded(ws, other_case)
    assert comparisons.get_comparison(ws, user=examiner, comparison_id=lead).candidate_id == (
        candidate.candidate_id
    )
    reviewed(ws, other_case, lead)
    with pytest.raises(PolicyViolation, match="acknowledgment"):
        reports.issue_lead_report(ws, user=examiner, comparison_id=lead)
    requests.record_interagency_acknowledgment(
        ws, user=examiner, request_id=other.request_id, acknowledged_by="Lt. Ruth Cole"
    )
    report = reports.issue_lead_report(ws, user=examiner, comparison_id=lead)
    text = one_line(
        "\n".join(
            pdf_pages(reports.report_pdf(ws, user=examiner, report_id=report.report_id), tmp_path)
        )
    )
    assert "Shelbyville Police" in text and "SH-2026-17" in text
    assert one_line(ws.profile.report.interagency_acknowledgment) in text


def test_no_lead_report_after_the_request_is_concluded_without_a_lead(
    ws: Workstation, yale_dir: Path, tmp_path: Path
) -> None:
    case = load_case(ws, yale_dir)
    examiner = case.people.examiner
    concluded(ws, case, conclusion="not_a_lead", reference="YALE-01")
    concluded(ws, case, conclusion="inconclusive", reference="YALE-02")
    with pytest.raises(PolicyViolation, match="concluded without a lead"):
        reports.issue_no_lead_report(ws, user=examiner, request_id=case.request_id)
    requests.record_no_lead(ws, user=examiner, request_id=case.request_id, note="No match")
    report = reports.issue_no_lead_report(ws, user=examiner, request_id=case.request_id)
    assert report.kind == "no_lead" and report.comparison_id is None and report.version == 1
    pages = pdf_pages(reports.report_pdf(ws, user=examiner, report_id=report.report_id), tmp_path)
    assert all(BANNER in page for page in pages)
    text = one_line("\n".join(pages))
    assert "no investigative lead" in text and "Number of candidates reviewed: 2" in text
    assert "YALE-01" in text and "Not a lead" in text
    assert "no potential identification to review" in text
    again = reports.issue_no_lead_report(ws, user=examiner, request_id=case.request_id)
    assert again.version == 2 and again.report_number == report.report_number


def test_damaged_stored_report_is_refused_on_read(ws: Workstation, yale_dir: Path) -> None:
    reported = load_reported_case(ws, yale_dir)
    path = ws.evidence.path(reported.report.pdf_sha256)
    path.chmod(0o600)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="altered or damaged"):
        reports.report_pdf(
            ws, user=reported.case.people.examiner, report_id=reported.report.report_id
        )
    # The issued file itself still verifies (by its recorded hash); the stored copy is flagged.
    check = report_verify.verify_report_file(ws, data=bytes(data))
    assert not check.valid
