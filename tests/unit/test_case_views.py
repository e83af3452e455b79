"""The case screens' plain data: queue filters and counts, intake form, face picking, quality
wording, score wording (never a percentage), candidate notes, worksheet items."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.policy.gates import evaluate_request_intake
from app.policy.profiles import load_profile
from app.policy.worksheet import load_worksheet
from app.ui.case_views import (
    CandidateRow,
    FaceBox,
    IntakeForm,
    ProbeVersionRow,
    QueueFilter,
    QueueKind,
    RequestRow,
    count_text,
    face_at,
    filter_rows,
    newer_photo_note,
    quality_rows,
    quality_summary,
    queue_kinds_for,
    score_text,
    score_tooltip,
    status_label,
    worksheet_items,
)
from app.ui.comparison.model import CandidateView


def _row(request_id: int, case: str, purpose: str, status: str, day: int) -> RequestRow:
    return RequestRow(
        request_id=request_id,
        request_number=f"REQ-2026-{request_id:06d}",
        case_number=case,
        purpose_code=purpose,
        purpose_text="",
        status=status,
        status_label=status_label(status),
        opened_at=datetime(2026, 3, day, 12, 0, tzinfo=UTC),
        examiner="eve",
        requesting_agency="Precinct 9",
    )


ROWS = [
    _row(1, "2026-0001", "IV.B.1a", "open", 1),
    _row(2, "2026-0002", "IV.B.1c", "searched", 5),
    _row(3, "2025-0777", "IV.B.1a", "closed", 9),
]


def test_queue_filter_by_case_number_purpose_status_and_dates() -> None:
    assert [r.request_id for r in filter_rows(ROWS, QueueFilter())] == [3, 2, 1]
    assert [r.request_id for r in filter_rows(ROWS, QueueFilter(case_number="2026"))] == [2, 1]
    assert [r.request_id for r in filter_rows(ROWS, QueueFilter(purpose_code="IV.B.1a"))] == [3, 1]
    assert [r.request_id for r in filter_rows(ROWS, QueueFilter(status="searched"))] == [2]
    window = QueueFilter(opened_from=date(2026, 3, 2), opened_to=date(2026, 3, 9))
    assert [r.request_id for r in filter_rows(ROWS, window)] == [3, 2]
    assert QueueFilter().is_empty and not window.is_empty


def test_queue_filter_reports_dates_the_wrong_way_round() -> None:
    backwards = QueueFilter(opened_from=date(2026, 3, 9), opened_to=date(2026, 3, 1))
    assert backwards.problems() == ("The 'from' date is after the 'to' date.",)
    assert QueueFilter(opened_from=date(2026, 3, 1)).problems() == ()


def test_queue_kinds_follow_roles_and_counts_are_shown() -> None:
    assert queue_kinds_for(["examiner"]) == [
        QueueKind.MINE,
        QueueKind.AWAITING_MY_REVIEW,
        QueueKind.RETURNED,
    ]
    assert QueueKind.ALL in queue_kinds_for(["examiner", "supervisor"])
    assert QueueKind.DISAGREEMENTS in queue_kinds_for(["supervisor"])
    assert queue_kinds_for(["legal_advisor"]) == [QueueKind.ALL]
    assert queue_kinds_for(["administrator"]) == []
    assert count_text(QueueKind.MINE, {QueueKind.MINE: 3}) == "My open requests (3)"
    assert count_text(QueueKind.RETURNED, {}) == "Returned to me"
    assert status_label("concluded_no_lead") == "Concluded, no lead"
    assert status_label("something_new") == "Something new"


def test_intake_form_becomes_the_policy_intake() -> None:
    profile = load_profile("mptc-2019")
    form = IntakeForm(
        case_number="  2026-0042 ",
        requesting_officer="Det. Ruiz",
        requesting_agency="P9",
        purpose_code="IV.B.1a",
        offense="Robbery",
        narrative="On camera.",
        probe_source="agency_personnel",
        probe_obtained_how="CCTV still",
        attests_lawful_source=True,
        attests_not_protected_basis=True,
        attests_actual_subject=True,
        interagency=False,
        submitting_agency="ignored when not interagency",
    )
    intake = form.to_intake()
    assert intake.case_number == "2026-0042"
    assert intake.submitting_agency == "" and not intake.interagency
    assert evaluate_request_intake(intake, profile).allowed
    form.interagency = True
    form.submitting_agency = "  "
    decision = evaluate_request_intake(form.to_intake(), profile)
    assert not decision.allowed and any("agency" in r for r in decision.reasons)
    form.attests_actual_subject = False
    form.submitting_agency = "County SO"
    decision = evaluate_request_intake(form.to_intake(), profile)
    assert [r for r in decision.reasons if "actual subject" in r]


def test_face_at_picks_the_smallest_box_under_the_click() -> None:
    big = FaceBox(0, (0, 0, 200, 200), 0.9)
    small = FaceBox(1, (50, 50, 40, 40), 0.8)
    assert face_at([big, small], 60, 60) is small
    assert face_at([big, small], 10, 10) is big
    assert face_at([big, small], 300, 10) is None
    assert big.label == "Face 1"


def test_quality_rows_and_summary_in_plain_words() -> None:
    rows = quality_rows(
        [
            {
                "name": "inter_eye_distance",
                "value": 42.4,
                "unit": "px",
                "level": "warn",
                "message": "The eyes are only 42 pixels apart.",
            },
            {"name": "sharpness", "value": 9.123, "unit": "", "level": "ok", "message": ""},
            {"name": "yaw", "value": None, "unit": "°", "level": "poor", "message": "Turned away."},
        ]
    )
    assert [r.title for r in rows] == [
        "Distance between the eyes",
        "Sharpness",
        "Head turned (left/right)",
    ]
    assert rows[0].value_text == "42 px" and rows[1].value_text == "9.12"
    assert rows[2].value_text == "not measured"
    assert quality_summary(rows).startswith("2 quality warnings (1 serious)")
    assert quality_summary(rows[1:2]) == "No quality warnings for this face."
    assert quality_summary([]).startswith("No quality measures yet")


def test_score_is_the_models_own_number_never_a_percentage() -> None:
    text = score_text(0.41234, "euclidean")
    assert text == "distance 0.412"
    # The comparison screen refuses score wording that reads like a percent match.
    CandidateView(rank=1, score_text=text, score_tooltip="", subject_reference="S1")
    with pytest.raises(ValueError):
        CandidateView(rank=1, score_text="87% match", score_tooltip="", subject_reference="S1")
    tip = score_tooltip("Smaller is more similar. It is not a probability.", 0.6, "dlib-resnet")
    assert "dlib-resnet" in tip and "0.6" in tip and "not a probability" in tip
    assert "%" not in tip


def test_newer_photo_note_and_version_text() -> None:
    row = CandidateRow(1, 1, 0.4, "S-1", 7, date(2020, 1, 2), date(2024, 5, 6))
    assert newer_photo_note(row) == "newer photo from 2024-05-06"
    same = CandidateRow(1, 1, 0.4, "S-1", 7, date(2024, 5, 6), date(2024, 5, 6))
    assert newer_photo_note(same) == ""
    version = ProbeVersionRow(3, "Rotate 90° counter-clockwise", "eve", datetime(2026, 3, 2, 9, 30))
    assert version.text == "Rotate 90° counter-clockwise by eve, 2026-03-02 09:30"


def test_worksheet_items_come_from_the_profiles_worksheet() -> None:
    definition = load_worksheet(load_profile("mptc-2019").worksheet)
    items = worksheet_items(definition)
    assert [item.id for item in items] == list(definition.item_ids)
    assert all(item.label for item in items)
    eyes = definition.item_for_feature("eyes")
    shown = next(item for item in items if item.id == eyes.id)
    assert shown.regions == eyes.regions and shown.guidance == eyes.guidance
