"""Supervisors' queries and random audits (MPTC VI.C): searches per examiner and purpose, leads
without second review, disagreements, releases, refused actions, counts; seeded audit samples."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from case_support import add_user, events, intake, load_case, make_people
from report_support import LAW_ENFORCEMENT, concluded, reviewed

from app.casework import dissemination, reports, requests, reviews, supervision
from app.casework.workstation import Workstation
from app.errors import InvalidInput, PermissionDenied, PolicyViolation
from app.policy.roles import Role

SKIP = "Not practicable because the second examiner is deployed to a disaster scene this week"


def test_compliance_queries_over_a_worked_case(ws: Workstation, yale_dir: Path) -> None:
    case = load_case(ws, yale_dir)
    people = case.people
    examiner, supervisor = people.examiner, people.supervisor
    disputed = concluded(ws, case, reference="YALE-02")
    reviewed(ws, case, disputed, conclusion="not_a_lead")
    lead = concluded(ws, case, reference="YALE-03")
    reviews.skip_review(ws, user=examiner, comparison_id=lead, reason=SKIP)
    report = reports.issue_lead_report(ws, user=examiner, comparison_id=lead)
    dissemination.disseminate(ws, user=examiner, report_id=report.report_id, **LAW_ENFORCEMENT)
    with pytest.raises(PolicyViolation):
        dissemination.disseminate(
            ws,
            user=examiner,
            report_id=report.report_id,
            **{**LAW_ENFORCEMENT, "recipient_type": "not_law_enforcement"},
        )

    per_examiner = supervision.searches_per_examiner(ws, user=supervisor)
    assert [(r.key, r.count) for r in per_examiner] == [("erin", 1)]
    per_purpose = supervision.searches_per_purpose(ws, user=supervisor)
    assert [(r.key, r.count) for r in per_purpose] == [("IV.B.1a", 1)]
    assert per_purpose[0].label == ws.profile.purpose("IV.B.1a").text

    unreviewed = supervision.searches_without_review(ws, user=supervisor)
    assert [(u.comparison_id, u.review_state) for u in unreviewed] == [(lead, "skipped")]
    assert unreviewed[0].skip_reason == SKIP and unreviewed[0].subject_reference == "YALE-03"
    assert unreviewed[0].search_id == case.search.search_id

    disagreements = supervision.review_disagreements(ws, user=supervisor)
    assert [(d.comparison_id, d.reviewer, d.reviewer_conclusion) for d in disagreements] == [
        (disputed, "rita", "not_a_lead")
    ]
    released = supervision.reports_disseminated(ws, user=supervisor)
    assert [(r.report_number, r.official) for r in released] == [
        (report.report_number, "Det. Alex Moreno")
    ]
    refused = supervision.refused_actions(ws, user=supervisor)
    assert [r.action for r in refused] == ["dissemination.refused"]

    counts = supervision.compliance_counts(ws, user=supervisor)
    assert (counts.requests, counts.searches, counts.comparisons_concluded) == (1, 1, 2)
    assert (counts.possible_leads, counts.leads_reviewed, counts.leads_review_skipped) == (2, 1, 1)
    assert (counts.disagreements, counts.lead_reports, counts.disseminations) == (1, 1, 1)
    assert counts.refused_actions == 1

    # A period before any of it counts nothing.
    before = supervision.compliance_counts(
        ws,
        user=supervisor,
        since=ws.now() - timedelta(days=30),
        until=ws.now() - timedelta(days=20),
    )
    assert (before.searches, before.possible_leads, before.disseminations) == (0, 0, 0)
    # Examiners do not supervise; the refusal is itself audited and then counted.
    with pytest.raises(PermissionDenied, match="supervisor"):
        supervision.searches_per_examiner(ws, user=examiner)
    assert events(ws, "permission.denied")[-1].details_dict["attempted"] == (
        "see searches per examiner"
    )
    assert supervision.compliance_counts(ws, user=supervisor).refused_actions == 2


def test_audit_sample_is_recorded_and_reproducible_from_its_seed(ws: Workstation) -> None:
    people = make_people(ws)
    opened = [
        requests.open_request(ws, user=people.examiner, intake=intake(case_number=f"S-{n}"))
        for n in range(8)
    ]
    since, until = ws.now() - timedelta(days=1), ws.now() + timedelta(days=1)
    sample = supervision.draw_audit_sample(
        ws, user=people.supervisor, n=3, since=since, until=until, seed=20260302
    )
    assert sample.seed == 20260302 and sample.population == 8 and len(sample.request_ids) == 3
    assert set(sample.request_ids) <= {r.request_id for r in opened}
    again = supervision.draw_audit_sample(
        ws, user=people.supervisor, n=3, since=since, until=until, seed=20260302
    )
    assert again.request_ids == sample.request_ids and again.sample_id != sample.sample_id
    assert (
        supervision.reproduce_audit_sample(ws, user=people.supervisor, sample_id=sample.sample_id)
        == sample.request_ids
    )
    assert (
        supervision.sample_requests([r.request_id for r in reversed(opened)], 3, 20260302)
        == sample.request_ids
    )
    others = {
        supervision.sample_requests([r.request_id for r in opened], 3, seed) for seed in range(20)
    }
    assert len(others) > 1  # the seed matters
    unseeded = supervision.draw_audit_sample(
        ws, user=people.supervisor, n=3, since=since, until=until
    )
    assert (
        supervision.sample_requests([r.request_id for r in opened], 3, unseeded.seed)
        == unseeded.request_ids
    )

    drawn = events(ws, "audit.sample_drawn")
    assert drawn[0].details_dict["seed"] == 20260302
    assert drawn[0].details_dict["request_ids"] == list(sample.request_ids)

    chosen = sample.request_ids[0]
    finding = supervision.record_audit_finding(
        ws,
        user=people.supervisor,
        sample_id=sample.sample_id,
        request_id=chosen,
        finding="Purpose and attestations complete; probe source recorded.",
        compliant=True,
    )
    assert finding.request_number.startswith("REQ-")
    outside = next(r.request_id for r in opened if r.request_id not in sample.request_ids)
    with pytest.raises(InvalidInput, match="not in audit sample"):
        supervision.record_audit_finding(
            ws,
            user=people.supervisor,
            sample_id=sample.sample_id,
            request_id=outside,
            finding="Should not be recorded",
            compliant=False,
        )
    stored = supervision.get_audit_sample(ws, user=people.supervisor, sample_id=sample.sample_id)
    assert [f.request_id for f in stored.findings] == [chosen]

    counsel = add_user(ws, people.admin, "lena", frozenset({Role.LEGAL_ADVISOR}), trained=False)
    with pytest.raises(PermissionDenied, match="supervisor or administrator"):
        supervision.draw_audit_sample(ws, user=counsel, n=1, since=since, until=until)
    assert supervision.list_audit_samples(ws, user=counsel)[0].sample_id == unseeded.sample_id
    with pytest.raises(InvalidInput, match="nothing to draw"):
        supervision.draw_audit_sample(
            ws,
            user=people.supervisor,
            n=2,
            since=since - timedelta(days=10),
            until=since - timedelta(days=9),
        )
