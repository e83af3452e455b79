"""The gated one-to-many search of a request's probe, and the recorded candidate lists.

A search is refused (and the refusal audited as ``search.refused``) unless the user is an active
examiner with a current training record who has acknowledged the policy in force (MPTC III.B,
IV.A, VII), the request is complete under the active profile (IV.B, V.A, IV.D, V.B) and still
open, and the probe has a face to search with. The search record holds the model's name,
version and hash, the index generation, the parameters and threshold, the quality warnings, the
duration and the whole candidate list, written with its audit event in one transaction.

The probe's descriptor is only compared with the gallery: nothing here writes to the gallery or
its index (MPTC VI.D).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.casework.account_rules import SignedInUser
from app.casework.accounts import examiner_facts
from app.casework.case_access import (
    audit,
    check_assigned,
    check_not_concluded,
    dumps,
    first_conclusion_visible,
    load_probe,
    load_request,
    load_version,
    refusals_audited,
    request_problems,
    require_reader,
)
from app.casework.case_views import CandidateRow, SearchSummary, candidate_row, search_summary
from app.casework.gallery_engine import embed_chips, gallery_embedder, gallery_pipeline
from app.casework.gallery_search import GallerySearchOutcome, search_gallery
from app.casework.index_sync import ensure_index
from app.casework.probes import chosen_face, decode_stored
from app.casework.requests import set_status
from app.casework.workstation import Workstation
from app.errors import ImportCancelled, InvalidInput, NotFound, PolicyViolation
from app.policy.gates import check_can_search
from app.records.case_models import (
    CaseRequest,
    CaseSearch,
    Comparison,
    ProbeImage,
    ProbeVersion,
    SearchCandidate,
)

Progress = Callable[[int, int, str], None]
Cancelled = Callable[[], bool]

__all__ = [
    "CandidateRow",
    "SearchSummary",
    "get_search",
    "list_searches",
    "run_search",
]


def _probe_to_search(
    session: Session, request: CaseRequest, probe_id: int | None, version_id: int | None
) -> tuple[ProbeImage, ProbeVersion | None]:
    version = None
    if version_id is not None:
        version = load_version(session, version_id)
        if probe_id is not None and version.probe_id != probe_id:
            raise InvalidInput(f"Version {version_id} is not a copy of probe {probe_id}.")
        probe_id = version.probe_id
    if probe_id is None:
        if not request.probes:
            raise PolicyViolation(
                f"Request {request.request_number} has no probe image yet: add it first."
            )
        if len(request.probes) > 1:
            raise InvalidInput(
                f"Request {request.request_number} has {len(request.probes)} probe images: "
                "say which one to search."
            )
        probe_id = request.probes[0].id
    probe = load_probe(session, probe_id)
    if probe.request_id != request.id:
        raise InvalidInput(f"Probe {probe_id} belongs to another request.")
    return probe, version


def _check(session: Session, ws: Workstation, request_id: int, user: SignedInUser) -> CaseRequest:
    """The request, when the user may search it now (assigned, complete, not concluded)."""
    request = load_request(session, request_id)
    check_assigned(request, user, "search it")
    check_not_concluded(request, "search")
    problems = request_problems(request, ws.profile)
    if problems:
        raise PolicyViolation(
            f"Request {request.request_number} is not complete under {ws.profile.label}: "
            + " ".join(problems)
        )
    return request


def run_search(
    ws: Workstation,
    *,
    user: SignedInUser,
    request_id: int,
    probe_id: int | None = None,
    probe_version_id: int | None = None,
    face_index: int | None = None,
    top_k: int | None = None,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> SearchSummary:
    """Search the gallery with the probe (the original unless ``probe_version_id`` names an
    edited copy) and record the search and its whole candidate list.

    ``top_k``: candidates (subjects) wanted, default the profile's. ``progress(done, total,
    message)`` and ``cancelled()`` come from the caller's worker; a cancelled search records
    nothing.
    """
    details = {"probe_id": probe_id, "probe_version_id": probe_version_id}
    ws.refresh_profile()  # follow a profile change made on another workstation (one-row read)
    with refusals_audited(
        ws,
        user=user,
        action="search.refused",
        object_type="request",
        object_id=request_id,
        details=details,
    ):
        facts = examiner_facts(ws, user_id=user.user_id)
        check_can_search(facts, ws.profile, ws.now().date())
        with ws.database.session(read_only=True) as session:
            request = _check(session, ws, request_id, user)
            probe, version = _probe_to_search(session, request, probe_id, probe_version_id)
            target: ProbeImage | ProbeVersion = version if version is not None else probe
            face = chosen_face(target, face_index)
            sha = version.evidence_sha256 if version is not None else probe.original_sha256
            used_face = face.index if face_index is None else face_index
    rgb = decode_stored(ws, sha, name=probe.original_name).rgb
    model_name = ws.settings.model_name
    k = top_k if top_k is not None else ws.profile.search_top_k

    def step(done: int, message: str) -> None:
        if progress is not None:
            progress(done, 3, message)
        if done < 3 and cancelled is not None and cancelled():
            raise ImportCancelled("The search was cancelled; nothing was recorded.")

    step(0, "Bringing the search index up to date")
    # A rebuild (a damaged or missing index) reports its own progress through the same callable.
    ensure_index(ws, model=model_name, progress=progress, cancelled=cancelled)
    step(1, "Describing the probe's face")
    started = time.perf_counter()
    embedder = gallery_embedder(ws.settings, model_name)
    description = gallery_pipeline(embedder).describe(rgb, face)
    if description.chip is None:  # pragma: no cover - the pipeline always has an alignment
        raise InvalidInput("The chosen face could not be aligned for the face model.")
    embedding = embed_chips(embedder, [description.chip])[0]
    step(2, "Searching the gallery")
    outcome = search_gallery(ws, embedding=embedding, model_name=model_name, top_k=k)
    duration_ms = round((time.perf_counter() - started) * 1000)
    with (
        refusals_audited(
            ws,
            user=user,
            action="search.refused",
            object_type="request",
            object_id=request_id,
            details=details,
        ),
        ws.database.session() as session,
    ):
        request = load_request(session, request_id, for_update=True)
        check_not_concluded(request, "search")  # it may have been closed meanwhile
        record = _record(
            session,
            ws,
            user=user,
            request=request,
            probe=probe,
            version=version,
            sha=sha,
            face_index=used_face,
            face_box=list(face.box),
            quality=description.quality.to_dict(),
            warnings=description.warnings,
            outcome=outcome,
            duration_ms=duration_ms,
        )
        if request.status == "open":
            set_status(ws, request, "searched")
        session.flush()
        step(3, "Search recorded")
        return _summary(ws, session, record, user)


def _record(
    session: Session,
    ws: Workstation,
    *,
    user: SignedInUser,
    request: CaseRequest,
    probe: ProbeImage,
    version: ProbeVersion | None,
    sha: str,
    face_index: int,
    face_box: list[float],
    quality: dict[str, object],
    warnings: tuple[str, ...],
    outcome: GallerySearchOutcome,
    duration_ms: int,
) -> CaseSearch:
    record = CaseSearch(
        request_id=request.id,
        probe_id=probe.id,
        probe_version_id=None if version is None else version.id,
        searched_sha256=sha,
        face_index=face_index,
        face_box=dumps(face_box),
        model_name=outcome.model_name,
        model_version=outcome.model_version,
        model_sha256=outcome.model_sha256,
        metric=outcome.metric,
        index_generation=outcome.index_generation,
        k=outcome.top_k,
        ef=outcome.ef,
        method=outcome.method,
        threshold=outcome.threshold,
        score_meaning=outcome.score_meaning,
        gallery_size=outcome.gallery_size,
        quality=dumps(quality),
        quality_warnings=dumps(list(warnings)),
        duration_ms=duration_ms,
        candidate_count=len(outcome.candidates),
        created_at=ws.now(),
        created_by=user.username,
    )
    session.add(record)
    session.flush()
    for candidate in outcome.candidates:
        best = candidate.matched_photos[0] if candidate.matched_photos else None
        session.add(
            SearchCandidate(
                search_id=record.id,
                rank=candidate.rank,
                subject_id=candidate.subject_id,
                subject_reference=candidate.subject_reference,
                photo_id=candidate.photo_id,
                photo_sha256=candidate.evidence_sha256,
                source_type=best.source_type if best is not None else "",
                source_reference=best.source_reference if best is not None else "",
                score=candidate.score,
                photo_date=candidate.photo_date,
                most_recent_photo_date=candidate.most_recent_photo_date,
            )
        )
    session.flush()
    audit(
        ws,
        session,
        user=user,
        action="search.run",
        object_type="search",
        object_id=record.id,
        details={
            "request_id": request.id,
            "probe_id": probe.id,
            "probe_version_id": record.probe_version_id,
            "searched_sha256": sha,
            "face_index": face_index,
            "model": [outcome.model_name, outcome.model_version, outcome.model_sha256],
            "index_generation": outcome.index_generation,
            "parameters": outcome.parameters(),
            "threshold": outcome.threshold,
            "gallery_size": outcome.gallery_size,
            "quality_warnings": list(warnings),
            "duration_ms": duration_ms,
            "candidates": [
                [c.rank, c.subject_reference, c.photo_id, round(c.score, 6)]
                for c in outcome.candidates
            ],
        },
    )
    return record


def _summary(
    ws: Workstation, session: Session, record: CaseSearch, user: SignedInUser
) -> SearchSummary:
    rows = list(
        session.execute(
            select(SearchCandidate)
            .where(SearchCandidate.search_id == record.id)
            .order_by(SearchCandidate.rank)
        ).scalars()
    )
    latest: dict[int, Comparison] = {}
    if rows:
        for comparison in session.execute(
            select(Comparison)
            .where(Comparison.candidate_id.in_([r.id for r in rows]))
            .order_by(Comparison.id)
        ).scalars():
            latest[comparison.candidate_id] = comparison
    candidates = tuple(
        candidate_row(
            row,
            latest.get(row.id),
            show_conclusion=row.id in latest
            and first_conclusion_visible(latest[row.id], user, session),
        )
        for row in rows
    )
    texts = ws.profile.report
    return search_summary(record, candidates, banner=texts.banner, advisory=texts.advisory)


def get_search(ws: Workstation, *, user: SignedInUser, search_id: int) -> SearchSummary:
    """A recorded search with its whole candidate list (the lead-only banner comes with it)."""
    with ws.database.session(read_only=True) as session:
        require_reader(session, user)
        record = session.get(CaseSearch, search_id)
        if record is None:
            raise NotFound(f"There is no search with number {search_id}.")
        return _summary(ws, session, record, user)


def list_searches(ws: Workstation, *, user: SignedInUser, request_id: int) -> list[SearchSummary]:
    """Every search of a request, oldest first."""
    with ws.database.session(read_only=True) as session:
        require_reader(session, user)
        load_request(session, request_id)
        records = session.execute(
            select(CaseSearch).where(CaseSearch.request_id == request_id).order_by(CaseSearch.id)
        ).scalars()
        return [_summary(ws, session, record, user) for record in records]
