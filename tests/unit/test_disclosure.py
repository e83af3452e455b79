"""Disclosure requests (MPTC VI.E): recorded, decided by the legal advisor, released only after
a recorded approval."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from case_support import add_user, events, make_people
from report_support import load_reported_case

from app.casework import disclosure
from app.casework.workstation import Workstation
from app.errors import InvalidInput, PermissionDenied, PolicyViolation
from app.policy.roles import Role


def test_release_is_refused_until_the_legal_advisor_approves(ws: Workstation) -> None:
    people = make_people(ws)
    counsel = add_user(ws, people.admin, "lena", frozenset({Role.LEGAL_ADVISOR}), trained=False)
    received = ws.now() - timedelta(days=2)
    request = disclosure.record_disclosure_request(
        ws,
        user=people.supervisor,
        requester="Springfield Gazette (FOIL request 2026-31)",
        description="All facial recognition searches run in January 2026",
        received_at=received,
    )
    assert request.status == "received" and request.received_at == received
    release = {
        "disclosure_id": request.disclosure_id,
        "description": "Counts of searches per purpose, January 2026",
        "method": "Letter by post",
    }
    with pytest.raises(PolicyViolation, match="legal advisor's approval"):
        disclosure.release_disclosure(ws, user=people.supervisor, **release)
    # Nobody but a legal advisor decides; an examiner does not even record requests.
    with pytest.raises(PermissionDenied, match="legal advisor"):
        disclosure.decide_disclosure(
            ws,
            user=people.supervisor,
            disclosure_id=request.disclosure_id,
            approve=True,
            reason="Looks fine to me",
        )
    with pytest.raises(PermissionDenied):
        disclosure.record_disclosure_request(
            ws, user=people.examiner, requester="A citizen", description="My own records please"
        )
    decided = disclosure.decide_disclosure(
        ws,
        user=counsel,
        disclosure_id=request.disclosure_id,
        approve=True,
        reason="Aggregate counts only; no personal data (FOIL section 87)",
    )
    assert decided.status == "approved" and decided.approved
    assert decided.decisions[0].decided_by == "lena"
    released = disclosure.release_disclosure(ws, user=people.supervisor, **release)
    assert released.status == "released" and released.releases[0].method == "Letter by post"
    with pytest.raises(PolicyViolation):  # released once; a second release needs a new request
        disclosure.release_disclosure(ws, user=people.supervisor, **release)

    refused = events(ws, "disclosure.refused")
    assert [e.actor for e in refused] == ["sam", "sam", "erin", "sam"]
    assert "approval" in refused[0].details_dict["reason"]
    assert events(ws, "disclosure.approved")[0].actor == "lena"
    assert events(ws, "disclosure.released")[0].details_dict["approved_by"] == "lena"


def test_denied_request_is_never_released(ws: Workstation) -> None:
    people = make_people(ws)
    counsel = add_user(ws, people.admin, "lena", frozenset({Role.LEGAL_ADVISOR}), trained=False)
    request = disclosure.record_disclosure_request(
        ws, user=counsel, requester="Defence counsel", description="The probe image of case 42"
    )
    denied = disclosure.decide_disclosure(
        ws,
        user=counsel,
        disclosure_id=request.disclosure_id,
        approve=False,
        reason="Ongoing investigation exemption",
    )
    assert denied.status == "denied" and not denied.approved
    with pytest.raises(PolicyViolation, match="approval"):
        disclosure.release_disclosure(
            ws,
            user=counsel,
            disclosure_id=request.disclosure_id,
            description="The probe image",
            method="Email",
        )
    with pytest.raises(PolicyViolation, match="already denied"):
        disclosure.decide_disclosure(
            ws,
            user=counsel,
            disclosure_id=request.disclosure_id,
            approve=True,
            reason="Changed my mind",
        )
    with pytest.raises(InvalidInput, match="future"):
        disclosure.record_disclosure_request(
            ws,
            user=counsel,
            requester="Someone",
            description="Anything at all",
            received_at=ws.now() + timedelta(days=1),
        )
    assert [d.status for d in disclosure.list_disclosures(ws, user=counsel)] == ["denied"]


def test_released_reports_are_named_with_their_hashes(ws: Workstation, yale_dir: Path) -> None:
    reported = load_reported_case(ws, yale_dir)
    people = reported.case.people
    counsel = add_user(ws, people.admin, "lena", frozenset({Role.LEGAL_ADVISOR}), trained=False)
    request = disclosure.record_disclosure_request(
        ws,
        user=counsel,
        requester="District court subpoena 26-114",
        description="The lead report of case 2026-CR-0042",
        request_reference=reported.report.request_number,
    )
    assert request.case_number == "2026-CR-0042"
    disclosure.decide_disclosure(
        ws,
        user=counsel,
        disclosure_id=request.disclosure_id,
        approve=True,
        reason="Subpoena from the court",
    )
    released = disclosure.release_disclosure(
        ws,
        user=counsel,
        disclosure_id=request.disclosure_id,
        description="Lead report, current version",
        method="Certified copy to the court clerk",
        report_ids=[reported.report.report_id],
    )
    item = released.releases[0].items[0]
    assert item["sha256"] == reported.report.pdf_sha256
    assert item["report_number"] == reported.report.report_number
