"""The persistent face search index: hnswlib HNSW graphs, one index per embedding model.

A :class:`FaceIndex` lives in a folder of its own (for example ``<data>/index/<model>/``; the files
are described in :mod:`app.engine.index_files`). It is derived data: the database's embeddings are
the truth, :meth:`FaceIndex.rebuild` recreates it from them, and a missing or damaged file raises
:class:`app.errors.IndexCorruptError` instead of being used.

Layout (measured by bench/index_layouts.py at 1M faces on 2 cores): the faces are split over
``parts`` graphs (row ``r`` in graph ``r % parts``), which one query searches at the same time on
as many threads; an index rebuilt with at least ``PROJECT_FROM`` faces builds its graphs on the
descriptors' leading principal axes (half the dimensions) and re-ranks each graph's ``ef`` best
candidates by exact distance on the full descriptors, which the index keeps beside the graphs.
Results are always ranked by exact distance on the full descriptors.

Semantics the callers rely on:

- Ids are non-negative integers (gallery photo ids). ``add`` of an id that is already present
  replaces its vector in place (hnswlib's update); if that id was marked deleted it becomes live
  again with the new vector, so replaying a change log (seal = mark_deleted, unseal or
  re-enrol = add) ends in the state of its last entry.
- ``mark_deleted`` takes effect for the very next search (sealing); the vector stays stored so
  ``unmark_deleted`` can restore it. Deleted items count towards the stored size until a rebuild.
- Capacity grows by doubling (``resize_index``); the graphs are never rebuilt to grow.
- Distances are in the metric's own units: Euclidean distance, or ``1 - cosine similarity``
  (cosine descriptors are stored normalised, and the graphs compare them by Euclidean distance,
  which orders them the same way).
- One lock serialises every operation, so a search never sees a half-resized graph.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
    META_FILE,
    PROJECTION_FILE,
    VECTORS_FILE,
    IndexMeta,
    fsync_folder,
    part_file,
    utc_now,
    verify_index_files,
)
from app.engine.index_store import Projection, VectorStore
from app.errors import ImportCancelled, IndexCorruptError, StorageError

__all__ = [
    "DEFAULT_EF",
    "DEFAULT_EF_CONSTRUCTION",
    "DEFAULT_M",
    "DEFAULT_PARTS",
    "EF_GROWTH",
    "META_FILE",
    "METRICS",
    "PROJECT_FROM",
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
Rows = npt.NDArray[np.int64]
Vectors = npt.NDArray[np.float32]
Distances = npt.NDArray[np.float32]
Scored = tuple[Rows, Distances]

# M 48 rather than hnswlib's usual 16: dlib-like descriptors crowd together, and a denser graph
# needs less search breadth for the same recall. bench/index_scale.py at 1M faces, 2 cores, one
# graph of full descriptors: M 32 needed ef 1536 for recall@10 0.99 (built-in statistics);
# M 48 needed ef 1024. bench/index_layouts.py found no gain in M 24 for projected graphs either.
DEFAULT_M = 48
DEFAULT_EF_CONSTRUCTION = 200
# Two graphs searched at once use both cores of the reference machine for one query.
DEFAULT_PARTS = 2
# Rebuilt indexes of at least this many faces get projected graphs (PCA to half the dimensions,
# 64 of dlib's 128: about twice as fast at 1M faces for the same recall, bench/index_layouts.py);
# smaller ones gain little from it.
PROJECT_FROM = 50_000
MIN_PROJECTED_DIM = 16
# Search breadth per graph when the caller gives none grows with the faces in each graph:
# DEFAULT_EF at 10,000 live faces or fewer, times (faces / 10,000) ** EF_GROWTH, times
# (k / 10) ** 0.25 for k > 10, at least 2 k, at most MAX_DEFAULT_EF. Fitted to the harder
# built-in statistics of bench/index_scale.py, so above what fitted galleries need.
DEFAULT_EF = 64
EF_GROWTH = 0.62
MAX_DEFAULT_EF = 2048
DEFAULT_CAPACITY = 1024
REBUILD_BATCH = 10_000
_NORM_EPSILON = 1e-30

_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _part_pool() -> ThreadPoolExecutor:
    """Threads that search the other graphs while the caller's thread searches the first."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="face-index")
        return _pool


def _new_graph(dim: int, capacity: int, m: int, ef_construction: int) -> Any:
    graph = hnswlib.Index(space="l2", dim=dim)
    graph.init_index(max_elements=max(1, capacity), M=m, ef_construction=ef_construction)
    return graph


class FaceIndex:
    """HNSW graphs of face descriptors with persistent files, generation and deletions.

    Construct with :meth:`create`, :meth:`open` or :meth:`rebuild`, not directly.
    """

    def __init__(
        self,
        path: Path,
        graphs: list[Any],
        store: VectorStore,
        projection: Projection | None,
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
        self._parts = graphs
        self._store = store
        self._projection = projection
        self._metric: Metric = metric
        self._m = m
        self._ef_construction = ef_construction
        self._generation = generation
        self._deleted = deleted
        self._deleted_in_part = [0] * len(graphs)
        for item in deleted:
            self._deleted_in_part[self._part_of(item)] += 1
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
        parts: int = DEFAULT_PARTS,
        projection: Projection | None = None,
    ) -> FaceIndex:
        """A new, empty index for ``path`` (a folder); nothing is written until :meth:`save`.

        ``model_sha256`` (optional) is stored with the index so :meth:`open` can refuse an index
        built from another model's descriptors. With a ``projection`` the graphs hold projected
        descriptors (see :meth:`rebuild`, which fits one).
        """
        metric = check_metric(metric)
        if dim < 1 or capacity < 1 or m < 2 or ef_construction < 1 or parts < 1:
            raise ValueError(
                f"Invalid index parameters: dim={dim}, capacity={capacity}, m={m}, "
                f"ef_construction={ef_construction}, parts={parts}."
            )
        if projection is not None and projection.dim != dim:
            raise ValueError("The projection does not fit the descriptors' dimension.")
        graph_dim = projection.graph_dim if projection is not None else dim
        per_part = -(-capacity // parts)
        graphs = [_new_graph(graph_dim, per_part, m, ef_construction) for _ in range(parts)]
        return cls(
            path,
            graphs,
            VectorStore(dim, capacity),
            projection,
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
        """Load the index saved in folder ``path`` after verifying all of its files.

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
        try:
            projection = (
                Projection.from_bytes(
                    (folder / PROJECTION_FILE).read_bytes(), meta.dim, meta.graph_dim
                )
                if meta.projected
                else None
            )
            capacity = sum(header.max_elements for header in verified.headers)
            store = VectorStore.from_bytes(
                (folder / VECTORS_FILE).read_bytes(), meta.stored, meta.dim, capacity
            )
            graphs = []
            for part, header in enumerate(verified.headers):
                graph = hnswlib.Index(space="l2", dim=meta.graph_dim)
                graph.load_index(str(folder / part_file(part)), max_elements=header.max_elements)
                if graph.element_count != header.element_count:
                    raise ValueError("a graph loaded incompletely")
                graphs.append(graph)
        except (OSError, RuntimeError, MemoryError, ValueError) as exc:
            raise IndexCorruptError(
                f"The face search index in {folder} cannot be loaded ({exc}). "
                "It has to be rebuilt from the gallery."
            ) from exc
        log.info(
            "Opened face index %s: %d faces (%d deleted) in %d graphs of %d dimensions, "
            "generation %d",
            folder,
            meta.count,
            meta.deleted,
            meta.parts,
            meta.graph_dim,
            meta.generation,
        )
        return cls(
            folder,
            graphs,
            store,
            projection,
            metric=meta.metric,
            m=meta.m,
            ef_construction=meta.ef_construction,
            threads=threads,
            generation=meta.generation,
            deleted={int(store.ids[row]) for row in verified.deleted_rows},
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
        parts: int = DEFAULT_PARTS,
        project_from: int | None = None,
    ) -> FaceIndex:
        """Build a new index of ``ids``/``vectors`` in memory, then save it over ``path``.

        With at least ``project_from`` (default PROJECT_FROM) faces the graphs are built on the
        descriptors' leading principal axes (half the dimensions, fitted here).
        ``progress(done, total, message)`` is called after each batch; when ``cancelled()``
        turns true, ImportCancelled is raised and the files in ``path`` are left untouched.
        """
        metric = check_metric(metric)
        labels, rows = checked_items(ids, vectors, None)
        total, dim = rows.shape
        projection = None
        threshold = PROJECT_FROM if project_from is None else project_from
        graph_dim = _projected_dim(dim)
        if total >= max(1, threshold) and graph_dim is not None:
            if progress is not None:
                progress(0, total, "Choosing the face search index's principal axes")
            projection = Projection.fit(_prepared(rows, metric), graph_dim)
        index = cls.create(
            path,
            dim=dim,
            metric=metric,
            capacity=max(DEFAULT_CAPACITY, total + total // 8),
            m=m,
            ef_construction=ef_construction,
            threads=threads,
            model_sha256=model_sha256,
            parts=parts,
            projection=projection,
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
        """True when a saved index's description is in folder ``path`` (not yet verified)."""
        return (Path(path) / META_FILE).is_file()

    # ------------------------------------------------------------------------------- properties

    @property
    def path(self) -> Path:
        return self._path

    @property
    def dim(self) -> int:
        return self._store.dim

    @property
    def graph_dim(self) -> int:
        """The dimension the graphs hold: :attr:`dim`, or less when they are projected."""
        return self._projection.graph_dim if self._projection is not None else self.dim

    @property
    def parts(self) -> int:
        return len(self._parts)

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
        """Faces the index holds before it next has to grow."""
        with self._lock:
            return self._store.capacity

    @property
    def stored_count(self) -> int:
        """Items stored, live and deleted."""
        with self._lock:
            return len(self._store)

    @property
    def deleted_count(self) -> int:
        with self._lock:
            return len(self._deleted)

    @property
    def threads(self) -> int:
        return self._threads

    @property
    def wants_rebuild(self) -> bool:
        """True when the gallery has grown past PROJECT_FROM faces on graphs of full descriptors:
        a rebuild would give it projected graphs, about twice as fast to search."""
        with self._lock:
            return (
                self._projection is None
                and len(self) >= PROJECT_FROM
                and _projected_dim(self.dim) is not None
            )

    def size_bytes(self) -> int:
        """Bytes of the index's files as saved (graphs, full descriptors, projection)."""
        with self._lock:
            graphs = sum(int(graph.index_file_size()) for graph in self._parts)
            store = VectorStore.byte_size(len(self._store), self.dim)
            projection = Projection.byte_size(self.dim, self.graph_dim) if self._projection else 0
            return graphs + store + projection

    def info(self) -> dict[str, object]:
        """A JSON-safe summary for status displays and search records."""
        with self._lock:
            return {
                "path": str(self._path),
                "dim": self.dim,
                "graph_dim": self.graph_dim,
                "parts": self.parts,
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
        """Threads for adding, for multi-query searches and for one query's graphs (>= 1)."""
        self._threads = max(1, int(threads))
        with self._lock:
            for graph in self._parts:
                graph.set_num_threads(self._threads)

    def default_ef(self, k: int) -> int:
        """The search breadth per graph used when :meth:`search` is given none."""
        size = max(1.0, len(self) / self.parts / 10_000)
        breadth = DEFAULT_EF * size**EF_GROWTH * max(1.0, k / 10) ** 0.25
        return int(min(MAX_DEFAULT_EF, max(2 * k, math.ceil(breadth))))

    # -------------------------------------------------------------------------------- contents

    def __len__(self) -> int:
        """Live (searchable) items."""
        with self._lock:
            return len(self._store) - len(self._deleted)

    def __contains__(self, item: object) -> bool:
        """True when ``item`` is a live (searchable) id."""
        if not isinstance(item, int | np.integer) or item < 0:
            return False
        with self._lock:
            return int(item) not in self._deleted and self._store.row_of(int(item)) is not None

    def _part_of(self, item: int) -> int:
        row = self._store.row_of(item)
        assert row is not None, "only stored ids have a part"
        return row % len(self._parts)

    def ids(self) -> npt.NDArray[np.int64]:
        """The live ids, ascending."""
        with self._lock:
            stored = self._store.ids.copy()
            if self._deleted:
                gone = np.fromiter(self._deleted, dtype=np.int64, count=len(self._deleted))
                stored = stored[~np.isin(stored, gone)]
        return np.sort(stored)

    def is_deleted(self, item: int) -> bool:
        """True when ``item`` is stored but marked deleted."""
        with self._lock:
            return int(item) in self._deleted

    def vectors(self, ids: npt.ArrayLike) -> Vectors:
        """The stored vectors of live ``ids`` (normalised ones for the cosine metric)."""
        labels = np.asarray(ids, dtype=np.int64).reshape(-1)
        with self._lock:
            missing = [int(i) for i in labels if int(i) in self._deleted]
            if missing:
                raise KeyError(f"Ids {missing[:5]} are deleted.")
            rows = [self._store.row_of(int(i)) for i in labels]
            if any(row is None for row in rows):
                raise KeyError("Some ids are not in the index.")
            return self._store.vectors[np.asarray(rows, dtype=np.int64)].copy()

    # ------------------------------------------------------------------------------- mutations

    def add(self, ids: npt.ArrayLike, vectors: npt.ArrayLike) -> None:
        """Add (or replace) items: ``ids`` int [N] (>= 0), ``vectors`` float32 [N, dim].

        Repeated ids within one call: the last vector wins. A deleted id becomes live again.
        """
        labels, rows = checked_items(ids, vectors, self.dim)
        if len(labels) == 0:
            return
        # The last occurrence of each id, in the order given.
        _, last_from_end = np.unique(labels[::-1], return_index=True)
        keep = np.sort(len(labels) - 1 - last_from_end)
        labels, prepared = labels[keep], _prepared(rows[keep], self._metric)
        with self._lock:
            store_rows = self._store.put(labels, prepared)
            points = self._projection.apply(prepared) if self._projection else prepared
            parts = len(self._parts)
            for part, graph in enumerate(self._parts):
                mine = store_rows % parts == part
                if not mine.any():
                    continue
                self._grow(graph, int(mine.sum()))
                graph.add_items(points[mine], store_rows[mine], num_threads=self._threads)
            if self._deleted:
                for item in labels.tolist():
                    if item in self._deleted:  # hnswlib's update made it live again
                        self._deleted.discard(item)
                        self._deleted_in_part[self._part_of(item)] -= 1

    def _grow(self, graph: Any, adding: int) -> None:
        """Double a graph's capacity until ``adding`` more items fit (updates need no room,
        so this may grow a little early)."""
        capacity = int(graph.get_max_elements())
        needed = int(graph.element_count) + adding
        if needed <= capacity:
            return
        new_capacity = capacity
        while new_capacity < needed:
            new_capacity *= 2
        log.info("Growing a graph of face index %s to %d items", self._path, new_capacity)
        graph.resize_index(new_capacity)

    def mark_deleted(self, item: int) -> bool:
        """Hide ``item`` from every later search. True if it was live; False if absent/deleted."""
        label = int(item)
        with self._lock:
            row = self._store.row_of(label) if label >= 0 else None
            if row is None or label in self._deleted:
                return False
            part = row % len(self._parts)
            self._parts[part].mark_deleted(row)
            self._deleted.add(label)
            self._deleted_in_part[part] += 1
            return True

    def unmark_deleted(self, item: int) -> bool:
        """Make a deleted ``item`` searchable again. True if restored; False if it was not
        deleted (live already, or never stored: then the caller has to :meth:`add` it)."""
        label = int(item)
        with self._lock:
            if label not in self._deleted:
                return False
            row = self._store.row_of(label)
            assert row is not None
            part = row % len(self._parts)
            self._parts[part].unmark_deleted(row)
            self._deleted.discard(label)
            self._deleted_in_part[part] -= 1
            return True

    # ---------------------------------------------------------------------------------- search

    def search(self, query: npt.ArrayLike, k: int, *, ef: int | None = None) -> list[Neighbours]:
        """The ``k`` nearest live items of each query ([dim] or [Q, dim]), nearest first.

        Returns one list of ``(id, distance)`` per query, shorter than ``k`` when fewer items
        are live. ``ef`` is the search breadth in each graph (default :meth:`default_ef`);
        larger is slower and more exact, and it is raised to at least ``k``.
        """
        queries = _prepared(as_query_matrix(query, self.dim), self._metric)
        with self._lock:
            live = len(self)
            wanted = min(int(k), live)
            if wanted <= 0:
                return [[] for _ in range(len(queries))]
            breadth = max(wanted, int(ef) if ef is not None else self.default_ef(wanted))
            found = self._candidates(queries, wanted, breadth)
            if found is None:
                log.warning("Face index %s: graph search fell short, scanning", self._path)
                return self._scan_live(queries, wanted)
            return [self._best(rows, distances, wanted) for rows, distances in found]

    def _candidates(self, queries: Vectors, k: int, ef: int) -> list[Scored] | None:
        """Each query's candidate rows from every graph with their exact distances; None when a
        graph cannot reach enough live items (nearly everything deleted)."""
        points = self._projection.apply(queries) if self._projection else queries
        # Projected distances only shortlist: every candidate a graph holds is re-ranked.
        per_graph = ef if self._projection is not None else k
        asks = []
        for part, graph in enumerate(self._parts):
            live = int(graph.element_count) - self._deleted_in_part[part]
            if live > 0:
                asks.append((graph, min(per_graph, live), live))
        if len(asks) > 1 and len(points) == 1 and self._threads > 1:
            others = [_part_pool().submit(_graph_knn, *ask, points, ef, 1) for ask in asks[1:]]
            mine = _graph_knn(*asks[0], points, ef, 1)
            # Score this graph's candidates while the other threads still search theirs.
            scored = [self._scored(mine[0], queries[0])] if mine is not None else []
            theirs = [other.result() for other in others]
            if mine is None or any(answer is None for answer in theirs):
                return None
            scored += [
                self._scored(answer[0], queries[0]) for answer in theirs if answer is not None
            ]
            return [
                (np.concatenate([r for r, _ in scored]), np.concatenate([d for _, d in scored]))
            ]
        answers = [_graph_knn(*ask, points, ef, self._threads) for ask in asks]
        if any(answer is None for answer in answers):
            return None
        rows = np.concatenate([a for a in answers if a is not None], axis=1)
        return [
            self._scored(candidates, probe) for candidates, probe in zip(rows, queries, strict=True)
        ]

    def _scored(self, rows: Rows, probe: Vectors) -> Scored:
        """``rows`` with their exact distances to ``probe`` on the full descriptors."""
        stored = self._store.vectors[rows]
        if self._metric == "euclidean":
            difference = stored - probe
            return rows, np.sqrt(np.einsum("ij,ij->i", difference, difference))
        return rows, np.clip(1.0 - stored @ probe, 0.0, 2.0)

    def _best(self, rows: Rows, distances: Distances, k: int) -> Neighbours:
        """The ``k`` nearest of scored rows as ``(id, distance)``, ties by row.

        The graphs hold disjoint rows and hnswlib returns each once, so ``rows`` has no repeats.
        """
        if len(rows) > k:
            nearest = np.argpartition(distances, k - 1)[:k]
            best = nearest[np.lexsort((rows[nearest], distances[nearest]))]
        else:
            best = np.lexsort((rows, distances))
        ids = self._store.ids[rows[best]]
        return [(int(i), float(d)) for i, d in zip(ids, distances[best], strict=True)]

    def _scan_live(self, queries: Vectors, k: int) -> list[Neighbours]:
        live_ids = self.ids()
        return exact_search_batch(self.vectors(live_ids), live_ids, queries, k, metric=self._metric)

    # ----------------------------------------------------------------------------- persistence

    def save(self, generation: int) -> None:
        """Write every file atomically (temporary files, then renames; the meta file last).

        A reader sees the old index or the new one; a crash between the renames leaves a meta
        file whose checksums no longer match, which :meth:`open` reports as corrupt.
        """
        if generation < 0:
            raise ValueError("An index generation cannot be negative.")
        folder = self._path
        suffix = f".{os.getpid()}.{threading.get_ident()}.part"
        written: dict[str, Path] = {}
        with self._lock:
            try:
                folder.mkdir(parents=True, exist_ok=True)
                files: dict[str, dict[str, Any]] = {}
                for name, write in self._file_writers().items():
                    temporary = folder / f".{name}{suffix}"
                    written[name] = temporary
                    expected = write(temporary)
                    with temporary.open("rb+") as handle:
                        os.fsync(handle.fileno())
                    size = temporary.stat().st_size
                    if size != expected:  # hnswlib does not check its writes (disk full)
                        raise OSError(28, f"only {size} of {expected} bytes were written")
                    files[name] = {"size": size, "sha256": sha256_of(temporary)}
                meta = IndexMeta(
                    format_version=FORMAT_VERSION,
                    dim=self.dim,
                    graph_dim=self.graph_dim,
                    metric=self._metric,
                    m=self._m,
                    ef_construction=self._ef_construction,
                    parts=self.parts,
                    count=len(self),
                    deleted=len(self._deleted),
                    generation=int(generation),
                    files=files,
                    created=self._created,
                    updated=utc_now(),
                    model_sha256=self._model_sha256,
                )
                for name, temporary in written.items():
                    os.replace(temporary, folder / name)
                write_atomically(folder / META_FILE, meta.to_json_bytes())
                fsync_folder(folder)
            except (OSError, RuntimeError) as exc:
                for temporary in written.values():
                    temporary.unlink(missing_ok=True)
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                raise StorageError(
                    f"The face search index could not be saved in {folder} ({reason})."
                ) from exc
            self._generation = int(generation)
            self._remove_stale_files(set(files))
        log.info("Saved face index %s: %d faces, generation %d", folder, len(self), generation)

    def _file_writers(self) -> dict[str, Callable[[Path], int]]:
        """Each file's name and a function writing it to a path, returning its expected size."""

        def graph_writer(graph: Any) -> Callable[[Path], int]:
            def write(target: Path) -> int:
                graph.save_index(str(target))
                return int(graph.index_file_size())

            return write

        def bytes_writer(data: bytes) -> Callable[[Path], int]:
            def write(target: Path) -> int:
                target.write_bytes(data)
                return len(data)

            return write

        writers = {part_file(p): graph_writer(graph) for p, graph in enumerate(self._parts)}
        writers[VECTORS_FILE] = bytes_writer(self._store.to_bytes())
        if self._projection is not None:
            writers[PROJECTION_FILE] = bytes_writer(self._projection.to_bytes())
        return writers

    def _remove_stale_files(self, current: set[str]) -> None:
        """Files of an earlier layout (another number of graphs, format 1's ``faces.hnsw``)."""
        for path in self._path.glob("faces.*"):
            if path.name not in current and path.name != META_FILE:
                try:
                    path.unlink()
                except OSError as exc:
                    log.warning("Could not remove the old index file %s: %s", path, exc)


def _projected_dim(dim: int) -> int | None:
    """How many principal components projected graphs keep of ``dim`` (half), or None when
    that would be too few to find neighbours by."""
    return dim // 2 if dim // 2 >= MIN_PROJECTED_DIM else None


def _prepared(rows: Vectors, metric: Metric) -> Vectors:
    """Descriptors as the index stores them: unit length for the cosine metric."""
    if metric != "cosine":
        return np.ascontiguousarray(rows, dtype=np.float32)
    norms = np.sqrt(np.einsum("ij,ij->i", rows, rows))[:, np.newaxis]
    return np.ascontiguousarray(rows / (norms + _NORM_EPSILON), dtype=np.float32)


def _graph_knn(
    graph: Any, k: int, live: int, points: Vectors, ef: int, threads: int
) -> Rows | None:
    """One graph's k nearest rows per query; with many deletions hnswlib may find fewer than k,
    then it searches wider; None when even the widest search cannot."""
    ef = max(ef, k)
    while True:
        graph.set_ef(ef)
        try:
            labels, _ = graph.knn_query(points, k=k, num_threads=threads)
            return np.asarray(labels, dtype=np.int64)
        except RuntimeError:
            if ef >= live:
                return None
            ef = min(live, ef * 4)
