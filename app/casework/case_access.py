"""Shared plumbing of request casework: rows by id, who may act on a request, audited refusals.

Every refusal a policy rule makes (``PermissionDenied`` or ``PolicyViolation``) is written to the
audit log in a transaction of its own, after the refused work was rolled back, and then raised:
:func:`refusals_audited` wraps a use case's unit of work for that.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.casework.account_rules import SignedInUser, roles_of
from app.casework.workstation import Workstation
from app.errors import NotFound, PermissionDenied, PolicyViolation
from app.policy.gates import RequestIntake, ReviewState, intake_problems, review_visible_to
from app.policy.profiles import PolicyProfile
from app.policy.roles import Role
from app.policy.worksheet import Conclusion
from app.records.audit import append_event, canonical_json
from app.records.case_models import (
    CaseRequest,
    Comparison,
    ProbeImage,
    ProbeVersion,
    Review,
    ReviewSkip,
)
from app.records.models import User

CLOSED_STATUSES = frozenset({"concluded_lead", "concluded_no_lead", "closed"})
READER_ROLES = frozenset({Role.EXAMINER, Role.SUPERVISOR, Role.LEGAL_ADVISOR})


# ----------------------------------------------------------------------------- audit
def audit(
    ws: Workstation,
    session: Session,
    *,
    user: SignedInUser,
    action: str,
    object_type: str,
    object_id: int | str | None,
    details: Mapping[str, Any],
) -> None:
    append_event(
        session,
        actor=user.username,
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=json_safe(dict(details)),
        occurred_at=ws.now(),
    )


@contextmanager
def refusals_audited(
    ws: Workstation,
    *,
    user: SignedInUser,
    action: str,
    object_type: str,
    object_id: int | str | None,
    details: Mapping[str, Any] | None = None,
) -> Iterator[None]:
    """Record any policy refusal raised inside the block as ``action`` (then re-raise it).

    The block must open and close its own database session, so the refused work is rolled back
    before the refusal is written.
    """
    try:
        yield
    except (PermissionDenied, PolicyViolation) as error:
        with ws.database.session() as session:
            audit(
                ws,
                session,
                user=user,
                action=action,
                object_type=object_type,
                object_id=object_id,
                details={**(details or {}), "reason": str(error)},
            )
        raise


# ----------------------------------------------------------------------------- JSON
def json_safe(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers and NaN/infinity as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def dumps(value: Any) -> str:
    """Canonical JSON text for a JSON column."""
    return canonical_json(json_safe(value))


# ----------------------------------------------------------------------------- people
def live_user(session: Session, user: SignedInUser) -> User:
    """The signed-in user's row, refused when the account has been deactivated meanwhile."""
    row = session.get(User, user.user_id)
    if row is None or not row.active:
        raise PermissionDenied("This account is not active any more. Ask an administrator.")
    return row


def live_roles(session: Session, user: SignedInUser) -> frozenset[Role]:
    """The roles the user holds in the database now (not the snapshot taken at sign-in)."""
    return roles_of(live_user(session, user))


def require_examiner(session: Session, user: SignedInUser, action: str) -> None:
    if Role.EXAMINER not in live_roles(session, user):
        raise PermissionDenied(f"Only an examiner may {action} (MPTC III.B).")


def require_reader(session: Session, user: SignedInUser) -> frozenset[Role]:
    roles = live_roles(session, user)
    if not roles & READER_ROLES:
        raise PermissionDenied(
            "Only examiners, supervisors and legal advisors may read case records."
        )
    return roles


def username_of(session: Session, user_id: int) -> str:
    row = session.get(User, user_id)
    return row.username if row is not None else f"user {user_id}"


# ----------------------------------------------------------------------------- requests
def load_request(session: Session, request_id: int, *, for_update: bool = False) -> CaseRequest:
    stmt = select(CaseRequest).where(CaseRequest.id == request_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).scalar_one_or_none()
    if row is None:
        raise NotFound(f"There is no request with number {request_id}.")
    return row


def find_request_id(session: Session, reference: str | int) -> int:
    """A request's id from its id or its request number (e.g. ``REQ-2026-000001``)."""
    text = str(reference).strip()
    if text.isdigit():
        return int(text)
    found = session.execute(
        select(CaseRequest.id).where(CaseRequest.request_number == text.upper())
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"There is no request '{text}'.")
    return int(found)


def load_probe(session: Session, probe_id: int) -> ProbeImage:
    row = session.get(ProbeImage, probe_id)
    if row is None:
        raise NotFound(f"There is no probe with number {probe_id}.")
    return row


def load_version(session: Session, version_id: int) -> ProbeVersion:
    row = session.get(ProbeVersion, version_id)
    if row is None:
        raise NotFound(f"There is no probe version with number {version_id}.")
    return row


def load_comparison(session: Session, comparison_id: int) -> Comparison:
    row = session.get(Comparison, comparison_id)
    if row is None:
        raise NotFound(f"There is no comparison with number {comparison_id}.")
    return row


def load_review(session: Session, review_id: int) -> Review:
    row = session.get(Review, review_id)
    if row is None:
        raise NotFound(f"There is no review with number {review_id}.")
    return row


def check_assigned(row: CaseRequest, user: SignedInUser, action: str) -> None:
    """Only the examiner the request is assigned to works on it."""
    if row.assigned_examiner_id != user.user_id:
        raise PermissionDenied(
            f"Request {row.request_number} is assigned to another examiner; only that "
            f"examiner may {action}."
        )


def check_not_concluded(row: CaseRequest, action: str) -> None:
    if row.status in CLOSED_STATUSES:
        label = row.status.replace("_", " ")
        raise PolicyViolation(
            f"Request {row.request_number} is {label}; you cannot {action} any more."
        )


def intake_of(row: CaseRequest) -> RequestIntake:
    """The stored request as the intake gate sees it (attestations: given or not)."""
    return RequestIntake(
        case_number=row.case_number,
        requesting_officer=row.requesting_officer,
        requesting_agency=row.requesting_agency,
        purpose_code=row.purpose_code,
        offense=row.offense,
        narrative=row.narrative,
        probe_source=row.probe_source,
        probe_obtained_how=row.probe_obtained_how,
        attests_lawful_source=row.lawful_source_attested_at is not None,
        attests_not_protected_basis=row.not_protected_basis_attested_at is not None,
        attests_actual_subject=row.actual_subject_attested_at is not None,
        probe_kind=row.probe_kind,
        interagency=row.submitting_agency is not None,
        submitting_agency=row.submitting_agency or "",
    )


def request_problems(row: CaseRequest, profile: PolicyProfile) -> tuple[str, ...]:
    """What keeps the stored request from being searched under the active profile."""
    return intake_problems(intake_of(row), profile)


def review_state_of(session: Session, comparison: Comparison) -> ReviewState:
    """Where the comparison's second review stands, as the policy's blind-review rule sees it."""
    review = (
        session.execute(
            select(Review).where(Review.comparison_id == comparison.id).order_by(Review.id.desc())
        )
        .scalars()
        .first()
    )
    skip = (
        session.execute(
            select(ReviewSkip.reason)
            .where(ReviewSkip.comparison_id == comparison.id)
            .order_by(ReviewSkip.id.desc())
        )
        .scalars()
        .first()
    )
    return _review_state(
        examiner_id=comparison.examiner_id,
        first_conclusion=comparison.conclusion,
        reviewer_id=None if review is None else review.reviewer_id,
        review_status=None if review is None else review.status,
        review_conclusion=None if review is None else review.conclusion,
        skip=skip,
    )


def _review_state(
    *,
    examiner_id: int,
    first_conclusion: str | None,
    reviewer_id: int | None,
    review_status: str | None,
    review_conclusion: str | None,
    skip: str | None,
) -> ReviewState:
    """The state from the comparison, its latest review and its latest skip reason."""
    recorded = None
    if review_status == "recorded" and review_conclusion:
        recorded = Conclusion(review_conclusion)
    return ReviewState(
        first_examiner_id=examiner_id,
        first_conclusion=Conclusion(first_conclusion) if first_conclusion else None,
        reviewer_id=reviewer_id,
        reviewer_conclusion=recorded,
        skip_reason=skip,
    )


def first_conclusions_hidden(
    session: Session, user: SignedInUser, comparison_ids: Collection[int]
) -> set[int]:
    """The comparisons among ``comparison_ids`` whose first answers and conclusion ``user`` may
    not see yet (:func:`first_conclusion_visible` for many at once, in three queries that load
    no records; ids of comparisons that do not exist are left out)."""
    if not comparison_ids:
        return set()
    ids = sorted(set(comparison_ids))
    firsts = session.execute(
        select(Comparison.id, Comparison.examiner_id, Comparison.conclusion).where(
            Comparison.id.in_(ids)
        )
    ).all()
    latest_review: dict[int, tuple[int, str, str | None]] = {}
    reviews = (
        select(Review.comparison_id, Review.reviewer_id, Review.status, Review.conclusion)
        .where(Review.comparison_id.in_(ids))
        .order_by(Review.id)
    )
    for reviewed, reviewer, status, conclusion in session.execute(reviews):
        latest_review[reviewed] = (reviewer, status, conclusion)  # ascending ids: the last wins
    latest_skip: dict[int, str] = {}
    skips = (
        select(ReviewSkip.comparison_id, ReviewSkip.reason)
        .where(ReviewSkip.comparison_id.in_(ids))
        .order_by(ReviewSkip.id)
    )
    for skipped, reason in session.execute(skips):
        if skipped is not None:
            latest_skip[skipped] = reason
    hidden = set()
    for comparison_id, examiner_id, first_conclusion in firsts:
        review = latest_review.get(comparison_id)
        state = _review_state(
            examiner_id=examiner_id,
            first_conclusion=first_conclusion,
            reviewer_id=None if review is None else review[0],
            review_status=None if review is None else review[1],
            review_conclusion=None if review is None else review[2],
            skip=latest_skip.get(comparison_id),
        )
        if not review_visible_to(user.user_id, state):
            hidden.add(comparison_id)
    return hidden


def first_conclusion_visible(comparison: Comparison, user: SignedInUser, session: Session) -> bool:
    """Blind review (MPTC IV.E.2, ``gates.review_visible_to``): the first examiner's answers and
    conclusion are shown to that examiner; to the reviewer only after recording their own; to
    anyone else only once the review is finished (recorded or skipped with its reason)."""
    return review_visible_to(user.user_id, review_state_of(session, comparison))
