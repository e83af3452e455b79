"""1:N search of the gallery with a probe's face descriptor: candidates grouped per subject.

The probe's descriptor is only compared: nothing here writes to the gallery, the index or the
evidence store (MPTC VI.D), and this function writes no record either - the request casework
records the search (model, version, hash, index generation, parameters, threshold, duration and
the candidate list, all carried by :class:`GallerySearchOutcome`).

Small galleries (fewer than ``EXACT_SEARCH_BELOW`` searchable photos) are searched exactly
(brute force, the reference); larger ones through the HNSW index. The index returns photos; the
search widens until it has ``top_k`` different subjects (or every photo), so one person with many
photos cannot crowd everyone else out. Before returning, every candidate photo is checked again
against the database: anything sealed or expunged meanwhile is dropped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select

from app.casework.gallery_engine import model_manifest
from app.casework.gallery_records import live_condition
from app.casework.index_sync import LiveIndex, synced_index
from app.casework.workstation import Workstation
from app.engine.index import exact_search
from app.errors import InvalidInput
from app.records.gallery_models import GalleryPhoto, GallerySubject

EXACT_SEARCH_BELOW = 5_000
# Photos fetched per wanted subject on the first try; doubled until enough subjects are found.
PHOTOS_PER_SUBJECT = 3
MAX_TOP_K = 1_000


@dataclass(frozen=True)
class CandidatePhoto:
    """One photo of a candidate subject."""

    photo_id: int
    evidence_sha256: str
    photo_date: date
    source_type: str
    source_reference: str
    score: float | None  # distance to the probe; None for photos outside the returned top list


@dataclass(frozen=True)
class GalleryCandidate:
    """One subject in the candidate list, ranked by their best photo."""

    rank: int  # 1 = most similar
    subject_id: int
    subject_reference: str
    subject_name: str
    score: float  # the best photo's distance in the model's metric (smaller = more similar)
    within_threshold: bool  # score at or below the model's decision threshold
    photo_id: int  # the best photo
    photo_date: date
    evidence_sha256: str
    most_recent_photo_date: date  # of all the subject's searchable photos
    matched_photos: tuple[CandidatePhoto, ...]  # the subject's photos in the result, best first
    all_photos: tuple[CandidatePhoto, ...]  # every searchable photo of the subject, newest first

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "subject_id": self.subject_id,
            "subject_reference": self.subject_reference,
            "score": self.score,
            "within_threshold": self.within_threshold,
            "photo_id": self.photo_id,
            "photo_date": self.photo_date.isoformat(),
            "evidence_sha256": self.evidence_sha256,
            "most_recent_photo_date": self.most_recent_photo_date.isoformat(),
            "matched_photos": [[p.photo_id, p.score] for p in self.matched_photos],
        }


@dataclass(frozen=True)
class GallerySearchOutcome:
    """Everything a search record needs (MPTC "every search"), plus the candidates."""

    model_name: str
    model_version: str
    model_sha256: str
    metric: str
    threshold: float
    score_meaning: str
    index_generation: int
    gallery_size: int  # searchable photos at the time of the search
    method: str  # "exact" or "hnsw"
    top_k: int  # subjects asked for
    photos_examined: int  # photos the last pass asked for
    ef: int | None  # HNSW search breadth (None for exact search)
    duration_seconds: float
    searched_at: datetime
    candidates: tuple[GalleryCandidate, ...] = field(default=())
    dropped_sealed: int = 0  # returned by the index but sealed/expunged in the database

    def parameters(self) -> dict[str, Any]:
        return {
            "k": self.top_k,
            "ef": self.ef,
            "method": self.method,
            "photos_examined": self.photos_examined,
            "exact_below": EXACT_SEARCH_BELOW,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": {
                "name": self.model_name,
                "version": self.model_version,
                "sha256": self.model_sha256,
                "metric": self.metric,
            },
            "threshold": self.threshold,
            "index_generation": self.index_generation,
            "gallery_size": self.gallery_size,
            "parameters": self.parameters(),
            "duration_seconds": self.duration_seconds,
            "searched_at": self.searched_at.isoformat(),
            "candidates": [c.to_dict() for c in self.candidates],
        }


# ------------------------------------------------------------------------------ nearest photos
def _nearest(
    live: LiveIndex,
    query: npt.NDArray[np.float32],
    photos: int,
    *,
    exact: bool,
    ef: int | None,
) -> list[tuple[int, float]]:
    if exact:
        ids, vectors = live.exact_vectors()
        if len(ids) == 0:
            return []
        return exact_search(vectors, ids, query, photos, metric=live.index.metric)
    return live.index.search(query, photos, ef=ef)[0]


# ------------------------------------------------------------------------------ the search
def _check_query(embedding: npt.ArrayLike, dim: int, model_name: str) -> npt.NDArray[np.float32]:
    query = np.asarray(embedding, dtype=np.float32).reshape(-1)
    if query.shape != (dim,):
        raise InvalidInput(
            f"The probe's face descriptor has {query.size} values, but model '{model_name}' "
            f"makes {dim}. Describe the probe with the same model."
        )
    if not np.all(np.isfinite(query)):
        raise InvalidInput("The probe's face descriptor contains invalid values.")
    return query


def search_gallery(
    ws: Workstation,
    *,
    embedding: npt.ArrayLike,
    model_name: str | None = None,
    top_k: int | None = None,
    ef: int | None = None,
    exact: bool | None = None,
) -> GallerySearchOutcome:
    """The ``top_k`` most similar subjects to a probe descriptor (default: the policy profile's).

    ``exact``: None chooses (exact below ``EXACT_SEARCH_BELOW`` searchable photos), True forces
    the exact reference search, False the index. ``ef``: the index's search breadth.
    """
    started = time.perf_counter()
    name = model_name or ws.settings.model_name
    manifest = model_manifest(ws.settings, name)
    query = _check_query(embedding, manifest.output_dim, name)
    k = int(top_k if top_k is not None else ws.profile.search_top_k)
    if not 1 <= k <= MAX_TOP_K:
        raise InvalidInput(f"The number of candidates must be between 1 and {MAX_TOP_K}.")
    if ef is not None and ef < 1:
        raise InvalidInput("The search breadth (ef) must be at least 1.")
    live, _status = synced_index(ws, model_name=name, save=False)
    size = len(live.index)
    use_exact = exact if exact is not None else size < EXACT_SEARCH_BELOW
    wanted = min(size, k * PHOTOS_PER_SUBJECT)
    with ws.database.session(read_only=True) as session:
        while True:
            found = _nearest(live, query, wanted, exact=use_exact, ef=ef)
            rows = _photo_rows(session, [pid for pid, _ in found])
            subjects = {rows[pid].subject_id for pid, _ in found if pid in rows}
            if len(subjects) >= k or wanted >= size:
                break
            wanted = min(size, wanted * 2)
        dropped = sum(1 for pid, _ in found if pid not in rows)
        candidates = _group(session, found, rows, k, manifest.threshold)
    used_ef = None if use_exact else (ef if ef is not None else live.index.default_ef(wanted))
    return GallerySearchOutcome(
        model_name=manifest.name,
        model_version=manifest.version,
        model_sha256=manifest.sha256,
        metric=manifest.metric,
        threshold=manifest.threshold,
        score_meaning=manifest.score_meaning,
        index_generation=live.generation,
        gallery_size=size,
        method="exact" if use_exact else "hnsw",
        top_k=k,
        photos_examined=wanted,
        ef=max(used_ef, wanted) if used_ef is not None else None,
        duration_seconds=time.perf_counter() - started,
        searched_at=ws.now(),
        candidates=tuple(candidates),
        dropped_sealed=dropped,
    )


@dataclass(frozen=True)
class _PhotoRow:
    photo_id: int
    subject_id: int
    evidence_sha256: str
    photo_date: date
    source_type: str
    source_reference: str


def _photo_rows(session: Any, photo_ids: list[int]) -> dict[int, _PhotoRow]:
    """The searchable ones among ``photo_ids`` (the belt-and-braces check against sealing)."""
    rows: dict[int, _PhotoRow] = {}
    for start in range(0, len(photo_ids), 500):
        part = photo_ids[start : start + 500]
        result = session.execute(
            select(
                GalleryPhoto.id,
                GalleryPhoto.subject_id,
                GalleryPhoto.evidence_sha256,
                GalleryPhoto.photo_date,
                GalleryPhoto.source_type,
                GalleryPhoto.source_reference,
            )
            .join(GallerySubject, GallerySubject.id == GalleryPhoto.subject_id)
            .where(GalleryPhoto.id.in_(part), live_condition())
        )
        for pid, sid, sha, when, kind, ref in result:
            rows[int(pid)] = _PhotoRow(int(pid), int(sid), str(sha), when, str(kind), str(ref))
    return rows


def _group(
    session: Any,
    found: list[tuple[int, float]],
    rows: dict[int, _PhotoRow],
    k: int,
    threshold: float,
) -> list[GalleryCandidate]:
    best: dict[int, list[tuple[_PhotoRow, float]]] = {}
    order: list[int] = []
    for photo_id, distance in found:  # nearest first
        row = rows.get(photo_id)
        if row is None:
            continue
        if row.subject_id not in best:
            if len(order) == k:
                continue
            order.append(row.subject_id)
            best[row.subject_id] = []
        best[row.subject_id].append((row, distance))
    if not order:
        return []
    subjects = {
        int(sid): (str(ref), str(nm))
        for sid, ref, nm in session.execute(
            select(GallerySubject.id, GallerySubject.subject_reference, GallerySubject.name).where(
                GallerySubject.id.in_(order)
            )
        )
    }
    every: dict[int, list[CandidatePhoto]] = {sid: [] for sid in order}
    scores = {pid: dist for pid, dist in found}
    for start in range(0, len(order), 500):
        for pid, sid, sha, when, kind, ref in session.execute(
            select(
                GalleryPhoto.id,
                GalleryPhoto.subject_id,
                GalleryPhoto.evidence_sha256,
                GalleryPhoto.photo_date,
                GalleryPhoto.source_type,
                GalleryPhoto.source_reference,
            )
            .join(GallerySubject, GallerySubject.id == GalleryPhoto.subject_id)
            .where(GalleryPhoto.subject_id.in_(order[start : start + 500]), live_condition())
        ):
            every[int(sid)].append(
                CandidatePhoto(int(pid), str(sha), when, str(kind), str(ref), scores.get(int(pid)))
            )
    candidates = []
    for rank, subject_id in enumerate(order, start=1):
        matched = best[subject_id]
        top_row, top_distance = matched[0]
        photos = sorted(every[subject_id], key=lambda p: (p.photo_date, p.photo_id), reverse=True)
        reference, name = subjects.get(subject_id, ("", ""))
        candidates.append(
            GalleryCandidate(
                rank=rank,
                subject_id=subject_id,
                subject_reference=reference,
                subject_name=name,
                score=float(top_distance),
                within_threshold=float(top_distance) <= threshold,
                photo_id=top_row.photo_id,
                photo_date=top_row.photo_date,
                evidence_sha256=top_row.evidence_sha256,
                most_recent_photo_date=max(
                    (p.photo_date for p in photos), default=top_row.photo_date
                ),
                matched_photos=tuple(
                    CandidatePhoto(
                        r.photo_id,
                        r.evidence_sha256,
                        r.photo_date,
                        r.source_type,
                        r.source_reference,
                        float(d),
                    )
                    for r, d in matched
                ),
                all_photos=tuple(photos),
            )
        )
    return candidates


__all__ = [
    "EXACT_SEARCH_BELOW",
    "CandidatePhoto",
    "GalleryCandidate",
    "GallerySearchOutcome",
    "search_gallery",
]
