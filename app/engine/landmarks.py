"""Facial landmarks: MediaPipe's 478-point face mesh around one detected face.

The mesh belongs to the face the examiner picked, even when the picture shows several people:
MediaPipe's landmark model (the ``FaceLandmarkCpu`` graph inside the wheel, with attention, which
gives the refined eyes and lips) is given that face's region of interest directly, computed from
its detection the way MediaPipe's own face mesh computes it from its detector (the box's longer
side times 1.5, square, turned so that the eyes are level). Only when that fails, e.g. for a box
that does not hug the face, does the mesher fall back to MediaPipe's complete face mesh (its own
detector, then landmarks) on square crops around the face. Points are mapped back to the whole
picture's pixel coordinates either way.

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

# The landmark model's region of interest: the detection box's longer side times this, as in
# MediaPipe's own face mesh (face_detection_front_detection_to_roi).
ROI_SCALE: Final = 1.5
# The part of the picture handed to the landmark graph with that region: this many times the
# box's longer side, so that the region, even turned by 45 degrees (half-diagonal 1.06), fits.
ROI_WINDOW_FACTOR: Final = 2.2
# The fallback's crops given to the complete face mesh: the detection box's longer side times
# these, square, centred on the box. 2x leaves room for the complete mesh's own short-range
# detector, which needs some context around the face.
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


# One node: MediaPipe's registered landmark subgraph, fed an image and a region of interest.
_ROI_GRAPH: Final = """
input_stream: "image"
input_stream: "roi"
input_side_packet: "with_attention"
output_stream: "face_landmarks"
node {
  calculator: "FaceLandmarkCpu"
  input_stream: "IMAGE:image"
  input_stream: "ROI:roi"
  input_side_packet: "WITH_ATTENTION:with_attention"
  output_stream: "LANDMARKS:face_landmarks"
}
"""


class FaceMesher:
    """MediaPipe face mesh (refined eyes and lips: 478 points) for a detected face, built once.

    Calls are serialised by a lock; for parallel work create one instance per thread.
    """

    def __init__(self) -> None:
        from mediapipe.python.solution_base import SolutionBase  # heavy import, done once here

        self._roi_graph = SolutionBase(
            graph_config=_ROI_GRAPH,
            side_inputs={"with_attention": True},
            outputs=["face_landmarks"],
        )
        self._full_graph: Any = None  # the fallback, built when first needed
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._roi_graph.close()
            if self._full_graph is not None:
                self._full_graph.close()

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
        points = self._mesh_in_roi(image, face)
        if points is not None:
            return FaceMesh(points=points, image_size=(width, height))
        for factor in CROP_FACTORS:
            crop, to_image = _square_crop(image, face, factor)
            with self._lock:
                graph = self._complete_mesh_graph()
                try:
                    output = graph.process(crop)
                except Exception as error:  # MediaPipe raises RuntimeError/ValueError
                    raise ImageError(f"Face landmarking failed ({error}).") from error
            candidates = output.multi_face_landmarks or []
            best = _closest_to_face(candidates, crop.shape[1], to_image, face)
            if best is not None:
                return FaceMesh(points=best, image_size=(width, height))
        log.info("no face mesh for the face at %s", face.box)
        return None

    def _mesh_in_roi(self, image: npt.NDArray[np.uint8], face: DetectedFace) -> MeshArray | None:
        """The landmark model on the face's own region of interest (no second detector)."""
        from mediapipe.framework.formats import rect_pb2

        window, (wx0, wy0) = _window_around(image, face)
        wh, ww = window.shape[:2]
        x, y, w, h = face.box
        left = face.keypoints["left_eye_center"]
        right = face.keypoints["right_eye_center"]
        # MediaPipe's landmark graph maps its normalised coordinates to pixel centres at
        # integers, like the engine (measured: upscaled pictures give the same mesh only so).
        roi = rect_pb2.NormalizedRect(
            x_center=(x + w / 2.0 - wx0) / ww,
            y_center=(y + h / 2.0 - wy0) / wh,
            width=ROI_SCALE * max(w, h) / ww,
            height=ROI_SCALE * max(w, h) / wh,
            rotation=math.atan2(right[1] - left[1], right[0] - left[0]),
        )
        with self._lock:
            try:
                output = self._roi_graph.process({"image": window, "roi": roi})
            except Exception as error:  # MediaPipe raises RuntimeError/ValueError
                raise ImageError(f"Face landmarking failed ({error}).") from error
        landmarks = output.face_landmarks
        if landmarks is None or len(landmarks.landmark) < MESH_POINT_COUNT:
            return None  # the model saw no face in the region
        points = _in_picture(landmarks.landmark, (ww, wh), (wx0, wy0))
        if not np.isfinite(points).all() or _eye_offset(points, face) > _eye_limit(face):
            return None
        return points.astype(np.float32)

    def _complete_mesh_graph(self) -> Any:
        if self._full_graph is None:
            from mediapipe.python.solutions import face_mesh

            # Two faces at most: the chosen one, plus a neighbour that may reach into the crop.
            self._full_graph = face_mesh.FaceMesh(
                static_image_mode=True,
                max_num_faces=2,
                refine_landmarks=True,
                min_detection_confidence=0.4,
            )
        return self._full_graph


def _window_around(
    image: npt.NDArray[np.uint8], face: DetectedFace
) -> tuple[npt.NDArray[np.uint8], tuple[int, int]]:
    """The part of the picture around the face that the region of interest can reach, and its
    top-left pixel: handing MediaPipe a few hundred pixels instead of a large photo saves a copy."""
    height, width = image.shape[:2]
    x, y, w, h = face.box
    half = ROI_WINDOW_FACTOR * max(w, h) / 2.0
    cx, cy = x + w / 2.0, y + h / 2.0
    x0 = min(max(math.floor(cx - half), 0), width - 1)
    y0 = min(max(math.floor(cy - half), 0), height - 1)
    x1 = max(min(math.ceil(cx + half) + 1, width), x0 + 1)
    y1 = max(min(math.ceil(cy + half) + 1, height), y0 + 1)
    return np.ascontiguousarray(image[y0:y1, x0:x1]), (x0, y0)


def _eye_offset(points: npt.NDArray[np.float64], face: DetectedFace) -> float:
    """How far (pixels) the mesh's iris centres lie from the detector's eye keypoints."""
    eyes = np.array([face.keypoints["left_eye_center"], face.keypoints["right_eye_center"]])
    mesh_eyes = points[
        [NAMED_MESH_INDEX["left_eye_center"], NAMED_MESH_INDEX["right_eye_center"]], :2
    ]
    return float(np.linalg.norm(mesh_eyes - eyes, axis=1).max())


def _eye_limit(face: DetectedFace) -> float:
    return MAX_EYE_OFFSET * max(face.box[2], face.box[3])


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


def _in_picture(
    landmarks: Sequence[Any], size: tuple[float, float], origin: tuple[float, float]
) -> npt.NDArray[np.float64]:
    """MediaPipe's normalised landmarks of an image of ``size`` picture pixels whose pixel (0, 0)
    lies at ``origin`` -> picture pixels (centres at integers, as MediaPipe's own coordinates:
    see _mesh_in_roi); depth is scaled like x."""
    raw = np.array([(p.x, p.y, p.z) for p in landmarks[:MESH_POINT_COUNT]], dtype=np.float64)
    width, height = size
    scaled = raw * np.array([width, height, width]) + np.array([origin[0], origin[1], 0.0])
    return np.asarray(scaled, dtype=np.float64)


def _closest_to_face(
    candidates: Sequence[Any],
    crop_side: int,
    to_image: tuple[float, float, float],
    face: DetectedFace,
) -> MeshArray | None:
    scale, ox, oy = to_image
    best: MeshArray | None = None
    best_offset = math.inf
    for candidate in candidates:
        landmarks = candidate.landmark
        if len(landmarks) < MESH_POINT_COUNT:
            continue
        side = crop_side * scale  # the crop's side in picture pixels
        points = _in_picture(landmarks, (side, side), (ox, oy))
        if not np.isfinite(points).all():
            continue
        offset = _eye_offset(points, face)
        if offset < best_offset:
            best, best_offset = points.astype(np.float32), offset
    if best is None or best_offset > _eye_limit(face):
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
