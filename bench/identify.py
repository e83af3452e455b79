"""LFW 1:N identification, closed and open set: the engine against the face_recognition defaults.

    .venv/bin/python bench/identify.py [--images DIR] [--people FILE] [--limit N]
        [--max-probes-per-person K] [--workers 2] [--degrade]

People come from a people file (peopleDevTrain.txt: name and image count per line); ``--limit N``
keeps the first N people of the file. Photos are ``<name>_0001.jpg`` ... in number order.

* closed set: the gallery holds every listed person's first photo (people with one photo are
  distractors); probes are the other photos of people with two or more (``--max-probes-per-person``
  caps them, e.g. George W. Bush's 529). Rank-1 and rank-10 identification rates.
* open set: the gallery holds the first photo of people with two or more photos; mated probes are
  their other photos, non-mated probes the photos of people with only one. FNIR at FPIR 1%: the
  threshold lets 1% of non-mated searches return a candidate (top distance below it); FNIR is the
  share of mated searches whose top candidate is not the mate below that threshold.

A photo without a detected face: in the gallery, its person is not enrolled (their probes then
fail); as a mated probe, the search fails; as a non-mated probe, it returns nothing (no false
positive). ``--degrade`` degrades every probe (not the gallery). Ours and the reference run on the
same photos in the same run; ratios follow. Last line: ``rank1 <value>`` (ours, closed set).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.lfw_common import (
    LFW_IMAGES,
    LFW_PEOPLE,
    OURS,
    REFERENCE,
    VARIANTS,
    ImageKey,
    Result,
    Task,
    describe_all,
    read_people,
    status_counts,
)


def _matrix(
    keys: list[ImageKey], results: dict[Task, Result], pipeline: str, variant: str, degraded: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(descriptors, found mask); rows of photos without a face are zeros."""
    found = np.zeros(len(keys), dtype=bool)
    rows = np.zeros((len(keys), 128), dtype=np.float64)
    for i, key in enumerate(keys):
        descriptor = results[(pipeline, *key, degraded)].descriptors.get(variant)
        if descriptor is not None:
            rows[i], found[i] = descriptor, True
    return rows, found


def _search(
    gallery: np.ndarray, enrolled: np.ndarray, probes: np.ndarray, probe_found: np.ndarray
) -> np.ndarray:
    """Distances [probes, gallery]; inf where the probe or the gallery entry has no face."""
    g2 = (gallery**2).sum(1)
    p2 = (probes**2).sum(1)
    d = np.sqrt(np.maximum(p2[:, None] + g2[None, :] - 2 * probes @ gallery.T, 0.0))
    d[:, ~enrolled] = np.inf
    d[~probe_found, :] = np.inf
    return d


def figures(
    results: dict[Task, Result],
    pipeline: str,
    variant: str,
    *,
    people: list[tuple[str, int]],
    max_probes: int | None,
    degraded: bool,
) -> dict[str, float]:
    names = [name for name, _ in people]
    gallery_keys = [(name, 1) for name in names]
    mated_keys, mated_identity = [], []
    for index, (name, count) in enumerate(people):
        numbers = list(range(2, count + 1))[: max_probes or None]
        mated_keys += [(name, n) for n in numbers]
        mated_identity += [index] * len(numbers)
    identity = np.array(mated_identity)
    gallery, enrolled = _matrix(gallery_keys, results, pipeline, variant, False)
    mated, mated_found = _matrix(mated_keys, results, pipeline, variant, degraded)

    out: dict[str, float] = {"probes": len(mated_keys)}
    # closed set: every listed person's first photo in the gallery
    d = _search(gallery, enrolled, mated, mated_found)
    mate_distance = d[np.arange(len(identity)), identity]
    rank = (d < mate_distance[:, None]).sum(1)  # how many entries beat the mate
    ok = np.isfinite(mate_distance)
    out["rank1"] = float(np.mean(ok & (rank < 1)))
    out["rank10"] = float(np.mean(ok & (rank < 10)))

    # open set: gallery of people with two or more photos; singletons are non-mated probes
    multi = np.array([count >= 2 for _, count in people])
    nonmated_keys = [(name, 1) for name, count in people if count == 1]
    nonmated, nonmated_found = _matrix(nonmated_keys, results, pipeline, variant, degraded)
    open_enrolled = enrolled & multi
    d_open = _search(gallery, open_enrolled, mated, mated_found)
    top = d_open.min(1)
    top_is_mate = d_open.argmin(1) == identity
    if nonmated_keys:
        d_non = _search(gallery, open_enrolled, nonmated, nonmated_found)
        non_top = np.sort(d_non.min(1))
        allowed = int(np.floor(0.01 * len(non_top)))
        threshold = float(non_top[allowed]) if allowed < len(non_top) else float("inf")
        out["fpir_threshold"] = threshold
        out["fnir@fpir1%"] = float(np.mean(~(top_is_mate & (top < threshold))))
        out["nonmated"] = len(nonmated_keys)
    else:
        out["fnir@fpir1%"] = float("nan")
        out["fpir_threshold"] = float("nan")
        out["nonmated"] = 0
    out["gallery_closed"] = float(enrolled.sum())
    out["gallery_open"] = float(open_enrolled.sum())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=LFW_IMAGES)
    parser.add_argument("--people", type=Path, default=LFW_PEOPLE)
    parser.add_argument("--limit", type=int, default=None, help="first N people of the file")
    parser.add_argument("--max-probes-per-person", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--degrade", action="store_true")
    args = parser.parse_args()

    people = read_people(args.people)[: args.limit or None]
    max_probes = args.max_probes_per_person
    tasks: list[Task] = []
    for pipeline in ("ours", "reference"):
        for name, count in people:
            tasks.append((pipeline, name, 1, False))
            for number in list(range(2, count + 1))[: max_probes or None]:
                tasks.append((pipeline, name, number, args.degrade))
            if count == 1 and args.degrade:
                tasks.append((pipeline, name, 1, True))
    out = sys.stdout
    multi = sum(1 for _, c in people if c >= 2)
    out.write(
        f"{args.people.name}: {len(people)} people ({multi} with two or more photos); probes "
        f"degraded: {'yes' if args.degrade else 'no'}; {args.workers} worker(s)\n"
    )
    out.flush()
    start = time.perf_counter()
    results = describe_all(tasks, images=args.images, workers=args.workers)
    out.write(f"described {len(set(tasks))} photos in {time.perf_counter() - start:.0f} s\n")
    for pipeline in ("ours", "reference"):
        mine = {t: r for t, r in results.items() if t[0] == pipeline}
        counts = status_counts(mine.values())
        missing = sorted(
            f"{t[1]}_{t[2]:04d}{' (degraded)' if t[3] else ''}"
            for t, r in mine.items()
            if r.status not in ("ok", "mesh failed")
        )
        out.write(
            f"{pipeline}: {len(mine)} photos, "
            + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            + f"; without a face: {', '.join(missing) if missing else 'none'}\n"
        )

    rows = [("ours", v) for v in VARIANTS] + [("reference", REFERENCE)]
    table = {
        variant: figures(
            results,
            pipeline,
            variant,
            people=people,
            max_probes=max_probes,
            degraded=args.degrade,
        )
        for pipeline, variant in rows
    }
    first = table[OURS]
    out.write(
        f"\nclosed set: gallery {int(first['gallery_closed'])} enrolled of {len(people)}, "
        f"{int(first['probes'])} mated probes; open set: gallery {int(first['gallery_open'])} "
        f"enrolled, {int(first['nonmated'])} non-mated probes\n"
    )
    out.write(f"{'pipeline':<26}{'rank-1':>8}{'rank-10':>9}{'FNIR@FPIR1%':>13}{'threshold':>11}\n")
    for variant, f in table.items():
        out.write(
            f"{variant:<26}{f['rank1']:>8.4f}{f['rank10']:>9.4f}{f['fnir@fpir1%']:>13.4f}"
            f"{f['fpir_threshold']:>11.3f}\n"
        )
    ours, ref = table[OURS], table[REFERENCE]
    out.write("\nratios ours / reference:\n")
    for key in ("rank1", "rank10", "fnir@fpir1%"):
        ratio = ours[key] / ref[key] if ref[key] else float("nan")
        out.write(f"  {key:<12} {ours[key]:.4f} / {ref[key]:.4f} = {ratio:.4f}\n")
    out.write("  (FNIR: lower is better)\n")
    out.write(f"rank1 {ours['rank1']:.4f}\n")


if __name__ == "__main__":
    main()
