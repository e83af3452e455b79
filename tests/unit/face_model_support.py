"""Shared, cached helpers for the face-model tests: dlib's own pipeline on real LFW photos.

Cached per test process (functools.cache), so the conversion and dlib's detection run once even
when several test modules use them.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from app.engine.align import DLIB_5_POINT_ORDER, dlib_template
from app.engine.dlib_convert import convert_dlib_resnet
from app.engine.models import find_dlib_model_files

# Every 40th person of LFW's dev-train list with a first image: 20 different people.
LFW_PEOPLE_STEP = 40
LFW_PEOPLE_COUNT = 20


@dataclass(frozen=True)
class DlibFace:
    """One LFW face as dlib sees it."""

    path: Path
    rgb: np.ndarray  # the photo
    shape5: Any  # dlib.full_object_detection
    points: np.ndarray  # (5, 2) in dlib_template().points order
    chip: np.ndarray  # dlib.get_face_chip(rgb, shape5, 150, 0.25)
    descriptor: np.ndarray  # dlib's own descriptor of that chip, float64 [128]


@functools.cache
def dlib_models() -> tuple[Any, Any, Any]:
    """dlib's frontal face detector, 5-point predictor and face descriptor network."""
    import dlib  # test-only dependency (dlib-bin)

    dat, shape5 = find_dlib_model_files()
    return (
        dlib.get_frontal_face_detector(),
        dlib.shape_predictor(str(shape5)),
        dlib.face_recognition_model_v1(str(dat)),
    )


@functools.cache
def converted_dlib_onnx() -> Path:
    """The project's ONNX conversion of dlib's network, converted once per test process."""
    folder = Path(tempfile.mkdtemp(prefix="frx-dlib-onnx-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    dat, _ = find_dlib_model_files()
    path = folder / "dlib-resnet-v1.onnx"
    convert_dlib_resnet(dat, path)
    return path


def load_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def dlib_face(path: Path, rgb: np.ndarray | None = None) -> DlibFace | None:
    """dlib's detection (face nearest the centre), landmarks, chip and descriptor."""
    import dlib

    detector, predictor, recogniser = dlib_models()
    rgb = load_rgb(path) if rgb is None else rgb
    detections = detector(rgb, 1)
    if not detections:
        return None
    cx, cy = rgb.shape[1] / 2, rgb.shape[0] / 2
    box = min(detections, key=lambda r: (r.center().x - cx) ** 2 + (r.center().y - cy) ** 2)
    shape5 = predictor(rgb, box)
    dlib_points = np.array([(p.x, p.y) for p in shape5.parts()], dtype=np.float64)
    order = [DLIB_5_POINT_ORDER.index(name) for name in dlib_template().points]
    chip = dlib.get_face_chip(rgb, shape5, 150, 0.25)
    descriptor = np.asarray(recogniser.compute_face_descriptor(chip), dtype=np.float64)
    return DlibFace(path, rgb, shape5, dlib_points[order], chip, descriptor)


@functools.cache
def lfw_dlib_faces(lfw_dir: Path) -> tuple[DlibFace, ...]:
    """About twenty LFW faces of different people, each through dlib's own pipeline."""
    people = sorted(p for p in lfw_dir.iterdir() if p.is_dir())
    faces = []
    for person in people[::LFW_PEOPLE_STEP]:
        face = dlib_face(person / f"{person.name}_0001.jpg")
        if face is not None:
            faces.append(face)
        if len(faces) == LFW_PEOPLE_COUNT:
            break
    assert len(faces) >= 15, f"dlib found faces in only {len(faces)} LFW photos"
    return tuple(faces)


def lfw_pairs(lfw_dir: Path, *, same: bool, count: int) -> list[tuple[Path, Path]]:
    """The first ``count`` same-person or different-person pairs of pairsDevTrain.txt."""
    lines = (lfw_dir.parent / "pairsDevTrain.txt").read_text(encoding="utf-8").splitlines()
    n = int(lines[0])
    block = lines[1 : 1 + n] if same else lines[1 + n : 1 + 2 * n]
    pairs = []
    for line in block[:count]:
        f = line.split("\t")
        if same:
            a, b = (f[0], int(f[1])), (f[0], int(f[2]))
        else:
            a, b = (f[0], int(f[1])), (f[2], int(f[3]))
        pairs.append(
            (lfw_dir / a[0] / f"{a[0]}_{a[1]:04d}.jpg", lfw_dir / b[0] / f"{b[0]}_{b[1]:04d}.jpg")
        )
    return pairs
