"""Shared, cached helpers for the detection, landmark, quality and region tests.

MediaPipe graphs are built once per test process (functools.cache); the LFW sample is the first
image of every 100th person in LFW's dev-train folder (41 different people).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from PIL import Image

from app.engine.detect import DetectedFace, FaceDetector, face_nearest_center
from app.engine.landmarks import FaceMesh, FaceMesher

LFW_PERSON_STEP = 100


@functools.cache
def detector() -> FaceDetector:
    return FaceDetector()


@functools.cache
def mesher() -> FaceMesher:
    return FaceMesher()


def load_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.ascontiguousarray(np.asarray(image.convert("RGB")))


@functools.cache
def lfw_sample_paths(lfw_dir: Path) -> tuple[Path, ...]:
    people = sorted(p for p in lfw_dir.iterdir() if p.is_dir())
    return tuple(sorted(person.glob("*.jpg"))[0] for person in people[::LFW_PERSON_STEP])


@functools.cache
def lfw_image(path: Path) -> np.ndarray:
    image = load_rgb(path)
    image.setflags(write=False)  # shared between tests: nobody may change it
    return image


@functools.cache
def lfw_face(path: Path) -> tuple[DetectedFace, FaceMesh | None]:
    """LFW's subject (the face nearest the centre) and its mesh."""
    rgb = lfw_image(path)
    face = face_nearest_center(detector().detect(rgb))
    assert face is not None, f"no face in {path.name}"
    return face, mesher().mesh(rgb, face)


def paste(canvas: np.ndarray, image: np.ndarray, x: int, y: int) -> np.ndarray:
    canvas[y : y + image.shape[0], x : x + image.shape[1]] = image
    return canvas
