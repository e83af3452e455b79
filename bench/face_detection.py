"""Face detection, landmarks and quality: rates, speed and the calibration behind the constants.

    .venv/bin/python -m bench.face_detection rate [--count 1000]
    .venv/bin/python -m bench.face_detection speed [--count 300]
    .venv/bin/python -m bench.face_detection scale
    .venv/bin/python -m bench.face_detection tiles
    .venv/bin/python -m bench.face_detection fallback-offsets [--count 300]
    .venv/bin/python -m bench.face_detection sharpness [--count 200]
    .venv/bin/python -m bench.face_detection pairs [--pairs 1100]

``rate``: detection rate on the first N LFW images in sorted order (misses listed) and on the 164
Yale files. ``speed``: images per second of FaceDetector.detect (with and without tiles),
FaceMesher.mesh and FacePipeline.describe, as ratios to one bare MediaPipe full-range call per
image (the reference, measured in the same run). ``scale``: how small a face (fraction of the
picture's longer side) each BlazeFace model still finds: the basis of TILE_FACE_RATIO.
``tiles``: scores of false faces on blurred noise and of real small faces: TILE_MIN_SCORE.
``fallback-offsets``: where the mesh's named points lie relative to BlazeFace's keypoints:
landmarks._FALLBACK_OFFSETS. ``sharpness``: the sharpness index of LFW faces blurred by known
amounts: quality.SHARPNESS_*. ``pairs``: verification accuracy of the pipeline with the default
model on LFW's pairsDevTrain at the model's own threshold (installs the model in a temp folder).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from app.engine.detect import FaceDetector, face_nearest_center
from app.engine.images import load_image_file
from app.engine.landmarks import FaceMesher, named_points
from app.engine.quality import inner_face, sharpness_index

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("FRX_SHARED_DATA", REPO.parent / "shared" / "data"))
LFW = DATA / "lfw-devtrain" / "images"
YALE = DATA / "yalefaces"


def _lfw_paths(count: int) -> list[Path]:
    return sorted(LFW.glob("*/*.jpg"))[:count]


def _load(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.ascontiguousarray(np.asarray(image.convert("RGB")))


def rate(count: int) -> None:
    detector = FaceDetector()
    paths = _lfw_paths(count)
    misses = [p.name for p in paths if not detector.detect(_load(p)).found]
    found = len(paths) - len(misses)
    print(f"LFW first {len(paths)} (sorted): {found} found = {100 * found / len(paths):.2f}%")
    for name in misses:
        print(f"  missed: {name}")
    yale = sorted(p for p in YALE.iterdir() if p.name.startswith("subject"))
    yale_misses = [p.name for p in yale if not detector.detect(load_image_file(p)[1].rgb).found]
    print(f"Yale: {len(yale) - len(yale_misses)} of {len(yale)} found")
    for name in yale_misses:
        print(f"  missed: {name}")


def _per_second(work: Callable[[], object], items: int, repeat: int = 2) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return items / best


def speed(count: int) -> None:
    from mediapipe.python.solutions import face_detection

    from app.engine.pipeline import FacePipeline

    images = [_load(p) for p in _lfw_paths(count)]
    raw = face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5)
    detector, mesher = FaceDetector(), FaceMesher()
    faces = [face_nearest_center(detector.detect(image)) for image in images]
    pairs = [(i, f) for i, f in zip(images, faces, strict=True) if f is not None]
    pipeline = FacePipeline()
    pipeline.describe(*pairs[0])  # build the graphs before timing

    reference = _per_second(lambda: [raw.process(i) for i in images], len(images))
    rows = {
        "detect (tiles on; none at 250 px)": _per_second(
            lambda: [detector.detect(i) for i in images], len(images)
        ),
        "detect (tiles off)": _per_second(
            lambda: [detector.detect(i, tiles=False) for i in images], len(images)
        ),
        "mesh (one face)": _per_second(lambda: [mesher.mesh(i, f) for i, f in pairs], len(pairs)),
        "describe (mesh, quality, regions)": _per_second(
            lambda: [pipeline.describe(i, f) for i, f in pairs], len(pairs)
        ),
    }
    print(f"reference: bare MediaPipe full-range call, {reference:.1f} images/s (1.00)")
    for name, value in rows.items():
        print(f"{name}: {value:.1f} images/s ({value / reference:.2f} of the reference)")
    big = np.asarray(
        cv2.GaussianBlur(
            np.random.default_rng(0).integers(0, 256, (3000, 4000, 3), dtype=np.uint8), (0, 0), 3
        )
    )
    start = time.perf_counter()
    detector.detect(big)
    seconds = time.perf_counter() - start
    print(
        f"detect on a 4000x3000 picture with tiles: {seconds:.2f} s "
        f"({seconds * reference:.0f} reference calls)"
    )


def scale() -> None:
    from mediapipe.python.solutions import face_detection

    photos = [_load(p) for p in _lfw_paths(40)]
    for selection, label in ((1, "full range"), (0, "short range")):
        graph = face_detection.FaceDetection(
            model_selection=selection, min_detection_confidence=0.5
        )
        for canvas_side in (250, 400, 600, 900, 1300, 2000, 3000):
            hits = 0
            for photo in photos:
                canvas = np.full((canvas_side, canvas_side, 3), 128, dtype=np.uint8)
                offset = (canvas_side - 250) // 2
                canvas[offset : offset + 250, offset : offset + 250] = photo
                small = cv2.resize(canvas, (192, 192), interpolation=cv2.INTER_AREA)
                hits += bool(graph.process(small).detections)
            # An LFW face is about 110 pixels wide.
            print(f"{label}: face = {110 / canvas_side:.3f} of the side: {hits}/{len(photos)}")


def tiles() -> None:
    detector = FaceDetector()
    rng = np.random.default_rng(1)
    false_scores = []
    for _ in range(10):
        noise = cv2.GaussianBlur(rng.integers(0, 256, (3000, 4000, 3), dtype=np.uint8), (0, 0), 2)
        false_scores += [f.score for f in detector.detect(noise, min_score=0.3, tile_min_score=0.3)]
    print(
        f"false faces on 10 blurred-noise 4000x3000 pictures: {len(false_scores)}, scores "
        f"{np.round(sorted(false_scores), 2).tolist()}"
    )
    true_scores = []
    for path in _lfw_paths(200)[::5]:
        photo = cv2.resize(_load(path), None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)
        canvas = np.clip(rng.normal(110, 20, (1500, 2000, 3)), 0, 255).astype(np.uint8)
        x, y = int(rng.integers(0, 1900)), int(rng.integers(0, 1400))
        canvas[y : y + photo.shape[0], x : x + photo.shape[1]] = photo
        result = detector.detect(canvas, min_score=0.3, min_face_size=20, tile_min_score=0.3)
        inside = [
            f.score
            for f in result.faces
            if x <= f.center[0] <= x + 75 and y <= f.center[1] <= y + 75
        ]
        true_scores.append(max(inside) if inside else 0.0)
    print(
        f"real faces of ~33 px in 2000x1500 noise: scores min {min(true_scores):.2f}, "
        f"median {np.median(true_scores):.2f}"
    )


def fallback_offsets(count: int) -> None:
    detector, mesher = FaceDetector(), FaceMesher()
    names = (
        "left_eye_outer",
        "left_eye_inner",
        "right_eye_inner",
        "right_eye_outer",
        "nose_base",
        "left_mouth",
        "right_mouth",
    )
    anchors = (
        "left_eye_center",
        "left_eye_center",
        "right_eye_center",
        "right_eye_center",
        "nose_tip",
        "mouth_center",
        "mouth_center",
    )
    rows = []
    for path in _lfw_paths(count):
        rgb = _load(path)
        face = face_nearest_center(detector.detect(rgb))
        mesh = mesher.mesh(rgb, face) if face is not None else None
        if face is None or mesh is None:
            continue
        named = named_points(mesh)
        left = np.array(face.keypoints["left_eye_center"])
        right = np.array(face.keypoints["right_eye_center"])
        distance = float(np.linalg.norm(right - left))
        u = (right - left) / distance
        v = np.array([-u[1], u[0]])
        row = []
        for name, anchor in zip(names, anchors, strict=True):
            offset = np.array(named[name]) - np.array(face.keypoints[anchor])
            row += [offset @ u / distance, offset @ v / distance]
        rows.append(row)
    table = np.array(rows)
    median, spread = np.median(table, axis=0), table.std(axis=0)
    for i, (name, anchor) in enumerate(zip(names, anchors, strict=True)):
        print(
            f"{name} from {anchor}: u {median[2 * i]:+.3f} v {median[2 * i + 1]:+.3f} "
            f"(std {spread[2 * i]:.3f}, {spread[2 * i + 1]:.3f}), {len(rows)} faces"
        )


def sharpness(count: int) -> None:
    detector, mesher = FaceDetector(), FaceMesher()
    values: dict[float, list[float]] = {}
    for path in _lfw_paths(count):
        rgb = _load(path)
        face = face_nearest_center(detector.detect(rgb))
        mesh = mesher.mesh(rgb, face) if face is not None else None
        if mesh is None:
            continue
        named = named_points(mesh)
        for sigma in (0.0, 1.0, 1.5, 2.0, 3.0):
            blurred = rgb if sigma == 0 else cv2.GaussianBlur(rgb, (0, 0), sigma)
            values.setdefault(sigma, []).append(sharpness_index(inner_face(blurred, named)[0]))
    for sigma, found in values.items():
        p5, p50, p95 = np.percentile(found, [5, 50, 95])
        print(
            f"blur sigma {sigma}: sharpness median {p50:.1f} (5th {p5:.1f}, 95th {p95:.1f}), "
            f"{len(found)} faces"
        )


def pairs(count: int) -> None:
    from app.engine.models import install_default_model, load_embedder
    from app.engine.pipeline import FacePipeline

    with tempfile.TemporaryDirectory() as folder:
        manifest = install_default_model(Path(folder))
        embedder = load_embedder(Path(folder), manifest.name)
    pipeline = FacePipeline(embedder)
    lines = (LFW.parent / "pairsDevTrain.txt").read_text().splitlines()[1:]
    chosen = lines[:count] + lines[1100 : 1100 + count]
    cache: dict[tuple[str, str], np.ndarray] = {}

    def embedding(name: str, number: str) -> np.ndarray:
        if (name, number) not in cache:
            rgb = _load(LFW / name / f"{name}_{int(number):04d}.jpg")
            face = face_nearest_center(pipeline.detect(rgb))
            assert face is not None, name
            description = pipeline.describe(rgb, face, with_regions=False)
            assert description.embedding is not None
            cache[(name, number)] = description.embedding
        return cache[(name, number)]

    start = time.perf_counter()
    correct = 0
    for line in chosen:
        parts = line.split("\t")
        if len(parts) == 3:
            a, b, same = embedding(parts[0], parts[1]), embedding(parts[0], parts[2]), True
        else:
            a, b, same = embedding(parts[0], parts[1]), embedding(parts[2], parts[3]), False
        correct += (float(np.linalg.norm(a - b)) < manifest.threshold) == same
    seconds = time.perf_counter() - start
    print(
        f"pairsDevTrain {len(chosen)} pairs at threshold {manifest.threshold}: "
        f"accuracy {correct / len(chosen):.4f}; {len(cache)} faces, {len(cache) / seconds:.1f}/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, default in (
        ("rate", 1000),
        ("speed", 300),
        ("fallback-offsets", 300),
        ("sharpness", 200),
        ("pairs", 1100),
    ):
        sub = commands.add_parser(name)
        sub.add_argument("--count" if name != "pairs" else "--pairs", type=int, default=default)
    commands.add_parser("scale")
    commands.add_parser("tiles")
    args = parser.parse_args()
    if args.command == "rate":
        rate(args.count)
    elif args.command == "speed":
        speed(args.count)
    elif args.command == "scale":
        scale()
    elif args.command == "tiles":
        tiles()
    elif args.command == "fallback-offsets":
        fallback_offsets(args.count)
    elif args.command == "sharpness":
        sharpness(args.count)
    else:
        pairs(args.pairs)


if __name__ == "__main__":
    main()
