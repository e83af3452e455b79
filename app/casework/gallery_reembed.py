"""Describe gallery photos again with a model: after a new model is installed, or after a model's
manifest changed how its descriptors are made (alignment, mirror average).

Embeddings are stored with the model's descriptor key (:func:`gallery_engine.descriptor_key`);
photos whose embedding for the model was made with another key, or that have none, are not
searchable with that model until this runs. Each photo's original bytes come from the evidence
store (verified against their hash); the new descriptors, one change-log entry per photo and one
audit event per chunk are committed together, and the index catches up afterwards. Sealed
photos are described too (they stay out of searches), so that unsealing them needs nothing more.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from app.casework.account_rules import SignedInUser
from app.casework.gallery_engine import (
    PhotoAnalysis,
    PhotoRejection,
    descriptor_key,
    embed_chips,
    gallery_embedder,
    gallery_pipeline,
    vector_to_bytes,
)
from app.casework.gallery_records import (
    append_changes,
    check_gallery_manager,
    gallery_generation,
    lock_gallery,
    require_permission,
)
from app.casework.gallery_workers import PhotoAnalyser
from app.casework.index_sync import refresh_indexes
from app.casework.workstation import Workstation
from app.errors import FrxError, ImportCancelled, StorageError
from app.records.audit import append_event
from app.records.gallery_models import CHANGE_ADD, GalleryPhoto, PhotoEmbedding

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
Cancelled = Callable[[], bool]

CHUNK = 64


@dataclass(frozen=True)
class ReembedResult:
    model_name: str
    photos: int  # photos that needed new descriptors
    described: int
    failed: tuple[tuple[int, str], ...]  # (photo id, reason)
    generation: int


def _outdated(model_name: str, key: str) -> ColumnElement[bool]:
    current = (
        select(PhotoEmbedding.id)
        .where(
            and_(
                PhotoEmbedding.photo_id == GalleryPhoto.id,
                PhotoEmbedding.model_name == model_name,
                PhotoEmbedding.model_sha256 == key,
            )
        )
        .exists()
    )
    return ~current


def photos_needing_descriptors(session: Session, *, model_name: str, key: str) -> int:
    """How many gallery photos have no descriptor of this model as it is now."""
    return int(
        session.execute(
            select(func.count(GalleryPhoto.id)).where(_outdated(model_name, key))
        ).scalar_one()
    )


def reembed_gallery(
    ws: Workstation,
    *,
    by: SignedInUser,
    model: str | None = None,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
    workers: int = 0,
) -> ReembedResult:
    """Describe every photo that lacks a current descriptor of ``model`` (default: the
    configured one). Supervisors and administrators. ``workers`` > 0 uses worker processes.

    Cancelling keeps the chunks done so far (ImportCancelled); running it again goes on.
    """
    name = model or ws.settings.model_name
    with ws.database.session() as session:
        require_permission(
            ws, session, by, check=check_gallery_manager, attempted="describe gallery photos"
        )
    embedder = gallery_embedder(ws.settings, name)
    key = descriptor_key(embedder.manifest)
    with ws.database.session(read_only=True) as session:
        todo = [
            (int(pid), str(sha))
            for pid, sha in session.execute(
                select(GalleryPhoto.id, GalleryPhoto.evidence_sha256)
                .where(_outdated(name, key))
                .order_by(GalleryPhoto.id)
            )
        ]
    analyser = PhotoAnalyser(
        local_pipeline=gallery_pipeline(embedder),
        models_dir=ws.settings.models_dir,
        model_name=name,
        evidence_root=ws.evidence.root,
        max_pixels=ws.settings.max_image_pixels,
        processes=max(0, workers),
    )
    described = 0
    failed: list[tuple[int, str]] = []
    try:
        for start in range(0, len(todo), CHUNK):
            if cancelled is not None and cancelled():
                raise ImportCancelled(
                    f"Describing the gallery again was cancelled after {described} photos; "
                    "run it again to go on."
                )
            chunk = todo[start : start + CHUNK]
            futures = []
            for photo_id, sha in chunk:
                try:
                    data = ws.evidence.get(sha)
                except FrxError as exc:
                    failed.append((photo_id, str(exc)))
                    continue
                futures.append((photo_id, analyser.submit(data, f"gallery photo {photo_id}")))
            ready: list[tuple[int, PhotoAnalysis]] = []
            for photo_id, future in futures:
                result = future.result()
                if isinstance(result, StorageError):
                    raise result
                if isinstance(result, PhotoRejection):
                    failed.append((photo_id, result.reason))
                else:
                    ready.append((photo_id, result))
            if ready:
                _store(ws, by, name, key, ready, embed_chips(embedder, [a.chip for _, a in ready]))
                described += len(ready)
            if progress is not None:
                progress(min(start + CHUNK, len(todo)), len(todo), f"{described} photos described")
    finally:
        analyser.shutdown(cancel=True)
        if described:
            try:
                refresh_indexes(ws, include=name, save=True)
            except FrxError as exc:
                log.warning("the face index could not be brought up to date: %s", exc)
    with ws.database.session(read_only=True) as session:
        generation = gallery_generation(session)
    return ReembedResult(name, len(todo), described, tuple(failed), generation)


def _store(
    ws: Workstation,
    by: SignedInUser,
    model_name: str,
    key: str,
    ready: Sequence[tuple[int, PhotoAnalysis]],
    vectors: npt.NDArray[np.float32],
) -> None:
    now = ws.now()
    ids = [photo_id for photo_id, _ in ready]
    with ws.database.session() as session:
        lock_gallery(session)
        existing = {
            row.photo_id: row
            for row in session.execute(
                select(PhotoEmbedding).where(
                    PhotoEmbedding.photo_id.in_(ids), PhotoEmbedding.model_name == model_name
                )
            ).scalars()
        }
        present = set(
            session.execute(select(GalleryPhoto.id).where(GalleryPhoto.id.in_(ids))).scalars()
        )
        changed = []
        for (photo_id, _analysis), vector in zip(ready, vectors, strict=True):
            if photo_id not in present:  # expunged meanwhile
                continue
            blob = vector_to_bytes(vector)
            row = existing.get(photo_id)
            if row is None:
                row = PhotoEmbedding(photo_id=photo_id, model_name=model_name)
                session.add(row)
            row.model_sha256, row.dim, row.vector, row.created_at = key, len(blob) // 4, blob, now
            changed.append(photo_id)
        session.flush()
        generation = append_changes(session, changed, CHANGE_ADD, at=now)
        append_event(
            session,
            actor=by.username,
            action="gallery.photos_described",
            object_type="gallery",
            object_id=None,
            details={
                "model": model_name,
                "descriptor_key": key,
                "photo_ids": changed,
                "generation": generation,
            },
            occurred_at=now,
        )


__all__ = ["ReembedResult", "photos_needing_descriptors", "reembed_gallery"]
