"""Which layout of hnswlib graphs reaches recall@10 0.99 fastest on one gallery? (run by hand)

    .venv/bin/python -m bench.index_layouts [--size 1000000] [--dims 64] [--parts 2]
        [--seed-images ../shared/data/lfw-devtrain/images] [--m 48] [--ef-construction 200]
        [--queries 300] [--huge-pages]

An experiment beside ``bench/index_scale.py`` (which measures the workstation's ``FaceIndex``): the
same synthetic gallery (same distribution, seed and held-out queries), indexed four ways with plain
hnswlib, each searched one query at a time:

``one graph``
    every face, full descriptors: ``FaceIndex``'s layout in index format 1.
``N parts``
    the faces split by id over ``--parts`` graphs, searched at once on as many threads, their top
    10 merged (distances are exact already).
``PCA-d + re-rank``
    one graph over the descriptors' ``--dims`` leading principal components (fitted on 100,000
    gallery faces); the graph's ``ef`` best candidates are re-ranked by exact distance on the full
    descriptors, which are kept beside the graph.
``PCA-d + re-rank, N parts``
    both: ``FaceIndex``'s layout in format 2 (from ``PROJECT_FROM`` faces).

For each layout: build time, bytes (graph, plus the full descriptors where a layout re-ranks), and
for a sweep of ``ef`` (the number of candidates each graph returns, re-ranked where it applies):
recall@10 against exact search and p50/p99 latency; then the smallest ``ef`` that reaches recall@10
0.99 and its speedup over exact numpy search (one matrix product with 2 BLAS threads, timed in the
same run). ``--huge-pages`` asks the kernel (Linux: madvise MADV_HUGEPAGE and MADV_COLLAPSE) to back
large anonymous memory with 2 MiB pages before the timings, for exact search as much as for the
graphs. Last line: ``best <layout> speedup <exact p50 / its p50>``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import hnswlib
import numpy as np
import numpy.typing as npt

from app.engine.index import DEFAULT_M, exact_search_batch
from bench.index_scale import (
    RECALL_TARGET,
    choose_distribution,
    gib,
    matrix_product_scan,
    percentiles,
    synthetic_gallery,
    time_each,
)
from bench.lfw_common import LFW_IMAGES

EF_SWEEP = (64, 96, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768)
PCA_SAMPLE = 100_000
MADV_HUGEPAGE = 14
MADV_COLLAPSE = 25
HUGE_PAGE = 2 << 20

Vector = npt.NDArray[np.float32]


@dataclass
class Layout:
    name: str
    graphs: list[hnswlib.Index]
    part_ids: list[npt.NDArray[np.int64]]
    build_s: float
    projection: tuple[Vector, Vector] | None = None  # (mean, basis [dim, d]) when re-ranking

    def graph_bytes(self) -> int:
        return sum(int(graph.index_file_size()) for graph in self.graphs)


def build(
    name: str,
    vectors: Vector,
    parts: int,
    args: argparse.Namespace,
    projection: tuple[Vector, Vector] | None = None,
) -> Layout:
    ids = np.arange(len(vectors), dtype=np.int64)
    if projection is not None:
        mean, basis = projection
        vectors = ((vectors - mean) @ basis).astype(np.float32)
    start = time.perf_counter()
    graphs, part_ids = [], []
    for part in range(parts):
        mine = ids[part::parts]
        graph = hnswlib.Index(space="l2", dim=vectors.shape[1])
        graph.init_index(max_elements=len(mine), M=args.m, ef_construction=args.ef_construction)
        graph.set_num_threads(args.threads)
        graph.add_items(vectors[mine], mine)
        graph.set_num_threads(1)
        graphs.append(graph)
        part_ids.append(mine)
    layout = Layout(name, graphs, part_ids, time.perf_counter() - start, projection)
    print(
        f"{name}: built in {layout.build_s:.0f} s, graphs {gib(layout.graph_bytes())}",
        flush=True,
    )
    return layout


def principal_axes(gallery: Vector, dims: int) -> tuple[Vector, Vector]:
    sample = gallery[:PCA_SAMPLE].astype(np.float64)
    mean = sample.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov((sample - mean).T))
    order = np.argsort(values)[::-1][:dims]
    kept = values[order].sum() / values.sum()
    print(f"PCA: {dims} of {gallery.shape[1]} components keep {kept:.1%} of the variance")
    return mean.astype(np.float32), vectors[:, order].astype(np.float32)


def searcher(
    layout: Layout, gallery: Vector, pool: ThreadPoolExecutor
) -> Callable[[Vector, int], npt.NDArray[np.int64]]:
    """search(query, ef) -> the 10 nearest ids, as the layout finds them."""

    def one_graph(graph: hnswlib.Index, point: Vector, ef: int, wanted: int) -> object:
        graph.set_ef(ef)
        return graph.knn_query(point, k=wanted)[0][0]

    def search(query: Vector, ef: int) -> npt.NDArray[np.int64]:
        point = query
        wanted = 10
        if layout.projection is not None:
            mean, basis = layout.projection
            point = (query - mean) @ basis
            wanted = ef  # every candidate the graph holds at the end gets re-ranked
        if len(layout.graphs) == 1:
            found = [one_graph(layout.graphs[0], point, ef, wanted)]
        else:
            found = list(pool.map(lambda graph: one_graph(graph, point, ef, wanted), layout.graphs))
        candidates = np.concatenate(found).astype(np.int64)
        if len(found) == 1 and layout.projection is None:
            return candidates  # hnswlib's own order is exact already
        difference = gallery[candidates] - query
        distances = np.einsum("ij,ij->i", difference, difference)
        return candidates[np.argsort(distances)[:10]]

    return search


def advise_huge_pages(minimum: int = 64 << 20) -> None:
    """Ask for 2 MiB pages under every large anonymous mapping of this process (Linux only)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        lines = Path("/proc/self/maps").read_text().splitlines()
    except OSError as exc:
        print(f"huge pages: not available here ({exc})")
        return
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    advised = collapsed = 0
    start = time.perf_counter()
    for line in lines:
        fields = line.split()
        if len(fields) > 5:  # a file or a named region ([heap], [stack]): not ours to change
            continue
        low, high = (int(part, 16) for part in fields[0].split("-"))
        low = -(-low // HUGE_PAGE) * HUGE_PAGE
        high = high // HUGE_PAGE * HUGE_PAGE
        if high - low < minimum:
            continue
        advised += libc.madvise(low, high - low, MADV_HUGEPAGE) == 0
        collapsed += libc.madvise(low, high - low, MADV_COLLAPSE) == 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
            if line.startswith("AnonHugePages"):
                print(
                    f"huge pages: {advised} regions advised, {collapsed} collapsed in "
                    f"{time.perf_counter() - start:.1f} s; "
                    f"{line.split(':')[1].strip()} in huge pages"
                )


def sweep(
    layout: Layout,
    gallery: Vector,
    queries: Vector,
    truth: list[set[int]],
    pool: ThreadPoolExecutor,
) -> tuple[int, float, float]:
    """(smallest ef reaching the recall target, its recall, its p50 seconds); ef 0 if none."""
    search = searcher(layout, gallery, pool)
    for ef in EF_SWEEP:
        found = [set(search(query, ef).tolist()) for query in queries]
        recall = float(np.mean([len(f & t) / 10 for f, t in zip(found, truth, strict=True)]))
        times = time_each(np.concatenate([queries] * 2), lambda q, ef=ef: search(q, ef))
        p50, p99 = percentiles(times)
        print(
            f"  {layout.name}, ef {ef:4d}: recall@10 {recall:.4f}, p50 {p50 * 1e3:.3f} ms, "
            f"p99 {p99 * 1e3:.3f} ms",
            flush=True,
        )
        if recall >= RECALL_TARGET:
            return ef, recall, p50
    return 0, recall, p50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--dims", type=int, default=64)
    parser.add_argument("--parts", type=int, default=2)
    parser.add_argument("--seed-images", default=str(LFW_IMAGES) if LFW_IMAGES.is_dir() else "")
    parser.add_argument("--seed-faces", type=int, default=1200)
    parser.add_argument("--m", type=int, default=DEFAULT_M)
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--huge-pages", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    distribution = choose_distribution(args)
    data = synthetic_gallery(args.size, distribution, args.queries, args.seed)
    gallery, queries = data.photos, data.known
    ids = np.arange(args.size, dtype=np.int64)
    exact = exact_search_batch(gallery, ids, queries, 10, metric="euclidean")
    truth = [{label for label, _ in row} for row in exact]
    print(
        f"\n== {args.size:,} faces, {args.queries} held-out photos of gallery people as queries; "
        f"M {args.m}, ef_construction {args.ef_construction}",
        flush=True,
    )
    axes = principal_axes(gallery, args.dims)
    layouts = [
        build("one graph", gallery, 1, args),
        build(f"{args.parts} parts", gallery, args.parts, args),
        build(f"PCA-{args.dims} + re-rank", gallery, 1, args, axes),
        build(f"PCA-{args.dims} + re-rank, {args.parts} parts", gallery, args.parts, args, axes),
    ]
    print(f"full descriptors kept for re-ranking: {gib(gallery.nbytes)}")
    if args.huge_pages:
        advise_huge_pages()
    norms = np.einsum("ij,ij->i", gallery, gallery)
    exact_p50, exact_p99 = percentiles(
        time_each(queries, lambda q: matrix_product_scan(gallery, norms, q), budget=30.0)
    )
    print(f"exact numpy search: p50 {exact_p50 * 1e3:.2f} ms, p99 {exact_p99 * 1e3:.2f} ms")
    results = []
    with ThreadPoolExecutor(max(2, args.parts)) as pool:
        for layout in layouts:
            results.append((layout, *sweep(layout, gallery, queries, truth, pool)))
    print(
        f"\n== summary: smallest ef with recall@10 >= {RECALL_TARGET} (exact p50 "
        f"{exact_p50 * 1e3:.2f} ms)"
    )
    reached = []
    for layout, ef, recall, p50 in results:
        if ef == 0:
            print(f"{layout.name:>32}: not reached (recall@10 {recall:.4f} at ef {EF_SWEEP[-1]})")
            continue
        reached.append((p50, layout.name))
        print(
            f"{layout.name:>32}: ef {ef:4d}, recall@10 {recall:.4f}, p50 {p50 * 1e3:.3f} ms, "
            f"speedup {exact_p50 / p50:.1f}x, build {layout.build_s:.0f} s, "
            f"graphs {gib(layout.graph_bytes())}"
        )
    if reached:
        p50, name = min(reached)
        print(f"best {name} speedup {exact_p50 / p50:.1f}")


if __name__ == "__main__":
    main()
