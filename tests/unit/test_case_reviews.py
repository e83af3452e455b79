"""Second review (MPTC IV.E.2): a different qualified examiner, blind to the first examiner's
answers and conclusion until recording their own; agreement computed, disagreements to the
supervisors; skipping only "when practicable" with the reason recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from case_support import (
    SearchedCase,
    acknowledge,
    add_user,
    all_answers,
    candidate_id,
    events,
    load_case,
)

from app.casework import comparisons, requests, reviews, search
from app.casework.comparisons import ComparisonSummary
from app.casework.workstation import Workstation
from app.errors import PermissionDenied, PolicyViolation
from app.policy.profiles import load_profile
from app.policy.roles import Role

NOTE = "Scar over the left eyebrow in both"


@pytest.fixture
def case(ws: Workstation, yale_dir: Path) -> SearchedCase:
    return load_case(ws, yale_dir)


def _concluded(
    ws: Workstation,
    case: SearchedCase,
    conclusion: str = "possible_lead",
    reference: str = "YALE-03",
) -> ComparisonSummary:
    examiner = case.people.examiner
    started = comparisons.start_comparison(
        ws, user=examiner, candidate_id=candidate_id(case, reference)
    )
    answers: dict[str, comparisons.AnswerInput] = dict(all_answers(ws))
    answers["scars"] = ("similar", NOTE)
    comparisons.record_answers(
        ws, user=examiner, comparison_id=started.comparison_id, answers=answers
    )
    return comparisons.conclude(
        ws, user=examiner, comparison_id=started.comparison_id, conclusion=conclusion
    )


def _submitted(ws: Workstation, case: SearchedCase, conclusion: str = "possible_lead") -> int:
    comparison = _concluded(ws, case, conclusion)
    reviews.submit_for_review(ws, user=case.people.examiner, comparison_id=comparison.comparison_id)
    return comparison.comparison_id


def test_same_examiner_cannot_countersign(ws: Workstation, case: SearchedCase) -> None:
    comparison_id = _submitted(ws, case)
    with pytest.raises(PermissionDenied, match="different examiner"):
        reviews.start_review(ws, user=case.people.examiner, comparison_id=comparison_id)
    refused = events(ws, "review.refused")
    assert refused[0].actor == "erin" and refused[0].object_id == str(comparison_id)


def test_reviewer_must_be_a_qualified_examiner(ws: Workstation, case: SearchedCase) -> None:
    comparison_id = _submitted(ws, case)
    untrained = add_user(ws, case.people.admin, "ursula", frozenset({Role.EXAMINER}), trained=False)
    with pytest.raises(PermissionDenied, match="qualified examiner"):
        reviews.start_review(ws, user=untrained, comparison_id=comparison_id)
    with pytest.raises(PermissionDenied, match="examiner role"):
        reviews.start_review(ws, user=case.people.supervisor, comparison_id=comparison_id)
    assert [e.actor for e in events(ws, "review.refused")] == ["ursula", "sam"]


def test_review_needs_a_submitted_comparison(ws: Workstation, case: SearchedCase) -> None:
    comparison = _concluded(ws, case)
    with pytest.raises(PolicyViolation, match="has not been submitted"):
        reviews.start_review(ws, user=case.people.reviewer, comparison_id=comparison.comparison_id)


def test_blind_order_reviewer_sees_first_findings_only_after_recording(
    ws: Workstation, case: SearchedCase
) -> None:
    reviewer = case.people.reviewer
    comparison_id = _submitted(ws, case)
    queue = reviews.review_queue(ws, user=reviewer)
    assert [entry.comparison_id for entry in queue] == [comparison_id]
    assert reviews.review_queue(ws, user=case.people.examiner) == []
    assert requests.list_requests(ws, user=reviewer, queue="awaiting_my_review").total == 1

    review = reviews.start_review(ws, user=reviewer, comparison_id=comparison_id)
    assert review.answers == {} and review.conclusion is None
    view = reviews.review_view(ws, user=reviewer, review_id=review.review_id)
    assert view.first_examiner is None
    assert view.pair.candidate.subject_reference == "YALE-03" and view.pair.probe_regions
    # Every other door is closed too.
    with pytest.raises(PermissionDenied, match="blind review"):
        comparisons.comparison_view(ws, user=reviewer, comparison_id=comparison_id)
    with pytest.raises(PermissionDenied, match="blind review"):
        comparisons.get_comparison(ws, user=reviewer, comparison_id=comparison_id)
    assert comparisons.list_comparisons(ws, user=reviewer, request_id=case.request_id) == []
    listed = search.get_search(ws, user=reviewer, search_id=case.search.search_id)
    assert listed.candidates[0].comparison_id == comparison_id
    assert listed.candidates[0].conclusion is None
    # A supervisor does not see them before the review is finished either.
    with pytest.raises(PermissionDenied):
        comparisons.get_comparison(ws, user=case.people.supervisor, comparison_id=comparison_id)

    reviews.record_review_answer(
        ws, user=reviewer, review_id=review.review_id, item_id="eyes", answer="similar"
    )
    assert reviews.review_view(ws, user=reviewer, review_id=review.review_id).first_examiner is None
    recorded = reviews.record_review(
        ws,
        user=reviewer,
        review_id=review.review_id,
        conclusion="possible_lead",
        answers=all_answers(ws),
    )
    assert recorded.status == "recorded" and recorded.agreement is True
    assert not recorded.disagreement
    after = reviews.review_view(ws, user=reviewer, review_id=review.review_id)
    assert after.first_examiner is not None
    assert after.first_examiner.conclusion == "possible_lead"
    assert after.first_examiner.answers["scars"].note == NOTE
    assert comparisons.get_comparison(ws, user=reviewer, comparison_id=comparison_id).conclusion
    assert requests.get_request(ws, user=reviewer, request_id=case.request_id).status == (
        "concluded_lead"
    )
    assert events(ws, "review.recorded")[0].details_dict["agreement"] is True


def test_review_conclusion_needs_a_complete_worksheet(ws: Workstation, case: SearchedCase) -> None:
    comparison_id = _submitted(ws, case)
    review = reviews.start_review(ws, user=case.people.reviewer, comparison_id=comparison_id)
    with pytest.raises(PolicyViolation, match="Every worksheet item must be answered"):
        reviews.record_review(
            ws,
            user=case.people.reviewer,
            review_id=review.review_id,
            conclusion="possible_lead",
            answers={"eyes": "similar"},
        )
    view = reviews.review_view(ws, user=case.people.reviewer, review_id=review.review_id)
    assert view.first_examiner is None and view.review.status == "in_progress"
    assert "Every worksheet item" in events(ws, "review.refused")[0].details_dict["reason"]


def test_disagreement_returns_the_request_and_reaches_the_supervisor(
    ws: Workstation, case: SearchedCase
) -> None:
    people = case.people
    comparison_id = _submitted(ws, case)
    review = reviews.start_review(ws, user=people.reviewer, comparison_id=comparison_id)
    recorded = reviews.record_review(
        ws,
        user=people.reviewer,
        review_id=review.review_id,
        conclusion="not_a_lead",
        answers=all_answers(ws, "not_similar"),
    )
    assert recorded.agreement is False and recorded.disagreement is True
    assert requests.get_request(ws, user=people.examiner, request_id=case.request_id).status == (
        "returned"
    )
    assert requests.list_requests(ws, user=people.examiner, queue="returned").total == 1
    assert requests.list_requests(ws, user=people.supervisor, queue="disagreements").total == 1
    queue = reviews.disagreements(ws, user=people.supervisor)
    assert [r.review_id for r in queue] == [review.review_id]
    with pytest.raises(PermissionDenied):
        reviews.disagreements(ws, user=people.examiner)
    assert events(ws, "review.disagreement")[0].object_id == str(review.review_id)
    resolved = reviews.resolve_disagreement(
        ws, user=people.supervisor, review_id=review.review_id, note="Discussed; compare again"
    )
    assert resolved.resolved_by == "sam"
    assert reviews.disagreements(ws, user=people.supervisor) == []


def test_second_reviewer_cannot_take_a_review_in_progress(
    ws: Workstation, case: SearchedCase
) -> None:
    comparison_id = _submitted(ws, case)
    reviews.start_review(ws, user=case.people.reviewer, comparison_id=comparison_id)
    third = add_user(ws, case.people.admin, "tom", frozenset({Role.EXAMINER}))
    with pytest.raises(PolicyViolation, match="rita is already reviewing"):
        reviews.start_review(ws, user=third, comparison_id=comparison_id)


def test_skip_review_when_practicable_needs_the_reason(ws: Workstation, case: SearchedCase) -> None:
    comparison = _concluded(ws, case)
    for reason in ("", "busy", "no reviewer"):
        with pytest.raises(PolicyViolation, match="not practicable"):
            reviews.skip_review(
                ws,
                user=case.people.examiner,
                comparison_id=comparison.comparison_id,
                reason=reason,
            )
    assert len(events(ws, "review.skip_refused")) == 3
    reason = "Not practicable because no other trained examiner is on duty this week"
    skipped = reviews.skip_review(
        ws, user=case.people.examiner, comparison_id=comparison.comparison_id, reason=reason
    )
    assert skipped.reason == reason
    assert [
        s.reason
        for s in reviews.review_skips(ws, user=case.people.examiner, request_id=case.request_id)
    ] == [reason]
    assert (
        requests.get_request(ws, user=case.people.examiner, request_id=case.request_id).status
        == "concluded_lead"
    )
    # Once skipped, the first findings are no longer blind to others.
    assert (
        comparisons.get_comparison(
            ws, user=case.people.reviewer, comparison_id=comparison.comparison_id
        ).conclusion
        == "possible_lead"
    )


def test_skip_review_refused_where_the_profile_requires_it(
    ws: Workstation, case: SearchedCase
) -> None:
    comparison = _concluded(ws, case)
    ws.profile = load_profile("nypd-2020")
    acknowledge(ws, case.people.examiner)
    with pytest.raises(PolicyViolation, match="cannot be skipped"):
        reviews.skip_review(
            ws,
            user=case.people.examiner,
            comparison_id=comparison.comparison_id,
            reason="Not practicable because nobody else is on duty this week",
        )
    assert "cannot be skipped" in events(ws, "review.skip_refused")[0].details_dict["reason"]


def test_only_the_first_examiner_submits_or_skips(ws: Workstation, case: SearchedCase) -> None:
    comparison = _concluded(ws, case)
    with pytest.raises(PermissionDenied):
        reviews.submit_for_review(
            ws, user=case.people.reviewer, comparison_id=comparison.comparison_id
        )
    with pytest.raises(PermissionDenied):
        reviews.skip_review(
            ws,
            user=case.people.reviewer,
            comparison_id=comparison.comparison_id,
            reason="Not practicable because I say so, honestly",
        )


def test_audit_log_withholds_first_answers_until_the_review_is_recorded(
    ws: Workstation, case: SearchedCase
) -> None:
    """A supervisor may be the blind reviewer: the audit viewer must not be a back door."""
    from app.casework.audit_log import WITHHELD, query_audit_events

    supervisor = case.people.supervisor
    comparison_id = _submitted(ws, case)

    def shown() -> list[dict[str, object]]:
        page = query_audit_events(
            ws, by=supervisor, object_type="comparison", object_id=str(comparison_id)
        )
        return [dict(row.details) for row in page.rows if row.action != "comparison.started"]

    before = shown()
    assert sum(d.get("answers") == WITHHELD for d in before) >= 2
    assert all(d.get("answers", WITHHELD) == WITHHELD for d in before)
    assert any(d.get("conclusion") == WITHHELD for d in before)
    assert not any(NOTE in str(d) for d in before)

    reviewer = case.people.reviewer
    review = reviews.start_review(ws, user=reviewer, comparison_id=comparison_id)
    reviews.record_review(
        ws, user=reviewer, review_id=review.review_id, conclusion="possible_lead",
        answers=all_answers(ws),
    )
    after = shown()
    assert any(d.get("conclusion") == "possible_lead" for d in after)
    assert any(NOTE in str(d) for d in after)
