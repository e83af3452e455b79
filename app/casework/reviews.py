"""The second examiner's review of a comparison (MPTC IV.E.2), blind and independent.

The reviewer is a different, currently qualified examiner. Until the reviewer has recorded their
own answers and conclusion, nothing this module returns to them contains the first examiner's
answers or conclusion (and ``comparisons`` refuses to show them): the rule is enforced here, not
only by hiding widgets. Agreement is computed; a disagreement returns the request to the first
examiner and waits in the supervisors' queue until a supervisor resolves it. Where the profile
says "when practicable", the first examiner may skip the review with the recorded reason ("not
practicable because ..."), which reports print. Refusals are audited (``review.refused``,
``review.skip_refused``).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.casework.account_rules import SignedInUser
from app.casework.accounts import examiner_facts
from app.casework.case_access import (
    audit,
    check_not_concluded,
    dumps,
    first_conclusion_visible,
    live_roles,
    load_comparison,
    load_request,
    load_review,
    refusals_audited,
    require_examiner,
    require_reader,
)
from app.casework.case_views import (
    FirstExaminerRecord,
    ReviewQueueEntry,
    ReviewSkipSummary,
    ReviewSummary,
    ReviewView,
    answer_entry,
    review_summary,
)
from app.casework.comparisons import AnswerInput, pair_view
from app.casework.requests import set_status
from app.casework.workstation import Workstation
from app.errors import InvalidInput, PermissionDenied, PolicyViolation
from app.policy.gates import check_conclusion, check_review_skip, check_second_reviewer
from app.policy.roles import Role
from app.policy.worksheet import Conclusion, parse_answer, parse_conclusion, progress
from app.records.case_models import (
    CaseRequest,
    Comparison,
    Review,
    ReviewSkip,
    SearchCandidate,
    json_value,
)

NOTE_MAX = 4000

__all__ = [
    "ReviewQueueEntry",
    "ReviewSkipSummary",
    "ReviewSummary",
    "ReviewView",
    "disagreements",
    "record_review",
    "record_review_answer",
    "resolve_disagreement",
    "review_queue",
    "review_skips",
    "review_view",
    "skip_review",
    "start_review",
    "submit_for_review",
]


def _summary(ws: Workstation, row: Review, comparison: Comparison) -> ReviewSummary:
    answers = json_value(row.answers) or {}
    plain = {item: value.get("answer") for item, value in answers.items()}
    return review_summary(row, comparison.request_id, progress(ws.worksheet, plain))


def _refusals(
    ws: Workstation, user: SignedInUser, comparison_id: int, attempted: str
) -> AbstractContextManager[None]:
    return refusals_audited(
        ws,
        user=user,
        action="review.refused",
        object_type="comparison",
        object_id=comparison_id,
        details={"attempted": attempted},
    )


# ----------------------------------------------------------------------------- submitting
def submit_for_review(
    ws: Workstation, *, user: SignedInUser, comparison_id: int
) -> ReviewQueueEntry:
    """Put a concluded comparison in the second examiners' queue (any conclusion, so the
    queue itself says nothing about what the first examiner found)."""
    with _refusals(ws, user, comparison_id, "submit for review"), ws.database.session() as session:
        row = load_comparison(session, comparison_id)
        if row.examiner_id != user.user_id:
            raise PermissionDenied("Only the examiner who made the comparison may submit it.")
        if row.status != "concluded":
            raise PolicyViolation("Conclude the comparison before asking for a second review.")
        if row.review_state != "not_submitted":
            raise PolicyViolation(
                f"This comparison is already {row.review_state.replace('_', ' ')}."
            )
        request = load_request(session, row.request_id, for_update=True)
        check_not_concluded(request, "ask for a review")
        row.review_state = "awaiting_review"
        set_status(ws, request, "awaiting_review")
        session.flush()
        audit(
            ws,
            session,
            user=user,
            action="review.requested",
            object_type="comparison",
            object_id=row.id,
            details={"request_id": request.id},
        )
        return _queue_entry(session, row, request)


def _queue_entry(session: Session, row: Comparison, request: CaseRequest) -> ReviewQueueEntry:
    candidate = session.get(SearchCandidate, row.candidate_id)
    reviewer = session.execute(
        select(Review.reviewer)
        .where(Review.comparison_id == row.id, Review.status == "in_progress")
        .order_by(Review.id.desc())
    ).scalar()
    return ReviewQueueEntry(
        comparison_id=row.id,
        request_id=request.id,
        request_number=request.request_number,
        case_number=request.case_number,
        rank=0 if candidate is None else candidate.rank,
        subject_reference="" if candidate is None else candidate.subject_reference,
        examiner=row.examiner,
        submitted_state=row.review_state,
        reviewer=reviewer,
    )


def review_queue(ws: Workstation, *, user: SignedInUser) -> list[ReviewQueueEntry]:
    """Comparisons other examiners submitted, and the reviews this user has open."""
    with ws.database.session(read_only=True) as session:
        require_examiner(session, user, "review comparisons")
        waiting = select(Comparison).where(
            Comparison.review_state == "awaiting_review", Comparison.examiner_id != user.user_id
        )
        mine = (
            select(Comparison)
            .join(Review, Review.comparison_id == Comparison.id)
            .where(Review.reviewer_id == user.user_id, Review.status == "in_progress")
        )
        rows = {c.id: c for c in session.execute(waiting).scalars()}
        rows.update({c.id: c for c in session.execute(mine).scalars()})
        return [
            _queue_entry(session, row, load_request(session, row.request_id))
            for row in sorted(rows.values(), key=lambda c: c.id)
        ]


# ----------------------------------------------------------------------------- reviewing
def start_review(ws: Workstation, *, user: SignedInUser, comparison_id: int) -> ReviewSummary:
    """Take a submitted comparison for review (a different, qualified examiner)."""
    with _refusals(ws, user, comparison_id, "start a review"):
        facts = examiner_facts(ws, user_id=user.user_id)
        with ws.database.session() as session:
            row = load_comparison(session, comparison_id)
            check_second_reviewer(row.examiner_id, user.user_id, facts, ws.profile, ws.now().date())
            if row.review_state == "in_review":
                current = session.execute(
                    select(Review).where(
                        Review.comparison_id == row.id, Review.status == "in_progress"
                    )
                ).scalar_one()
                if current.reviewer_id == user.user_id:
                    return _summary(ws, current, row)
                raise PolicyViolation(f"{current.reviewer} is already reviewing this comparison.")
            if row.review_state != "awaiting_review":
                raise PolicyViolation(
                    "This comparison has not been submitted for a second review "
                    f"(it is {row.review_state.replace('_', ' ')})."
                )
            check_not_concluded(load_request(session, row.request_id), "review it")
            now = ws.now()
            review = Review(
                comparison_id=row.id,
                reviewer_id=user.user_id,
                reviewer=user.username,
                status="in_progress",
                answers=dumps({}),
                disagreement=False,
                started_at=now,
                created_at=now,
                created_by=user.username,
            )
            session.add(review)
            row.review_state = "in_review"
            session.flush()
            audit(
                ws,
                session,
                user=user,
                action="review.started",
                object_type="review",
                object_id=review.id,
                details={"comparison_id": row.id, "first_examiner": row.examiner},
            )
            return _summary(ws, review, row)


def _own_open_review(session: Session, user: SignedInUser, review_id: int) -> Review:
    review = load_review(session, review_id)
    if review.reviewer_id != user.user_id:
        raise PermissionDenied("Only the examiner who started this review may record it.")
    if review.status != "in_progress":
        raise PolicyViolation("This review is already recorded.")
    return review


def _merge(
    ws: Workstation, review: Review, answers: Mapping[str, AnswerInput]
) -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = dict(json_value(review.answers) or {})
    for item_id, value in answers.items():
        ws.worksheet.item(item_id)
        answer, note = value if isinstance(value, tuple) else (value, "")
        note = (note or "").strip()
        if len(note) > NOTE_MAX:
            raise InvalidInput(f"A note has at most {NOTE_MAX} characters.")
        merged[item_id] = {"answer": parse_answer(str(answer)).value, "note": note}
    return merged


def record_review_answer(
    ws: Workstation,
    *,
    user: SignedInUser,
    review_id: int,
    item_id: str,
    answer: str,
    note: str = "",
) -> ReviewSummary:
    """The reviewer's own answer to one worksheet item (kept until the review is recorded)."""
    with (
        refusals_audited(
            ws,
            user=user,
            action="review.refused",
            object_type="review",
            object_id=review_id,
            details={"attempted": "record an answer", "item": item_id},
        ),
        ws.database.session() as session,
    ):
        review = _own_open_review(session, user, review_id)
        review.answers = dumps(_merge(ws, review, {item_id: (answer, note)}))
        session.flush()
        audit(
            ws,
            session,
            user=user,
            action="review.answered",
            object_type="review",
            object_id=review.id,
            details={"item": item_id, "answer": answer, "note": note.strip()},
        )
        return _summary(ws, review, review.comparison)


def record_review(
    ws: Workstation,
    *,
    user: SignedInUser,
    review_id: int,
    conclusion: str,
    answers: Mapping[str, AnswerInput] | None = None,
) -> ReviewSummary:
    """Record the reviewer's independent conclusion (every item answered); agreement with the
    first examiner is computed, and a disagreement goes to the supervisors."""
    with ws.database.session(read_only=True) as session:
        comparison_id = load_review(session, review_id).comparison_id
    with _refusals(ws, user, comparison_id, "record the review"), ws.database.session() as session:
        review = _own_open_review(session, user, review_id)
        merged = _merge(ws, review, answers or {})
        check_conclusion(ws.worksheet, {k: v["answer"] for k, v in merged.items()}, conclusion)
        comparison = review.comparison
        request = load_request(session, comparison.request_id, for_update=True)
        now = ws.now()
        review.answers = dumps(merged)
        review.conclusion = parse_conclusion(conclusion).value
        review.agreement = review.conclusion == comparison.conclusion
        review.disagreement = not review.agreement
        review.status = "recorded"
        review.recorded_at = now
        comparison.review_state = "reviewed"
        if review.disagreement:
            set_status(ws, request, "returned", "The second examiner disagreed.")
        elif review.conclusion == Conclusion.POSSIBLE_LEAD:
            set_status(ws, request, "concluded_lead")
        else:
            set_status(ws, request, "in_comparison")
        session.flush()
        details = {
            "comparison_id": comparison.id,
            "request_id": request.id,
            "conclusion": review.conclusion,
            "first_conclusion": comparison.conclusion,
            "agreement": review.agreement,
            "answers": merged,
        }
        audit(
            ws,
            session,
            user=user,
            action="review.recorded",
            object_type="review",
            object_id=review.id,
            details=details,
        )
        if review.disagreement:
            audit(
                ws,
                session,
                user=user,
                action="review.disagreement",
                object_type="review",
                object_id=review.id,
                details={"comparison_id": comparison.id, "request_id": request.id},
            )
        return _summary(ws, review, comparison)


def review_view(ws: Workstation, *, user: SignedInUser, review_id: int) -> ReviewView:
    """What the second examiner sees. ``first_examiner`` is None until their own conclusion is
    recorded (blind review)."""
    with ws.database.session(read_only=True) as session:
        require_reader(session, user)
        review = load_review(session, review_id)
        comparison = review.comparison
        if review.reviewer_id != user.user_id and review.status != "recorded":
            raise PermissionDenied("This review is still in progress; only its reviewer sees it.")
        first = None
        if first_conclusion_visible(comparison, user, session):
            first = FirstExaminerRecord(
                examiner=comparison.examiner,
                answers={a.item_id: answer_entry(a) for a in comparison.answers},
                conclusion=comparison.conclusion,
                finished_at=comparison.finished_at,
            )
        summary = _summary(ws, review, comparison)
        pair = pair_view(ws, session, comparison)
    texts = ws.profile.report
    return ReviewView(summary, pair, ws.worksheet, first, texts.banner, texts.advisory)


# ----------------------------------------------------------------------------- skipping
def skip_review(
    ws: Workstation, *, user: SignedInUser, comparison_id: int, reason: str
) -> ReviewSkipSummary:
    """Record why no second review is done ("not practicable because ..."); only where the
    profile says "when practicable"."""
    with (
        refusals_audited(
            ws,
            user=user,
            action="review.skip_refused",
            object_type="comparison",
            object_id=comparison_id,
            details={"reason": reason},
        ),
        ws.database.session() as session,
    ):
        row = load_comparison(session, comparison_id)
        if row.examiner_id != user.user_id:
            raise PermissionDenied("Only the examiner who made the comparison may skip its review.")
        if row.status != "concluded":
            raise PolicyViolation("Conclude the comparison first.")
        if row.review_state not in ("not_submitted", "awaiting_review"):
            raise PolicyViolation(
                f"The review of this comparison is {row.review_state.replace('_', ' ')}; it "
                "cannot be skipped now."
            )
        check_review_skip(ws.profile, reason)
        request = load_request(session, row.request_id, for_update=True)
        check_not_concluded(request, "skip a review")
        text = " ".join(reason.split())
        skip = ReviewSkip(
            request_id=request.id,
            comparison_id=row.id,
            reason=text,
            created_at=ws.now(),
            created_by=user.username,
        )
        session.add(skip)
        row.review_state = "skipped"
        if row.conclusion == Conclusion.POSSIBLE_LEAD:
            set_status(ws, request, "concluded_lead")
        else:
            set_status(ws, request, "in_comparison")
        session.flush()
        audit(
            ws,
            session,
            user=user,
            action="review.skipped",
            object_type="comparison",
            object_id=row.id,
            details={"request_id": request.id, "reason": text},
        )
        return _skip(skip)


def _skip(row: ReviewSkip) -> ReviewSkipSummary:
    return ReviewSkipSummary(
        skip_id=row.id,
        request_id=row.request_id,
        comparison_id=row.comparison_id,
        reason=row.reason,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def review_skips(
    ws: Workstation, *, user: SignedInUser, request_id: int
) -> list[ReviewSkipSummary]:
    """Every recorded "not practicable because ..." of a request (printed on its reports)."""
    with ws.database.session(read_only=True) as session:
        require_reader(session, user)
        rows = session.execute(
            select(ReviewSkip).where(ReviewSkip.request_id == request_id).order_by(ReviewSkip.id)
        ).scalars()
        return [_skip(row) for row in rows]


# ----------------------------------------------------------------------------- supervisors
def disagreements(
    ws: Workstation, *, user: SignedInUser, include_resolved: bool = False
) -> list[ReviewSummary]:
    """Reviews that disagreed with the first examiner (the supervisors' queue)."""
    with ws.database.session(read_only=True) as session:
        if Role.SUPERVISOR not in live_roles(session, user):
            raise PermissionDenied("Only a supervisor may see the review disagreements.")
        stmt = select(Review).where(Review.disagreement.is_(True))
        if not include_resolved:
            stmt = stmt.where(Review.resolved_at.is_(None))
        return [
            _summary(ws, row, row.comparison)
            for row in session.execute(stmt.order_by(Review.id)).scalars()
        ]


def resolve_disagreement(
    ws: Workstation, *, user: SignedInUser, review_id: int, note: str
) -> ReviewSummary:
    """A supervisor records how a disagreement was dealt with."""
    with (
        refusals_audited(
            ws,
            user=user,
            action="review.refused",
            object_type="review",
            object_id=review_id,
            details={"attempted": "resolve a disagreement"},
        ),
        ws.database.session() as session,
    ):
        if Role.SUPERVISOR not in live_roles(session, user):
            raise PermissionDenied("Only a supervisor may resolve a review disagreement.")
        review = load_review(session, review_id)
        if not review.disagreement:
            raise PolicyViolation("This review agreed with the first examiner.")
        if review.resolved_at is not None:
            raise PolicyViolation("This disagreement is already resolved.")
        text = " ".join(note.split())
        if len(text) < 5:
            raise InvalidInput("Record how the disagreement was resolved.")
        review.resolved_at = ws.now()
        review.resolved_by = user.username
        review.resolution_note = text
        session.flush()
        audit(
            ws,
            session,
            user=user,
            action="review.disagreement_resolved",
            object_type="review",
            object_id=review.id,
            details={"note": text},
        )
        return _summary(ws, review, review.comparison)
