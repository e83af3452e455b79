"""The comparison screen's plain model and face frame, without Qt."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Mapping
from datetime import date

import numpy as np
import pytest

from app.errors import PolicyViolation
from app.ui.comparison.geometry import (
    EYE_DISTANCE,
    crop_rect,
    face_frame,
    image_bounds,
    region_frame_box,
)
from app.ui.comparison.model import (
    Answer,
    CandidateView,
    ComparisonSessionModel,
    Conclusion,
    FaceSide,
    ItemAnswer,
    Region,
    Worksheet,
    WorksheetItemView,
)

ITEMS = [WorksheetItemView(f"i{n}", f"Item {n}", regions=("nose",)) for n in range(1, 6)]


def candidates(count: int = 3) -> list[CandidateView]:
    return [
        CandidateView(rank=n + 1, score_text=f"0.{90 - n}", score_tooltip="cosine",
                      subject_reference=f"S{n}", photo_date=date(2020, 1, 1))
        for n in range(count)
    ]


def complete_gate(answers: Mapping[str, str]) -> tuple[bool, str]:
    if len(answers) < len(ITEMS):
        return False, f"{len(ITEMS) - len(answers)} left"
    return True, ""


def face(eyes: tuple[tuple[float, float], tuple[float, float]] | None, w: int = 200,
         h: int = 100, regions: dict[str, Region] | None = None) -> FaceSide:
    return FaceSide(np.zeros((h, w, 3), np.uint8), "f", eyes, None, regions or {})


# -- worksheet and session ------------------------------------------------------------------
def test_progress_and_next_unanswered_wraps() -> None:
    sheet = Worksheet(ITEMS)
    assert sheet.progress_text() == "0 of 5 answered"
    sheet.set_answer("i1", "similar")
    sheet.set_answer("i3", Answer.NOT_VISIBLE, "blurred")
    assert sheet.progress_text() == "2 of 5 answered"
    assert sheet.next_unanswered() == "i2"
    assert sheet.next_unanswered("i3") == "i4"
    assert sheet.next_unanswered("i5") == "i2"  # wraps to the start
    for item in ITEMS:
        sheet.set_answer(item.id, "not_similar")
    assert sheet.next_unanswered() is None and sheet.is_complete


def test_answers_validated_and_notes_need_an_answer() -> None:
    sheet = Worksheet(ITEMS)
    with pytest.raises(ValueError, match="Unknown answer"):
        sheet.set_answer("i1", "maybe")
    with pytest.raises(KeyError):
        sheet.set_answer("nope", "similar")
    assert not sheet.set_note("i1", "a note alone is no answer")
    assert sheet.answer("i1") is None
    assert sheet.set_answer("i1", "similar")
    assert not sheet.set_answer("i1", "similar")  # unchanged
    assert sheet.set_note("i1", "scar above lip")
    assert sheet.answer("i1") == ItemAnswer(Answer.SIMILAR, "scar above lip")
    assert sheet.gate_answers() == {"i1": "similar"}
    with pytest.raises(ValueError, match="unique"):
        Worksheet([ITEMS[0], ITEMS[0]])


def test_session_answers_per_candidate_and_dirty_flag() -> None:
    session = ComparisonSessionModel(ITEMS, candidates(), complete_gate)
    assert not session.dirty
    assert session.set_answer("i1", "similar")
    assert session.dirty
    session.mark_saved()
    assert not session.set_answer("i1", "similar") and not session.dirty
    assert session.next_candidate()
    assert session.current_index == 1 and session.position_text() == "Candidate 2 of 3"
    assert session.progress_text() == "0 of 5 answered"  # the second candidate's own sheet
    session.set_answer("i2", "not_similar")
    assert session.previous_candidate()
    assert session.worksheet().answers() == {"i1": ItemAnswer(Answer.SIMILAR)}
    assert not session.previous_candidate()  # already first
    assert not session.go_to(3)
    session.load_answers(2, {"i1": "similar", "i2": ItemAnswer(Answer.NOT_VISIBLE, "n")},
                         "not_a_lead")
    assert session.worksheet(2).answer("i2") == ItemAnswer(Answer.NOT_VISIBLE, "n")
    assert session.worksheet(2).conclusion is Conclusion.NOT_A_LEAD


def test_loading_stored_answers_is_not_a_change() -> None:
    session = ComparisonSessionModel(ITEMS, candidates())
    session.load_answers(0, {"i1": "similar"})
    assert not session.dirty


def test_conclusion_follows_the_supplied_gate() -> None:
    seen: list[dict[str, str]] = []

    def gate(answers: Mapping[str, str]) -> tuple[bool, str]:
        seen.append(dict(answers))
        return complete_gate(answers)

    session = ComparisonSessionModel(ITEMS, candidates(), gate)
    assert session.conclusion_state() == (False, "5 left")
    for item in ITEMS:
        session.set_answer(item.id, "similar")
    assert session.conclusion_state() == (True, "")
    assert seen[-1] == {item.id: "similar" for item in ITEMS}


def test_default_gate_requires_every_item() -> None:
    session = ComparisonSessionModel(ITEMS, candidates())
    allowed, reason = session.conclusion_state()
    assert not allowed and "5 unanswered" in reason
    for item in ITEMS:
        session.set_answer(item.id, "not_visible")
    assert session.conclusion_state() == (True, "")


def test_score_text_cannot_read_as_percent_match() -> None:
    with pytest.raises(ValueError, match="percent match"):
        CandidateView(1, "93%", "", "S")
    with pytest.raises(ValueError):
        CandidateView(1, "0.93 match", "", "S")
    newer = CandidateView(1, "0.93", "", "S", date(2019, 1, 1), date(2023, 5, 1))
    assert newer.has_newer_photo
    assert not CandidateView(1, "0.9", "", "S", date(2023, 5, 1), date(2023, 5, 1)).has_newer_photo


def test_blind_review_hides_until_own_work_recorded() -> None:
    session = ComparisonSessionModel(ITEMS, candidates(1), complete_gate)
    first = {item.id: "similar" for item in ITEMS}
    with pytest.raises(PolicyViolation, match="review mode"):
        session.reveal_first_examiner(first, "possible_lead")
    session.set_review_mode(blind=True)
    assert session.review_rows() == []
    with pytest.raises(PolicyViolation, match="hidden"):
        session.reveal_first_examiner(first, "possible_lead")
    for item in ITEMS:
        session.set_answer(item.id, "similar")
    session.set_answer("i2", "not_similar")
    with pytest.raises(PolicyViolation):  # answers complete, conclusion not yet recorded
        session.reveal_first_examiner(first, "possible_lead")
    session.record_conclusion("inconclusive")
    session.reveal_first_examiner(first, "possible_lead")
    rows = session.review_rows()
    assert [row.item_id for row in rows if row.differs] == ["i2"]
    assert session.difference_count() == 1
    assert session.conclusions_differ()
    assert session.first_conclusion() is Conclusion.POSSIBLE_LEAD
    # The recorded blind review can no longer be changed.
    assert session.answers_locked
    with pytest.raises(PolicyViolation):
        session.set_answer("i2", "similar")
    assert session.conclusion_state()[0] is False


def test_open_review_reveals_at_once() -> None:
    session = ComparisonSessionModel(ITEMS, candidates(1))
    session.set_review_mode(blind=False)
    session.reveal_first_examiner({"i1": "similar"}, None)
    rows = session.review_rows()
    assert len(rows) == len(ITEMS)
    assert rows[0].differs  # first answered, reviewer not yet
    assert not rows[1].differs  # neither answered
    assert not session.answers_locked


def test_model_imports_no_qt() -> None:
    code = (
        "import sys, app.ui.comparison.model, app.ui.comparison.geometry; "
        "sys.exit(any(m.startswith('PySide6') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# -- face frame -----------------------------------------------------------------------------
@pytest.mark.parametrize("angle", [0.0, 17.0, -30.0])
@pytest.mark.parametrize("distance", [20.0, 63.0, 600.0])
def test_face_frame_puts_eyes_on_the_axis(angle: float, distance: float) -> None:
    rad = math.radians(angle)
    mid = np.array([321.0, 145.0])
    half = np.array([math.cos(rad), math.sin(rad)]) * distance / 2
    left, right = mid - half, mid + half
    frame = face_frame(face(((left[0], left[1]), (right[0], right[1]))))
    mapped = frame.apply([left, right, mid])
    np.testing.assert_allclose(mapped[0], [-EYE_DISTANCE / 2, 0], atol=1e-9)
    np.testing.assert_allclose(mapped[1], [EYE_DISTANCE / 2, 0], atol=1e-9)
    np.testing.assert_allclose(mapped[2], [0, 0], atol=1e-9)
    assert frame.scale == pytest.approx(EYE_DISTANCE / distance)
    back = frame.inverse().apply(mapped)
    np.testing.assert_allclose(back, [left, right, mid], atol=1e-9)


def test_face_frame_without_eyes_centres_the_image() -> None:
    for eyes in (None, ((50.0, 50.0), (50.2, 50.0))):
        frame = face_frame(face(eyes, w=200, h=100))
        x, y, w, h = image_bounds(face(eyes, w=200, h=100), frame)
        assert x + w / 2 == pytest.approx(0.0)
        assert w == pytest.approx(200 * frame.scale)
        assert (y, h) == (pytest.approx(-45 * frame.scale), pytest.approx(100 * frame.scale))


def test_crop_rect_covers_both_regions_at_the_aspect() -> None:
    small = Region(np.array([(10.0, 10.0), (30.0, 10.0), (30.0, 20.0)]), (10, 10, 20, 10))
    probe = face(((0.0, 0.0), (100.0, 0.0)), regions={"nose": small})
    candidate = face(((0.0, 0.0), (50.0, 0.0)), regions={"nose": small})
    boxes = [region_frame_box(probe, "nose"), region_frame_box(candidate, "nose")]
    rect = crop_rect(boxes, aspect=1.3)
    assert rect is not None
    x, y, w, h = rect
    assert w / h == pytest.approx(1.3)
    for box in boxes:
        assert box is not None
        bx, by, bw, bh = box
        assert x <= bx and y <= by and bx + bw <= x + w and by + bh <= y + h
    assert region_frame_box(probe, "ears") is None
    assert crop_rect([None, None], 1.0) is None


def test_regions_as_plain_tuples_are_accepted() -> None:
    polygon = [(1, 2), (5, 2), (5, 8)]
    side = FaceSide(np.zeros((10, 10, 3), np.uint8), "f", None, None,
                    {"right_ear": (polygon, (1, 2, 4, 6), True)})  # type: ignore[dict-item]
    region = side.regions["right_ear"]
    assert isinstance(region, Region) and region.estimated
    assert region.box == (1.0, 2.0, 4.0, 6.0)
    np.testing.assert_array_equal(region.polygon, np.array(polygon, dtype=np.float64))
    assert region_frame_box(side, "right_ear") is not None
    with pytest.raises(ValueError, match="HxWx3"):
        FaceSide(np.zeros((10, 10), np.uint8), "grey", None)
