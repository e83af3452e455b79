"""The persistent face search index: hnswlib's HNSW graph, one per embedding model.

A :class:`FaceIndex` lives in a folder of its own (for example ``<data>/index/<model>/``) holding
``faces.hnsw`` and ``faces.meta.json`` (see :mod:`app.engine.index_files`). It is derived data:
the database's embeddings are the truth, :meth:`FaceIndex.rebuild` recreates it from them, and a
missing or damaged file raises :class:`app.errors.IndexCorruptError` instead of being used.

Semantics the callers rely on:

- Ids are non-negative integers (gallery photo ids). ``add`` of an id that is already present
  replaces its vector in place (hnswlib's update); if that id was marked deleted it becomes live
  again with the new vector, so replaying a change log (seal = mark_deleted, unseal or
  re-enrol = add) ends in the state of its last entry.
- ``mark_deleted`` takes effect for the very next search (sealing); the vector stays stored so
  ``unmark_deleted`` can restore it. Deleted items count towards the stored size until a rebuild.
- Capacity grows by doubling (``resize_index``); the graph is never rebuilt to grow.
- Distances are in the metric's own units: Euclidean distance (hnswlib's "l2" gives the squared
  distance; its square root is returned) or ``1 - cosine similarity``.
- One lock serialises every operation, so a search never sees a half-resized graph.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hnswlib
import numpy as np
import numpy.typing as npt

from app.engine.atomic_files import sha256_of, write_atomically
from app.engine.exact_search import (
    METRICS,
    Metric,
    Neighbours,
    as_query_matrix,
    check_metric,
    checked_items,
    exact_search,
    exact_search_batch,
    recall_at,
)
from app.engine.index_files import (
    FORMAT_VERSION,
    INDEX_FILE,
    META_FILE,
    IndexMeta,
    fsync_folder,
    utc_now,
    verify_index_files,
)
from app.errors import ImportCancelled, IndexCorruptError, StorageError

__all__ = [
    "DEFAULT_EF",
    "DEFAULT_EF_CONSTRUCTION",
    "DEFAULT_M",
    "EF_GROWTH",
    "INDEX_FILE",
    "META_FILE",
    "METRICS",
    "FaceIndex",
    "Metric",
    "Neighbours",
    "exact_search",
    "exact_search_batch",
    "recall_at",
]

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
Cancelled = Callable[[], bool]

# M 48 rather than hnswlib's usual 16: dlib-like descriptors crowd together, and a denser graph
# needs less search breadth for the same recall. bench/index_scale.py at 1M faces, 2 cores:
# M 32 needed ef 1536 for recall@10 0.99 (p50 5.6 ms, 788 B/face, build 689 s); M 48 needs ef 1024
# (p50 5.0 ms, 916 B/face, build 562 s). Indexes keep the M they were built with.
DEFAULT_M = 48
DEFAULT_EF_CONSTRUCTION = 200
# Search breadth when the caller gives none grows with the gallery: DEFAULT_EF at 10,000 live
# faces or fewer, times (faces / 10,000) ** EF_GROWTH, times (k / 10) ** 0.25 for k > 10, at least
# 2 k, at most MAX_DEFAULT_EF. Fitted to bench/index_scale.py with M 32 (recall@10 0.99 needed
# ef 64 at 10k, 256 at 100k, about 1,100 at 1M dlib-like faces); with M 48 it is above what is
# needed everywhere (recall@10 0.99 at ef 48 / 192 / 1024, recall@50 at 96 / 256 / 1024).
DEFAULT_EF = 64
EF_GROWTH = 0.62
MAX_DEFAULT_EF = 2048
DEFAULT_CAPACITY = 1024
REBUILD_BATCH = 10_000
_SPACES: dict[Metric, str] = {"euclidean": "l2", "cosine": "cosine"}


class FaceIndex:
    """An HNSW index of face descriptors with persistent files, generation and deletions.

    Construct with :meth:`create`, :meth:`open` or :meth:`rebuild`, not directly.
    """

    def __init__(
        self,
        path: Path,
        index: Any,
        *,
        metric: Metric,
        m: int,
        ef_construction: int,
        threads: int,
        generation: int,
        deleted: set[int],
        created: str,
        model_sha256: str,
    ) -> None:
        self._path = Path(path)
        self._index = index
        self._metric: Metric = metric
        self._m = m
        self._ef_construction = ef_construction
        self._generation = generation
        self._deleted = deleted
        self._created = created
        self._model_sha256 = model_sha256
        self._lock = threading.RLock()
        self._threads = 1
        self.set_num_threads(threads)

    # ----------------------------------------------------------------------------- construction

    @classmethod
    def create(
        cls,
        path: Path,
        *,
        dim: int,
        metric: Metric,
        capacity: int = DEFAULT_CAPACITY,
        m: int = DEFAULT_M,
        ef_construction: int = DEFAULT_EF_CONSTRUCTION,
        threads: int = 2,
        model_sha256: str = "",
    ) -> FaceIndex:
        """A new, empty index for ``path`` (a folder); nothing is written until :meth:`save`.

        ``model_sha256`` (optional) is stored with the index so :meth:`open` can refuse an index
        built from another model's descriptors.
        """
        metric = check_metric(metric)
        if dim < 1 or capacity < 1 or m < 2 or ef_construction < 1:
            raise ValueError(
                f"Invalid index parameters: dim={dim}, capacity={capacity}, m={m}, "
                f"ef_construction={ef_construction}."
            )
        index = hnswlib.Index(space=_SPACES[metric], dim=dim)
        index.init_index(max_elements=capacity, M=m, ef_construction=ef_construction)
        return cls(
            path,
            index,
            metric=metric,
            m=m,
            ef_construction=ef_construction,
            threads=threads,
            generation=0,
            deleted=set(),
            created=utc_now(),
            model_sha256=model_sha256,
        )

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        threads: int = 2,
        dim: int | None = None,
        metric: Metric | None = None,
        model_sha256: str | None = None,
    ) -> FaceIndex:
        """Load the index saved in folder ``path`` after verifying both of its files.

        Raises IndexCorruptError when a file is missing, truncated or damaged, or when ``dim``,
        ``metric`` or ``model_sha256`` (each checked only when given) differ from the index's.
        """
        folder = Path(path)
        verified = verify_index_files(folder)
        meta = verified.meta
        expected = {"dim": dim, "metric": metric, "model_sha256": model_sha256}
        for field, wanted in expected.items():
            actual = getattr(meta, field)
            if wanted is not None and wanted != actual:
                raise IndexCorruptError(
                    f"The face search index in {folder} was built for {field} {actual!r}, but "
                    f"{wanted!r} is in use. It has to be rebuilt from the gallery."
                )
        index = hnswlib.Index(space=_SPACES[meta.metric], dim=meta.dim)
        try:
            index.load_index(str(folder / INDEX_FILE), max_elements=verified.header.max_elements)
        except (RuntimeError, MemoryError, ValueError) as exc:
            raise IndexCorruptError(
                f"The face search index in {folder} cannot be loaded ({exc}). "
                "It has to be rebuilt from the gallery."
            ) from exc
        if index.element_count != meta.count + meta.deleted:
            raise IndexCorruptError(
                f"The face search index in {folder} loaded incompletely. "
                "It has to be rebuilt from the gallery."
            )
        log.info(
            "Opened face index %s: %d faces (%d deleted), generation %d",
            folder,
            meta.count,
            meta.deleted,
            meta.generation,
        )
        return cls(
            folder,
            index,
            metric=meta.metric,
            m=meta.m,
            ef_construction=meta.ef_construction,
            threads=threads,
            generation=meta.generation,
            deleted=set(verified.deleted_ids),
            created=meta.created,
            model_sha256=meta.model_sha256,
        )

    @classmethod
    def rebuild(
        cls,
        path: Path,
        ids: npt.ArrayLike,
        vectors: npt.ArrayLike,
        *,
        metric: Metric,
        generation: int,
        progress: Progress | None = None,
        cancelled: Cancelled | None = None,
        m: int = DEFAULT_M,
        ef_construction: int = DEFAULT_EF_CONSTRUCTION,
        threads: int = 2,
        model_sha256: str = "",
        batch_size: int = REBUILD_BATCH,
    ) -> FaceIndex:
        """Build a new index of ``ids``/``vectors`` in memory, then save it over ``path``.

        ``progress(done, total, message)`` is called after each batch; when ``cancelled()``
        turns true, ImportCancelled is raised and the files in ``path`` are left untouched.
        """
        labels, rows = checked_items(ids, vectors, None)
        total = len(labels)
        index = cls.create(
            path,
            dim=rows.shape[1],
            metric=metric,
            capacity=max(DEFAULT_CAPACITY, total + total // 8),
            m=m,
            ef_construction=ef_construction,
            threads=threads,
            model_sha256=model_sha256,
        )
        if progress is not None:
            progress(0, total, "Building the face search index")
        for start in range(0, total, max(1, batch_size)):
            if cancelled is not None and cancelled():
                raise ImportCancelled(
                    "Rebuilding the face search index was cancelled; the previous index is "
                    "unchanged."
                )
            stop = min(total, start + batch_size)
            index.add(labels[start:stop], rows[start:stop])
            if progress is not None:
                progress(stop, total, "Building the face search index")
        if cancelled is not None and cancelled():
            raise ImportCancelled(
                "Rebuilding the face search index was cancelled; the previous index is unchanged."
            )
        if progress is not None:
            progress(total, total, "Saving the face search index")
        index.save(generation)
        return index

    @staticmethod
    def exists(path: Path) -> bool:
        """True when both files of a saved index are in folder ``path`` (not yet verified)."""
        folder = Path(path)
        return (folder / INDEX_FILE).is_file() and (folder / META_FILE).is_file()

    # ------------------------------------------------------------------------------- properties

    @property
    def path(self) -> Path:
        return self._path

    @property
    def dim(self) -> int:
        return int(self._index.dim)

    @property
    def metric(self) -> Metric:
        return self._metric

    @property
    def m(self) -> int:
        return self._m

    @property
    def ef_construction(self) -> int:
        return self._ef_construction

    @property
    def generation(self) -> int:
        """The gallery generation this index reflects, as given to the last save (0 if never)."""
        return self._generation

    @property
    def model_sha256(self) -> str:
        return self._model_sha256

    @property
    def capacity(self) -> int:
        with self._lock:
            return int(self._index.get_max_elements())

    @property
    def stored_count(self) -> int:
        """Items stored, live and deleted."""
        with self._lock:
            return int(self._index.element_count)

    @property
    def deleted_count(self) -> int:
        with self._lock:
            return len(self._deleted)

    @property
    def threads(self) -> int:
        return self._threads

    def size_bytes(self) -> int:
        """Size of the hnswlib data as saved (vectors, graph links and labels)."""
        with self._lock:
            return int(self._index.index_file_size())

    def info(self) -> dict[str, object]:
        """A JSON-safe summary for status displays and search records."""
        with self._lock:
            return {
                "path": str(self._path),
                "dim": self.dim,
                "metric": self._metric,
                "m": self._m,
                "ef_construction": self._ef_construction,
                "count": len(self),
                "deleted": len(self._deleted),
                "capacity": self.capacity,
                "generation": self._generation,
                "size_bytes": self.size_bytes(),
                "model_sha256": self._model_sha256,
            }

    def set_num_threads(self, threads: int) -> None:
        """Threads hnswlib uses for adding and for multi-query searches (at least 1)."""
        self._threads = max(1, int(threads))
        with self._lock:
            self._index.set_num_threads(self._threads)

    def default_ef(self, k: int) -> int:
        """The search breadth used when :meth:`search` is given none (see DEFAULT_EF)."""
        size = max(1.0, len(self) / 10_000)
        breadth = DEFAULT_EF * size**EF_GROWTH * max(1.0, k / 10) ** 0.25
        return int(min(MAX_DEFAULT_EF, max(2 * k, math.ceil(breadth))))

    # -------------------------------------------------------------------------------- contents

    def __len__(self) -> int:
        """Live (searchable) items."""
        with self._lock:
            return int(self._index.element_count) - len(self._deleted)

    def __contains__(self, item: object) -> bool:
        """True when ``item`` is a live (searchable) id."""
        if not isinstance(item, int | np.integer) or item < 0:
            return False
        with self._lock:
            return int(item) not in self._deleted and self._stored(int(item))

    def _stored(self, label: int) -> bool:
        try:
            self._index.get_items([label])
        except RuntimeError:  # "Label not found": absent (or deleted)
            return False
        return True

    def ids(self) -> npt.NDArray[np.int64]:
        """The live ids, ascending."""
        with self._lock:
            stored = np.asarray(self._index.get_ids_list(), dtype=np.int64)
            if self._deleted:
                gone = np.fromiter(self._deleted, dtype=np.int64, count=len(self._deleted))
                stored = stored[~np.isin(stored, gone)]
        return np.sort(stored)

    def is_deleted(self, item: int) -> bool:
        """True when ``item`` is stored but marked deleted."""
        with self._lock:
            return int(item) in self._deleted

    def vectors(self, ids: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """The stored vectors of live ``ids`` (normalised ones for the cosine metric)."""
        labels = np.asarray(ids, dtype=np.int64).reshape(-1)
        with self._lock:
            missing = [int(i) for i in labels if int(i) in self._deleted]
            if missing:
                raise KeyError(f"Ids {missing[:5]} are deleted.")
            try:
                found = self._index.get_items(labels.tolist(), return_type="numpy")
            except RuntimeError as exc:
                raise KeyError("Some ids are not in the index.") from exc
        return np.asarray(found, dtype=np.float32).reshape(len(labels), self.dim)

    # ------------------------------------------------------------------------------- mutations

    def add(self, ids: npt.ArrayLike, vectors: npt.ArrayLike) -> None:
        """Add (or replace) items: ``ids`` int [N] (>= 0), ``vectors`` float32 [N, dim].

        Repeated ids within one call: the last vector wins. A deleted id becomes live again.
        """
        labels, rows = checked_items(ids, vectors, self.dim)
        if len(labels) == 0:
            return
        with self._lock:
            self._grow_for(labels)
            self._index.add_items(rows, labels.astype(np.uint64), num_threads=self._threads)
            if self._deleted:
                self._deleted.difference_update(int(i) for i in labels)

    def _grow_for(self, labels: npt.NDArray[np.int64]) -> None:
        """Double the capacity until the new ids fit (existing ids need no room)."""
        stored = int(self._index.element_count)
        capacity = int(self._index.get_max_elements())
        if stored + len(labels) <= capacity:
            return
        present = np.asarray(self._index.get_ids_list(), dtype=np.int64)
        needed = stored + int(np.count_nonzero(~np.isin(labels, present)))
        if needed <= capacity:
            return
        new_capacity = capacity
        while new_capacity < needed:
            new_capacity *= 2
        log.info("Growing face index %s from %d to %d items", self._path, capacity, new_capacity)
        self._index.resize_index(new_capacity)

    def mark_deleted(self, item: int) -> bool:
        """Hide ``item`` from every later search. True if it was live; False if absent/deleted."""
        label = int(item)
        if label < 0:
            return False
        with self._lock:
            if label in self._deleted:
                return False
            try:
                self._index.mark_deleted(label)
            except RuntimeError:  # not stored
                return False
            self._deleted.add(label)
            return True

    def unmark_deleted(self, item: int) -> bool:
        """Make a deleted ``item`` searchable again. True if restored; False if it was not
        deleted (live already, or never stored: then the caller has to :meth:`add` it)."""
        label = int(item)
        with self._lock:
            if label not in self._deleted:
                return False
            self._index.unmark_deleted(label)
            self._deleted.discard(label)
            return True

    # ---------------------------------------------------------------------------------- search

    def search(self, query: npt.ArrayLike, k: int, *, ef: int | None = None) -> list[Neighbours]:
        """The ``k`` nearest live items of each query ([dim] or [Q, dim]), nearest first.

        Returns one list of ``(id, distance)`` per query, shorter than ``k`` when fewer items
        are live. ``ef`` is the search breadth (default :meth:`default_ef`); larger is slower and
        more exact, and it is raised to at least ``k``.
        """
        queries = as_query_matrix(query, self.dim)
        with self._lock:
            live = len(self)
            wanted = min(int(k), live)
            if wanted <= 0:
                return [[] for _ in range(len(queries))]
            breadth = max(wanted, int(ef) if ef is not None else self.default_ef(wanted))
            labels, distances = self._knn(queries, wanted, breadth, live)
        if self._metric == "euclidean":
            distances = np.sqrt(np.maximum(distances, 0.0))
        else:
            distances = np.clip(distances, 0.0, 2.0)
        return [
            [(int(label), float(distance)) for label, distance in zip(row, dist, strict=True)]
            for row, dist in zip(labels, distances, strict=True)
        ]

    def _knn(
        self, queries: npt.NDArray[np.float32], k: int, ef: int, live: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """hnswlib's answer; with many deletions it may find fewer than k, then search wider."""
        while True:
            self._index.set_ef(ef)
            try:
                labels, distances = self._index.knn_query(queries, k=k, num_threads=self._threads)
                return labels.astype(np.int64), distances
            except RuntimeError:
                if ef >= live:
                    break
                ef = min(live, ef * 4)
        # The graph cannot reach k live items (nearly everything deleted): scan the live ones.
        log.warning("Face index %s: graph search fell short, scanning %d items", self._path, live)
        live_ids = self.ids()
        stored = self.vectors(live_ids)
        rows = exact_search_batch(stored, live_ids, queries, k, metric=self._metric)
        labels = np.array([[label for label, _ in row] for row in rows], dtype=np.int64)
        exact = np.array([[dist for _, dist in row] for row in rows], dtype=np.float32)
        # Back to hnswlib's units so the caller converts every answer the same way.
        return labels, exact**2 if self._metric == "euclidean" else exact

    # ----------------------------------------------------------------------------- persistence

    def save(self, generation: int) -> None:
        """Write both files atomically (temporary files, then renames; the meta file last).

        A reader sees the old index or the new one; a crash between the two renames leaves a
        meta file whose checksum no longer matches, which :meth:`open` reports as corrupt.
        """
        if generation < 0:
            raise ValueError("An index generation cannot be negative.")
        folder = self._path
        index_path = folder / INDEX_FILE
        temporary = folder / f".{INDEX_FILE}.{os.getpid()}.{threading.get_ident()}.part"
        with self._lock:
            try:
                folder.mkdir(parents=True, exist_ok=True)
                self._index.save_index(str(temporary))
                expected = int(self._index.index_file_size())
                with temporary.open("rb+") as handle:
                    os.fsync(handle.fileno())
                size = temporary.stat().st_size
                if size != expected:  # hnswlib does not check its writes (disk full)
                    raise OSError(28, f"only {size} of {expected} bytes were written")
                meta = IndexMeta(
                    format_version=FORMAT_VERSION,
                    dim=self.dim,
                    metric=self._metric,
                    m=self._m,
                    ef_construction=self._ef_construction,
                    count=len(self),
                    deleted=len(self._deleted),
                    generation=int(generation),
                    index_size=size,
                    index_sha256=sha256_of(temporary),
                    created=self._created,
                    updated=utc_now(),
                    model_sha256=self._model_sha256,
                )
                os.replace(temporary, index_path)
                write_atomically(folder / META_FILE, meta.to_json_bytes())
                fsync_folder(folder)
            except (OSError, RuntimeError) as exc:
                temporary.unlink(missing_ok=True)
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                raise StorageError(
                    f"The face search index could not be saved in {folder} ({reason})."
                ) from exc
            self._generation = int(generation)
        log.info("Saved face index %s: %d faces, generation %d", folder, len(self), generation)
