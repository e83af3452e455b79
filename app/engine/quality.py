"""Image quality of one face: is it good enough for a reliable comparison?

Each measure has a value, a unit, a level (``ok``, ``warn``, ``poor``) and a plain sentence for
the examiner. The report is stored with the search (``to_dict``/``from_dict`` are JSON-safe).
Quality never refuses a face: it warns, and the examiner decides.

Measures:

- ``inter_eye_distance``: pixels between the iris centres (mesh) or the detector's eye points.
- ``face_size``: the detection box's size (geometric mean of width and height), pixels.
- ``sharpness``: variance of the Laplacian of the inner face (eyes to mouth), after scaling the
  face so the eyes are ``STANDARD_EYE_DISTANCE`` pixels apart (so faces of any size compare) and
  dividing by the region's grey-level variance (so exposure and contrast do not count as blur);
  times 1000. Low values mean blur, or too few pixels to show detail.
- ``yaw``, ``pitch``, ``roll``: head pose in degrees from the mesh (see :mod:`app.engine.pose`).
- ``brightness``: mean grey level (0-255) of the inner face; ``clipping``: the percentage of its
  pixels that are pure black or pure white.
- ``detection_score``: the detector's confidence (0-1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import cv2
import numpy as np
import numpy.typing as npt

from app.engine.detect import DetectedFace, as_rgb
from app.engine.landmarks import FaceMesh, named_points
from app.engine.pose import head_pose
from app.engine.warp import warp_affine

Level = Literal["ok", "warn", "poor"]
LEVELS: Final[tuple[Level, ...]] = ("ok", "warn", "poor")

# Inter-eye distance (pixels between the eye centres). ISO/IEC 19794-5 asks for at least 60
# pixels in its smallest ("token") frontal image and 90-120 for full-frontal images; face
# recognition accuracy falls steeply below about 30 pixels (NIST's studies of low-resolution
# probes). So: 60+ ok, 30-60 warn, under 30 poor.
EYE_DISTANCE_OK: Final = 60.0
EYE_DISTANCE_POOR: Final = 30.0
# Face size: the detection box is about 2.3x the eye distance (measured on LFW: box ~2.4x,
# Yale ~2.3x), so the same limits in box pixels.
FACE_SIZE_OK: Final = 140.0
FACE_SIZE_POOR: Final = 70.0
# Sharpness (see the module docstring). Measured by the project on the first 200 LFW faces (soft
# 250x250 news photos; bench/face_detection.py sharpness): originals median 26 (5th percentile
# 9); after a Gaussian blur of sigma 1 pixel median 10, sigma 1.5 median 7, sigma 2 median 5.8,
# sigma 3 median 4.8. Faces with strong large-scale contrast (glasses, dark hair beside the
# cheek) keep higher values when blurred, so the index ranks copies of one face better than it
# grades different faces.
SHARPNESS_OK: Final = 8.0
SHARPNESS_POOR: Final = 5.0
STANDARD_EYE_DISTANCE: Final = 64.0
# Head pose: ISO/IEC 19794-5 frontal images allow about 5 degrees; recognition accuracy stays
# usable to about 15-20 degrees of yaw and drops sharply past 30 (half profile). Pitch hides the
# eyes and chin sooner. Roll is undone by alignment, so only large roll is flagged.
YAW_OK: Final = 15.0
YAW_POOR: Final = 30.0
PITCH_OK: Final = 15.0
PITCH_POOR: Final = 25.0
ROLL_OK: Final = 20.0
ROLL_POOR: Final = 40.0
# Exposure of the inner face (mean grey 0-255). The first 200 LFW faces measure mean 123,
# 1st percentile 62, 99th 172; under 70 the dark features lose detail, under 40 most is lost.
BRIGHTNESS_DARK_OK: Final = 70.0
BRIGHTNESS_DARK_POOR: Final = 40.0
BRIGHTNESS_BRIGHT_OK: Final = 190.0
BRIGHTNESS_BRIGHT_POOR: Final = 220.0
# Clipped pixels (grey <= 3 or >= 252) of the inner face, percent: detail that is gone.
CLIPPING_OK: Final = 5.0
CLIPPING_POOR: Final = 20.0
# Detector confidence: BlazeFace scores real faces mostly 0.75-0.97 (LFW, Yale).
SCORE_OK: Final = 0.75
SCORE_POOR: Final = 0.5


@dataclass(frozen=True)
class QualityMeasure:
    name: str
    value: float | None
    unit: str
    level: Level
    message: str

    def to_dict(self) -> dict[str, Any]:
        value = None if self.value is None else round(float(self.value), 4)
        return {
            "name": self.name,
            "value": value,
            "unit": self.unit,
            "level": self.level,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QualityMeasure:
        level = str(data["level"])
        if level not in LEVELS:
            raise ValueError(f"unknown quality level {level!r}")
        value = data.get("value")
        return cls(
            name=str(data["name"]),
            value=None if value is None else float(value),
            unit=str(data.get("unit", "")),
            level=level,  # narrowed by the check against LEVELS above
            message=str(data.get("message", "")),
        )


@dataclass(frozen=True)
class QualityReport:
    measures: tuple[QualityMeasure, ...]

    @property
    def worst(self) -> Level:
        rank = max((LEVELS.index(m.level) for m in self.measures), default=0)
        return LEVELS[rank]

    @property
    def warnings(self) -> tuple[str, ...]:
        """The messages of every measure that is not ok, worst first."""
        flagged = [m for m in self.measures if m.level != "ok"]
        flagged.sort(key=lambda m: -LEVELS.index(m.level))
        return tuple(m.message for m in flagged)

    def get(self, name: str) -> QualityMeasure | None:
        return next((m for m in self.measures if m.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"worst": self.worst, "measures": [m.to_dict() for m in self.measures]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QualityReport:
        return cls(measures=tuple(QualityMeasure.from_dict(m) for m in data["measures"]))


def _at_least(value: float, ok: float, poor: float) -> Level:
    return "ok" if value >= ok else ("warn" if value >= poor else "poor")


def _at_most(value: float, ok: float, poor: float) -> Level:
    return "ok" if value <= ok else ("warn" if value <= poor else "poor")


def _eye_distance(distance: float) -> QualityMeasure:
    level = _at_least(distance, EYE_DISTANCE_OK, EYE_DISTANCE_POOR)
    shown = round(distance)
    if level == "ok":
        message = f"Eyes {shown} pixels apart: enough detail for comparison."
    elif level == "warn":
        message = (
            f"Eyes only {shown} pixels apart: fine detail is limited "
            f"({EYE_DISTANCE_OK:.0f}+ recommended)."
        )
    else:
        message = (
            f"Eyes only {shown} pixels apart: too small for a reliable comparison "
            f"({EYE_DISTANCE_OK:.0f}+ recommended)."
        )
    return QualityMeasure("inter_eye_distance", distance, "px", level, message)


def _face_size(size: float) -> QualityMeasure:
    level = _at_least(size, FACE_SIZE_OK, FACE_SIZE_POOR)
    shown = round(size)
    message = {
        "ok": f"Face {shown} pixels across.",
        "warn": f"Face only {shown} pixels across: small ({FACE_SIZE_OK:.0f}+ recommended).",
        "poor": f"Face only {shown} pixels across: too small for a reliable comparison.",
    }[level]
    return QualityMeasure("face_size", size, "px", level, message)


def _sharpness(value: float) -> QualityMeasure:
    level = _at_least(value, SHARPNESS_OK, SHARPNESS_POOR)
    message = {
        "ok": f"Face is sharp enough (sharpness {value:.1f}).",
        "warn": f"Face looks somewhat blurred or soft (sharpness {value:.1f}).",
        "poor": f"Face is blurred: fine detail is lost (sharpness {value:.1f}).",
    }[level]
    return QualityMeasure("sharpness", value, "index", level, message)


def _angle(name: str, value: float, ok: float, poor: float) -> QualityMeasure:
    level = _at_most(abs(value), ok, poor)
    words = {
        "yaw": ("turned to the image's right", "turned to the image's left"),
        "pitch": ("tilted up", "tilted down"),
        "roll": ("rotated clockwise", "rotated anticlockwise"),
    }[name]
    direction = words[0] if value >= 0 else words[1]
    shown = round(abs(value))
    if level == "ok":
        message = f"Head {name} {value:+.0f} degrees: near frontal."
    elif level == "warn":
        message = f"Head {direction} by about {shown} degrees: features may look different."
    else:
        message = (
            f"Head {direction} by about {shown} degrees: too far from frontal for a reliable "
            "comparison."
        )
    return QualityMeasure(name, value, "deg", level, message)


def _brightness(mean: float) -> QualityMeasure:
    if mean < BRIGHTNESS_DARK_POOR:
        level: Level = "poor"
        message = f"Face is far too dark (mean grey {mean:.0f} of 255): detail is lost."
    elif mean < BRIGHTNESS_DARK_OK:
        level, message = "warn", f"Face is dark (mean grey {mean:.0f} of 255)."
    elif mean > BRIGHTNESS_BRIGHT_POOR:
        level = "poor"
        message = f"Face is far too bright (mean grey {mean:.0f} of 255): detail is lost."
    elif mean > BRIGHTNESS_BRIGHT_OK:
        level, message = "warn", f"Face is bright (mean grey {mean:.0f} of 255)."
    else:
        level, message = "ok", f"Face exposure is fine (mean grey {mean:.0f} of 255)."
    return QualityMeasure("brightness", mean, "grey level", level, message)


def _clipping(percent: float) -> QualityMeasure:
    level = _at_most(percent, CLIPPING_OK, CLIPPING_POOR)
    message = {
        "ok": f"{percent:.1f}% of the face is pure black or white.",
        "warn": f"{percent:.0f}% of the face is pure black or white: some detail is lost.",
        "poor": f"{percent:.0f}% of the face is pure black or white: much detail is lost.",
    }[level]
    return QualityMeasure("clipping", percent, "%", level, message)


def _score(score: float) -> QualityMeasure:
    level = _at_least(score, SCORE_OK, SCORE_POOR)
    message = {
        "ok": f"Face detected with confidence {score:.2f}.",
        "warn": f"Face detected with low confidence ({score:.2f}): check it is a face.",
        "poor": f"Face detected with very low confidence ({score:.2f}): check it is a face.",
    }[level]
    return QualityMeasure("detection_score", score, "", level, message)


def inner_face(
    rgb: npt.NDArray[np.uint8], named: Mapping[str, tuple[float, float]]
) -> tuple[npt.NDArray[np.uint8], float]:
    """The upright grey square from the eyes to the mouth, scaled to STANDARD_EYE_DISTANCE.

    Returns the (2*STANDARD_EYE_DISTANCE)-pixel square and the photo's eye distance in pixels.
    """
    left = np.asarray(named["left_eye_center"], dtype=np.float64)
    right = np.asarray(named["right_eye_center"], dtype=np.float64)
    mouth = (
        np.asarray(named["left_mouth"], dtype=np.float64)
        + np.asarray(named["right_mouth"], dtype=np.float64)
    ) / 2.0
    distance = float(np.linalg.norm(right - left))
    side = round(2 * STANDARD_EYE_DISTANCE)
    if not math.isfinite(distance) or distance < 1.0:
        return np.zeros((side, side), dtype=np.uint8), distance
    centre = ((left + right) / 2.0 + mouth) / 2.0
    scale = STANDARD_EYE_DISTANCE / distance
    angle = math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))
    matrix = np.asarray(
        cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, scale),
        dtype=np.float64,
    )
    matrix[:, 2] += np.array([side / 2.0, side / 2.0]) - centre
    grey = np.asarray(cv2.cvtColor(as_rgb(rgb), cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    square = warp_affine(grey, matrix, (side, side), replicate_border=True, smooth_upscaling=True)
    return np.asarray(square, dtype=np.uint8), distance


def sharpness_index(square: npt.NDArray[np.uint8]) -> float:
    """1000 x var(Laplacian) / var(grey) of a standard-scale face square (see module doc)."""
    values = square.astype(np.float64)
    variance = float(values.var())
    if variance < 1e-6:
        return 0.0
    laplacian = cv2.Laplacian(values, cv2.CV_64F, ksize=1)
    return 1000.0 * float(laplacian.var()) / variance


def assess_quality(
    rgb: npt.NDArray[np.uint8],
    face: DetectedFace,
    mesh: FaceMesh | None,
    *,
    named: Mapping[str, tuple[float, float]] | None = None,
) -> QualityReport:
    """Quality of ``face`` in ``rgb``; pose is measured only with a mesh.

    ``named`` may pass named points already computed (e.g. the detector fallback); by default
    they come from the mesh, or from the detector's keypoints when there is no mesh.
    """
    if named is None:
        if mesh is not None:
            named = named_points(mesh)
        else:
            from app.engine.landmarks import points_from_detection

            named = points_from_detection(face)
    square, distance = inner_face(rgb, named)
    measures = [_eye_distance(distance), _face_size(face.size)]
    measures.append(_sharpness(sharpness_index(square)))
    pose = head_pose(mesh) if mesh is not None else None
    if pose is not None:
        measures.append(_angle("yaw", pose.yaw, YAW_OK, YAW_POOR))
        measures.append(_angle("pitch", pose.pitch, PITCH_OK, PITCH_POOR))
        measures.append(_angle("roll", pose.roll, ROLL_OK, ROLL_POOR))
    else:
        measures.append(
            QualityMeasure(
                "pose",
                None,
                "deg",
                "warn",
                "Head pose could not be measured (no face mesh); check it by eye.",
            )
        )
    measures.append(_brightness(float(square.mean())))
    clipped = float(np.count_nonzero((square <= 3) | (square >= 252))) / square.size * 100.0
    measures.append(_clipping(clipped))
    measures.append(_score(face.score))
    return QualityReport(measures=tuple(measures))


__all__ = [
    "LEVELS",
    "Level",
    "QualityMeasure",
    "QualityReport",
    "assess_quality",
    "inner_face",
    "sharpness_index",
]
