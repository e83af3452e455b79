"""Face search index at 10k, 100k and 1M faces: recall, latency and memory (run by hand).

    .venv/bin/python -m bench.index_scale [--sizes 10000,100000,1000000]
        [--seed-images ../shared/data/lfw-devtrain/images] [--seed-faces 1200]
        [--m 48] [--ef-construction 200] [--threads 2] [--queries 300]

Galleries are synthetic descriptors with dlib-like statistics (see bench/face_distribution.py):
fitted to real descriptors of LFW faces (``--seed-images``, by default lfw-devtrain in
../shared/data when it is there), else (``--seed-images ''``, or when the default model cannot be
installed) built-in statistics, which are harder for the index than real faces. Per size it prints:
build time, memory (resident growth while building, the index files), recall@10 and recall@50
against exact search for held-out photos of gallery people (and for people not in the gallery), the
search breadth ef chosen as the smallest that reaches recall@10 >= 0.99, and p50/p99 latency of one
query for the index and for exact numpy search (one matrix product, gallery norms precomputed: the
fastest exact reference), the two taking turns; app.engine's ``exact_search`` is timed too,
and so is the linear scan the ``face_recognition`` library does (``np.linalg.norm(gallery - probe,
axis=1)``), with the speedups as ratios. Then an extrapolation to 10M and 50M faces. The last two
lines are ``recall@10 <value>`` and ``speedup <exact p50 / index p50>`` of the largest size.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import logging
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.engine.index import DEFAULT_M, FaceIndex, exact_search, exact_search_batch, recall_at
from bench.face_distribution import (
    FaceDistribution,
    distance_summary,
    embed_lfw,
    photos_per_person,
    real_distance_summary,
)
from bench.lfw_common import LFW_IMAGES

# Steps of 32 where large galleries land, so the chosen ef is not far above the one needed.
EF_CANDIDATES = (16, 24, 32, 48, *range(64, 512, 32), 512, 640, 768, 1024, 1536, 2048)
RECALL_TARGET = 0.99
# Time budget (seconds) per size for the slow reference scans; at least MIN_SCANS queries each.
SCAN_BUDGET = 30.0
MIN_SCANS = 10


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def release_free_memory() -> None:
    """Give freed heap back to the system so resident-size deltas measure only new data."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB" if abs(n) >= 2**30 else f"{n / 2**20:.0f} MiB"


@dataclass
class SizeResult:
    size: int
    build_s: float
    open_s: float
    rss_delta: int
    index_bytes: int
    ef: int
    ef50: int
    recall10: float
    recall50: float
    recall10_unknown: float
    index_p50: float
    index_p99: float
    exact_p50: float
    exact_p99: float
    linear_p50: float
    linear_p99: float


def percentiles(samples: list[float]) -> tuple[float, float]:
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 99))


def time_each(
    queries: npt.NDArray[np.float32],
    run: Callable[[npt.NDArray[np.float32]], object],
    budget: float | None = None,
) -> list[float]:
    """Latency (seconds) of ``run`` for each query, one at a time."""
    times: list[float] = []
    started = time.perf_counter()
    for query in queries:
        start = time.perf_counter()
        run(query)
        times.append(time.perf_counter() - start)
        if (
            budget is not None
            and len(times) >= MIN_SCANS
            and time.perf_counter() - started > budget
        ):
            break
    return times


def time_in_turns(
    queries: npt.NDArray[np.float32],
    runs: list[tuple[Callable[[npt.NDArray[np.float32]], object], int]],
) -> list[list[float]]:
    """Latency (seconds) of each run, the runs taking turns in blocks (each run's block size given
    with it) until the first run has answered every query; the others go round the queries as
    far as their blocks take them. So a noisy neighbour or a clock change slows every run alike,
    while each run still repeats enough to be measured on its own: another run's threads (BLAS
    threads polling after a product) linger into the first queries of the next block."""
    times: list[list[float]] = [[] for _ in runs]
    done = [0] * len(runs)
    while done[0] < len(queries):
        for number, (run, block) in enumerate(runs):
            for _ in range(block):
                query = queries[done[number] % len(queries)]
                start = time.perf_counter()
                run(query)
                times[number].append(time.perf_counter() - start)
                done[number] += 1
    return times


def smallest_ef(
    index: FaceIndex,
    queries: npt.NDArray[np.float32],
    truth: list[list[tuple[int, float]]],
    k: int,
    fixed: int | None,
    mates: list[set[int]],
) -> tuple[int, float]:
    """The smallest candidate ef (>= k) whose recall@k reaches the target, and that recall.

    Also prints the recall of the true mates: the query person's own gallery photos among the
    exact top k (what an examiner is looking for), separately from recall@k over all k.
    """
    candidates = [fixed] if fixed else [ef for ef in EF_CANDIDATES if ef >= k]
    recall = 0.0
    for ef in candidates:
        found = index.search(queries, k, ef=ef)
        recall = recall_at(found, truth, k)
        print(
            f"  k {k}, ef {ef:4d}: recall@{k} {recall:.4f}, "
            f"mates found {mate_recall(found, truth, mates, k):.4f}",
            flush=True,
        )
        if recall >= RECALL_TARGET:
            return ef, recall
    return candidates[-1], recall


def matrix_product_scan(
    gallery: npt.NDArray[np.float32], norms: npt.NDArray[np.float32], probe: npt.NDArray[np.float32]
) -> object:
    """Exact search as one matrix product: |x|^2 - 2 x.q with the gallery's |x|^2 precomputed."""
    scores = norms - 2.0 * (gallery @ probe)
    nearest = np.argpartition(scores, 10)[:10]
    return nearest[np.argsort(scores[nearest])]


def mate_recall(
    found: list[list[tuple[int, float]]],
    truth: list[list[tuple[int, float]]],
    mates: list[set[int]],
    k: int,
) -> float:
    """Share of the query people's own photos in the exact top k that the index returned."""
    expected = hits = 0
    for got, exact, own in zip(found, truth, mates, strict=True):
        wanted = {label for label, _ in exact[:k]} & own
        expected += len(wanted)
        hits += len(wanted & {label for label, _ in got[:k]})
    return hits / expected if expected else float("nan")


def linear_scan(gallery: npt.NDArray[np.float32], probe: npt.NDArray[np.float32]) -> object:
    """face_recognition.face_distance over the whole gallery, then the 10 nearest."""
    distances = np.linalg.norm(gallery - probe, axis=1)
    return np.argpartition(distances, 10)[:10]


@dataclass
class Gallery:
    """A synthetic gallery and its queries (the same for every benchmark given the same seed)."""

    owners: npt.NDArray[np.int64]  # person number of each gallery photo
    photos: npt.NDArray[np.float32]
    known_people: npt.NDArray[np.int64]  # the person of each held-out query photo
    known: npt.NDArray[np.float32]  # held-out photos of gallery people
    strangers: npt.NDArray[np.float32]  # photos of people not in the gallery


def synthetic_gallery(
    size: int, distribution: FaceDistribution, queries: int, seed: int
) -> Gallery:
    rng = np.random.default_rng(seed + size)
    owners = photos_per_person(size, rng)
    people = distribution.identities(int(owners.max()) + 1 + queries, rng)
    photos = people.photos(owners, rng)
    known_people = rng.choice(owners, queries)
    known = people.photos(known_people, rng)
    strangers = people.photos(np.arange(queries) + int(owners.max()) + 1, rng)
    return Gallery(owners, photos, known_people, known, strangers)


def run_size(
    size: int, distribution: FaceDistribution, args: argparse.Namespace, workdir: Path
) -> SizeResult:
    data = synthetic_gallery(size, distribution, args.queries, args.seed)
    owners, gallery, known_people = data.owners, data.photos, data.known_people
    known, strangers = data.known, data.strangers
    ids = np.arange(size, dtype=np.int64)
    print(
        f"\n== {size:,} faces ({int(owners.max()) + 1:,} people), {args.queries} queries",
        flush=True,
    )

    release_free_memory()
    before = rss_bytes()
    start = time.perf_counter()
    # Built as the workstation builds it from the database: rebuild() chooses the layout (graphs
    # on the principal axes from PROJECT_FROM faces) and saves.
    index = FaceIndex.rebuild(
        workdir / f"index-{size}",
        ids,
        gallery,
        metric="euclidean",
        generation=1,
        m=args.m,
        ef_construction=args.ef_construction,
        threads=args.threads,
        batch_size=100_000,
    )
    build_s = time.perf_counter() - start
    rss_delta = rss_bytes() - before
    index_bytes = index.size_bytes()
    print(
        f"build and save {build_s:.1f} s ({size / build_s:,.0f} faces/s, {args.threads} threads); "
        f"{index.parts} graphs of {index.graph_dim} dimensions; memory: resident "
        f"+{gib(rss_delta)}, index files {gib(index_bytes)} ({index_bytes / size:.0f} B/face, "
        f"the full descriptors kept for re-ranking among them; the vectors alone "
        f"{gib(gallery.nbytes)})",
        flush=True,
    )
    del index
    release_free_memory()
    start = time.perf_counter()
    index = FaceIndex.open(workdir / f"index-{size}", threads=args.threads)
    open_s = time.perf_counter() - start
    print(f"verified open {open_s:.1f} s", flush=True)

    start = time.perf_counter()
    truth_known = exact_search_batch(gallery, ids, known, 50, metric="euclidean")
    mates = [set(np.flatnonzero(owners == person).tolist()) for person in known_people]
    truth_strangers = exact_search_batch(gallery, ids, strangers, 50, metric="euclidean")
    print(f"exact ground truth for {2 * args.queries} queries: {time.perf_counter() - start:.1f} s")

    chosen, recall10 = smallest_ef(index, known, truth_known, 10, args.ef, mates)
    ef50, recall50 = smallest_ef(index, known, truth_known, 50, args.ef, mates)
    recall10_unknown = recall_at(index.search(strangers, 10, ef=chosen), truth_strangers, 10)
    print(
        f"chosen: ef {chosen} for k=10 (recall@10 {recall10:.4f}), ef {ef50} for k=50 "
        f"(recall@50 {recall50:.4f}); recall@10 at ef {chosen} for people not in the gallery "
        f"{recall10_unknown:.4f}"
    )

    # One query at a time; the index searches its graphs at once on args.threads threads, as
    # exact numpy search uses as many BLAS threads. The two take turns (150 index queries, then
    # 15 exact ones, until the index has answered every query twice) over the same minutes. Not
    # shorter turns: OpenBLAS's threads keep polling for a while after each product, and with
    # turns of 20 they halved the index's speed (measured: p50 1.8 ms instead of 0.93).
    norms = np.einsum("ij,ij->i", gallery, gallery)
    index_times, exact_times = time_in_turns(
        np.concatenate([known, known]),
        [
            (lambda q: index.search(q, 10, ef=chosen), 150),
            (lambda q: matrix_product_scan(gallery, norms, q), 15),
        ],
    )
    index50_p50, index50_p99 = percentiles(time_each(known, lambda q: index.search(q, 50, ef=ef50)))
    function_p50, _ = percentiles(
        time_each(
            known, lambda q: exact_search(gallery, ids, q, 10, metric="euclidean"), SCAN_BUDGET
        )
    )
    linear_times = time_each(known, lambda q: linear_scan(gallery, q), SCAN_BUDGET)
    index_p50, index_p99 = percentiles(index_times)
    exact_p50, exact_p99 = percentiles(exact_times)
    linear_p50, linear_p99 = percentiles(linear_times)
    print(
        f"latency of one query, k=10 (p50 / p99, ms): index {index_p50 * 1e3:.3f} / "
        f"{index_p99 * 1e3:.3f} ({len(index_times)} queries); exact numpy {exact_p50 * 1e3:.1f} / "
        f"{exact_p99 * 1e3:.1f} ({len(exact_times)}); face_recognition-style linear scan "
        f"{linear_p50 * 1e3:.1f} / {linear_p99 * 1e3:.1f} ({len(linear_times)})"
    )
    print(
        f"speedup at p50: {exact_p50 / index_p50:.0f}x vs exact numpy, "
        f"{linear_p50 / index_p50:.0f}x vs linear scan; exact is {linear_p50 / exact_p50:.1f}x "
        f"faster than the linear scan"
    )
    print(
        f"index at k=50, ef {ef50}: p50 {index50_p50 * 1e3:.3f} ms, p99 {index50_p99 * 1e3:.3f} ms;"
        f" app.engine exact_search (norms each call, float64 re-score) p50 "
        f"{function_p50 * 1e3:.1f} ms"
    )
    return SizeResult(
        size,
        build_s,
        open_s,
        rss_delta,
        index_bytes,
        chosen,
        ef50,
        recall10,
        recall50,
        recall10_unknown,
        index_p50,
        index_p99,
        exact_p50,
        exact_p99,
        linear_p50,
        linear_p99,
    )


def extrapolate(results: list[SizeResult]) -> None:
    """Memory grows linearly; build time as a power law fitted to the two largest sizes."""
    if len(results) < 2:
        print("\n(extrapolation needs at least two sizes)")
        return
    a, b = results[-2], results[-1]
    per_face = (b.index_bytes - a.index_bytes) / (b.size - a.size)
    rss_per_face = (b.rss_delta - a.rss_delta) / (b.size - a.size)
    exponent = math.log(b.build_s / a.build_s) / math.log(b.size / a.size)
    print(
        f"\n== extrapolation from {a.size:,} and {b.size:,} faces: index {per_face:.0f} B/face, "
        f"resident {rss_per_face:.0f} B/face, build time ~ N^{exponent:.2f}"
    )
    for target in (10_000_000, 50_000_000):
        build = b.build_s * (target / b.size) ** exponent
        print(
            f"{target:>11,} faces: index {gib(b.index_bytes + per_face * (target - b.size))}, "
            f"resident ~{gib(b.rss_delta + rss_per_face * (target - b.size))}, vectors for exact "
            f"search {gib(target * 128 * 4)}, build ~{build / 3600:.1f} h on this machine"
        )


def choose_distribution(args: argparse.Namespace) -> FaceDistribution:
    rng = np.random.default_rng(args.seed)
    distribution = FaceDistribution.default(args.seed)
    if args.seed_images:
        start = time.perf_counter()
        seeds = embed_lfw(Path(args.seed_images), args.seed_faces)
        if seeds is None:
            print("default model or face pipeline unavailable: built-in statistics")
        else:
            descriptors, people = seeds
            print(
                f"embedded {len(descriptors)} LFW faces of {len(np.unique(people))} people in "
                f"{time.perf_counter() - start:.0f} s"
            )
            same_m, same_s, diff_m, diff_s = real_distance_summary(descriptors, people)
            print(
                f"real descriptors: same person {same_m:.3f} +- {same_s:.3f}, different "
                f"{diff_m:.3f} +- {diff_s:.3f}"
            )
            distribution = FaceDistribution.fit(descriptors, people)
    same_m, same_s, diff_m, diff_s = distance_summary(distribution, rng)
    print(
        f"synthetic ({distribution.source}): same person {same_m:.3f} +- {same_s:.3f}, "
        f"different {diff_m:.3f} +- {diff_s:.3f}"
    )
    return distribution


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument(
        "--seed-images",
        default=str(LFW_IMAGES) if LFW_IMAGES.is_dir() else "",
        help="LFW images folder (one folder per person) whose descriptors the synthetic "
        "identities are fitted to (default: ../shared/data's lfw-devtrain; '' for the "
        "built-in statistics)",
    )
    parser.add_argument("--seed-faces", type=int, default=1200)
    parser.add_argument("--m", type=int, default=DEFAULT_M)
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--ef", type=int, help="search breadth to use instead of the sweep")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    print(
        f"parameters: M {args.m}, ef_construction {args.ef_construction}, threads {args.threads}"
        f", recall target {RECALL_TARGET} at k=10 (ef = smallest of {list(EF_CANDIDATES)})"
    )
    distribution = choose_distribution(args)
    results = []
    with tempfile.TemporaryDirectory(prefix="frx-bench-index-") as workdir:
        for size in sizes:
            results.append(run_size(size, distribution, args, Path(workdir)))
    print(f"\n== summary (M {args.m}, ef_construction {args.ef_construction})")
    print(
        f"{'faces':>10} {'ef':>4} {'ef50':>4} {'rec@10':>7} {'rec@50':>7} {'build s':>8} "
        f"{'index':>10} "
        f"{'idx p50':>8} {'idx p99':>8} {'exact p50':>9} {'linear p50':>10} {'x exact':>8} "
        f"{'x linear':>8}"
    )
    for r in results:
        print(
            f"{r.size:>10,} {r.ef:>4} {r.ef50:>4} {r.recall10:>7.4f} {r.recall50:>7.4f} "
            f"{r.build_s:>8.1f} "
            f"{gib(r.index_bytes):>10} {r.index_p50 * 1e3:>6.2f}ms {r.index_p99 * 1e3:>6.2f}ms "
            f"{r.exact_p50 * 1e3:>7.1f}ms {r.linear_p50 * 1e3:>8.1f}ms "
            f"{r.exact_p50 / r.index_p50:>7.0f}x {r.linear_p50 / r.index_p50:>7.0f}x"
        )
    extrapolate(results)
    largest = results[-1]
    print(f"recall@10 {largest.recall10:.4f}")
    print(f"speedup {largest.exact_p50 / largest.index_p50:.1f}")


if __name__ == "__main__":
    main()
