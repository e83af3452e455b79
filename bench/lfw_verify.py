"""LFW face verification: the engine against the face_recognition defaults, in one run.

    .venv/bin/python bench/lfw_verify.py [--images DIR] [--pairs FILE] [--limit N]
        [--workers 2] [--degrade]

Reads a View 1 pairs file (first line N: N same-person pairs, then N different-person pairs;
pairsDevTrain.txt is one) or a View 2 file (first line "10 300": ten folds of 300 + 300).
``--limit N`` keeps the first N same and N different pairs of each fold. ``--degrade`` degrades the
second photo of every pair (0.3x and back, blur, JPEG quality 30; see bench/lfw_common.py).

For our pipeline (its own descriptor, then the levers measured from the same detections: mirror
averaging and the raw, uncalibrated mesh points) and for the reference pipeline (dlib HOG +
5 points + dlib descriptor, what face_recognition does by default) it prints:

* accuracy at the model's default threshold (0.6);
* 10-fold accuracy, each fold's threshold chosen on the other nine (View 2: its folds; View 1:
  ten folds dealt from the pairs), the honest figure for a threshold calibrated on such pairs;
* the best accuracy over all thresholds, tuned on these same pairs (optimistic, for comparison);
* TAR at FAR 1% and 0.1% (a photo without a face gives no score: never accepted);
* photos without a detected face (listed), each pair with one counted as an error.

Then ratios ours / reference. Last line: ``accuracy <value>``: ours at the default threshold for
View 1 (never a threshold tuned on the same pairs), the 10-fold accuracy for View 2.
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
    LFW_PAIRS,
    OURS,
    REFERENCE,
    VARIANTS,
    Pair,
    Result,
    Task,
    accuracy_at,
    best_threshold,
    describe_all,
    limit_pairs,
    read_pairs,
    status_counts,
    tar_at_far,
)

DEFAULT_THRESHOLD = 0.6


def _distances(
    pairs: list[Pair], results: dict[Task, Result], pipeline: str, variant: str, degrade: bool
) -> np.ndarray:
    out = np.full(len(pairs), np.inf)
    for i, pair in enumerate(pairs):
        first = results[(pipeline, *pair.first, False)].descriptors.get(variant)
        second = results[(pipeline, *pair.second, degrade)].descriptors.get(variant)
        if first is not None and second is not None:
            out[i] = float(np.linalg.norm(first.astype(np.float64) - second))
    return out


def _ten_fold(distances: np.ndarray, same: np.ndarray, folds: np.ndarray) -> tuple[float, float]:
    scores = []
    for fold in np.unique(folds):
        train, test = folds != fold, folds == fold
        _acc, threshold = best_threshold(distances[train], same[train])
        scores.append(accuracy_at(distances[test], same[test], threshold))
    return float(np.mean(scores)), float(np.std(scores))


def cross_validation_folds(pairs: list[Pair], folds: int) -> np.ndarray:
    """View 2's own folds; for View 1, ten folds made by dealing each kind of pair in turn."""
    if folds > 1:
        return np.array([p.fold for p in pairs])
    dealt, seen = [], {True: 0, False: 0}
    for pair in pairs:
        dealt.append(seen[pair.same] % 10)
        seen[pair.same] += 1
    return np.array(dealt)


def figures(distances: np.ndarray, same: np.ndarray, folds: np.ndarray) -> dict[str, float]:
    out = {"default": accuracy_at(distances, same, DEFAULT_THRESHOLD)}
    out["tenfold"], out["tenfold_std"] = _ten_fold(distances, same, folds)
    out["best"], out["best_threshold"] = best_threshold(distances, same)
    for far in (0.01, 0.001):
        out[f"tar@{far}"], out[f"thr@{far}"] = tar_at_far(distances[same], distances[~same], far)
    out["missing_pairs"] = float(np.sum(~np.isfinite(distances)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=LFW_IMAGES)
    parser.add_argument("--pairs", type=Path, default=LFW_PAIRS)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--degrade", action="store_true")
    args = parser.parse_args()

    pairs, folds = read_pairs(args.pairs)
    pairs = limit_pairs(pairs, args.limit)
    same = np.array([p.same for p in pairs])
    fold_of = cross_validation_folds(pairs, folds)
    tasks: list[Task] = []
    for pipeline in ("ours", "reference"):
        for pair in pairs:
            tasks.append((pipeline, *pair.first, False))
            tasks.append((pipeline, *pair.second, args.degrade))
    view = "View 2 (10 folds)" if folds > 1 else "View 1"
    out = sys.stdout
    out.write(
        f"{args.pairs.name}: {view}, {int(same.sum())} same + {int((~same).sum())} different "
        f"pairs{' (limited)' if args.limit else ''}; second photo degraded: "
        f"{'yes' if args.degrade else 'no'}; {args.workers} worker(s)\n"
    )
    out.flush()
    start = time.perf_counter()
    results = describe_all(tasks, images=args.images, workers=args.workers)
    out.write(f"described {len(set(tasks))} photos in {time.perf_counter() - start:.0f} s\n\n")

    table: dict[str, dict[str, float]] = {}
    rows = [("ours", v) for v in VARIANTS] + [("reference", REFERENCE)]
    for pipeline, variant in rows:
        distances = _distances(pairs, results, pipeline, variant, args.degrade)
        table[variant] = figures(distances, same, fold_of)

    for pipeline in ("ours", "reference"):
        mine = {t: r for t, r in results.items() if t[0] == pipeline}
        counts = status_counts(mine.values())
        missing = sorted(
            f"{name}_{number:04d}{' (degraded)' if degraded else ''}: {r.status}"
            for (_, name, number, degraded), r in mine.items()
            if r.status not in ("ok", "mesh failed")
        )
        seconds = sum(r.seconds for r in mine.values())
        out.write(
            f"{pipeline}: {len(mine)} photos, "
            + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            + f"; {len(mine) / max(seconds, 1e-9):.1f} photos/s per worker\n"
        )
        out.write(
            f"  no face: {len(missing)} photos ({100 * len(missing) / len(mine):.2f}%), "
            "each pair with one is counted as an error\n"
        )
        for line in missing:
            out.write(f"    {line}\n")
        mesh_failed = [f"{t[1]}_{t[2]:04d}" for t, r in mine.items() if r.status == "mesh failed"]
        if mesh_failed:
            out.write(
                f"  mesh failed (aligned from detector points): {', '.join(sorted(mesh_failed))}\n"
            )
    out.write("\n")

    header = f"{'pipeline':<30}{'acc@0.6':>9}{'10-fold':>17}"
    header += f"{'best (tuned)':>19}{'TAR@FAR1%':>11}{'TAR@FAR0.1%':>13}{'pairs w/o face':>16}"
    out.write(header + "\n")
    for variant, f in table.items():
        line = f"{variant:<30}{f['default']:>9.4f}"
        line += f"{f['tenfold']:>10.4f} ±{f['tenfold_std']:.4f}"
        line += f"{f['best']:>10.4f} @{f['best_threshold']:.3f}"
        line += f"{f['tar@0.01']:>11.4f}{f['tar@0.001']:>13.4f}{int(f['missing_pairs']):>16}"
        out.write(line + "\n")
    out.write(
        "(10-fold: each fold's threshold chosen on the other nine"
        + (" (View 1: ten folds dealt from the pairs)" if folds == 1 else "")
        + "; best (tuned): the threshold chosen on these same pairs, optimistic, and so are the "
        f"TAR thresholds. FAR 0.1% of {int((~same).sum())} different pairs allows "
        f"{int(0.001 * (~same).sum())} false accepts.)\n"
    )
    ours, ref = table[OURS], table[REFERENCE]
    out.write("\nratios ours / reference:\n")
    keys = ["default", "tenfold", "best", "tar@0.01", "tar@0.001"]
    for key in keys:
        ratio = ours[key] / ref[key] if ref[key] else float("nan")
        out.write(f"  {key:<10} {ours[key]:.4f} / {ref[key]:.4f} = {ratio:.4f}\n")
    out.write(
        f"  errors at 0.6: ours {round((1 - ours['default']) * len(pairs))}, "
        f"reference {round((1 - ref['default']) * len(pairs))} of {len(pairs)} pairs\n"
    )
    headline = ours["tenfold"] if folds > 1 else ours["default"]
    out.write(f"accuracy {headline:.4f}\n")


if __name__ == "__main__":
    main()
