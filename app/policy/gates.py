"""Policy gates: pure checks on plain data, each refusal naming the clause it enforces.

``check_*`` functions raise :class:`PermissionDenied` (who may act) or :class:`PolicyViolation`
(what may be done) with a plain reason, or return None. ``evaluate_*`` variants return a
:class:`Decision` with every reason, so the UI can say why a button is disabled; casework always
calls ``check_*`` itself, whatever the UI showed.

Inputs are plain values or small dataclasses defined here; anything with the same attributes
(e.g. casework's own facts dataclasses) is accepted too (see the ``*Like`` protocols).
Release, retention and gallery gates live in :mod:`app.policy.release_gates` and are re-exported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from app.errors import PermissionDenied, PolicyViolation
from app.policy.decision import Decision, require_role
from app.policy.profiles import KNOWN_EDITS, PolicyProfile
from app.policy.release_gates import (
    check_can_approve_disclosure,
    check_can_seal,
    check_disclosure_release,
    check_dissemination,
    check_gallery_source,
    check_results_release,
    dissemination_problems,
    evaluate_dissemination,
    gallery_record_problems,
    recipient_is_law_enforcement,
    retained_until,
    retention_due,
)
from app.policy.roles import Role
from app.policy.worksheet import Conclusion, WorksheetDefinition, progress

__all__ = [
    "Acknowledgment",
    "Decision",
    "ExaminerFacts",
    "RequestIntake",
    "ReviewState",
    "Training",
    "check_can_approve_disclosure",
    "check_can_seal",
    "check_can_search",
    "check_compared_with_original",
    "check_conclusion",
    "check_disclosure_release",
    "check_dissemination",
    "check_edit_allowed",
    "check_gallery_source",
    "check_lead_report",
    "check_probe_kind",
    "check_request_intake",
    "check_results_release",
    "check_review_skip",
    "check_review_visible",
    "check_second_reviewer",
    "dissemination_problems",
    "evaluate_can_search",
    "evaluate_conclusion",
    "evaluate_dissemination",
    "evaluate_edit",
    "evaluate_lead_report",
    "evaluate_request_intake",
    "evaluate_review_skip",
    "evaluate_second_reviewer",
    "examiner_problems",
    "gallery_record_problems",
    "intake_problems",
    "recipient_is_law_enforcement",
    "require_role",
    "retained_until",
    "retention_due",
    "review_visible_to",
]

# Clauses of rules whose text the profile does not carry (the MPTC numbering, as in policy.md).
EXAMINER_CLAUSE = "MPTC III.B, IV.A"
WORKSHEET_CLAUSE = "MPTC IV.E.1"
INTAKE_CLAUSE = "MPTC IV.B, V.A"
PROBE_CLAUSE = "MPTC IV.D"
INTERAGENCY_CLAUSE = "MPTC IV.F"


# ------------------------------------------------------------------------------ input facts
class TrainingLike(Protocol):
    @property
    def course(self) -> str: ...
    @property
    def completed_on(self) -> date: ...
    @property
    def expires_on(self) -> date: ...


class AcknowledgmentLike(Protocol):
    @property
    def profile_name(self) -> str: ...
    @property
    def profile_version(self) -> str: ...
    @property
    def profile_sha256(self) -> str: ...


class ExaminerFactsLike(Protocol):
    @property
    def active(self) -> bool: ...
    @property
    def roles(self) -> frozenset[Role]: ...
    @property
    def training(self) -> Sequence[TrainingLike]: ...
    @property
    def acknowledged(self) -> Sequence[AcknowledgmentLike]: ...


@dataclass(frozen=True)
class Training:
    """A completed course, valid from ``completed_on`` through ``expires_on`` (both included)."""

    course: str
    completed_on: date
    expires_on: date


@dataclass(frozen=True)
class Acknowledgment:
    """An acknowledgment of one exact policy file (name, version and SHA-256)."""

    profile_name: str
    profile_version: str
    profile_sha256: str


@dataclass(frozen=True)
class ExaminerFacts:
    """What the search gate judges about a person."""

    active: bool
    roles: frozenset[Role]
    training: tuple[Training, ...] = ()
    acknowledged: tuple[Acknowledgment, ...] = ()


# ----------------------------------------------------------------- III.B, IV.A, VII: examiners
def _training_problem(facts: ExaminerFactsLike, profile: PolicyProfile, today: date) -> str | None:
    clause = profile.training_clause
    accepted = set(profile.training_courses)
    relevant = [t for t in facts.training if not accepted or t.course in accepted]
    if not relevant:
        if facts.training and accepted:
            return (
                "None of the examiner's training courses is one this policy accepts "
                f"({', '.join(sorted(accepted))}) ({clause})."
            )
        return (
            "There is no training record: an examiner must be trained on the software, the "
            f"policy, the law and privacy protections before searching ({clause})."
        )
    if any(t.completed_on <= today <= t.expires_on for t in relevant):
        return None
    upcoming = [t.completed_on for t in relevant if t.completed_on > today]
    if upcoming:
        return (
            f"The examiner's training record is not valid until {min(upcoming).isoformat()} "
            f"({clause})."
        )
    latest = max(t.expires_on for t in relevant)
    return (
        f"The examiner's training expired on {latest.isoformat()}; it must be renewed before "
        f"searching ({clause})."
    )


def _acknowledgment_problem(facts: ExaminerFactsLike, profile: PolicyProfile) -> str | None:
    clause = profile.acknowledgment.clause
    same_name = [a for a in facts.acknowledged if a.profile_name == profile.name]
    same_version = [a for a in same_name if a.profile_version == profile.version]
    if any(a.profile_sha256 == profile.sha256 for a in same_version):
        return None
    if same_version:
        return (
            f"The policy file of {profile.label} has changed since the examiner acknowledged it; "
            f"it must be read and acknowledged again ({clause})."
        )
    if same_name:
        older = ", ".join(sorted({a.profile_version for a in same_name}))
        return (
            f"The examiner acknowledged another version ({older}) of {profile.title}; the "
            f"version in force, {profile.version}, must be acknowledged ({clause})."
        )
    return f"The examiner has not acknowledged the policy in force, {profile.label} ({clause})."


def examiner_problems(
    facts: ExaminerFactsLike, profile: PolicyProfile, today: date
) -> tuple[str, ...]:
    """Everything that keeps this person from searching today (empty when qualified)."""
    problems: list[str] = []
    if not facts.active:
        problems.append(
            f"The account is inactive; an inactive account cannot search ({EXAMINER_CLAUSE})."
        )
    if Role.EXAMINER not in facts.roles:
        problems.append(
            "Only an examiner may run facial recognition searches; this account does not hold "
            f"the examiner role ({EXAMINER_CLAUSE})."
        )
    for problem in (
        _training_problem(facts, profile, today),
        _acknowledgment_problem(facts, profile),
    ):
        if problem:
            problems.append(problem)
    return tuple(problems)


def evaluate_can_search(facts: ExaminerFactsLike, profile: PolicyProfile, today: date) -> Decision:
    return Decision.of(examiner_problems(facts, profile, today))


def check_can_search(facts: ExaminerFactsLike, profile: PolicyProfile, today: date) -> None:
    """PermissionDenied unless an active, trained examiner who acknowledged this exact policy."""
    evaluate_can_search(facts, profile, today).enforce(PermissionDenied)


# -------------------------------------------------------------- IV.B, V.A, IV.D, V.B, IV.F intake
@dataclass(frozen=True)
class RequestIntake:
    """What an examiner records when opening a request (plain data, no database).

    ``interagency``: the request comes from another agency (``submitting_agency``), so the IV.F
    acknowledgment must be recorded before any result is released (``check_results_release``).
    """

    case_number: str
    requesting_officer: str
    requesting_agency: str
    purpose_code: str
    offense: str
    narrative: str
    probe_source: str
    probe_obtained_how: str
    attests_lawful_source: bool
    attests_not_protected_basis: bool
    attests_actual_subject: bool
    probe_kind: str = "photograph"
    interagency: bool = False
    submitting_agency: str = ""


_INTAKE_TEXTS = (
    ("case_number", "the case number", INTAKE_CLAUSE),
    ("requesting_officer", "the requesting officer", INTAKE_CLAUSE),
    ("requesting_agency", "the requesting agency", INTAKE_CLAUSE),
    ("offense", "the offense", INTAKE_CLAUSE),
    ("narrative", "the narrative", INTAKE_CLAUSE),
    ("probe_obtained_how", "how and where the probe image was obtained", PROBE_CLAUSE),
)


def intake_problems(intake: RequestIntake, profile: PolicyProfile) -> tuple[str, ...]:
    """Every missing or disallowed part of a request, not just the first."""
    problems: list[str] = []
    for name, label, clause in _INTAKE_TEXTS:
        if not str(getattr(intake, name) or "").strip():
            problems.append(f"Record {label} ({clause}).")
    code = intake.purpose_code.strip()
    if not code:
        problems.append(
            f"Choose one of the purposes authorized by {profile.title} ({INTAKE_CLAUSE})."
        )
    elif code not in {p.code for p in profile.purposes}:
        problems.append(
            f"Purpose '{code}' is not one of the purposes authorized by {profile.title}."
        )
    source = intake.probe_source.strip()
    if not source:
        problems.append(f"Record where the probe image came from ({PROBE_CLAUSE}).")
    elif profile.probe_source(source) is None:
        allowed = ", ".join(s.label.lower() for s in profile.probe_sources)
        problems.append(
            f"Probe source '{source}' is not allowed by {profile.title} (allowed: {allowed}) "
            f"({PROBE_CLAUSE})."
        )
    refused = profile.refused_probe_kind(intake.probe_kind)
    if refused is not None:
        problems.append(_refused_kind_message(refused.label, refused.clause))
    attestations = profile.attestations
    for given, attestation, what in (
        (
            intake.attests_lawful_source,
            attestations.lawful_source,
            "the probe image was lawfully obtained and is relevant to the purpose",
        ),
        (
            intake.attests_not_protected_basis,
            attestations.not_protected_basis,
            "the request is not based solely on protected characteristics or protected activity",
        ),
        (
            intake.attests_actual_subject,
            attestations.actual_subject,
            "the probe image shows the actual subject",
        ),
    ):
        if not given:
            problems.append(f"The examiner must attest that {what} ({attestation.clause}).")
    if intake.interagency and not intake.submitting_agency.strip():
        problems.append(f"Name the agency that submitted this request ({INTERAGENCY_CLAUSE}).")
    if not intake.interagency and intake.submitting_agency.strip():
        problems.append(
            f"A submitting agency ({intake.submitting_agency.strip()}) is named: mark the request "
            f"as another agency's request, so its written acknowledgment is recorded "
            f"({INTERAGENCY_CLAUSE})."
        )
    return tuple(problems)


def evaluate_request_intake(intake: RequestIntake, profile: PolicyProfile) -> Decision:
    return Decision.of(intake_problems(intake, profile))


def check_request_intake(intake: RequestIntake, profile: PolicyProfile) -> None:
    """PolicyViolation listing everything missing or not allowed in the request."""
    evaluate_request_intake(intake, profile).enforce(PolicyViolation)


def _refused_kind_message(label: str, clause: str) -> str:
    return (
        f"A probe image that is a {label[0].lower()}{label[1:]} cannot be searched: the probe "
        f"must show the actual subject ({clause})."
    )


def check_probe_kind(kind: str, profile: PolicyProfile) -> None:
    """PolicyViolation for a composite sketch, artist rendering or look-alike substitute."""
    refused = profile.refused_probe_kind(kind)
    if refused is not None:
        raise PolicyViolation(_refused_kind_message(refused.label, refused.clause))


# --------------------------------------------------------------------- probe edits on copies
def evaluate_edit(operation: str, profile: PolicyProfile) -> Decision:
    clause = profile.edits_clause
    if operation in profile.allowed_edits:
        return Decision.of(())
    if operation == "mirror":
        reason = (
            "Mirroring the probe is not allowed: it swaps the subject's right and left, so "
            f"features would be compared on the wrong side ({clause})."
        )
    elif operation not in KNOWN_EDITS:
        reason = f"'{operation}' is not a probe edit the workstation knows."
    else:
        reason = f"The edit '{operation}' is not allowed by {profile.title} ({clause})."
    return Decision.of((reason,))


def check_edit_allowed(operation: str, profile: PolicyProfile) -> None:
    evaluate_edit(operation, profile).enforce(PolicyViolation)


# -------------------------------------------------------------------------- IV.E.1 worksheet
def evaluate_conclusion(
    definition: WorksheetDefinition, answers: Mapping[str, object], conclusion: str | None = None
) -> Decision:
    """Whether a conclusion may be recorded: every item answered (and a known conclusion)."""
    reasons: list[str] = []
    if conclusion is not None and conclusion not in {c.value for c in Conclusion}:
        reasons.append(f"'{conclusion}' is not a conclusion of the worksheet.")
    state = progress(definition, answers)
    if not state.complete:
        labels = ", ".join(item.label for item in state.missing)
        reasons.append(
            f"Every worksheet item must be answered before a conclusion ({state.label}; "
            f"missing: {labels}) ({definition.clause})."
        )
    return Decision.of(reasons)


def check_conclusion(
    definition: WorksheetDefinition, answers: Mapping[str, object], conclusion: str
) -> None:
    evaluate_conclusion(definition, answers, conclusion).enforce(PolicyViolation)


def check_compared_with_original(*, compared_with_original: bool) -> None:
    """Answers and conclusions are recorded against the original probe, never an edited copy."""
    if not compared_with_original:
        raise PolicyViolation(
            "Record the comparison against the original probe image; an edited copy may help "
            f"to look but the decision is made on the original ({WORKSHEET_CLAUSE})."
        )


# ---------------------------------------------------------------------- IV.E.2 second review
def evaluate_second_reviewer(
    first_examiner_id: int,
    reviewer_id: int,
    reviewer_facts: ExaminerFactsLike,
    profile: PolicyProfile,
    today: date,
) -> Decision:
    clause = profile.second_review_clause
    if first_examiner_id == reviewer_id:
        return Decision.of(
            (
                "The second review must be done by a different examiner than the one who "
                f"compared the candidate ({clause}).",
            )
        )
    problems = examiner_problems(reviewer_facts, profile, today)
    if problems:
        return Decision.of(
            (f"The second reviewer must be a qualified examiner ({clause}).", *problems)
        )
    return Decision.of(())


def check_second_reviewer(
    first_examiner_id: int,
    reviewer_id: int,
    reviewer_facts: ExaminerFactsLike,
    profile: PolicyProfile,
    today: date,
) -> None:
    """PermissionDenied unless the reviewer is another, currently qualified examiner."""
    evaluate_second_reviewer(
        first_examiner_id, reviewer_id, reviewer_facts, profile, today
    ).enforce(PermissionDenied)


@dataclass(frozen=True)
class ReviewState:
    """Where the second review of one comparison stands."""

    first_examiner_id: int
    first_conclusion: Conclusion | None = None
    reviewer_id: int | None = None
    reviewer_conclusion: Conclusion | None = None
    skip_reason: str | None = None

    @property
    def reviewer_recorded(self) -> bool:
        return self.reviewer_id is not None and self.reviewer_conclusion is not None

    @property
    def finished(self) -> bool:
        """The review is recorded, or was skipped with its recorded reason."""
        return self.reviewer_recorded or bool(self.skip_reason and self.skip_reason.strip())


def review_visible_to(user_id: int, state: ReviewState) -> bool:
    """May this user see the first examiner's answers and conclusion? (blind review, IV.E.2)

    The first examiner always; the reviewer only after recording their own conclusion; anyone
    else (who might still become the reviewer) only once the review is finished.
    """
    if user_id == state.first_examiner_id:
        return True
    if user_id == state.reviewer_id:
        return state.reviewer_recorded
    return state.finished


def check_review_visible(user_id: int, state: ReviewState) -> None:
    if not review_visible_to(user_id, state):
        raise PermissionDenied(
            "The first examiner's answers stay hidden until the second examiner has recorded "
            "an independent conclusion (blind review, MPTC IV.E.2)."
        )


_SKIP_REASON = re.compile(
    r"\b(not practicable|impracticable)\s+because\b\s*(?P<why>.*)", re.I | re.S
)
_SKIP_EXAMPLE = "not practicable because no other trained examiner is on duty"


def evaluate_review_skip(profile: PolicyProfile, reason: str) -> Decision:
    clause = profile.second_review_clause
    if profile.second_review_required:
        return Decision.of(
            (
                f"{profile.title} requires a second examiner's review; it cannot be skipped "
                f"({clause}).",
            )
        )
    match = _SKIP_REASON.search(reason.strip())
    why = match.group("why").strip(" .;,:") if match else ""
    if len(why) < 8:
        return Decision.of(
            (
                "Give the reason the second review is not practicable, e.g. "
                f"'{_SKIP_EXAMPLE}' ({clause}).",
            )
        )
    return Decision.of(())


def check_review_skip(profile: PolicyProfile, reason: str) -> None:
    """Skipping only under "when practicable", with "not practicable because ..." recorded."""
    evaluate_review_skip(profile, reason).enforce(PolicyViolation)


def evaluate_lead_report(
    definition: WorksheetDefinition,
    answers: Mapping[str, object],
    conclusion: str | None,
    review: ReviewState,
    profile: PolicyProfile,
) -> Decision:
    """Whether a candidate may be reported as a lead (IV.E.1, IV.E.2).

    Needs the complete worksheet with the conclusion *possible lead*, and the second review
    finished: a second examiner who also concluded *possible lead*, or (only where the profile
    says "when practicable") a recorded reason why the review was not practicable.
    """
    reasons = list(evaluate_conclusion(definition, answers, conclusion).reasons)
    if conclusion != Conclusion.POSSIBLE_LEAD:
        reasons.append(
            "Only a candidate concluded to be a possible lead can be reported as a lead."
        )
    clause = profile.second_review_clause
    if review.reviewer_recorded:
        if review.reviewer_conclusion != Conclusion.POSSIBLE_LEAD:
            reasons.append(
                f"The second examiner did not concur that this is a possible lead ({clause})."
            )
    elif review.skip_reason and review.skip_reason.strip():
        reasons.extend(evaluate_review_skip(profile, review.skip_reason).reasons)
    else:
        reasons.append(f"The second examiner's review is not recorded yet ({clause}).")
    return Decision.of(reasons)


def check_lead_report(
    definition: WorksheetDefinition,
    answers: Mapping[str, object],
    conclusion: str | None,
    review: ReviewState,
    profile: PolicyProfile,
) -> None:
    evaluate_lead_report(definition, answers, conclusion, review, profile).enforce(PolicyViolation)
