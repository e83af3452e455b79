"""Walking a random audit sample: each sampled request's read-only case file, section by section,
audited as a supervisor's read; progress counts the requests with a finding."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from case_support import add_user, events, intake, make_people
from report_support import LAW_ENFORCEMENT, NOTE, load_reported_case

from app.casework import dissemination, requests, supervision
from app.casework.audit_walk import SECTION_TITLES, audit_case_file, audit_progress
from app.casework.workstation import Workstation
from app.errors import InvalidInput, PermissionDenied
from app.policy.roles import Role
from app.records.case_models import CaseRequest


def test_case_file_shows_every_section_and_the_read_is_audited(
    ws: Workstation, yale_dir: Path
) -> None:
    reported = load_reported_case(ws, yale_dir)
    people = reported.case.people
    dissemination.disseminate(
        ws, user=people.examiner, report_id=reported.report.report_id, **LAW_ENFORCEMENT
    )
    other = requests.open_request(ws, user=people.examiner, intake=intake(case_number="2026-X-9"))
    since, until = ws.now() - timedelta(days=30), ws.now() + timedelta(days=1)
    sample = supervision.draw_audit_sample(
        ws, user=people.supervisor, n=2, since=since, until=until, seed=7
    )
    assert set(sample.request_ids) == {reported.case.request_id, other.request_id}

    case_file = audit_case_file(
        ws, user=people.supervisor, sample_id=sample.sample_id, request_id=reported.case.request_id
    )
    assert [s.key for s in case_file.sections] == [key for key, _ in SECTION_TITLES]
    assert case_file.total == 2 and case_file.held and case_file.case_number == "2026-CR-0042"
    text = {s.key: s.text for s in case_file.sections}
    assert "Robbery in the second degree" in text["request"]
    assert "Purpose IV.B.1a" in text["purpose"] and "NOT attested" not in text["purpose"]
    assert "no edits" in text["probe"]
    assert "dlib-resnet-v1" in text["search"]
    assert "YALE-03" in text["candidates"]
    assert "possible_lead" in text["worksheet"] and NOTE in text["worksheet"]
    assert "by rita" in text["review"] and "agrees" in text["review"]
    assert reported.report.report_number in text["reports"]
    assert "Det. Alex Moreno" in text["dissemination"]
    read = events(ws, "audit.case_read")
    assert len(read) == 1 and read[0].actor == "sam"
    assert read[0].object_id == str(reported.case.request_id)
    assert read[0].details_dict["sample_id"] == sample.sample_id

    empty = audit_case_file(
        ws, user=people.admin, sample_id=sample.sample_id, request_id=other.request_id
    )
    assert empty.section("search").text == "Nothing recorded."
    assert empty.section("dissemination").lines == ()


def test_progress_counts_requests_with_a_finding(ws: Workstation, yale_dir: Path) -> None:
    people = make_people(ws)
    opened = [
        requests.open_request(ws, user=people.examiner, intake=intake(case_number=f"C-{n}"))
        for n in range(4)
    ]
    since, until = ws.now() - timedelta(days=1), ws.now() + timedelta(days=1)
    sample = supervision.draw_audit_sample(
        ws, user=people.supervisor, n=3, since=since, until=until, seed=3
    )
    assert audit_progress(sample) == (0, 3)
    first = sample.request_ids[0]
    for compliant in (True, False):  # two findings on one request count once
        supervision.record_audit_finding(
            ws, user=people.supervisor, sample_id=sample.sample_id, request_id=first,
            finding="Purpose and attestations complete.", compliant=compliant,
        )
    again = supervision.get_audit_sample(ws, user=people.supervisor, sample_id=sample.sample_id)
    assert audit_progress(again) == (1, 3)
    case_file = audit_case_file(
        ws, user=people.supervisor, sample_id=sample.sample_id, request_id=first
    )
    assert len(case_file.findings) == 2 and case_file.position == 1

    outside = next(r.request_id for r in opened if r.request_id not in sample.request_ids)
    with pytest.raises(InvalidInput, match="not in audit sample"):
        audit_case_file(ws, user=people.supervisor, sample_id=sample.sample_id, request_id=outside)
    counsel = add_user(ws, people.admin, "lena", frozenset({Role.LEGAL_ADVISOR}), trained=False)
    with pytest.raises(PermissionDenied, match="supervisor or administrator"):
        audit_case_file(ws, user=counsel, sample_id=sample.sample_id, request_id=first)
    with pytest.raises(PermissionDenied):
        audit_case_file(ws, user=people.examiner, sample_id=sample.sample_id, request_id=first)
    denied = events(ws, "permission.denied")
    assert [e.actor for e in denied] == ["lena", "erin"]


def test_a_request_purged_since_the_draw_is_shown_as_no_longer_held(ws: Workstation) -> None:
    people = make_people(ws)
    opened = requests.open_request(ws, user=people.examiner, intake=intake(case_number="C-1"))
    since, until = ws.now() - timedelta(days=1), ws.now() + timedelta(days=1)
    sample = supervision.draw_audit_sample(
        ws, user=people.supervisor, n=1, since=since, until=until, seed=5
    )
    with ws.database.session() as session:  # as a retention purge would
        session.delete(session.get(CaseRequest, opened.request_id))
    case_file = audit_case_file(
        ws, user=people.supervisor, sample_id=sample.sample_id, request_id=opened.request_id
    )
    assert not case_file.held and case_file.case_number is None
    assert "no longer held" in case_file.section("request").text
    assert case_file.section("search").text == "Nothing recorded."
    assert events(ws, "audit.case_read")[0].details_dict["held"] is False


def test_case_file_withholds_first_findings_until_the_blind_review_is_finished(
    ws: Workstation, yale_dir: Path
) -> None:
    """The supervisor walking the sample may be the comparison's blind reviewer."""
    from case_support import all_answers, candidate_id, load_case

    from app.casework import comparisons, reviews

    case = load_case(ws, yale_dir)
    people = case.people
    started = comparisons.start_comparison(
        ws, user=people.examiner, candidate_id=candidate_id(case, "YALE-03")
    )
    answers: dict[str, comparisons.AnswerInput] = dict(all_answers(ws))
    answers["scars"] = ("similar", "Scar over the left eyebrow")
    comparisons.record_answers(
        ws, user=people.examiner, comparison_id=started.comparison_id, answers=answers
    )
    comparisons.conclude(
        ws, user=people.examiner, comparison_id=started.comparison_id, conclusion="possible_lead"
    )
    reviews.submit_for_review(ws, user=people.examiner, comparison_id=started.comparison_id)
    since, until = ws.now() - timedelta(days=30), ws.now() + timedelta(days=1)
    sample = supervision.draw_audit_sample(
        ws, user=people.supervisor, n=1, since=since, until=until, seed=3
    )

    def worksheet() -> str:
        return audit_case_file(
            ws, user=people.supervisor, sample_id=sample.sample_id, request_id=case.request_id
        ).section("worksheet").text

    assert "withheld until the second review is finished" in worksheet()
    assert "possible_lead" not in worksheet() and "Scar over" not in worksheet()
    review = reviews.start_review(ws, user=people.reviewer, comparison_id=started.comparison_id)
    reviews.record_review(
        ws, user=people.reviewer, review_id=review.review_id, conclusion="possible_lead",
        answers=all_answers(ws),
    )
    assert "possible_lead" in worksheet() and "Scar over" in worksheet()
