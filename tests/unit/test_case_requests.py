"""Request intake under the policy profile, queues, interagency acknowledgment, closing.

Every intake rule (MPTC IV.B, V.A, IV.D, V.B, IV.F) is refused with a plain reason, nothing is
recorded, and the refusal is in the audit log.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from case_support import (
    PASSWORD,
    People,
    actions,
    add_user,
    count_rows,
    events,
    intake,
    make_people,
)

from app.casework import accounts, requests
from app.casework.workstation import Workstation
from app.errors import InvalidInput, PermissionDenied, PolicyViolation
from app.policy.roles import Role
from app.records.case_models import CaseRequest


@pytest.fixture
def people(ws: Workstation) -> People:
    return make_people(ws)


def test_open_request_records_intake_profile_and_attestations(
    ws: Workstation, people: People
) -> None:
    summary = requests.open_request(ws, user=people.examiner, intake=intake())
    assert summary.request_number == f"REQ-{summary.created_at.year}-{summary.request_id:06d}"
    assert summary.status == "open"
    assert summary.assigned_examiner == "erin"
    assert summary.purpose_code == "IV.B.1a"
    assert summary.purpose_text == ws.profile.purpose("IV.B.1a").text
    assert (summary.profile_name, summary.profile_version, summary.profile_sha256) == (
        ws.profile.name,
        ws.profile.version,
        ws.profile.sha256,
    )
    assert summary.lawful_source_attested_at is not None
    assert summary.not_protected_basis_attested_at is not None
    assert summary.actual_subject_attested_at is not None
    assert summary.attested_by == "erin"
    assert not summary.is_interagency and summary.results_releasable
    assert summary.search_blockers == ("Add the probe image to the request.",)
    event = events(ws, "request.opened")[-1]
    assert event.actor == "erin" and event.object_id == str(summary.request_id)
    assert event.details_dict["profile"] == [ws.profile.name, ws.profile.version, ws.profile.sha256]
    found = requests.find_request(ws, user=people.examiner, reference=summary.request_number)
    assert found.request_id == summary.request_id


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"purpose_code": ""}, "Choose one of the purposes"),
        ({"purpose_code": "other"}, "is not one of the purposes authorized"),
        ({"purpose_code": "a"}, "is not one of the purposes authorized"),  # an NYPD code
        ({"case_number": "  "}, "case number"),
        ({"requesting_officer": ""}, "requesting officer"),
        ({"requesting_agency": ""}, "requesting agency"),
        ({"offense": ""}, "offense"),
        ({"narrative": ""}, "narrative"),
        ({"probe_obtained_how": ""}, "how and where the probe image was obtained"),
        ({"probe_source": "dark_web_forum"}, "is not allowed"),
        ({"attests_lawful_source": False}, "lawfully obtained"),
        ({"attests_not_protected_basis": False}, "protected characteristics"),
        ({"attests_actual_subject": False}, "actual subject"),
        ({"probe_kind": "composite_sketch"}, "omposite sketch"),
        ({"probe_kind": "artist_rendering"}, "rtist rendering"),
        ({"probe_kind": "look_alike"}, "ook-alike"),
        ({"interagency": True, "submitting_agency": ""}, "Name the agency that submitted"),
    ],
)
def test_incomplete_or_disallowed_intake_is_refused_and_audited(
    ws: Workstation, people: People, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(PolicyViolation, match=message):
        requests.open_request(ws, user=people.examiner, intake=intake(**changes))
    assert count_rows(ws, CaseRequest) == 0
    refused = events(ws, "request.refused")
    assert len(refused) == 1
    assert refused[0].actor == "erin"
    assert message in refused[0].details_dict["reason"]


def test_all_intake_problems_are_named_at_once(ws: Workstation, people: People) -> None:
    with pytest.raises(PolicyViolation) as caught:
        requests.open_request(
            ws,
            user=people.examiner,
            intake=intake(purpose_code="", attests_lawful_source=False, offense=""),
        )
    text = str(caught.value)
    assert "purposes" in text and "lawfully obtained" in text and "offense" in text


def test_only_an_examiner_opens_requests(ws: Workstation, people: People) -> None:
    with pytest.raises(PermissionDenied, match="Only an examiner"):
        requests.open_request(ws, user=people.supervisor, intake=intake())
    assert count_rows(ws, CaseRequest) == 0
    assert events(ws, "request.refused")[0].actor == "sam"


def test_deactivated_examiner_is_refused(ws: Workstation, people: People) -> None:
    accounts.set_active(ws, by=people.admin, user_id=people.examiner.user_id, active=False)
    with pytest.raises(PermissionDenied, match="not active"):
        requests.open_request(ws, user=people.examiner, intake=intake())


def test_overlong_field_is_a_plain_input_error(ws: Workstation, people: People) -> None:
    with pytest.raises(InvalidInput, match="case number is too long"):
        requests.open_request(ws, user=people.examiner, intake=intake(case_number="9" * 101))


def test_interagency_request_needs_the_written_acknowledgment(
    ws: Workstation, people: People
) -> None:
    summary = requests.open_request(
        ws,
        user=people.examiner,
        intake=intake(interagency=True, submitting_agency="  Shelbyville   Police "),
    )
    assert summary.submitting_agency == "Shelbyville Police"
    assert summary.is_interagency and not summary.results_releasable
    with pytest.raises(PermissionDenied, match="assigned examiner or a supervisor"):
        requests.record_interagency_acknowledgment(
            ws, user=people.reviewer, request_id=summary.request_id, acknowledged_by="Lt. Cruz"
        )
    with pytest.raises(InvalidInput, match="future"):
        requests.record_interagency_acknowledgment(
            ws,
            user=people.examiner,
            request_id=summary.request_id,
            acknowledged_by="Lt. Cruz",
            acknowledged_at=ws.now() + timedelta(days=1),
        )
    done = requests.record_interagency_acknowledgment(
        ws, user=people.examiner, request_id=summary.request_id, acknowledged_by="Lt. Cruz"
    )
    assert done.results_releasable
    assert done.interagency_ack_by == "Lt. Cruz"
    assert done.interagency_ack_text == ws.profile.report.interagency_acknowledgment
    assert done.interagency_ack_recorded_by == "erin"
    with pytest.raises(PolicyViolation, match="already recorded"):
        requests.record_interagency_acknowledgment(
            ws, user=people.examiner, request_id=summary.request_id, acknowledged_by="Someone"
        )
    assert events(ws, "request.interagency_acknowledged")[0].details_dict["acknowledged_by"] == (
        "Lt. Cruz"
    )


def test_own_request_needs_no_interagency_acknowledgment(ws: Workstation, people: People) -> None:
    summary = requests.open_request(ws, user=people.examiner, intake=intake())
    with pytest.raises(PolicyViolation, match="own request"):
        requests.record_interagency_acknowledgment(
            ws, user=people.examiner, request_id=summary.request_id, acknowledged_by="Lt. Cruz"
        )


def test_queues_and_counts(ws: Workstation, people: People) -> None:
    first = requests.open_request(ws, user=people.examiner, intake=intake(case_number="A-1"))
    requests.open_request(ws, user=people.examiner, intake=intake(case_number="B-2"))
    requests.open_request(ws, user=people.reviewer, intake=intake(case_number="A-3"))

    mine = requests.list_requests(ws, user=people.examiner, queue="mine")
    assert [r.case_number for r in mine.rows] == ["B-2", "A-1"]  # newest first
    assert mine.total == 2
    assert mine.counts == {"mine": 2, "awaiting_my_review": 0, "returned": 0}
    filtered = requests.list_requests(ws, user=people.examiner, queue="mine", case_number="A-")
    assert [r.case_number for r in filtered.rows] == ["A-1"]

    with pytest.raises(PermissionDenied, match="not open to you"):
        requests.list_requests(ws, user=people.examiner, queue="all")
    everything = requests.list_requests(ws, user=people.supervisor, queue="all")
    assert everything.total == 3
    assert set(everything.counts) == {"all", "disagreements"}
    with pytest.raises(InvalidInput, match="Unknown queue"):
        requests.list_requests(ws, user=people.examiner, queue="everything")

    requests.close_request(
        ws, user=people.examiner, request_id=first.request_id, reason="Duplicate"
    )
    assert requests.list_requests(ws, user=people.examiner, queue="mine").total == 1


def test_close_request_rules(ws: Workstation, people: People) -> None:
    summary = requests.open_request(ws, user=people.examiner, intake=intake())
    with pytest.raises(PermissionDenied):
        requests.close_request(
            ws, user=people.reviewer, request_id=summary.request_id, reason="Not mine to close"
        )
    with pytest.raises(InvalidInput, match="reason"):
        requests.close_request(ws, user=people.examiner, request_id=summary.request_id, reason="")
    closed = requests.close_request(
        ws, user=people.supervisor, request_id=summary.request_id, reason="Withdrawn by officer"
    )
    assert (closed.status, closed.status_note) == ("closed", "Withdrawn by officer")
    with pytest.raises(PolicyViolation, match="already closed"):
        requests.close_request(
            ws, user=people.examiner, request_id=summary.request_id, reason="Again and again"
        )
    assert "request.closed" in actions(ws)


def test_no_lead_needs_a_search_first(ws: Workstation, people: People) -> None:
    summary = requests.open_request(ws, user=people.examiner, intake=intake())
    with pytest.raises(PolicyViolation, match="only a searched request"):
        requests.record_no_lead(ws, user=people.examiner, request_id=summary.request_id)
    assert events(ws, "request.refused")[-1].details_dict["attempted"] == "conclude without a lead"


def test_nypd_profile_offers_only_its_own_purposes(
    ws: Workstation, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.policy.profiles import load_profile

    ws.profile = load_profile("nypd-2020")
    admin = accounts.create_first_admin(ws, username="admin", display_name="", password=PASSWORD)
    examiner = add_user(ws, admin, "nora", frozenset({Role.EXAMINER}))
    nypd_code = ws.profile.purposes[0].code
    ok = requests.open_request(ws, user=examiner, intake=intake(purpose_code=nypd_code))
    assert ok.profile_name == "nypd-2020"
    with pytest.raises(PolicyViolation, match="not one of the purposes"):
        requests.open_request(ws, user=examiner, intake=intake(purpose_code="IV.B.1a"))
