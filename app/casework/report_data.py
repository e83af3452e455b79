"""Gather what a report prints from the case records into :mod:`app.reports.data` dataclasses.

Everything here reads inside the caller's (read-only) session and returns plain data; the PDF is
built afterwards, outside any transaction. Pictures are the stored evidence bytes (verified on
read); the worksheet's region crops are cut by the engine from the ORIGINAL probe and the
candidate photo, with the same feature regions the comparison screen showed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.casework.workstation import Workstation
from app.engine.edits import EditOperation
from app.engine.images import decode_image, encode_png
from app.engine.quality import QualityReport
from app.engine.regions import FeatureRegion, crop_region
from app.errors import FrxError, NotFound
from app.policy.worksheet import Conclusion
from app.records.case_models import (
    CaseRequest,
    CaseSearch,
    Comparison,
    ProbeImage,
    ProbeVersion,
    Review,
    ReviewSkip,
    SearchCandidate,
    json_value,
)
from app.records.models import AuditEvent, User
from app.reports.data import (
    CandidateInfo,
    CandidateSummary,
    EditStep,
    ExaminerConclusion,
    ProbeInfo,
    QualityMeasure,
    ReportFrame,
    RequestInfo,
    ReviewInfo,
    SearchInfo,
    WorksheetRow,
)

log = logging.getLogger(__name__)

CROP_SIZE = (160, 160)  # pixels of each worksheet crop (printed at about 0.6 inch)
NO_REVIEW_NEEDED = (
    "No second review: no candidate was reported as a possible lead, so there was no potential "
    "identification to review (MPTC IV.E.2)."
)


@dataclass(frozen=True)
class ReviewOutcome:
    """The second review of a comparison as a report prints it: recorded, skipped, or neither."""

    review: ReviewInfo | None
    skipped_reason: str | None
    reviewer_id: int | None
    reviewer_conclusion: Conclusion | None


# ----------------------------------------------------------------------------- people
def display_name(session: Session, username: str) -> str:
    """The person's display name with the user name, e.g. ``Erin Diaz (erin)``."""
    row = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if row is None or not row.display_name.strip() or row.display_name == username:
        return username
    return f"{row.display_name} ({username})"


def installation_id(session: Session) -> str:
    """This installation's identifier: the start of the hash of its first audit event.

    Every database starts its own audit chain, so the first event's hash names the installation
    a report was issued by (and verification looks the report up in that same database).
    """
    first = session.execute(
        select(AuditEvent.hash).order_by(AuditEvent.sequence).limit(1)
    ).scalar_one_or_none()
    return "FRX-" + (first or "0" * 64)[:16].upper()


# ----------------------------------------------------------------------------- parts
def request_info(row: CaseRequest) -> RequestInfo:
    return RequestInfo(
        case_number=row.case_number,
        requesting_officer=row.requesting_officer,
        requesting_agency=row.requesting_agency,
        submitting_agency=row.submitting_agency,
        acknowledgment_text=row.interagency_ack_text if row.submitting_agency else None,
        acknowledgment_recorded_at=row.interagency_ack_at if row.submitting_agency else None,
        purpose_code=row.purpose_code,
        purpose_wording=row.purpose_text,
        offense=row.offense,
        narrative=row.narrative,
    )


def _quality(text: str | None) -> tuple[QualityMeasure, ...]:
    data = json_value(text)
    if not data:
        return ()
    try:
        report = QualityReport.from_dict(data)
    except (KeyError, TypeError, ValueError):
        log.warning("stored quality report cannot be read; left out of the report")
        return ()
    measures = []
    for m in report.measures:
        value = "\u2014" if m.value is None else f"{m.value:.4g} {m.unit}".strip()
        measures.append(QualityMeasure(m.name.replace("_", " "), value, m.level, m.message))
    return tuple(measures)


def _edit_chain(session: Session, version: ProbeVersion) -> list[ProbeVersion]:
    """The versions from the original to ``version``, oldest first."""
    chain = [version]
    while chain[-1].parent_version_id is not None:
        parent = session.get(ProbeVersion, chain[-1].parent_version_id)
        if parent is None:  # pragma: no cover - foreign key
            break
        chain.append(parent)
    return list(reversed(chain))


def _edit_step(session: Session, row: ProbeVersion) -> EditStep:
    operation = EditOperation.from_json(row.operation)
    parameters = ", ".join(f"{k}={v}" for k, v in sorted(operation.params.items()))
    return EditStep(
        operation=operation.describe() or operation.name,
        parameters=parameters or "\u2014",
        by=display_name(session, row.created_by),
        at=row.created_at,
    )


def probe_info(
    ws: Workstation, session: Session, probe: ProbeImage, version: ProbeVersion | None
) -> ProbeInfo:
    """The original probe and, when the search used one, the edited copy with its history."""
    original = ws.evidence.get(probe.original_sha256)
    if version is None:
        return ProbeInfo(
            original_image=original,
            original_sha256=probe.original_sha256,
            quality=_quality(probe.quality),
        )
    return ProbeInfo(
        original_image=original,
        original_sha256=probe.original_sha256,
        edited_image=ws.evidence.get(version.evidence_sha256),
        edited_sha256=version.evidence_sha256,
        edit_history=tuple(_edit_step(session, row) for row in _edit_chain(session, version)),
        quality=_quality(version.quality) or _quality(probe.quality),
    )


def search_info(session: Session, search: CaseSearch) -> SearchInfo:
    method = "exact search" if search.method == "exact" else "approximate (HNSW) search"
    meaning = search.score_meaning.strip()
    if search.threshold is None:
        meaning += " This model has no decision threshold."
    return SearchInfo(
        model_name=search.model_name,
        model_version=search.model_version,
        model_sha256=search.model_sha256,
        index_generation=search.index_generation,
        k=search.k,
        ef=search.ef if search.method != "exact" else None,
        threshold=search.threshold,
        searched_at=search.created_at,
        searched_by=display_name(session, search.created_by),
        candidates_returned=search.candidate_count,
        score_meaning=f"{meaning} Method: {method} over {search.gallery_size} gallery photos.",
    )


def candidate_info(ws: Workstation, candidate: SearchCandidate) -> CandidateInfo:
    try:
        image = ws.evidence.get(candidate.photo_sha256)
    except NotFound:
        raise NotFound(
            f"The gallery photo of candidate {candidate.subject_reference} is no longer stored "
            "(the gallery record was expunged), so the report cannot show it."
        ) from None
    source = ws.profile.gallery_source(candidate.source_type)
    return CandidateInfo(
        rank=candidate.rank,
        score=candidate.score,
        subject_reference=candidate.subject_reference,
        photo_date=candidate.photo_date,
        source_type_label=source.label if source is not None else candidate.source_type,
        source_reference=candidate.source_reference,
        most_recent_photo_date=candidate.most_recent_photo_date,
        image=image,
    )


# ----------------------------------------------------------------------------- worksheet
def _union(name: str, regions: list[FeatureRegion]) -> FeatureRegion:
    """One region covering several (e.g. both eyes for the item "Eyes")."""
    if len(regions) == 1:
        return regions[0]
    boxes = [r.box for r in regions if r.visible] or [r.box for r in regions]
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    polygon = np.vstack([r.polygon for r in regions])
    return FeatureRegion(
        name=name,
        polygon=polygon,
        box=(x0, y0, x1 - x0, y1 - y0),
        estimated=any(r.estimated for r in regions),
    )


def _crop(
    rgb: npt.NDArray[np.uint8] | None, regions: Mapping[str, FeatureRegion], names: tuple[str, ...]
) -> bytes | None:
    if rgb is None:
        return None
    found = [regions[n] for n in names if n in regions]
    if not found:
        return None
    region = _union("+".join(names), found)
    return encode_png(crop_region(rgb, region, size=CROP_SIZE, pad=0.2))


def worksheet_rows(
    ws: Workstation, session: Session, comparison: Comparison
) -> tuple[WorksheetRow, ...]:
    """The answered worksheet in its own order, each row with the probe and candidate crops."""
    # Imported here: comparisons imports the search and review machinery this module avoids.
    from app.casework.comparisons import pair_view

    probe_rgb: npt.NDArray[np.uint8] | None = None
    candidate_rgb: npt.NDArray[np.uint8] | None = None
    probe_regions: Mapping[str, FeatureRegion] = {}
    candidate_regions: Mapping[str, FeatureRegion] = {}
    try:
        pair = pair_view(ws, session, comparison)
        limit = ws.settings.max_image_pixels
        probe_rgb = decode_image(pair.probe_original.data, max_pixels=limit).rgb
        candidate_rgb = decode_image(pair.candidate_image.data, max_pixels=limit).rgb
        probe_regions, candidate_regions = pair.probe_regions, pair.candidate_regions
    except FrxError as exc:  # crops are a help to the reader; the answers are what counts
        log.warning("worksheet crops left out of the report: %s", exc)
    answers = {a.item_id: a for a in comparison.answers}
    rows = []
    for item in ws.worksheet.items:
        answer = answers.get(item.id)
        rows.append(
            WorksheetRow(
                item_label=item.label,
                answer_label=ws.worksheet.answer_label(answer.answer) if answer else "",
                note=answer.note if answer else "",
                probe_crop=_crop(probe_rgb, probe_regions, item.regions),
                candidate_crop=_crop(candidate_rgb, candidate_regions, item.regions),
            )
        )
    return tuple(rows)


# ----------------------------------------------------------------------------- conclusions
def examiner_conclusion(session: Session, comparison: Comparison, label: str) -> ExaminerConclusion:
    return ExaminerConclusion(
        name=display_name(session, comparison.examiner),
        conclusion_label=label,
        at=comparison.finished_at or comparison.started_at,
        time_spent_seconds=comparison.time_spent_seconds or 0,
    )


def review_outcome(ws: Workstation, session: Session, comparison: Comparison) -> ReviewOutcome:
    """The latest recorded second review of the comparison, else its recorded skip reason."""
    review = session.execute(
        select(Review)
        .where(Review.comparison_id == comparison.id, Review.status == "recorded")
        .order_by(Review.recorded_at.desc(), Review.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if review is not None and review.conclusion is not None and review.recorded_at is not None:
        return ReviewOutcome(
            review=ReviewInfo(
                reviewer_name=display_name(session, review.reviewer),
                conclusion_label=ws.worksheet.conclusion_label(review.conclusion),
                at=review.recorded_at,
                agrees=bool(review.agreement),
            ),
            skipped_reason=None,
            reviewer_id=review.reviewer_id,
            reviewer_conclusion=Conclusion(review.conclusion),
        )
    skip = session.execute(
        select(ReviewSkip)
        .where(ReviewSkip.comparison_id == comparison.id)
        .order_by(ReviewSkip.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    reason = None
    if skip is not None:
        reason = f"{skip.reason} (recorded by {display_name(session, skip.created_by)})"
    return ReviewOutcome(None, reason, None, None)


# ----------------------------------------------------------------------------- assembly
def search_probe(session: Session, search: CaseSearch) -> tuple[ProbeImage, ProbeVersion | None]:
    """The probe a search used and the edited copy it searched with (None: the original)."""
    probe = session.get(ProbeImage, search.probe_id)
    if probe is None:  # pragma: no cover - foreign key
        raise NotFound(f"The probe of search {search.id} is missing.")
    if search.probe_version_id is None:
        return probe, None
    return probe, session.get(ProbeVersion, search.probe_version_id)


def searched_records(
    session: Session, candidate: SearchCandidate
) -> tuple[CaseSearch, ProbeImage, ProbeVersion | None]:
    search = session.get(CaseSearch, candidate.search_id)
    if search is None:  # pragma: no cover - foreign key
        raise NotFound(f"The search of candidate {candidate.id} is missing.")
    return (search, *search_probe(session, search))


def make_frame(
    ws: Workstation,
    session: Session,
    *,
    request: CaseRequest,
    report_number: str,
    version: int,
    issued_at: datetime,
    issued_by: str,
) -> ReportFrame:
    texts = ws.profile.report
    return ReportFrame(
        agency=ws.settings.agency_name,
        unit=ws.settings.unit_name,
        report_number=report_number,
        version=version,
        case_number=request.case_number,
        issued_at=issued_at,
        issued_by=display_name(session, issued_by),
        installation_id=installation_id(session),
        banner_text=texts.banner,
        advisory_text=texts.advisory,
        dissemination_restriction=texts.dissemination_restriction,
        paper="a4" if ws.settings.paper_size == "a4" else "letter",
        profile_name=ws.profile.name,
        profile_version=ws.profile.version,
        profile_sha256=ws.profile.sha256,
    )


def reviewed_summaries(
    ws: Workstation, session: Session, request: CaseRequest
) -> tuple[list[Comparison], tuple[CandidateSummary, ...]]:
    """The request's concluded comparisons (one per candidate, the latest) and their summaries."""
    rows = session.execute(
        select(Comparison)
        .where(Comparison.request_id == request.id, Comparison.status == "concluded")
        .order_by(Comparison.id)
    ).scalars()
    latest: dict[int, Comparison] = {}
    for row in rows:
        latest[row.candidate_id] = row
    ordered = sorted(latest.values(), key=lambda c: (c.candidate.search_id, c.candidate.rank))
    summaries = tuple(
        CandidateSummary(
            rank=c.candidate.rank,
            subject_reference=c.candidate.subject_reference,
            conclusion_label=ws.worksheet.conclusion_label(c.conclusion or "inconclusive"),
        )
        for c in ordered
    )
    return ordered, summaries


def latest_search(session: Session, request: CaseRequest) -> CaseSearch:
    search = session.execute(
        select(CaseSearch)
        .where(CaseSearch.request_id == request.id)
        .order_by(CaseSearch.created_at.desc(), CaseSearch.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if search is None:
        raise NotFound(f"Request {request.request_number} has no search to report on.")
    return search
