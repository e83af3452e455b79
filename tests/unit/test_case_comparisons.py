"""Comparison worksheets (MPTC IV.E.1): every item answered against the original before any
conclusion, time spent, the comparison screen's data, screenshots kept as evidence."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from case_support import (
    SearchedCase,
    add_user,
    all_answers,
    candidate_id,
    count_rows,
    events,
    load_case,
    yale_photo,
)

from app.casework import comparisons, search
from app.casework.workstation import Workstation
from app.errors import ImageError, PermissionDenied, PolicyViolation
from app.policy.roles import Role
from app.records.case_models import CaseAttachment
from app.records.evidence import sha256_hex


@pytest.fixture
def case(ws: Workstation, yale_dir: Path) -> SearchedCase:
    return load_case(ws, yale_dir)


def test_conclusion_needs_every_item_answered(ws: Workstation, case: SearchedCase) -> None:
    examiner = case.people.examiner
    started = comparisons.start_comparison(ws, user=examiner, candidate_id=candidate_id(case))
    assert started.status == "draft" and started.progress.answered == 0
    assert started.rank == 1 and started.subject_reference == "YALE-03"
    # Resuming the draft gives the same comparison.
    again = comparisons.start_comparison(ws, user=examiner, candidate_id=candidate_id(case))
    assert again.comparison_id == started.comparison_id
    answers = all_answers(ws)
    missing = ws.worksheet.items[-1]
    del answers[missing.id]
    partial = comparisons.record_answers(
        ws, user=examiner, comparison_id=started.comparison_id, answers=answers
    )
    assert partial.progress.missing_ids == (missing.id,)
    for conclusion in ("possible_lead", "not_a_lead", "inconclusive"):
        with pytest.raises(PolicyViolation, match=f"missing: {missing.label}"):
            comparisons.conclude(
                ws, user=examiner, comparison_id=started.comparison_id, conclusion=conclusion
            )
    refused = events(ws, "comparison.refused")
    assert len(refused) == 3
    assert "Every worksheet item must be answered" in refused[0].details_dict["reason"]
    comparisons.record_answer(
        ws,
        user=examiner,
        comparison_id=started.comparison_id,
        item_id=missing.id,
        answer="not_visible",
        note="Covered by the cap in the probe",
    )
    done = comparisons.conclude(
        ws, user=examiner, comparison_id=started.comparison_id, conclusion="possible_lead"
    )
    assert done.status == "concluded" and done.conclusion == "possible_lead"
    assert done.answers[missing.id].note == "Covered by the cap in the probe"
    assert done.progress.complete
    assert events(ws, "comparison.concluded")[0].details_dict["conclusion"] == "possible_lead"
    with pytest.raises(PolicyViolation, match="already concluded"):
        comparisons.record_answer(
            ws,
            user=examiner,
            comparison_id=started.comparison_id,
            item_id=missing.id,
            answer="similar",
        )


def test_time_spent_is_recorded(ws: Workstation, case: SearchedCase) -> None:
    start = ws.now()
    ws.clock = lambda: start
    comparison = comparisons.start_comparison(
        ws, user=case.people.examiner, candidate_id=candidate_id(case, "YALE-05")
    )
    comparisons.record_answers(
        ws,
        user=case.people.examiner,
        comparison_id=comparison.comparison_id,
        answers=all_answers(ws, "not_similar"),
    )
    ws.clock = lambda: start + timedelta(minutes=7, seconds=30)
    done = comparisons.conclude(
        ws,
        user=case.people.examiner,
        comparison_id=comparison.comparison_id,
        conclusion="not_a_lead",
    )
    assert done.time_spent_seconds == 450
    assert done.finished_at == start + timedelta(minutes=7, seconds=30)


def test_answers_are_recorded_against_the_original_only(
    ws: Workstation, case: SearchedCase
) -> None:
    comparison = comparisons.start_comparison(
        ws, user=case.people.examiner, candidate_id=candidate_id(case)
    )
    with pytest.raises(PolicyViolation, match="against the original probe"):
        comparisons.record_answer(
            ws,
            user=case.people.examiner,
            comparison_id=comparison.comparison_id,
            item_id="eyes",
            answer="similar",
            against_original=False,
        )
    assert (
        comparisons.get_comparison(
            ws, user=case.people.examiner, comparison_id=comparison.comparison_id
        ).answers
        == {}
    )


def test_unknown_items_and_answers_are_refused(ws: Workstation, case: SearchedCase) -> None:
    comparison = comparisons.start_comparison(
        ws, user=case.people.examiner, candidate_id=candidate_id(case)
    )
    with pytest.raises(PolicyViolation, match="no item 'beard colour'"):
        comparisons.record_answer(
            ws,
            user=case.people.examiner,
            comparison_id=comparison.comparison_id,
            item_id="beard colour",
            answer="similar",
        )
    with pytest.raises(PolicyViolation, match="not a worksheet answer"):
        comparisons.record_answer(
            ws,
            user=case.people.examiner,
            comparison_id=comparison.comparison_id,
            item_id="eyes",
            answer="identical",
        )


def test_only_qualified_assigned_examiner_compares(ws: Workstation, case: SearchedCase) -> None:
    with pytest.raises(PermissionDenied, match="assigned to another examiner"):
        comparisons.start_comparison(ws, user=case.people.reviewer, candidate_id=candidate_id(case))
    lapsed = add_user(
        ws, case.people.admin, "lapsed", frozenset({Role.EXAMINER}), training_days=(-500, -1)
    )
    with pytest.raises(PermissionDenied, match="qualified examiner"):
        comparisons.start_comparison(ws, user=lapsed, candidate_id=candidate_id(case))
    assert [e.actor for e in events(ws, "comparison.refused")] == ["rita", "lapsed"]
    mine = comparisons.start_comparison(
        ws, user=case.people.examiner, candidate_id=candidate_id(case)
    )
    with pytest.raises(PermissionDenied, match="Only the examiner who started"):
        comparisons.record_answer(
            ws,
            user=case.people.reviewer,
            comparison_id=mine.comparison_id,
            item_id="eyes",
            answer="similar",
        )


def test_comparison_view_has_both_faces_regions_and_the_banner(
    ws: Workstation, case: SearchedCase, yale_dir: Path
) -> None:
    comparison = comparisons.start_comparison(
        ws, user=case.people.examiner, candidate_id=candidate_id(case)
    )
    view = comparisons.comparison_view(
        ws, user=case.people.examiner, comparison_id=comparison.comparison_id
    )
    assert view.pair.probe_original.data == yale_photo(yale_dir, "03", "happy")
    assert view.pair.candidate_image.data == yale_photo(yale_dir, "03", "normal")
    assert view.pair.candidate.subject_reference == "YALE-03"
    assert view.pair.searched_version_id is None
    assert {"right_eye", "left_eye", "nose", "mouth"} <= set(view.pair.probe_regions)
    assert {"right_eye", "left_eye", "nose", "mouth"} <= set(view.pair.candidate_regions)
    assert view.lead_banner == ws.profile.report.banner
    assert view.worksheet.item_ids == ws.worksheet.item_ids
    # The candidate list shows the examiner their own comparison's state.
    listed = search.get_search(ws, user=case.people.examiner, search_id=case.search.search_id)
    assert listed.candidates[0].comparison_id == comparison.comparison_id
    assert listed.candidates[0].comparison_status == "draft"


def test_screenshots_become_case_evidence(
    ws: Workstation, case: SearchedCase, yale_dir: Path
) -> None:
    comparison = comparisons.start_comparison(
        ws, user=case.people.examiner, candidate_id=candidate_id(case)
    )
    shot = yale_photo(yale_dir, "03", "happy")  # any picture stands in for a screen grab
    saved = comparisons.attach_screenshot(
        ws,
        user=case.people.examiner,
        comparison_id=comparison.comparison_id,
        image_bytes=shot,
        caption="Overlay at 50 %, eyes aligned",
    )
    assert saved.evidence_sha256 == sha256_hex(shot)
    assert ws.evidence.get(saved.evidence_sha256) == shot
    listed = comparisons.list_attachments(ws, user=case.people.examiner, request_id=case.request_id)
    assert [a.caption for a in listed] == ["Overlay at 50 %, eyes aligned"]
    assert events(ws, "attachment.saved")[0].details_dict["sha256"] == saved.evidence_sha256
    with pytest.raises(ImageError):
        comparisons.attach_screenshot(
            ws,
            user=case.people.examiner,
            comparison_id=comparison.comparison_id,
            image_bytes=b"not a picture",
            caption="broken",
        )
    with pytest.raises(PermissionDenied):
        comparisons.attach_screenshot(
            ws,
            user=case.people.supervisor,
            comparison_id=comparison.comparison_id,
            image_bytes=shot,
            caption="not my case",
        )
    assert count_rows(ws, CaseAttachment) == 1
    assert events(ws, "comparison.refused")[-1].actor == "sam"
