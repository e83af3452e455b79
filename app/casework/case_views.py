"""What request casework returns: small frozen dataclasses built from the case records.

The UI and the CLI only ever see these (never a database row). Images come as the stored bytes
plus their SHA-256; decoding them is the caller's choice (:func:`app.engine.images.decode_image`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from app.engine.detect import DetectedFace
from app.engine.edits import EditOperation
from app.engine.quality import QualityReport
from app.engine.regions import FeatureRegion
from app.policy.worksheet import WorksheetDefinition, WorksheetProgress
from app.records.case_models import (
    CaseRequest,
    CaseSearch,
    Comparison,
    ComparisonAnswer,
    ProbeImage,
    ProbeVersion,
    Review,
    SearchCandidate,
    json_value,
)


# ----------------------------------------------------------------------------- requests
@dataclass(frozen=True)
class RequestSummary:
    """A request as taken in, its state, and what (on the request's side) blocks a search."""

    request_id: int
    request_number: str
    case_number: str
    requesting_officer: str
    requesting_agency: str
    submitting_agency: str | None  # another agency's request (MPTC IV.F)
    interagency_ack_text: str | None
    interagency_ack_by: str | None  # the official of the submitting agency who acknowledged
    interagency_ack_at: datetime | None
    interagency_ack_recorded_by: str | None
    purpose_code: str
    purpose_text: str
    profile_name: str
    profile_version: str
    profile_sha256: str
    offense: str
    narrative: str
    probe_source: str
    probe_obtained_how: str
    probe_kind: str
    lawful_source_attested_at: datetime | None
    not_protected_basis_attested_at: datetime | None
    actual_subject_attested_at: datetime | None
    attested_by: str
    status: str
    status_note: str | None
    assigned_examiner_id: int
    assigned_examiner: str
    created_at: datetime
    created_by: str
    updated_at: datetime
    version_id: int
    probe_count: int = 0
    search_count: int = 0
    search_blockers: tuple[str, ...] = ()  # why a search would be refused, request side only

    @property
    def is_interagency(self) -> bool:
        return self.submitting_agency is not None

    @property
    def acknowledgment_recorded(self) -> bool:
        return self.interagency_ack_at is not None

    @property
    def results_releasable(self) -> bool:
        """False while another agency's written "lead only" acknowledgment is missing."""
        return not self.is_interagency or self.acknowledgment_recorded


def request_summary(
    row: CaseRequest,
    *,
    assigned_examiner: str,
    probe_count: int = 0,
    search_count: int = 0,
    search_blockers: tuple[str, ...] = (),
) -> RequestSummary:
    return RequestSummary(
        request_id=row.id,
        request_number=row.request_number,
        case_number=row.case_number,
        requesting_officer=row.requesting_officer,
        requesting_agency=row.requesting_agency,
        submitting_agency=row.submitting_agency,
        interagency_ack_text=row.interagency_ack_text,
        interagency_ack_by=row.interagency_ack_by,
        interagency_ack_at=row.interagency_ack_at,
        interagency_ack_recorded_by=row.interagency_ack_recorded_by,
        purpose_code=row.purpose_code,
        purpose_text=row.purpose_text,
        profile_name=row.profile_name,
        profile_version=row.profile_version,
        profile_sha256=row.profile_sha256,
        offense=row.offense,
        narrative=row.narrative,
        probe_source=row.probe_source,
        probe_obtained_how=row.probe_obtained_how,
        probe_kind=row.probe_kind,
        lawful_source_attested_at=row.lawful_source_attested_at,
        not_protected_basis_attested_at=row.not_protected_basis_attested_at,
        actual_subject_attested_at=row.actual_subject_attested_at,
        attested_by=row.attested_by,
        status=row.status,
        status_note=row.status_note,
        assigned_examiner_id=row.assigned_examiner_id,
        assigned_examiner=assigned_examiner,
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        version_id=row.version_id,
        probe_count=probe_count,
        search_count=search_count,
        search_blockers=search_blockers,
    )


@dataclass(frozen=True)
class RequestList:
    """One page of a queue, with the size of every queue the user may open (sidebar counts)."""

    queue: str
    rows: tuple[RequestSummary, ...]
    total: int
    counts: Mapping[str, int]


# ----------------------------------------------------------------------------- probes
def faces_of(text: str) -> tuple[DetectedFace, ...]:
    return tuple(DetectedFace.from_dict(item) for item in json_value(text) or [])


def _warnings(quality: Mapping[str, Any] | None) -> tuple[str, ...]:
    if not quality:
        return ()
    try:
        return QualityReport.from_dict(quality).warnings
    except (KeyError, TypeError, ValueError):
        return ()


@dataclass(frozen=True)
class ProbeVersionSummary:
    """An edited copy of a probe: the operation, its parent, and the hashes before and after."""

    version_id: int
    probe_id: int
    parent_version_id: int | None  # None: made from the original
    parent_sha256: str
    evidence_sha256: str
    operation: EditOperation
    description: str
    engine_version: str
    width: int
    height: int
    faces: tuple[DetectedFace, ...]
    detection_message: str
    chosen_face_index: int | None
    quality: Mapping[str, Any] | None
    created_at: datetime
    created_by: str
    chain: tuple[EditOperation, ...]  # every operation from the original to this copy

    @property
    def quality_warnings(self) -> tuple[str, ...]:
        return _warnings(self.quality)


def version_summary(row: ProbeVersion, chain: tuple[EditOperation, ...]) -> ProbeVersionSummary:
    operation = EditOperation.from_json(row.operation)
    return ProbeVersionSummary(
        version_id=row.id,
        probe_id=row.probe_id,
        parent_version_id=row.parent_version_id,
        parent_sha256=row.parent_sha256,
        evidence_sha256=row.evidence_sha256,
        operation=operation,
        description=operation.describe(),
        engine_version=row.engine_version,
        width=row.width,
        height=row.height,
        faces=faces_of(row.detected_faces),
        detection_message=row.detection_message,
        chosen_face_index=row.chosen_face_index,
        quality=json_value(row.quality),
        created_at=row.created_at,
        created_by=row.created_by,
        chain=chain,
    )


@dataclass(frozen=True)
class ProbeSummary:
    """A probe as received (the original is evidence, never changed) and its edited copies."""

    probe_id: int
    request_id: int
    original_sha256: str
    original_name: str
    media_type: str
    width: int
    height: int
    faces: tuple[DetectedFace, ...]  # largest first; empty when no face was found
    detection_message: str
    chosen_face_index: int | None
    quality: Mapping[str, Any] | None
    decode_notes: tuple[str, ...]
    created_at: datetime
    created_by: str
    versions: tuple[ProbeVersionSummary, ...] = ()

    @property
    def face_found(self) -> bool:
        return bool(self.faces)

    @property
    def quality_warnings(self) -> tuple[str, ...]:
        return _warnings(self.quality)


def probe_summary(row: ProbeImage, versions: tuple[ProbeVersionSummary, ...]) -> ProbeSummary:
    return ProbeSummary(
        probe_id=row.id,
        request_id=row.request_id,
        original_sha256=row.original_sha256,
        original_name=row.original_name,
        media_type=row.media_type,
        width=row.width,
        height=row.height,
        faces=faces_of(row.detected_faces),
        detection_message=row.detection_message,
        chosen_face_index=row.chosen_face_index,
        quality=json_value(row.quality),
        decode_notes=tuple(json_value(row.decode_notes) or ()),
        created_at=row.created_at,
        created_by=row.created_by,
        versions=versions,
    )


@dataclass(frozen=True)
class ProbeImageData:
    """The stored bytes of a probe original or an edited copy."""

    probe_id: int
    version_id: int | None  # None: the original
    sha256: str
    data: bytes
    media_type: str


# ----------------------------------------------------------------------------- searches
@dataclass(frozen=True)
class CandidateRow:
    """One ranked candidate; ``conclusion`` is None while hidden from this user (blind review)."""

    candidate_id: int
    search_id: int
    rank: int
    subject_id: int
    subject_reference: str
    photo_id: int
    photo_sha256: str
    score: float
    photo_date: date | None
    most_recent_photo_date: date | None
    source_type: str
    source_reference: str
    comparison_id: int | None = None
    comparison_status: str | None = None
    conclusion: str | None = None


def candidate_row(
    row: SearchCandidate, comparison: Comparison | None = None, *, show_conclusion: bool = False
) -> CandidateRow:
    return CandidateRow(
        candidate_id=row.id,
        search_id=row.search_id,
        rank=row.rank,
        subject_id=row.subject_id,
        subject_reference=row.subject_reference,
        photo_id=row.photo_id,
        photo_sha256=row.photo_sha256,
        score=row.score,
        photo_date=row.photo_date,
        most_recent_photo_date=row.most_recent_photo_date,
        source_type=row.source_type,
        source_reference=row.source_reference,
        comparison_id=None if comparison is None else comparison.id,
        comparison_status=None if comparison is None else comparison.status,
        conclusion=comparison.conclusion if comparison is not None and show_conclusion else None,
    )


@dataclass(frozen=True)
class SearchSummary:
    """A recorded search: what was searched, how, and the whole candidate list."""

    search_id: int
    request_id: int
    probe_id: int
    probe_version_id: int | None  # None: the original was searched
    searched_sha256: str
    face_index: int
    model_name: str
    model_version: str
    model_sha256: str
    metric: str
    index_generation: int
    k: int
    ef: int | None
    method: str
    threshold: float | None
    score_meaning: str
    gallery_size: int
    quality: Mapping[str, Any]
    quality_warnings: tuple[str, ...]
    duration_ms: int
    created_at: datetime
    created_by: str
    lead_banner: str  # "INVESTIGATIVE LEAD ONLY - NOT PROBABLE CAUSE TO ARREST"
    advisory: str
    candidates: tuple[CandidateRow, ...] = ()


def search_summary(
    row: CaseSearch, candidates: tuple[CandidateRow, ...], *, banner: str, advisory: str
) -> SearchSummary:
    return SearchSummary(
        search_id=row.id,
        request_id=row.request_id,
        probe_id=row.probe_id,
        probe_version_id=row.probe_version_id,
        searched_sha256=row.searched_sha256,
        face_index=row.face_index,
        model_name=row.model_name,
        model_version=row.model_version,
        model_sha256=row.model_sha256,
        metric=row.metric,
        index_generation=row.index_generation,
        k=row.k,
        ef=row.ef,
        method=row.method,
        threshold=row.threshold,
        score_meaning=row.score_meaning,
        gallery_size=row.gallery_size,
        quality=json_value(row.quality) or {},
        quality_warnings=tuple(json_value(row.quality_warnings) or ()),
        duration_ms=row.duration_ms,
        created_at=row.created_at,
        created_by=row.created_by,
        lead_banner=banner,
        advisory=advisory,
        candidates=candidates,
    )


# ----------------------------------------------------------------------------- comparisons
@dataclass(frozen=True)
class AnswerEntry:
    answer: str
    note: str
    answered_at: datetime
    answered_by: str


def answer_entry(row: ComparisonAnswer) -> AnswerEntry:
    return AnswerEntry(row.answer, row.note, row.answered_at, row.answered_by)


@dataclass(frozen=True)
class ComparisonSummary:
    """An examiner's comparison of the probe with one candidate."""

    comparison_id: int
    request_id: int
    candidate_id: int
    rank: int
    subject_reference: str
    examiner_id: int
    examiner: str
    worksheet_name: str
    worksheet_version: str
    status: str  # draft / concluded
    conclusion: str | None
    answers: Mapping[str, AnswerEntry]
    progress: WorksheetProgress
    started_at: datetime
    finished_at: datetime | None
    time_spent_seconds: int | None
    review_state: str
    version_id: int


def comparison_summary(
    row: Comparison, candidate: SearchCandidate, progress: WorksheetProgress
) -> ComparisonSummary:
    return ComparisonSummary(
        comparison_id=row.id,
        request_id=row.request_id,
        candidate_id=row.candidate_id,
        rank=candidate.rank,
        subject_reference=candidate.subject_reference,
        examiner_id=row.examiner_id,
        examiner=row.examiner,
        worksheet_name=row.worksheet_name,
        worksheet_version=row.worksheet_version,
        status=row.status,
        conclusion=row.conclusion,
        answers={a.item_id: answer_entry(a) for a in row.answers},
        progress=progress,
        started_at=row.started_at,
        finished_at=row.finished_at,
        time_spent_seconds=row.time_spent_seconds,
        review_state=row.review_state,
        version_id=row.version_id,
    )


@dataclass(frozen=True)
class ImageData:
    """Stored picture bytes and their hash."""

    sha256: str
    data: bytes
    media_type: str


@dataclass(frozen=True)
class PairView:
    """The two faces of a comparison as the screen needs them (regions: the subject's sides)."""

    probe_original: ImageData
    probe_face: DetectedFace | None
    probe_versions: tuple[ProbeVersionSummary, ...]
    searched_version_id: int | None
    candidate: CandidateRow
    candidate_image: ImageData
    probe_regions: Mapping[str, FeatureRegion] = field(default_factory=dict)
    candidate_regions: Mapping[str, FeatureRegion] = field(default_factory=dict)


@dataclass(frozen=True)
class ComparisonView:
    """Everything the comparison screen shows for the comparison's own examiner."""

    comparison: ComparisonSummary
    pair: PairView
    worksheet: WorksheetDefinition
    lead_banner: str
    advisory: str


# ----------------------------------------------------------------------------- reviews
@dataclass(frozen=True)
class ReviewSummary:
    review_id: int
    comparison_id: int
    request_id: int
    reviewer_id: int
    reviewer: str
    status: str  # in_progress / recorded
    answers: Mapping[str, Mapping[str, str]]  # item -> {"answer": ..., "note": ...}
    progress: WorksheetProgress
    conclusion: str | None
    agreement: bool | None
    disagreement: bool
    started_at: datetime
    recorded_at: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None


def review_summary(row: Review, request_id: int, progress: WorksheetProgress) -> ReviewSummary:
    return ReviewSummary(
        review_id=row.id,
        comparison_id=row.comparison_id,
        request_id=request_id,
        reviewer_id=row.reviewer_id,
        reviewer=row.reviewer,
        status=row.status,
        answers=json_value(row.answers) or {},
        progress=progress,
        conclusion=row.conclusion,
        agreement=row.agreement,
        disagreement=row.disagreement,
        started_at=row.started_at,
        recorded_at=row.recorded_at,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        resolution_note=row.resolution_note,
    )


@dataclass(frozen=True)
class FirstExaminerRecord:
    """The first examiner's answers and conclusion, shown to a reviewer only after their own."""

    examiner: str
    answers: Mapping[str, AnswerEntry]
    conclusion: str | None
    finished_at: datetime | None


@dataclass(frozen=True)
class ReviewView:
    """What the second examiner sees: the same pair, their own answers, and (only once their
    conclusion is recorded) the first examiner's."""

    review: ReviewSummary
    pair: PairView
    worksheet: WorksheetDefinition
    first_examiner: FirstExaminerRecord | None
    lead_banner: str
    advisory: str


@dataclass(frozen=True)
class ReviewQueueEntry:
    """A comparison waiting for a second examiner (nothing of the first examiner's findings)."""

    comparison_id: int
    request_id: int
    request_number: str
    case_number: str
    rank: int
    subject_reference: str
    examiner: str
    submitted_state: str  # awaiting_review / in_review
    reviewer: str | None


@dataclass(frozen=True)
class ReviewSkipSummary:
    skip_id: int
    request_id: int
    comparison_id: int | None
    reason: str
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class AttachmentSummary:
    attachment_id: int
    request_id: int
    comparison_id: int | None
    evidence_sha256: str
    kind: str
    caption: str
    created_at: datetime
    created_by: str
