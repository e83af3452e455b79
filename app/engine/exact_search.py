"""Brute-force nearest-neighbour search in numpy: the reference the HNSW index is measured by.

Used for recall measurements and, by the caller, instead of the index for small galleries. The
gallery is scanned in chunks so memory stays bounded whatever its size. Candidates are ranked with
a float32 matrix product (fast), then the distances of the few best are recomputed in float64 so
that an identical photo scores exactly 0 and the figures match ``numpy.linalg.norm``.

Distances are in the metric's own units: Euclidean distance for ``"euclidean"``, ``1 - cosine
similarity`` for ``"cosine"`` (the same units :class:`app.engine.index.FaceIndex` returns).
Also here: the input checks shared with the index (``checked_items``) and ``recall_at``.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Metric = Literal["euclidean", "cosine"]
METRICS: tuple[Metric, ...] = ("euclidean", "cosine")

_MAX_ID = np.iinfo(np.int64).max
# Score matrix cells per chunk (queries x gallery rows): 16 Mi float32 cells = 64 MiB.
_CHUNK_CELLS = 1 << 24
# Extra candidates re-scored in float64 so float32 rounding cannot push a true neighbour out.
_RESCORE_SLACK = 16
# hnswlib normalises with 1 / (norm + 1e-30); the same keeps zero vectors at zero here.
_NORM_EPSILON = 1e-30

Neighbours = list[tuple[int, float]]


def check_metric(metric: str) -> Metric:
    """``metric`` as a :data:`Metric`; ValueError for anything else."""
    if metric == "euclidean":
        return "euclidean"
    if metric == "cosine":
        return "cosine"
    raise ValueError(f"Unknown distance metric {metric!r}; expected 'euclidean' or 'cosine'.")


def as_query_matrix(query: npt.ArrayLike, dim: int) -> npt.NDArray[np.float32]:
    """A query of shape [dim] or [Q, dim] as a C-contiguous float32 [Q, dim] matrix."""
    matrix = np.asarray(query, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[np.newaxis, :]
    if matrix.ndim != 2 or matrix.shape[1] != dim:
        raise ValueError(
            f"A query must have shape [{dim}] or [Q, {dim}]; got {tuple(np.shape(query))}."
        )
    if not np.all(np.isfinite(matrix)):
        raise ValueError("A query descriptor contains NaN or infinite values.")
    return np.ascontiguousarray(matrix)


def _normalised(rows: npt.NDArray[Any]) -> npt.NDArray[Any]:
    norms = np.sqrt(np.einsum("ij,ij->i", rows, rows))
    result: npt.NDArray[Any] = rows / (norms[:, np.newaxis] + _NORM_EPSILON)
    return result


def exact_distances(
    vectors: npt.NDArray[Any], query: npt.NDArray[Any], *, metric: Metric
) -> npt.NDArray[np.float64]:
    """Distances (float64) from one query [dim] to each row of ``vectors`` [N, dim]."""
    rows = np.asarray(vectors, dtype=np.float64)
    probe = np.asarray(query, dtype=np.float64)
    if metric == "euclidean":
        result: npt.NDArray[np.float64] = np.linalg.norm(rows - probe, axis=1)
        return result
    similarity = _normalised(rows) @ _normalised(probe[np.newaxis, :])[0]
    return np.asarray(1.0 - similarity, dtype=np.float64)


def exact_search_batch(
    vectors: npt.NDArray[Any],
    ids: npt.NDArray[Any],
    queries: npt.ArrayLike,
    k: int,
    *,
    metric: Metric,
) -> list[Neighbours]:
    """The ``k`` nearest gallery rows of each query [Q, dim] (or [dim]), nearest first.

    Returns one list of ``(id, distance)`` per query; fewer than ``k`` when the gallery is
    smaller. Ties are broken by id so the answer is deterministic.
    """
    metric = check_metric(metric)
    gallery = np.asarray(vectors)
    labels = np.asarray(ids)
    if gallery.ndim != 2:
        raise ValueError(f"Gallery vectors must have shape [N, dim]; got {gallery.shape}.")
    if labels.shape != (gallery.shape[0],):
        raise ValueError(
            f"Expected {gallery.shape[0]} ids for {gallery.shape[0]} vectors; got {labels.shape}."
        )
    probes = as_query_matrix(queries, gallery.shape[1])
    count = gallery.shape[0]
    if count == 0 or k <= 0:
        return [[] for _ in range(len(probes))]
    keep = min(count, k + _RESCORE_SLACK)
    candidates = _candidate_rows(gallery, probes, keep, metric=metric)
    results: list[Neighbours] = []
    for probe, rows in zip(probes, candidates, strict=True):
        distances = exact_distances(gallery[rows], probe, metric=metric)
        order = np.lexsort((labels[rows], distances))[: min(k, count)]
        results.append([(int(labels[rows[i]]), float(distances[i])) for i in order])
    return results


def exact_search(
    vectors: npt.NDArray[Any],
    ids: npt.NDArray[Any],
    query: npt.ArrayLike,
    k: int,
    *,
    metric: Metric,
) -> Neighbours:
    """The ``k`` nearest gallery rows of one query [dim]: ``(id, distance)`` nearest first."""
    probe = np.asarray(query)
    if probe.ndim == 2 and probe.shape[0] == 1:
        probe = probe[0]
    if probe.ndim != 1:
        raise ValueError(f"exact_search takes one query of shape [dim]; got {probe.shape}.")
    return exact_search_batch(vectors, ids, probe, k, metric=metric)[0]


def _candidate_rows(
    gallery: npt.NDArray[Any],
    probes: npt.NDArray[np.float32],
    keep: int,
    *,
    metric: Metric,
) -> npt.NDArray[np.int64]:
    """Row numbers [Q, keep] of the ``keep`` best-scoring gallery rows per query (unordered)."""
    queries = _normalised(probes).astype(np.float32) if metric == "cosine" else probes
    chunk = max(keep, _CHUNK_CELLS // max(1, len(queries)))
    best_scores = np.empty((len(queries), 0), dtype=np.float32)
    best_rows = np.empty((len(queries), 0), dtype=np.int64)
    for start in range(0, gallery.shape[0], chunk):
        block = np.asarray(gallery[start : start + chunk], dtype=np.float32)
        if metric == "euclidean":
            # |x - q|^2 = |x|^2 - 2 x.q + |q|^2; |q|^2 does not change the order for one query.
            scores = np.einsum("ij,ij->i", block, block)[np.newaxis, :] - 2.0 * (queries @ block.T)
        else:
            scores = -(queries @ _normalised(block).astype(np.float32).T)
        rows = np.broadcast_to(np.arange(start, start + len(block), dtype=np.int64), scores.shape)
        best_scores = np.concatenate([best_scores, scores], axis=1)
        best_rows = np.concatenate([best_rows, rows], axis=1)
        if best_scores.shape[1] > keep:
            top = np.argpartition(best_scores, keep - 1, axis=1)[:, :keep]
            best_scores = np.take_along_axis(best_scores, top, axis=1)
            best_rows = np.take_along_axis(best_rows, top, axis=1)
    return best_rows


def checked_items(
    ids: npt.ArrayLike, vectors: npt.ArrayLike, dim: int | None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """ids int64 [N] and C-contiguous float32 vectors [N, dim], duplicates resolved (last wins)."""
    rows = np.asarray(vectors, dtype=np.float32)
    raw_labels = np.asarray(ids)
    if raw_labels.ndim != 1 or raw_labels.dtype.kind not in "iu":
        raise ValueError(f"Ids must be a one-dimensional integer array; got {raw_labels.dtype}.")
    labels = raw_labels.astype(np.int64)
    if rows.ndim != 2 or rows.shape[0] != len(labels) or (dim is not None and rows.shape[1] != dim):
        want = f"[{len(labels)}, {dim if dim is not None else 'dim'}]"
        raise ValueError(f"Vectors must have shape {want}; got {rows.shape}.")
    if rows.shape[1] == 0:
        raise ValueError("Vectors must have at least one dimension.")
    if len(labels) and (labels.min() < 0 or labels.max() >= _MAX_ID):
        raise ValueError("Index ids must be non-negative 63-bit integers.")
    if not np.all(np.isfinite(rows)):
        raise ValueError("A face descriptor contains NaN or infinite values.")
    if len(np.unique(labels)) != len(labels):
        # Keep the last occurrence of each id (the newest vector).
        _, first_from_end = np.unique(labels[::-1], return_index=True)
        keep = np.sort(len(labels) - 1 - first_from_end)
        labels, rows = labels[keep], rows[keep]
    return labels, np.ascontiguousarray(rows)


def recall_at(approximate: list[Neighbours], exact: list[Neighbours], k: int) -> float:
    """Mean share of each query's exact top-``k`` ids that the approximate top-``k`` found."""
    if not exact:
        return math.nan
    shares = []
    for found, truth in zip(approximate, exact, strict=True):
        true_ids = {label for label, _ in truth[:k]}
        if true_ids:
            shares.append(len(true_ids & {label for label, _ in found[:k]}) / len(true_ids))
    return float(np.mean(shares)) if shares else math.nan
