"""Keep each model's face search index in step with the gallery in the database.

One :class:`app.engine.index.FaceIndex` per installed model lives in ``settings.index_dir/<model>``
and is derived data: the embeddings in the database are the truth. :func:`ensure_index` opens it
and compares its generation with the database's (the highest :class:`GalleryChange` sequence):

- missing, damaged, truncated, built from another model file, or ahead of the database (restored
  backup, another database): rebuilt from the database's embeddings, never used as it was;
- behind (a crash, a copy, another workstation changed a shared database): the photos named by
  the newer changes are re-read and added or marked deleted (incremental catch-up);
- the first time a process opens an index, its set of photos is compared with the database's
  searchable set; any difference means a rebuild.

Sealed photos and photos of sealed subjects are never in the live set. Opened indexes are kept
per process (one per folder), so sealing in one window takes effect in the index another window
searches, before the sealing call returns.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.casework.gallery_engine import descriptor_key, model_manifest, vector_from_bytes
from app.casework.gallery_records import gallery_generation, live_condition
from app.casework.workstation import Workstation
from app.engine.index import FaceIndex
from app.engine.index_files import META_FILE
from app.engine.model_manifest import ModelManifest
from app.errors import FrxError, IndexCorruptError
from app.records.gallery_models import GalleryChange, GalleryPhoto, GallerySubject, PhotoEmbedding

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
Cancelled = Callable[[], bool]

_CHUNK = 500


@dataclass
class LiveIndex:
    """An opened index and the gallery generation its in-memory state reflects."""

    index: FaceIndex
    model_name: str
    model_sha256: str
    generation: int
    saved_generation: int
    checked: bool = False
    # Live ids and their vectors for exact search, with the generation they were taken at.
    exact_cache: tuple[int, npt.NDArray[np.int64], npt.NDArray[np.float32]] | None = None

    def exact_vectors(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """The live ids and vectors (copied out of the index once per generation)."""
        cached = self.exact_cache
        if cached is None or cached[0] != self.generation:
            ids = self.index.ids()
            vectors = (
                self.index.vectors(ids)
                if len(ids)
                else np.empty((0, self.index.dim), dtype=np.float32)
            )
            cached = (self.generation, ids, vectors)
            self.exact_cache = cached
        return cached[1], cached[2]


@dataclass(frozen=True)
class IndexStatus:
    """What :func:`ensure_index` found and did."""

    model_name: str
    path: Path
    action: str  # "current", "caught_up", "rebuilt", "created"
    reason: str  # why it was rebuilt (plain sentence), else ""
    generation: int
    database_generation: int
    live_photos: int
    applied_changes: int
    saved: bool


@dataclass(frozen=True)
class IndexReport:
    """The index files on disk compared with the database, without changing anything."""

    model_name: str
    path: Path
    exists: bool
    problem: str  # empty when the files verify
    generation: int | None
    database_generation: int
    live_photos_in_index: int | None
    deleted_in_index: int | None
    live_photos_in_database: int
    photos_needing_descriptors: int = 0  # no current descriptor of this model: not searchable
    layout: str = ""  # how the index is organised, in words (empty when it cannot be opened)
    rebuild_due: bool = False  # grown past the size where the next search reorganises it


_registry: dict[str, LiveIndex] = {}
_sync_locks: dict[str, threading.Lock] = {}
_registry_lock = threading.Lock()


def _sync_lock(key: str) -> threading.Lock:
    """One lock per index folder: a rebuild or catch-up is never run twice at once."""
    with _registry_lock:
        return _sync_locks.setdefault(key, threading.Lock())


def index_path(ws: Workstation, model_name: str) -> Path:
    return ws.settings.index_dir / model_name


def _key(ws: Workstation, model_name: str) -> str:
    return str(index_path(ws, model_name).resolve())


def forget_open_indexes() -> None:
    """Drop every index held open by this process (tests; a data folder switched)."""
    with _registry_lock:
        _registry.clear()


# ------------------------------------------------------------------------------- database reads
def _live_embeddings_query(model: ModelManifest) -> Select[int, bytes]:
    return (
        select(PhotoEmbedding.photo_id, PhotoEmbedding.vector)
        .join(GalleryPhoto, GalleryPhoto.id == PhotoEmbedding.photo_id)
        .join(GallerySubject, GallerySubject.id == GalleryPhoto.subject_id)
        .where(
            PhotoEmbedding.model_name == model.name,
            PhotoEmbedding.model_sha256 == descriptor_key(model),
            live_condition(),
        )
    )


def live_ids_in_database(session: Session, model: ModelManifest) -> npt.NDArray[np.int64]:
    """The searchable photos that have an embedding from this model file, ascending."""
    rows = session.execute(
        select(PhotoEmbedding.photo_id)
        .join(GalleryPhoto, GalleryPhoto.id == PhotoEmbedding.photo_id)
        .join(GallerySubject, GallerySubject.id == GalleryPhoto.subject_id)
        .where(
            PhotoEmbedding.model_name == model.name,
            PhotoEmbedding.model_sha256 == descriptor_key(model),
            live_condition(),
        )
    ).scalars()
    return np.sort(np.fromiter((int(r) for r in rows), dtype=np.int64))


def _all_live_vectors(
    session: Session, model: ModelManifest
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    ids: list[int] = []
    blobs: list[bytes] = []
    stream = session.execute(_live_embeddings_query(model).execution_options(yield_per=10_000))
    for photo_id, blob in stream:
        ids.append(int(photo_id))
        blobs.append(bytes(blob))
    dim = model.output_dim
    vectors = np.empty((len(ids), dim), dtype=np.float32)
    for row, blob in enumerate(blobs):
        vectors[row] = vector_from_bytes(blob, dim)
    return np.asarray(ids, dtype=np.int64), vectors


# --------------------------------------------------------------------------------- operations
def _rebuild(
    ws: Workstation,
    session: Session,
    model: ModelManifest,
    *,
    progress: Progress | None,
    cancelled: Cancelled | None,
) -> LiveIndex:
    generation = gallery_generation(session)
    ids, vectors = _all_live_vectors(session, model)
    path = index_path(ws, model.name)
    threads = max(1, ws.settings.onnx_threads)
    if len(ids) == 0:
        index = FaceIndex.create(
            path,
            dim=model.output_dim,
            metric=model.metric,
            threads=threads,
            model_sha256=descriptor_key(model),
        )
        index.save(generation)
    else:
        index = FaceIndex.rebuild(
            path,
            ids,
            vectors,
            metric=model.metric,
            generation=generation,
            progress=progress,
            cancelled=cancelled,
            threads=threads,
            model_sha256=descriptor_key(model),
        )
    return LiveIndex(
        index=index,
        model_name=model.name,
        model_sha256=descriptor_key(model),
        generation=generation,
        saved_generation=generation,
        checked=True,
    )


def _catch_up(session: Session, live: LiveIndex, model: ModelManifest, target: int) -> int:
    """Apply the changes after ``live.generation`` up to ``target``; returns how many photos."""
    changed = sorted(
        {
            int(pid)
            for pid in session.execute(
                select(GalleryChange.photo_id).where(
                    GalleryChange.sequence > live.generation, GalleryChange.sequence <= target
                )
            ).scalars()
        }
    )
    dim = model.output_dim
    for start in range(0, len(changed), _CHUNK):
        chunk = changed[start : start + _CHUNK]
        rows = session.execute(
            _live_embeddings_query(model).where(PhotoEmbedding.photo_id.in_(chunk))
        ).all()
        live_ids = np.asarray([int(r[0]) for r in rows], dtype=np.int64)
        if len(live_ids):
            vectors = np.stack([vector_from_bytes(bytes(r[1]), dim) for r in rows])
            live.index.add(live_ids, vectors)
        keep = set(live_ids.tolist())
        for photo_id in chunk:
            if photo_id not in keep:
                live.index.mark_deleted(photo_id)
    live.generation = target
    return len(changed)


def open_model_index(path: Path, model: ModelManifest, *, threads: int = 1) -> FaceIndex:
    """Open the saved index at ``path``; IndexCorruptError when it is damaged or was built for
    another dimension, metric or model than ``model``."""
    return FaceIndex.open(
        path,
        threads=threads,
        dim=model.output_dim,
        metric=model.metric,
        model_sha256=descriptor_key(model),
    )


def _open(ws: Workstation, model: ModelManifest) -> tuple[LiveIndex | None, str]:
    path = index_path(ws, model.name)
    if not (path / META_FILE).exists():
        return None, ""
    try:
        index = open_model_index(path, model, threads=max(1, ws.settings.onnx_threads))
    except IndexCorruptError as exc:
        log.warning("face index %s cannot be used: %s", path, exc)
        return None, str(exc)
    live = LiveIndex(
        index=index,
        model_name=model.name,
        model_sha256=descriptor_key(model),
        generation=index.generation,
        saved_generation=index.generation,
    )
    return live, ""


def _sync(
    ws: Workstation,
    model: ModelManifest,
    key: str,
    *,
    progress: Progress | None,
    cancelled: Cancelled | None,
    force_rebuild: bool,
    reorganise: bool,
) -> tuple[LiveIndex, str, str, int, int]:
    with _registry_lock:
        live = _registry.get(key)
    if live is not None and live.model_sha256 != descriptor_key(model):
        live = None
    action, reason, applied = "current", "", 0
    # One read snapshot (SQLite): the generation and the rows read describe the same moment.
    with ws.database.session(read_only=True) as session:
        target = gallery_generation(session)
        if force_rebuild:
            live, action, reason = None, "rebuilt", "A rebuild was asked for."
        elif live is None:
            live, problem = _open(ws, model)
            if live is None:
                action, reason = ("rebuilt", problem) if problem else ("created", "")
        if live is not None and live.generation > target:
            reason = (
                f"The index reflects gallery generation {live.generation}, but the database is "
                f"at {target} (a restored or a different database)."
            )
            live, action = None, "rebuilt"
        if live is not None and live.generation < target:
            applied = _catch_up(session, live, model, target)
            action = "caught_up"
        if live is not None and not live.checked:
            if np.array_equal(live.index.ids(), live_ids_in_database(session, model)):
                live.checked = True
            else:
                reason = "The index does not hold the same photos as the gallery in the database."
                live, action = None, "rebuilt"
        if live is not None and reorganise and live.index.wants_rebuild:
            reason = (
                f"The gallery has grown to {len(live.index):,} photos: the index is rebuilt "
                "on the descriptors' principal axes, about twice as fast to search."
            )
            live, action = None, "rebuilt"
        if live is None:
            if reason:
                log.warning("rebuilding the face index of %s: %s", model.name, reason)
            live = _rebuild(ws, session, model, progress=progress, cancelled=cancelled)
    return live, action, reason, applied, target


def synced_index(
    ws: Workstation,
    *,
    model_name: str | None = None,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
    save: bool = True,
    force_rebuild: bool = False,
    reorganise: bool = False,
) -> tuple[LiveIndex, IndexStatus]:
    """The process's index for the model, brought up to the database's generation.

    ``reorganise``: also rebuild an index that has grown past the size where projected graphs
    pay (:attr:`FaceIndex.wants_rebuild`); only callers that show progress ask for it.
    """
    name = model_name or ws.settings.model_name
    model = model_manifest(ws.settings, name)
    key = _key(ws, name)
    with _sync_lock(key):
        live, action, reason, applied, target = _sync(
            ws,
            model,
            key,
            progress=progress,
            cancelled=cancelled,
            force_rebuild=force_rebuild,
            reorganise=reorganise,
        )
        saved = live.saved_generation == live.generation and action in ("rebuilt", "created")
        if save and live.saved_generation != live.generation:
            live.index.save(live.generation)
            live.saved_generation = live.generation
            saved = True
        with _registry_lock:
            _registry[key] = live
    status = IndexStatus(
        model_name=name,
        path=index_path(ws, name),
        action=action,
        reason=reason,
        generation=live.generation,
        database_generation=target,
        live_photos=len(live.index),
        applied_changes=applied,
        saved=saved,
    )
    return live, status


def ensure_index(
    ws: Workstation,
    *,
    model: str | None = None,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
    save: bool = True,
    reorganise: bool = True,
) -> IndexStatus:
    """Open, check and catch up (or rebuild) the model's index; call on start and before
    searching. ``model`` defaults to the configured one. ``reorganise`` (see
    :func:`synced_index`) is for callers that show progress."""
    return synced_index(
        ws,
        model_name=model,
        progress=progress,
        cancelled=cancelled,
        save=save,
        reorganise=reorganise,
    )[1]


def rebuild_index(
    ws: Workstation,
    *,
    model: str | None = None,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> IndexStatus:
    """Build the model's index afresh from the database (also compacts sealed entries)."""
    return synced_index(
        ws, model_name=model, progress=progress, cancelled=cancelled, force_rebuild=True
    )[1]


def models_with_index(ws: Workstation) -> list[str]:
    """Models that have an index folder in this data folder or one open in this process."""
    names: set[str] = set()
    folder = ws.settings.index_dir
    if folder.is_dir():
        names.update(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    prefix = str(folder.resolve())
    with _registry_lock:
        names.update(live.model_name for key, live in _registry.items() if key.startswith(prefix))
    return sorted(names)


def refresh_indexes(
    ws: Workstation, *, include: str | None = None, save: bool = True
) -> list[IndexStatus]:
    """After a change to the gallery: every index of this data folder (and ``include``'s)
    catches up, so a seal takes effect in the index before the sealing call returns.

    ``save=False`` keeps the catch-up in memory (a crash only means another catch-up later).
    """
    names = set(models_with_index(ws))
    if include:
        names.add(include)
    statuses = []
    for name in sorted(names):
        try:
            model_manifest(ws.settings, name)
        except FrxError:  # a folder left by a model that is no longer installed
            log.info("skipping the index of %s: the model is not installed", name)
            continue
        statuses.append(ensure_index(ws, model=name, save=save, reorganise=False))
    return statuses


def index_report(ws: Workstation, *, model: str | None = None) -> IndexReport:
    """The index files checked against the database, read-only (``frx gallery index-status``)."""
    name = model or ws.settings.model_name
    manifest = model_manifest(ws.settings, name)
    path = index_path(ws, name)
    with ws.database.session(read_only=True) as session:
        database_generation = gallery_generation(session)
        in_database = len(live_ids_in_database(session, manifest))
        outdated = int(
            session.execute(
                select(func.count(GalleryPhoto.id)).where(
                    ~select(PhotoEmbedding.id)
                    .where(
                        PhotoEmbedding.photo_id == GalleryPhoto.id,
                        PhotoEmbedding.model_name == manifest.name,
                        PhotoEmbedding.model_sha256 == descriptor_key(manifest),
                    )
                    .exists()
                )
            ).scalar_one()
        )
    exists = (path / META_FILE).exists()
    problem, generation, count, deleted = "", None, None, None
    layout, rebuild_due = "", False
    if exists:
        try:
            index = open_model_index(path, manifest)
        except IndexCorruptError as exc:
            problem = str(exc)
        else:
            generation, count, deleted = index.generation, len(index), index.deleted_count
            layout, rebuild_due = index_layout(index), index.wants_rebuild
    else:
        problem = "There is no index yet; it is built at the next search."
    return IndexReport(
        model_name=name,
        path=path,
        exists=exists,
        problem=problem,
        generation=generation,
        database_generation=database_generation,
        live_photos_in_index=count,
        deleted_in_index=deleted,
        live_photos_in_database=in_database,
        photos_needing_descriptors=outdated,
        layout=layout,
        rebuild_due=rebuild_due,
    )


def index_layout(index: FaceIndex) -> str:
    """``index``'s organisation in words, for status displays."""
    graphs = f"{index.parts} graph{'s' if index.parts != 1 else ''}"
    if index.graph_dim < index.dim:
        return (
            f"{graphs} of the descriptors' {index.graph_dim} principal components, re-ranked on "
            f"all {index.dim}"
        )
    return f"{graphs} of the full {index.dim}-number descriptors"


__all__ = [
    "IndexReport",
    "IndexStatus",
    "LiveIndex",
    "ensure_index",
    "forget_open_indexes",
    "index_layout",
    "index_path",
    "index_report",
    "live_ids_in_database",
    "models_with_index",
    "rebuild_index",
    "refresh_indexes",
    "synced_index",
]
