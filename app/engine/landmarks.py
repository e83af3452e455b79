"""Facial landmarks: MediaPipe's 478-point face mesh around one detected face.

The mesh is computed on a square crop around the chosen face (its detection box enlarged), so
that when a picture shows several people the mesh belongs to the face the examiner picked; the
points are mapped back to the whole picture's pixel coordinates.

Coordinates: pixels of the whole picture with pixel centres at integers (the top-left pixel's
centre is (0, 0)), as in :mod:`app.engine.align`. ``z`` is MediaPipe's relative depth in the same
pixel scale as x (smaller is nearer the camera; the head's centre is about 0).

Names of points: "left" and "right" are the sides of the picture as it is seen, for an upright
face that looks at the camera. MediaPipe numbers its mesh anatomically (its "right eye" is the
subject's right eye, which appears on the image's left), so ``left_eye_outer`` below is mesh
point 33, the subject's right outer eye corner. The indices are MediaPipe's canonical face-mesh
numbering (``face_mesh_connections`` in the mediapipe package; the iris centres 468 and 473 exist
only with ``refine_landmarks=True``).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from app.engine.detect import DetectedFace, as_rgb
from app.engine.warp import warp_affine
from app.errors import ImageError

log = logging.getLogger(__name__)

Point = tuple[float, float]
MeshArray = npt.NDArray[np.float32]

MESH_POINT_COUNT: Final = 478

# Named points (image sides, see the module docstring) -> MediaPipe face-mesh index.
NAMED_MESH_INDEX: Final[Mapping[str, int]] = {
    "left_eye_outer": 33,  # subject's right eye, lateral canthus
    "left_eye_inner": 133,  # subject's right eye, medial canthus
    "right_eye_inner": 362,  # subject's left eye, medial canthus
    "right_eye_outer": 263,  # subject's left eye, lateral canthus
    "nose_base": 2,  # subnasale: middle of the nose's base line (98-97-2-326-327)
    "left_eye_center": 468,  # iris centre (refined landmarks), subject's right eye
    "right_eye_center": 473,  # iris centre (refined landmarks), subject's left eye
    "nose_tip": 1,  # pronasale
    "left_mouth": 61,  # mouth corner (cheilion), subject's right
    "right_mouth": 291,  # mouth corner (cheilion), subject's left
}
POINT_NAMES: Final[tuple[str, ...]] = tuple(NAMED_MESH_INDEX)

# The crop given to the mesh model: the detection box's longer side times this, square, centred
# on the box. MediaPipe's own face mesh works on a region about 1.5x the face; 2x leaves room for
# its internal short-range detector, which needs some context around the face.
CROP_FACTORS: Final[tuple[float, ...]] = (2.0, 2.8, 1.5)
# The crop is resized to this many pixels a side: the mesh model sees 192x192 of the face and the
# internal detector 128x128, so more would only cost time.
CROP_SIDE: Final = 320
# A mesh belongs to the chosen face when its eyes lie within this fraction of the detection
# box's size from the detector's eye keypoints.
MAX_EYE_OFFSET: Final = 0.35


@dataclass(frozen=True, eq=False)
class FaceMesh:
    """478 landmarks (x, y, z) in whole-picture pixels, float32 (478, 3)."""

    points: MeshArray
    image_size: tuple[int, int]  # (width, height)

    def __post_init__(self) -> None:
        if self.points.shape != (MESH_POINT_COUNT, 3) or self.points.dtype != np.float32:
            raise ValueError("a face mesh holds 478 float32 (x, y, z) points")

    @property
    def xy(self) -> npt.NDArray[np.float32]:
        return self.points[:, :2]

    def point(self, index: int) -> Point:
        x, y = self.points[index, :2]
        return (float(x), float(y))

    def to_dict(self) -> dict[str, Any]:
        return {
            "image_size": list(self.image_size),
            "points": [[round(float(v), 3) for v in p] for p in self.points],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaceMesh:
        width, height = (int(v) for v in data["image_size"])
        points = np.asarray(data["points"], dtype=np.float32).reshape(MESH_POINT_COUNT, 3)
        return cls(points=points, image_size=(width, height))


class FaceMesher:
    """MediaPipe face mesh (static images, refined eyes and lips: 478 points), built once.

    Calls are serialised by a lock; for parallel work create one instance per thread.
    """

    def __init__(self) -> None:
        from mediapipe.python.solutions import face_mesh  # heavy import, done once here

        # Two faces at most: the chosen one, plus a neighbour that may reach into the crop.
        self._graph = face_mesh.FaceMesh(
            static_image_mode=True,
            max_num_faces=2,
            refine_landmarks=True,
            min_detection_confidence=0.4,
        )
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._graph.close()

    def __enter__(self) -> FaceMesher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def mesh(self, rgb: npt.NDArray[Any], face: DetectedFace) -> FaceMesh | None:
        """The mesh of ``face`` in ``rgb``, or None when the mesh model cannot fit it."""
        image = as_rgb(rgb)
        height, width = image.shape[:2]
        w, h = face.box[2], face.box[3]
        if not (w > 0 and h > 0 and all(math.isfinite(v) for v in face.box)):
            raise ImageError("The face box is empty; the face cannot be measured.")
        for factor in CROP_FACTORS:
            crop, to_image = _square_crop(image, face, factor)
            with self._lock:
                try:
                    output = self._graph.process(crop)
                except Exception as error:  # MediaPipe raises RuntimeError/ValueError
                    raise ImageError(f"Face landmarking failed ({error}).") from error
            candidates = output.multi_face_landmarks or []
            best = _closest_to_face(candidates, crop.shape[1], to_image, face)
            if best is not None:
                return FaceMesh(points=best, image_size=(width, height))
        log.info("no face mesh for the face at %s", face.box)
        return None


def _square_crop(
    image: npt.NDArray[np.uint8], face: DetectedFace, factor: float
) -> tuple[npt.NDArray[np.uint8], tuple[float, float, float]]:
    """A CROP_SIDE square around the face; and (scale, ox, oy): picture = crop * scale + o.

    Parts outside the picture are black, as in MediaPipe's own region-of-interest crops.
    """
    x, y, w, h = face.box
    side = max(max(w, h) * factor, 2.0)
    scale = side / CROP_SIDE  # picture pixels per crop pixel
    ox = x + w / 2.0 - side / 2.0 + 0.5 * scale - 0.5  # picture position of crop pixel (0, 0)
    oy = y + h / 2.0 - side / 2.0 + 0.5 * scale - 0.5
    to_crop = np.array([[1.0 / scale, 0.0, -ox / scale], [0.0, 1.0 / scale, -oy / scale]])
    crop = warp_affine(image, to_crop, (CROP_SIDE, CROP_SIDE))
    return crop, (scale, ox, oy)


def _closest_to_face(
    candidates: Sequence[Any],
    crop_side: int,
    to_image: tuple[float, float, float],
    face: DetectedFace,
) -> MeshArray | None:
    scale, ox, oy = to_image
    best: MeshArray | None = None
    best_offset = math.inf
    eyes = np.array([face.keypoints["left_eye_center"], face.keypoints["right_eye_center"]])
    limit = MAX_EYE_OFFSET * max(face.box[2], face.box[3])
    for candidate in candidates:
        landmarks = candidate.landmark
        if len(landmarks) < MESH_POINT_COUNT:
            continue
        raw = np.array([(p.x, p.y, p.z) for p in landmarks[:MESH_POINT_COUNT]], dtype=np.float64)
        # Normalised [0, 1] edge coordinates -> crop pixel centres -> picture pixels.
        points = np.empty_like(raw)
        points[:, 0] = (raw[:, 0] * crop_side - 0.5) * scale + ox
        points[:, 1] = (raw[:, 1] * crop_side - 0.5) * scale + oy
        points[:, 2] = raw[:, 2] * crop_side * scale
        if not np.isfinite(points).all():
            continue
        mesh_eyes = points[
            [NAMED_MESH_INDEX["left_eye_center"], NAMED_MESH_INDEX["right_eye_center"]], :2
        ]
        offset = float(np.linalg.norm(mesh_eyes - eyes, axis=1).max())
        if offset < best_offset:
            best, best_offset = points.astype(np.float32), offset
    if best is None or best_offset > limit:
        return None
    return best


def named_points(mesh: FaceMesh) -> dict[str, Point]:
    """The named points (see POINT_NAMES) of a mesh, in picture pixels."""
    return {name: mesh.point(index) for name, index in NAMED_MESH_INDEX.items()}


# Where the other named points lie relative to BlazeFace's keypoints: offsets from the anchor
# keypoint along u (from the image-left to the image-right eye) and v (perpendicular, downwards),
# in units of the detector's eye distance. Medians over the mesh points of the first 300 LFW
# images (bench/face_detection.py fallback-offsets; spread 0.04-0.12), averaged over the two
# sides so that a mirrored face gets mirrored points.
_FALLBACK_OFFSETS: Final[Mapping[str, tuple[str, float, float]]] = {
    "left_eye_outer": ("left_eye_center", -0.165, -0.04),
    "left_eye_inner": ("left_eye_center", 0.23, -0.02),
    "right_eye_inner": ("right_eye_center", -0.23, -0.02),
    "right_eye_outer": ("right_eye_center", 0.165, -0.04),
    "nose_base": ("nose_tip", 0.0, 0.12),
    "left_mouth": ("mouth_center", -0.39, -0.08),
    "right_mouth": ("mouth_center", 0.39, -0.08),
}


def points_from_detection(face: DetectedFace) -> dict[str, Point]:
    """Every named point from the detector alone, for a face whose mesh failed (warn the user).

    Eye centres and nose tip are BlazeFace's own keypoints; eye corners, nose base and mouth
    corners are estimated from them with average face proportions, so they are less exact,
    especially for faces turned away from the camera.
    """
    keys = face.keypoints
    left_eye = np.asarray(keys["left_eye_center"], dtype=np.float64)
    right_eye = np.asarray(keys["right_eye_center"], dtype=np.float64)
    across = right_eye - left_eye
    distance = float(np.linalg.norm(across))
    if not math.isfinite(distance) or distance < 1e-6:
        raise ImageError("The detector put both eyes in the same place; the face cannot be used.")
    u = across / distance
    v = np.array([-u[1], u[0]])
    points: dict[str, Point] = {
        "left_eye_center": (float(left_eye[0]), float(left_eye[1])),
        "right_eye_center": (float(right_eye[0]), float(right_eye[1])),
        "nose_tip": (float(keys["nose_tip"][0]), float(keys["nose_tip"][1])),
    }
    for name, (anchor, du, dv) in _FALLBACK_OFFSETS.items():
        origin = np.asarray(keys[anchor], dtype=np.float64)
        x, y = origin + distance * (du * u + dv * v)
        points[name] = (float(x), float(y))
    return {name: points[name] for name in POINT_NAMES}


def five_points(named: Mapping[str, Point], names: Sequence[str]) -> npt.NDArray[np.float64]:
    """The (5, 2) points in the order a model's alignment asks for; ImageError when one lacks."""
    if len(names) != 5:
        raise ValueError("an alignment uses exactly five points")
    missing = [n for n in names if n not in named]
    if missing:
        raise ImageError(
            "The face's landmarks do not include "
            + ", ".join(n.replace("_", " ") for n in missing)
            + ", which this model needs to align the face."
        )
    return np.array([named[n] for n in names], dtype=np.float64).reshape(5, 2)


__all__ = [
    "MESH_POINT_COUNT",
    "NAMED_MESH_INDEX",
    "POINT_NAMES",
    "FaceMesh",
    "FaceMesher",
    "five_points",
    "named_points",
    "points_from_detection",
]
