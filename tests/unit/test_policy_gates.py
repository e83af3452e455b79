"""Every policy gate: the allowed path, and each refusal with its plain reason and clause."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import pytest

from app.errors import PermissionDenied, PolicyViolation
from app.policy import gates
from app.policy.gates import Acknowledgment, ExaminerFacts, RequestIntake, ReviewState, Training
from app.policy.profiles import PolicyProfile, load_profile
from app.policy.roles import Role
from app.policy.worksheet import Conclusion, WorksheetDefinition, load_worksheet

TODAY = date(2026, 6, 1)


@pytest.fixture(scope="module")
def mptc() -> PolicyProfile:
    return load_profile("mptc-2019")


@pytest.fixture(scope="module")
def nypd() -> PolicyProfile:
    return load_profile("nypd-2020")


@pytest.fixture(scope="module")
def sheet(mptc: PolicyProfile) -> WorksheetDefinition:
    return load_worksheet(mptc.worksheet)


def examiner(profile: PolicyProfile, **changes: Any) -> ExaminerFacts:
    facts = ExaminerFacts(
        active=True,
        roles=frozenset({Role.EXAMINER}),
        training=(Training("FR examiner course", date(2026, 1, 10), date(2027, 1, 10)),),
        acknowledged=(Acknowledgment(profile.name, profile.version, profile.sha256),),
    )
    return replace(facts, **changes)


def intake(**changes: Any) -> RequestIntake:
    base = RequestIntake(
        case_number="2026-0042",
        requesting_officer="Det. R. Lopez",
        requesting_agency="Example PD",
        purpose_code="IV.B.1a",
        offense="Robbery in the second degree",
        narrative="Store robbery; still image from the store's CCTV.",
        probe_source="agency_personnel",
        probe_obtained_how="CCTV export collected at the store by Det. Lopez",
        attests_lawful_source=True,
        attests_not_protected_basis=True,
        attests_actual_subject=True,
    )
    return replace(base, **changes)


# ------------------------------------------------------------------ search: III.B, IV.A, VII
def test_qualified_examiner_may_search(mptc: PolicyProfile) -> None:
    facts = examiner(mptc)
    gates.check_can_search(facts, mptc, TODAY)
    assert gates.evaluate_can_search(facts, mptc, TODAY) == gates.Decision(True, ())
    # Validity includes the first and the last day of the training record.
    gates.check_can_search(facts, mptc, date(2026, 1, 10))
    gates.check_can_search(facts, mptc, date(2027, 1, 10))


@dataclass(frozen=True)
class CaseworkLikeTraining:
    """Casework's own record shape (extra fields) is accepted by the gate."""

    course: str
    completed_on: date
    expires_on: date
    recorded_by: str
    recorded_at: datetime


def test_gate_accepts_other_layers_fact_objects(mptc: PolicyProfile) -> None:
    entry = CaseworkLikeTraining(
        "FR", date(2026, 1, 1), date(2027, 1, 1), "admin", datetime(2026, 1, 1)
    )
    gates.check_can_search(examiner(mptc, training=(entry,)), mptc, TODAY)


SEARCH_REFUSALS: dict[str, tuple[dict[str, Any], str]] = {
    "inactive": ({"active": False}, r"The account is inactive.*\(MPTC III\.B, IV\.A\)"),
    "not an examiner": (
        {"roles": frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR})},
        r"Only an examiner may run facial recognition searches.*\(MPTC III\.B, IV\.A\)",
    ),
    "untrained": ({"training": ()}, r"There is no training record.*\(MPTC III\.B, IV\.A, VII\)"),
    "expired": (
        {"training": (Training("FR", date(2024, 5, 1), date(2026, 5, 31)),)},
        r"training expired on 2026-05-31; it must be renewed",
    ),
    "not started yet": (
        {"training": (Training("FR", date(2026, 6, 2), date(2027, 6, 2)),)},
        r"training record is not valid until 2026-06-02",
    ),
    "never acknowledged": (
        {"acknowledged": ()},
        r"has not acknowledged the policy in force, NYS MPTC .* \(2019-12\) \(MPTC VII\)",
    ),
    "older version acknowledged": (
        {"acknowledged": (Acknowledgment("mptc-2019", "2018-06", "0" * 64),)},
        r"acknowledged another version \(2018-06\).*version in force, 2019-12, must be",
    ),
    "file changed since acknowledged": (
        {"acknowledged": (Acknowledgment("mptc-2019", "2019-12", "0" * 64),)},
        r"policy file .* has changed since the examiner acknowledged it",
    ),
    "other profile acknowledged": (
        {"acknowledged": (Acknowledgment("nypd-2020", "2020-03-13", "1" * 64),)},
        r"has not acknowledged the policy in force",
    ),
}


@pytest.mark.parametrize("case", sorted(SEARCH_REFUSALS))
def test_search_refusals(mptc: PolicyProfile, case: str) -> None:
    changes, message = SEARCH_REFUSALS[case]
    facts = examiner(mptc, **changes)
    with pytest.raises(PermissionDenied, match=message):
        gates.check_can_search(facts, mptc, TODAY)
    decision = gates.evaluate_can_search(facts, mptc, TODAY)
    assert not decision.allowed and len(decision.reasons) == 1


def test_search_refusal_lists_every_problem(mptc: PolicyProfile) -> None:
    facts = ExaminerFacts(active=False, roles=frozenset())
    decision = gates.evaluate_can_search(facts, mptc, TODAY)
    assert len(decision.reasons) == 4  # inactive, role, training, acknowledgment
    assert decision.reason == " ".join(decision.reasons)


def test_expired_record_beside_a_current_one_still_counts(mptc: PolicyProfile) -> None:
    old = Training("FR", date(2020, 1, 1), date(2021, 1, 1))
    current = Training("FR refresher", date(2026, 1, 1), date(2027, 1, 1))
    gates.check_can_search(examiner(mptc, training=(old, current)), mptc, TODAY)


def test_profile_may_name_the_courses_that_count(mptc: PolicyProfile) -> None:
    strict = replace(mptc, training_courses=("NYS FR examiner",))
    with pytest.raises(PermissionDenied, match=r"None of the examiner's training courses.*NYS FR"):
        gates.check_can_search(examiner(strict), strict, TODAY)
    ok = (Training("NYS FR examiner", date(2026, 1, 1), date(2027, 1, 1)),)
    gates.check_can_search(examiner(strict, training=ok), strict, TODAY)


# ------------------------------------------------------------------------ intake: IV.B ... IV.F
def test_complete_request_is_accepted(mptc: PolicyProfile, nypd: PolicyProfile) -> None:
    gates.check_request_intake(intake(), mptc)
    gates.check_request_intake(intake(purpose_code="f"), nypd)
    interagency = intake(interagency=True, submitting_agency="County Sheriff")
    gates.check_request_intake(interagency, mptc)


def test_intake_lists_everything_missing(mptc: PolicyProfile) -> None:
    empty = RequestIntake(
        case_number="",
        requesting_officer=" ",
        requesting_agency="",
        purpose_code="",
        offense="",
        narrative="",
        probe_source="",
        probe_obtained_how="",
        attests_lawful_source=False,
        attests_not_protected_basis=False,
        attests_actual_subject=False,
    )
    decision = gates.evaluate_request_intake(empty, mptc)
    assert not decision.allowed
    joined = decision.reason
    for expected in (
        "Record the case number (MPTC IV.B, V.A).",
        "Record the requesting officer",
        "Record the requesting agency",
        "Record the offense",
        "Record the narrative",
        "Record how and where the probe image was obtained (MPTC IV.D).",
        "Choose one of the purposes authorized by NYS MPTC",
        "Record where the probe image came from (MPTC IV.D).",
        "attest that the probe image was lawfully obtained",
        "not based solely on protected characteristics or protected activity (MPTC V.B)",
        "attest that the probe image shows the actual subject (MPTC IV.D)",
    ):
        assert expected in joined, expected
    assert len(decision.reasons) == 11
    with pytest.raises(PolicyViolation) as refused:
        gates.check_request_intake(empty, mptc)
    assert str(refused.value) == joined


INTAKE_REFUSALS: dict[str, tuple[dict[str, Any], str]] = {
    "purpose outside the profile": (
        {"purpose_code": "a"},
        r"^Purpose 'a' is not one of the purposes authorized by NYS MPTC Facial Recognition "
        r"Model Policy\.$",
    ),
    "free-text purpose": ({"purpose_code": "other"}, "Purpose 'other' is not one of"),
    "missing purpose": ({"purpose_code": ""}, r"Choose one of the purposes"),
    "missing lawful-source attestation": (
        {"attests_lawful_source": False},
        r"lawfully obtained and is relevant .*IV\.D, V\.B",
    ),
    "missing protected-basis attestation": (
        {"attests_not_protected_basis": False},
        r"protected activity \(MPTC V\.B\)",
    ),
    "missing actual-subject attestation": (
        {"attests_actual_subject": False},
        r"shows the actual subject \(MPTC IV\.D\)",
    ),
    "probe source not allowed": (
        {"probe_source": "social_media_scrape"},
        r"Probe source 'social_media_scrape' is not allowed .*\(MPTC IV\.D\)",
    ),
    "composite sketch at intake": (
        {"probe_kind": "composite_sketch"},
        r"composite sketch cannot be searched: the probe must show the actual subject",
    ),
    "interagency without agency": (
        {"interagency": True},
        r"Name the agency that submitted this request \(MPTC IV\.F\)",
    ),
    "named agency but not marked interagency": (
        {"submitting_agency": "County Sheriff"},
        r"mark the request as another agency's request.*\(MPTC IV\.F\)",
    ),
}


@pytest.mark.parametrize("case", sorted(INTAKE_REFUSALS))
def test_intake_refusals(mptc: PolicyProfile, case: str) -> None:
    changes, message = INTAKE_REFUSALS[case]
    with pytest.raises(PolicyViolation, match=message):
        gates.check_request_intake(intake(**changes), mptc)
    assert len(gates.evaluate_request_intake(intake(**changes), mptc).reasons) == 1


@pytest.mark.parametrize(
    ("kind", "label"),
    [
        ("composite_sketch", "composite sketch"),
        ("artist_rendering", "artist rendering"),
        ("look_alike", "look-alike substitute"),
    ],
)
def test_probe_kinds_that_do_not_show_the_subject(
    mptc: PolicyProfile, kind: str, label: str
) -> None:
    with pytest.raises(PolicyViolation, match=f"{label}.* cannot be searched.*MPTC IV.D"):
        gates.check_probe_kind(kind, mptc)


def test_photograph_is_a_valid_probe_kind(mptc: PolicyProfile) -> None:
    gates.check_probe_kind("photograph", mptc)
    gates.check_probe_kind("video_still", mptc)


# ------------------------------------------------------------------------------ probe edits
def test_edits(mptc: PolicyProfile) -> None:
    for operation in (
        "crop",
        "rotate",
        "brightness",
        "contrast",
        "gamma",
        "sharpen",
        "denoise",
        "grayscale",
    ):
        gates.check_edit_allowed(operation, mptc)
    with pytest.raises(
        PolicyViolation, match=r"Mirroring the probe is not allowed.*right and left"
    ):
        gates.check_edit_allowed("mirror", mptc)
    with pytest.raises(PolicyViolation, match="'liquify' is not a probe edit"):
        gates.check_edit_allowed("liquify", mptc)
    narrow = replace(mptc, allowed_edits=frozenset({"crop"}))
    with pytest.raises(PolicyViolation, match=r"The edit 'sharpen' is not allowed by NYS MPTC"):
        gates.check_edit_allowed("sharpen", narrow)
    mirrored = replace(mptc, allowed_edits=mptc.allowed_edits | {"mirror"})
    gates.check_edit_allowed("mirror", mirrored)  # an agency may allow it explicitly
    assert not gates.evaluate_edit("mirror", mptc).allowed


# ------------------------------------------------------------------------------ IV.E.1 worksheet
def full_answers(sheet: WorksheetDefinition) -> dict[str, object]:
    return {item_id: "similar" for item_id in sheet.item_ids}


def test_conclusion_needs_every_item(sheet: WorksheetDefinition) -> None:
    answers = full_answers(sheet)
    for conclusion in Conclusion:
        gates.check_conclusion(sheet, answers, conclusion)
    del answers["ears"], answers["tattoos"]
    for conclusion in Conclusion:
        with pytest.raises(PolicyViolation, match=r"missing: Ears, Tattoos\) \(MPTC IV\.E\.1\)"):
            gates.check_conclusion(sheet, answers, conclusion)
    total = len(sheet.items)
    decision = gates.evaluate_conclusion(sheet, answers)
    assert f"{total - 2} of {total} answered" in decision.reason
    with pytest.raises(PolicyViolation, match="'identified' is not a conclusion"):
        gates.check_conclusion(sheet, full_answers(sheet), "identified")


def test_decision_against_the_original_probe() -> None:
    gates.check_compared_with_original(compared_with_original=True)
    with pytest.raises(PolicyViolation, match=r"against the original probe.*IV\.E\.1"):
        gates.check_compared_with_original(compared_with_original=False)


# ------------------------------------------------------------------------ IV.E.2 second review
def test_second_reviewer(mptc: PolicyProfile) -> None:
    reviewer = examiner(mptc)
    gates.check_second_reviewer(1, 2, reviewer, mptc, TODAY)
    with pytest.raises(PermissionDenied, match=r"different examiner .*\(MPTC IV\.E\.2\)"):
        gates.check_second_reviewer(7, 7, reviewer, mptc, TODAY)
    with pytest.raises(PermissionDenied, match=r"must be a qualified examiner.*no training record"):
        gates.check_second_reviewer(1, 2, examiner(mptc, training=()), mptc, TODAY)
    with pytest.raises(PermissionDenied, match=r"qualified examiner.*Only an examiner"):
        gates.check_second_reviewer(
            1, 2, examiner(mptc, roles=frozenset({Role.SUPERVISOR})), mptc, TODAY
        )
    decision = gates.evaluate_second_reviewer(1, 2, examiner(mptc, active=False), mptc, TODAY)
    assert not decision.allowed and "inactive" in decision.reason


def test_blind_review_order() -> None:
    first, reviewer, other = 1, 2, 3
    waiting = ReviewState(
        first_examiner_id=first, first_conclusion=Conclusion.POSSIBLE_LEAD, reviewer_id=reviewer
    )
    assert gates.review_visible_to(first, waiting)
    assert not gates.review_visible_to(reviewer, waiting)
    assert not gates.review_visible_to(other, waiting)  # a would-be reviewer cannot peek
    with pytest.raises(PermissionDenied, match="blind review"):
        gates.check_review_visible(reviewer, waiting)
    done = replace(waiting, reviewer_conclusion=Conclusion.NOT_A_LEAD)
    assert gates.review_visible_to(reviewer, done) and gates.review_visible_to(other, done)
    gates.check_review_visible(reviewer, done)
    skipped = ReviewState(first_examiner_id=first, skip_reason="Not practicable because x y z")
    assert gates.review_visible_to(other, skipped)


def test_review_skip(mptc: PolicyProfile, nypd: PolicyProfile) -> None:
    for reason in (
        "Not practicable because no other trained examiner is on duty.",
        "Review was not practicable because the only other examiner is the requesting officer",
        "Impracticable because of an imminent threat; lead needed within the hour",
    ):
        gates.check_review_skip(mptc, reason)
    for reason in (
        "",
        "   ",
        "busy",
        "Not practicable because",
        "not practicable because ok",
        "It was practicable but I skipped it",
        "no other examiner on duty",
    ):
        with pytest.raises(PolicyViolation, match=r"not practicable.*\(MPTC IV\.E\.2\)"):
            gates.check_review_skip(mptc, reason)
    with pytest.raises(PolicyViolation, match="requires a second examiner's review; it cannot be"):
        gates.check_review_skip(nypd, "Not practicable because no other examiner is on duty.")


def test_lead_report_needs_worksheet_and_review(
    mptc: PolicyProfile, nypd: PolicyProfile, sheet: WorksheetDefinition
) -> None:
    answers = full_answers(sheet)
    lead = Conclusion.POSSIBLE_LEAD
    concurred = ReviewState(1, lead, 2, lead)
    gates.check_lead_report(sheet, answers, lead, concurred, mptc)
    skip = ReviewState(1, lead, skip_reason="Not practicable because no other examiner exists.")
    gates.check_lead_report(sheet, answers, lead, skip, mptc)
    with pytest.raises(PolicyViolation, match="cannot be skipped"):
        gates.check_lead_report(sheet, answers, lead, skip, nypd)
    with pytest.raises(PolicyViolation, match="did not concur"):
        gates.check_lead_report(
            sheet, answers, lead, ReviewState(1, lead, 2, Conclusion.INCONCLUSIVE), mptc
        )
    with pytest.raises(PolicyViolation, match="review is not recorded yet"):
        gates.check_lead_report(sheet, answers, lead, ReviewState(1, lead, 2), mptc)
    with pytest.raises(PolicyViolation, match="Only a candidate concluded to be a possible lead"):
        gates.check_lead_report(sheet, answers, Conclusion.NOT_A_LEAD, concurred, mptc)
    del answers["scars"]
    with pytest.raises(PolicyViolation, match="missing: Scars"):
        gates.check_lead_report(sheet, answers, lead, concurred, mptc)


# ------------------------------------------------------------------- IV.F, IV.G, VI.E: release
def test_results_release_needs_interagency_acknowledgment() -> None:
    gates.check_results_release(interagency=False, acknowledgment_recorded=False)
    gates.check_results_release(interagency=True, acknowledgment_recorded=True)
    with pytest.raises(PolicyViolation, match=r"written acknowledgment.*\(MPTC IV\.F\)"):
        gates.check_results_release(interagency=True, acknowledgment_recorded=False)


GOOD_RELEASE: dict[str, Any] = {
    "recipient_agency": "Example PD",
    "recipient_official": "Det. R. Lopez",
    "recipient_is_law_enforcement": True,
    "need_to_know_reason": "Assigned investigator on this case",
    "method": "Printed and handed over",
    "report_issued": True,
}
RELEASE_REFUSALS: dict[str, tuple[dict[str, Any], str]] = {
    "not law enforcement": (
        {"recipient_is_law_enforcement": False},
        r"only be released to law enforcement with a need to know.*\(MPTC IV\.G\)",
    ),
    "no need to know": ({"need_to_know_reason": ""}, r"why the recipient needs to know"),
    "need to know too thin": ({"need_to_know_reason": "yes"}, r"needs to know"),
    "before issue": ({"report_issued": False}, r"Only an issued report can be released"),
    "no agency": ({"recipient_agency": " "}, r"Record the receiving agency"),
    "no official": ({"recipient_official": ""}, r"Record the receiving official"),
    "no method": ({"method": ""}, r"Record how the report is released"),
}


def test_dissemination_allowed(mptc: PolicyProfile) -> None:
    gates.check_dissemination(**GOOD_RELEASE)
    assert gates.evaluate_dissemination(**GOOD_RELEASE).allowed
    assert gates.recipient_is_law_enforcement(mptc, "prosecutor")
    assert not gates.recipient_is_law_enforcement(mptc, "not_law_enforcement")
    assert not gates.recipient_is_law_enforcement(mptc, "newspaper")


@pytest.mark.parametrize("case", sorted(RELEASE_REFUSALS))
def test_dissemination_refusals(case: str) -> None:
    changes, message = RELEASE_REFUSALS[case]
    with pytest.raises(PolicyViolation, match=message):
        gates.check_dissemination(**{**GOOD_RELEASE, **changes})


def test_dissemination_lists_every_problem() -> None:
    decision = gates.evaluate_dissemination(
        recipient_agency="",
        recipient_official="",
        recipient_is_law_enforcement=False,
        need_to_know_reason="",
        method="",
        report_issued=False,
    )
    assert len(decision.reasons) == 6


def test_disclosure_release() -> None:
    gates.check_disclosure_release(approved_by_legal_advisor=True)
    with pytest.raises(PolicyViolation, match=r"legal advisor's approval.*\(MPTC VI\.E\)"):
        gates.check_disclosure_release(approved_by_legal_advisor=False)
    gates.check_can_approve_disclosure({Role.LEGAL_ADVISOR})
    with pytest.raises(PermissionDenied, match="Only a legal advisor may approve"):
        gates.check_can_approve_disclosure({Role.SUPERVISOR, Role.ADMINISTRATOR})


# ----------------------------------------------------------------------------- VI.A retention
def test_retention(mptc: PolicyProfile) -> None:
    days = mptc.retention_days("report")
    assert days is not None
    made = date(2019, 1, 1)
    last = gates.retained_until("report", made, mptc)
    assert last is not None and (last - made).days == days
    assert not gates.retention_due("report", made, mptc, last, legal_hold=False)  # last day kept
    day_after = date.fromordinal(last.toordinal() + 1)
    assert gates.retention_due("report", made, mptc, day_after, legal_hold=False)
    assert not gates.retention_due("report", made, mptc, day_after, legal_hold=True)
    ancient = date(1990, 1, 1)
    assert not gates.retention_due("audit", ancient, mptc, TODAY, legal_hold=False)
    assert gates.retained_until("audit", ancient, mptc) is None
    short = replace(
        mptc, retention={**mptc.retention, "probe": replace(mptc.retention["probe"], days=30)}
    )
    assert gates.retention_due("probe", date(2026, 4, 1), short, TODAY, legal_hold=False)
    assert not gates.retention_due("probe", date(2026, 5, 15), short, TODAY, legal_hold=False)
    with pytest.raises(PolicyViolation, match="no retention rule for 'screenshots'"):
        gates.retention_due("screenshots", made, mptc, TODAY, legal_hold=False)


# ----------------------------------------------------------------------- IV.C gallery, roles
def test_gallery_source_and_record(mptc: PolicyProfile, nypd: PolicyProfile) -> None:
    gates.check_gallery_source("arrest_photograph", mptc)
    gates.check_gallery_source("arrest_photograph", nypd)
    for profile in (mptc, nypd):
        with pytest.raises(
            PolicyViolation, match=r"'social_media' are not allowed.*\(MPTC IV\.C\)"
        ):
            gates.check_gallery_source("social_media", profile)
    good: dict[str, Any] = dict(
        source_type="arrest_photograph",
        source_reference="B26-001234",
        lawful_basis="Arrest processing, CPL 160.10",
        photo_date=date(2025, 3, 1),
        today=TODAY,
        profile=mptc,
    )
    assert gates.gallery_record_problems(**good) == ()
    problems = gates.gallery_record_problems(
        **{
            **good,
            "source_type": "dmv",
            "source_reference": "",
            "lawful_basis": "",
            "photo_date": None,
        }
    )
    assert len(problems) == 4
    future = gates.gallery_record_problems(**{**good, "photo_date": date(2027, 1, 1)})
    assert future == ("The photograph's date 2027-01-01 is in the future.",)


def test_roles() -> None:
    gates.check_can_seal({Role.SUPERVISOR})
    gates.check_can_seal([Role.ADMINISTRATOR])
    with pytest.raises(PermissionDenied, match="Only an administrator or supervisor may seal"):
        gates.check_can_seal({Role.EXAMINER, Role.LEGAL_ADVISOR})
    gates.require_role({Role.EXAMINER}, Role.EXAMINER, "compare candidates")
    with pytest.raises(PermissionDenied, match=r"^Only an examiner may compare candidates\.$"):
        gates.require_role({Role.SUPERVISOR}, Role.EXAMINER, "compare candidates")
