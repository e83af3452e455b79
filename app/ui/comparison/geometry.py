"""The common face-normalised frame that probe and candidate are shown in (pure Python, no Qt).

Each image is placed by a similarity transform (rotation, uniform scale, translation) that puts
the midpoint between the eye centres at the origin and the eyes on the x axis, ``EYE_DISTANCE``
units apart. The same zoom and pan then show the same facial area in both images, and an overlay
lines the faces up on the eyes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.ui.comparison.model import FaceSide, Point

log = logging.getLogger(__name__)

EYE_DISTANCE = 100.0
"""Scene units between the two eye centres in the common frame."""

# The area a "fit" shows, in eye distances around the eye midpoint: eyebrows to chin, ear to ear.
FACE_BOX = (-1.6, -1.75, 3.2, 4.1)  # x, y, width, height


@dataclass(frozen=True)
class Similarity:
    """x' = a*x - b*y + tx ; y' = b*x + a*y + ty (rotation + uniform scale + translation)."""

    a: float
    b: float
    tx: float
    ty: float

    @property
    def scale(self) -> float:
        """Frame units per image pixel."""
        return math.hypot(self.a, self.b)

    def apply(self, points: npt.ArrayLike | Iterable[Point]) -> npt.NDArray[np.float64]:
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        x, y = pts[:, 0], pts[:, 1]
        return np.stack([self.a * x - self.b * y + self.tx, self.b * x + self.a * y + self.ty], 1)

    def inverse(self) -> Similarity:
        norm = self.a * self.a + self.b * self.b
        ia, ib = self.a / norm, -self.b / norm
        return Similarity(ia, ib, -(ia * self.tx - ib * self.ty), -(ib * self.tx + ia * self.ty))


def _fallback_eyes(width: int, height: int) -> tuple[Point, Point]:
    # Without eyes, assume a centred frontal face so the image still lands near the others.
    span = 0.3 * min(width, height)
    cx, cy = width / 2.0, 0.45 * height
    return (cx - span / 2, cy), (cx + span / 2, cy)


def face_frame(face: FaceSide) -> Similarity:
    """The transform from ``face``'s image pixels to the common frame."""
    eyes = face.eye_points
    if eyes is None or math.dist(eyes[0], eyes[1]) < 1.0:
        if eyes is not None:
            log.warning("Eye centres of %r coincide; centring the image instead.", face.label)
        eyes = _fallback_eyes(face.width, face.height)
    (x1, y1), (x2, y2) = eyes
    dx, dy = x2 - x1, y2 - y1
    length = math.hypot(dx, dy)
    scale = EYE_DISTANCE / length
    # Rotate the eye vector onto +x: cos/sin of -angle, times the scale.
    a, b = scale * dx / length, -scale * dy / length
    mx, my = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    return Similarity(a, b, -(a * mx - b * my), -(b * mx + a * my))


def bounds(points: npt.NDArray[np.float64]) -> tuple[float, float, float, float]:
    """(x, y, w, h) of a point set."""
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    return float(x0), float(y0), float(x1 - x0), float(y1 - y0)


def image_bounds(face: FaceSide, frame: Similarity | None = None
                 ) -> tuple[float, float, float, float]:
    """The image's bounding box in the common frame."""
    frame = frame or face_frame(face)
    w, h = face.width, face.height
    return bounds(frame.apply([(0, 0), (w, 0), (w, h), (0, h)]))


def face_box() -> tuple[float, float, float, float]:
    x, y, w, h = FACE_BOX
    return x * EYE_DISTANCE, y * EYE_DISTANCE, w * EYE_DISTANCE, h * EYE_DISTANCE


def union(*rects: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    x0 = min(r[0] for r in rects)
    y0 = min(r[1] for r in rects)
    x1 = max(r[0] + r[2] for r in rects)
    y1 = max(r[1] + r[3] for r in rects)
    return x0, y0, x1 - x0, y1 - y0


def region_frame_box(face: FaceSide, name: str, frame: Similarity | None = None
                     ) -> tuple[float, float, float, float] | None:
    """The region's outline (or box when it has no outline) bounded in the common frame."""
    region = face.regions.get(name)
    if region is None:
        return None
    frame = frame or face_frame(face)
    polygon = np.asarray(region.polygon, dtype=np.float64).reshape(-1, 2)
    if len(polygon) < 2:
        x, y, w, h = region.box
        polygon = np.array([(x, y), (x + w, y), (x + w, y + h), (x, y + h)], dtype=np.float64)
    return bounds(frame.apply(polygon))


def crop_rect(boxes: Iterable[tuple[float, float, float, float] | None], aspect: float,
              margin: float = 0.15, minimum: float = 0.25 * EYE_DISTANCE,
              ) -> tuple[float, float, float, float] | None:
    """One frame rectangle covering every given region box, with a margin, at ``aspect`` (w/h).

    Both crops of a feature pair use it, so they show the same facial area at the same scale.
    """
    present = [b for b in boxes if b is not None]
    if not present:
        return None
    x, y, w, h = union(*present)
    cx, cy = x + w / 2, y + h / 2
    w, h = max(w, minimum), max(h, minimum)
    w, h = w * (1 + 2 * margin), h * (1 + 2 * margin)
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    return cx - w / 2, cy - h / 2, w, h
