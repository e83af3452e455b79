"""The examiner's feature-by-feature comparison of the probe with a candidate (MPTC IV.E.1).

Each worksheet item is answered similar / not similar / not visible (or undetermined) with an
optional note, against the original probe; a conclusion (possible lead, not a lead,
inconclusive) is only accepted once every item is answered. Time spent is recorded. Screenshots
and annotations the examiner saves become evidence of the case. A refusal is audited as
``comparison.refused``.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.casework.account_rules import SignedInUser
from app.casework.accounts import examiner_facts
from app.casework.case_access import (
    audit,
    check_assigned,
    check_not_concluded,
    first_conclusion_visible,
    load_comparison,
    load_request,
    refusals_audited,
    require_reader,
)
from app.casework.case_views import (
    AttachmentSummary,
    CandidateRow,
    ComparisonSummary,
    ComparisonView,
    ImageData,
    PairView,
    candidate_row,
    comparison_summary,
    faces_of,
)
from app.casework.probes import decode_stored, describe_face, detect_faces, summarise_probe
from app.casework.requests import set_status
from app.casework.workstation import Workstation
from app.engine.images import decode_image
from app.errors import InvalidInput, NotFound, PermissionDenied, PolicyViolation
from app.policy.gates import check_compared_with_original, check_conclusion, examiner_problems
from app.policy.worksheet import parse_answer, parse_conclusion, progress
from app.records.case_models import (
    ATTACHMENT_KINDS,
    CaseAttachment,
    CaseSearch,
    Comparison,
    ComparisonAnswer,
    ProbeImage,
    Review,
    SearchCandidate,
)
from app.records.evidence import register_evidence

NOTE_MAX = 4000
CAPTION_MAX = 1000
# An answer given as a bare value, or as (answer, note).
AnswerInput = str | tuple[str, str]

__all__ = [
    "AnswerInput",
    "AttachmentSummary",
    "ComparisonSummary",
    "ComparisonView",
    "attach_screenshot",
    "comparison_view",
    "conclude",
    "get_comparison",
    "list_attachments",
    "list_comparisons",
    "record_answer",
    "record_answers",
    "start_comparison",
]


def summarise_comparison(ws: Workstation, session: Session, row: Comparison) -> ComparisonSummary:
    candidate = session.get(SearchCandidate, row.candidate_id)
    if candidate is None:  # pragma: no cover - a foreign key protects it
        raise NotFound(f"The candidate of comparison {row.id} is missing.")
    answers = {a.item_id: a.answer for a in row.answers}
    return comparison_summary(row, candidate, progress(ws.worksheet, answers))


def _own_draft(session: Session, user: SignedInUser, comparison_id: int) -> Comparison:
    row = load_comparison(session, comparison_id)
    if row.examiner_id != user.user_id:
        raise PermissionDenied("Only the examiner who started this comparison may record it.")
    if row.status != "draft":
        raise PolicyViolation(
            f"Comparison {row.id} is already concluded ({row.conclusion}); start a new one to "
            "compare again."
        )
    check_not_concluded(load_request(session, row.request_id), "change its comparisons")
    return row


def _check_examiner(ws: Workstation, user: SignedInUser) -> None:
    problems = examiner_problems(
        examiner_facts(ws, user_id=user.user_id), ws.profile, ws.now().date()
    )
    if problems:
        raise PermissionDenied(
            "Only a qualified examiner may compare candidates (MPTC IV.E.1): " + " ".join(problems)
        )


# ----------------------------------------------------------------------------- starting
def start_comparison(
    ws: Workstation, *, user: SignedInUser, candidate_id: int
) -> ComparisonSummary:
    """Start (or resume the open draft of) the comparison of the probe with one candidate."""
    with refusals_audited(
        ws,
        user=user,
        action="comparison.refused",
        object_type="candidate",
        object_id=candidate_id,
        details={"attempted": "start a comparison"},
    ):
        _check_examiner(ws, user)
        with ws.database.session() as session:
            candidate = session.get(SearchCandidate, candidate_id)
            if candidate is None:
                raise NotFound(f"There is no candidate with number {candidate_id}.")
            search = session.get(CaseSearch, candidate.search_id)
            if search is None:  # pragma: no cover - a foreign key protects it
                raise NotFound(f"The search of candidate {candidate_id} is missing.")
            request = load_request(session, search.request_id, for_update=True)
            check_assigned(request, user, "compare its candidates")
            check_not_concluded(request, "compare candidates")
            draft = session.execute(
                select(Comparison).where(
                    Comparison.candidate_id == candidate.id,
                    Comparison.examiner_id == user.user_id,
                    Comparison.status == "draft",
                )
            ).scalar_one_or_none()
            if draft is not None:
                return summarise_comparison(ws, session, draft)
            now = ws.now()
            row = Comparison(
                request_id=request.id,
                candidate_id=candidate.id,
                examiner_id=user.user_id,
                examiner=user.username,
                worksheet_name=ws.worksheet.name,
                worksheet_version=ws.worksheet.version,
                status="draft",
                started_at=now,
                review_state="not_submitted",
                created_at=now,
                created_by=user.username,
            )
            session.add(row)
            if request.status in ("open", "searched", "returned"):
                set_status(ws, request, "in_comparison")
            session.flush()
            audit(
                ws,
                session,
                user=user,
                action="comparison.started",
                object_type="comparison",
                object_id=row.id,
                details={
                    "request_id": request.id,
                    "candidate_id": candidate.id,
                    "rank": candidate.rank,
                    "subject_reference": candidate.subject_reference,
                    "worksheet": [row.worksheet_name, row.worksheet_version],
                },
            )
            return summarise_comparison(ws, session, row)


# ----------------------------------------------------------------------------- answers
def _split(value: AnswerInput) -> tuple[str, str]:
    if isinstance(value, tuple):
        answer, note = value
        return str(answer), str(note or "")
    return str(value), ""


def _checked_note(note: str) -> str:
    text = (note or "").strip()
    if len(text) > NOTE_MAX:
        raise InvalidInput(f"A note has at most {NOTE_MAX} characters.")
    return text


def _store_answers(
    ws: Workstation,
    session: Session,
    user: SignedInUser,
    row: Comparison,
    answers: Mapping[str, AnswerInput],
) -> list[dict[str, str]]:
    existing = {a.item_id: a for a in row.answers}
    now = ws.now()
    recorded = []
    for item_id, value in answers.items():
        ws.worksheet.item(item_id)  # PolicyViolation for an item the worksheet does not have
        answer_text, note_text = _split(value)
        answer = parse_answer(answer_text).value
        note = _checked_note(note_text)
        entry = existing.get(item_id)
        if entry is None:
            entry = ComparisonAnswer(
                comparison_id=row.id,
                item_id=item_id,
                answer=answer,
                note=note,
                answered_at=now,
                answered_by=user.username,
            )
            session.add(entry)
            row.answers.append(entry)
        else:
            entry.answer, entry.note = answer, note
            entry.answered_at, entry.answered_by = now, user.username
        recorded.append({"item": item_id, "answer": answer, "note": note})
    session.flush()
    return recorded


def record_answers(
    ws: Workstation,
    *,
    user: SignedInUser,
    comparison_id: int,
    answers: Mapping[str, AnswerInput],
    against_original: bool = True,
) -> ComparisonSummary:
    """Record several worksheet answers at once (``item -> answer`` or ``(answer, note)``).

    ``against_original``: the answers were given looking at the original probe; an edited copy
    may help to look, but the decision is made on the original (refused otherwise).
    """
    with (
        refusals_audited(
            ws,
            user=user,
            action="comparison.refused",
            object_type="comparison",
            object_id=comparison_id,
            details={"attempted": "record answers", "items": sorted(answers)},
        ),
        ws.database.session() as session,
    ):
        row = _own_draft(session, user, comparison_id)
        check_compared_with_original(compared_with_original=against_original)
        recorded = _store_answers(ws, session, user, row, answers)
        audit(
            ws,
            session,
            user=user,
            action="comparison.answered",
            object_type="comparison",
            object_id=row.id,
            details={"answers": recorded},
        )
        return summarise_comparison(ws, session, row)


def record_answer(
    ws: Workstation,
    *,
    user: SignedInUser,
    comparison_id: int,
    item_id: str,
    answer: str,
    note: str = "",
    against_original: bool = True,
) -> ComparisonSummary:
    """Record (or change) the answer to one worksheet item, with an optional note."""
    return record_answers(
        ws,
        user=user,
        comparison_id=comparison_id,
        answers={item_id: (answer, note)},
        against_original=against_original,
    )


def conclude(
    ws: Workstation,
    *,
    user: SignedInUser,
    comparison_id: int,
    conclusion: str,
    against_original: bool = True,
) -> ComparisonSummary:
    """Record the conclusion; refused (and audited) until every item is answered."""
    with (
        refusals_audited(
            ws,
            user=user,
            action="comparison.refused",
            object_type="comparison",
            object_id=comparison_id,
            details={"attempted": "conclude", "conclusion": conclusion},
        ),
        ws.database.session() as session,
    ):
        row = _own_draft(session, user, comparison_id)
        check_compared_with_original(compared_with_original=against_original)
        answers = {a.item_id: a.answer for a in row.answers}
        check_conclusion(ws.worksheet, answers, conclusion)
        now = ws.now()
        row.status = "concluded"
        row.conclusion = parse_conclusion(conclusion).value
        row.finished_at = now
        row.time_spent_seconds = max(0, round((now - row.started_at).total_seconds()))
        session.flush()
        audit(
            ws,
            session,
            user=user,
            action="comparison.concluded",
            object_type="comparison",
            object_id=row.id,
            details={
                "request_id": row.request_id,
                "candidate_id": row.candidate_id,
                "conclusion": row.conclusion,
                "time_spent_seconds": row.time_spent_seconds,
                "answers": answers,
            },
        )
        return summarise_comparison(ws, session, row)


# ----------------------------------------------------------------------------- reading
def get_comparison(ws: Workstation, *, user: SignedInUser, comparison_id: int) -> ComparisonSummary:
    """A comparison with its answers and conclusion (blind review: see ``comparison_view``)."""
    with ws.database.session(read_only=True) as session:
        require_reader(session, user)
        row = load_comparison(session, comparison_id)
        _check_visible(session, row, user)
        return summarise_comparison(ws, session, row)


def list_comparisons(
    ws: Workstation, *, user: SignedInUser, request_id: int
) -> list[ComparisonSummary]:
    """The request's comparisons this user may see (the blind-review rule hides the others)."""
    with ws.database.session(read_only=True) as session:
        require_reader(session, user)
        rows = session.execute(
            select(Comparison).where(Comparison.request_id == request_id).order_by(Comparison.id)
        ).scalars()
        return [
            summarise_comparison(ws, session, row)
            for row in rows
            if first_conclusion_visible(row, user, session)
        ]


def _check_visible(session: Session, row: Comparison, user: SignedInUser) -> None:
    if not first_conclusion_visible(row, user, session):
        raise PermissionDenied(
            "This comparison's answers and conclusion stay hidden until the second examiner has "
            "recorded an independent conclusion (blind review, MPTC IV.E.2)."
        )


def pair_view(ws: Workstation, session: Session, row: Comparison) -> PairView:
    """Probe original (with its copies) and the candidate photo, with feature regions."""
    candidate = session.get(SearchCandidate, row.candidate_id)
    search = None if candidate is None else session.get(CaseSearch, candidate.search_id)
    probe = None if search is None else session.get(ProbeImage, search.probe_id)
    if candidate is None or search is None or probe is None:  # pragma: no cover - foreign keys
        raise NotFound(f"The records of comparison {row.id} are incomplete.")
    original = ws.evidence.get(probe.original_sha256)
    try:
        photo = ws.evidence.get(candidate.photo_sha256)
    except NotFound:
        raise NotFound(
            f"The gallery photo of candidate {candidate.subject_reference} is no longer stored "
            "(the gallery record was expunged)."
        ) from None
    faces = faces_of(probe.detected_faces)
    face = faces[probe.chosen_face_index] if probe.chosen_face_index is not None else None
    original_rgb = decode_stored(ws, probe.original_sha256, name=probe.original_name).rgb
    probe_regions = describe_face(original_rgb, face).regions if face is not None else {}
    decoded = decode_image(photo, max_pixels=ws.settings.max_image_pixels, name="gallery photo")
    candidate_faces, _ = detect_faces(decoded.rgb)
    candidate_regions = (
        describe_face(decoded.rgb, candidate_faces[0]).regions if candidate_faces else {}
    )
    return PairView(
        probe_original=ImageData(probe.original_sha256, original, probe.media_type),
        probe_face=face,
        probe_versions=summarise_probe(session, probe).versions,
        searched_version_id=search.probe_version_id,
        candidate=candidate_row(candidate),
        candidate_image=ImageData(candidate.photo_sha256, photo, decoded.media_type),
        probe_regions=probe_regions,
        candidate_regions=candidate_regions,
    )


def comparison_view(ws: Workstation, *, user: SignedInUser, comparison_id: int) -> ComparisonView:
    """What the comparison screen needs; a reviewer uses ``reviews.review_view`` instead."""
    with ws.database.session(read_only=True) as session:
        require_reader(session, user)
        row = load_comparison(session, comparison_id)
        _check_visible(session, row, user)
        summary = summarise_comparison(ws, session, row)
        pair = pair_view(ws, session, row)
    texts = ws.profile.report
    return ComparisonView(summary, pair, ws.worksheet, texts.banner, texts.advisory)


# ----------------------------------------------------------------------------- attachments
def attach_screenshot(
    ws: Workstation,
    *,
    user: SignedInUser,
    comparison_id: int,
    image_bytes: bytes,
    caption: str,
    kind: str = "screenshot",
) -> AttachmentSummary:
    """Keep a screenshot or annotation of the comparison as evidence of the case (MPTC VI.A)."""
    if kind not in ATTACHMENT_KINDS:
        raise InvalidInput(f"An attachment is a {' or an '.join(ATTACHMENT_KINDS)}.")
    text = " ".join(caption.split())
    if len(text) > CAPTION_MAX:
        raise InvalidInput(f"A caption has at most {CAPTION_MAX} characters.")
    decoded = decode_image(image_bytes, max_pixels=ws.settings.max_image_pixels, name=kind)
    with (
        refusals_audited(
            ws,
            user=user,
            action="comparison.refused",
            object_type="comparison",
            object_id=comparison_id,
            details={"attempted": f"save a {kind}"},
        ),
        ws.database.session() as session,
    ):
        row = load_comparison(session, comparison_id)
        request = load_request(session, row.request_id)
        reviewer = session.execute(
            select(Review.id).where(
                Review.comparison_id == row.id, Review.reviewer_id == user.user_id
            )
        ).first()
        if request.assigned_examiner_id != user.user_id and reviewer is None:
            raise PermissionDenied(
                "Only the request's examiner or the comparison's reviewer may save screenshots."
            )
        evidence = register_evidence(
            session,
            ws.evidence,
            data=image_bytes,
            media_type=decoded.media_type,
            original_name=f"{request.request_number}-comparison-{row.id}-{kind}",
            actor=user.username,
        )
        attachment = CaseAttachment(
            request_id=request.id,
            comparison_id=row.id,
            evidence_sha256=evidence.sha256,
            kind=kind,
            caption=text,
            created_at=ws.now(),
            created_by=user.username,
        )
        session.add(attachment)
        session.flush()
        audit(
            ws,
            session,
            user=user,
            action="attachment.saved",
            object_type="comparison",
            object_id=row.id,
            details={"kind": kind, "sha256": evidence.sha256, "caption": text},
        )
        return _attachment(attachment)


def _attachment(row: CaseAttachment) -> AttachmentSummary:
    return AttachmentSummary(
        attachment_id=row.id,
        request_id=row.request_id,
        comparison_id=row.comparison_id,
        evidence_sha256=row.evidence_sha256,
        kind=row.kind,
        caption=row.caption,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def list_attachments(
    ws: Workstation, *, user: SignedInUser, request_id: int
) -> list[AttachmentSummary]:
    """The request's screenshots and annotations; another examiner's annotations of a
    comparison stay hidden from its reviewer until the review is recorded (blind review)."""
    with ws.database.session(read_only=True) as session:
        require_reader(session, user)
        rows = session.execute(
            select(CaseAttachment)
            .where(CaseAttachment.request_id == request_id)
            .order_by(CaseAttachment.id)
        ).scalars()
        visible = []
        for row in rows:
            if row.comparison_id is not None and row.created_by != user.username:
                comparison = load_comparison(session, row.comparison_id)
                if not first_conclusion_visible(comparison, user, session):
                    continue
            visible.append(_attachment(row))
        return visible


def candidate_of(ws: Workstation, *, user: SignedInUser, candidate_id: int) -> CandidateRow:
    with ws.database.session(read_only=True) as session:
        require_reader(session, user)
        row = session.get(SearchCandidate, candidate_id)
        if row is None:
            raise NotFound(f"There is no candidate with number {candidate_id}.")
        return candidate_row(row)
