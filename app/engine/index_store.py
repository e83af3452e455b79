"""What a face index keeps beside its graphs: every full descriptor, and the projection the graphs
are built on.

A large gallery is searched on graphs of *projected* descriptors (the leading principal axes:
half the numbers per face, so each distance the graph computes reads half the memory), and the
graphs' candidates are re-ranked on the full descriptors, which :class:`VectorStore` keeps by row.
Rows are the graphs' labels: row ``r`` lives in graph ``r % parts``, so a search turns labels back
into face ids with one array lookup. bench/index_layouts.py measured the layouts this was chosen
from.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]

# Principal axes are fitted on at most this many faces (a random sample beyond it).
PROJECTION_SAMPLE = 100_000


class Projection:
    """``(x - mean) @ basis``: the ``basis.shape[1]`` leading principal axes of a gallery."""

    def __init__(self, mean: Vectors, basis: Vectors) -> None:
        self.mean = np.ascontiguousarray(mean, dtype=np.float32)
        self.basis = np.ascontiguousarray(basis, dtype=np.float32)

    @classmethod
    def fit(cls, vectors: Vectors, dims: int, *, seed: int = 0) -> Projection:
        """The ``dims`` axes of most variance of ``vectors`` (sampled when there are many)."""
        rows = vectors
        if len(rows) > PROJECTION_SAMPLE:
            chosen = np.random.default_rng(seed).choice(len(rows), PROJECTION_SAMPLE, replace=False)
            rows = rows[np.sort(chosen)]
        sample = rows.astype(np.float64)
        mean = sample.mean(axis=0)
        values, axes = np.linalg.eigh(np.cov((sample - mean).T))
        order = np.argsort(values)[::-1][:dims]
        return cls(mean.astype(np.float32), axes[:, order].astype(np.float32))

    @property
    def dim(self) -> int:
        return int(self.basis.shape[0])

    @property
    def graph_dim(self) -> int:
        return int(self.basis.shape[1])

    def apply(self, vectors: Vectors) -> Vectors:
        return np.ascontiguousarray((vectors - self.mean) @ self.basis, dtype=np.float32)

    def to_bytes(self) -> bytes:
        return self.mean.astype("<f4").tobytes() + self.basis.astype("<f4").tobytes()

    @staticmethod
    def byte_size(dim: int, graph_dim: int) -> int:
        return 4 * (dim + dim * graph_dim)

    @classmethod
    def from_bytes(cls, raw: bytes, dim: int, graph_dim: int) -> Projection:
        numbers = np.frombuffer(raw, dtype="<f4")
        if len(numbers) != dim + dim * graph_dim or not np.isfinite(numbers).all():
            raise ValueError("the projection does not fit the index's dimensions")
        return cls(numbers[:dim].copy(), numbers[dim:].reshape(dim, graph_dim).copy())


class VectorStore:
    """Face ids and full descriptors by row; rows are never reused or moved (until a rebuild)."""

    def __init__(self, dim: int, capacity: int) -> None:
        self.dim = dim
        self._ids = np.zeros(max(1, capacity), dtype=np.int64)
        self._vectors = np.zeros((max(1, capacity), dim), dtype=np.float32)
        self._count = 0
        self._row_of: dict[int, int] = {}

    def __len__(self) -> int:
        return self._count

    @property
    def capacity(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> npt.NDArray[np.int64]:
        """The id of each stored row (a view: do not modify)."""
        return self._ids[: self._count]

    @property
    def vectors(self) -> Vectors:
        """The descriptor of each stored row (a view: do not modify)."""
        return self._vectors[: self._count]

    def row_of(self, item: int) -> int | None:
        return self._row_of.get(item)

    def put(self, ids: npt.NDArray[np.int64], vectors: Vectors) -> npt.NDArray[np.int64]:
        """Store each id's vector (replacing a stored id's); returns the rows used.

        Ids repeated within one call share a row and the last vector wins.
        """
        rows = np.empty(len(ids), dtype=np.int64)
        for position, item in enumerate(ids.tolist()):
            row = self._row_of.get(item)
            if row is None:
                row = self._count
                if row == self.capacity:
                    self._grow(2 * self.capacity)
                self._ids[row] = item
                self._row_of[item] = row
                self._count += 1
            rows[position] = row
        self._vectors[rows] = vectors
        return rows

    def _grow(self, capacity: int) -> None:
        ids = np.zeros(capacity, dtype=np.int64)
        vectors = np.zeros((capacity, self.dim), dtype=np.float32)
        ids[: self._count] = self.ids
        vectors[: self._count] = self.vectors
        self._ids, self._vectors = ids, vectors

    def to_bytes(self) -> bytes:
        return self.ids.astype("<i8").tobytes() + self.vectors.astype("<f4").tobytes()

    @staticmethod
    def byte_size(count: int, dim: int) -> int:
        return count * (8 + 4 * dim)

    @classmethod
    def from_bytes(cls, raw: bytes, count: int, dim: int, capacity: int) -> VectorStore:
        """The store saved by :meth:`to_bytes`; ValueError when it is not a valid one."""
        if len(raw) != cls.byte_size(count, dim):
            raise ValueError("the stored descriptors have the wrong size")
        ids = np.frombuffer(raw, dtype="<i8", count=count)
        vectors = np.frombuffer(raw, dtype="<f4", offset=8 * count).reshape(count, dim)
        if count and (ids.min() < 0 or len(np.unique(ids)) != count):
            raise ValueError("the stored face ids are invalid or repeated")
        if not np.isfinite(vectors).all():
            raise ValueError("the stored descriptors hold invalid numbers")
        store = cls(dim, max(capacity, count))
        store._ids[:count] = ids
        store._vectors[:count] = vectors
        store._count = count
        store._row_of = dict(zip(ids.tolist(), range(count), strict=True))
        return store
