"""Feature regions of the comparison worksheet, from the face mesh.

**Sides are the subject's own**: ``right_eye`` is the subject's right eye, which appears on the
image's LEFT in a frontal, unmirrored photograph (the forensic convention, and MediaPipe's own
anatomical numbering). This differs from the landmark names of :mod:`app.engine.landmarks` and
:mod:`app.engine.align`, which name points by the side of the picture.

Each region has a polygon (the outline of the feature, in picture pixels, pixel centres at
integers) and a box around it with some margin, clipped to the picture. Eyes, brows, nose,
mouth, lips, chin, jawline, cheeks and forehead come from the mesh. The mesh does not cover the
ears or the hairline, so those are *estimated* (``estimated=True``) from the face outline, the
proportions of an average face and the head's yaw:

- ears: beside the face outline at eye level, from brow height to the base of the nose (the
  classical proportion: ear length about the nose's length), about 0.6 eye distances wide,
  wider on the side turned towards the camera and narrower on the side turned away;
- hairline: the top of the face outline moved up so that forehead height (hairline to brows)
  equals the middle third of the face (brows to the base of the nose), as a band.

Sizes use the eye distance measured in 3D on the mesh, so they do not shrink when the head turns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from app.engine.detect import as_rgb
from app.engine.landmarks import FaceMesh
from app.engine.pose import head_pose
from app.engine.warp import box_to_output, warp_affine
from app.errors import ImageError

FloatArray = npt.NDArray[np.float64]
Box = tuple[float, float, float, float]

REGION_NAMES: Final[tuple[str, ...]] = (
    "forehead",
    "hairline",
    "right_eyebrow",
    "left_eyebrow",
    "right_eye",
    "left_eye",
    "nose",
    "right_cheek",
    "left_cheek",
    "right_ear",
    "left_ear",
    "mouth",
    "lips",
    "chin",
    "jawline",
)
ESTIMATED_REGIONS: Final = frozenset({"right_ear", "left_ear", "hairline"})

# MediaPipe face-mesh indices (anatomical: "right" is the subject's right), ordered as outlines.
RIGHT_EYE: Final = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE: Final = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
RIGHT_EYE_LOWER_LID: Final = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_EYE_LOWER_LID: Final = (263, 249, 390, 373, 374, 380, 381, 382, 362)
# Upper brow line outer -> inner, then the lower line inner -> outer.
RIGHT_EYEBROW: Final = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
LEFT_EYEBROW: Final = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
RIGHT_BROW_UPPER: Final = (70, 63, 105, 66, 107)
LEFT_BROW_UPPER: Final = (300, 293, 334, 296, 336)
LIPS_OUTER: Final = (
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185,
)  # fmt: skip
NOSE: Final = (
    168, 6, 197, 195, 5, 4, 1, 19, 94, 2, 98, 97, 326, 327, 294, 278, 344, 440, 275, 45, 220,
    115, 48, 64,
)  # fmt: skip
# The face outline clockwise as seen, from the forehead top (10) over the subject's left side.
FACE_OVAL: Final = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
CHIN: Final = (84, 17, 314, 378, 400, 377, 152, 148, 176, 149)
# Lower outline from the subject's right at eye level, under the chin, to the left at eye level.
JAW_OUTLINE: Final = (
    234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288,
    361, 323, 454,
)  # fmt: skip
RIGHT_CHEEK_SIDE: Final = (48, 64, 61, 58, 132, 93, 234)  # nose side, mouth corner, outline
LEFT_CHEEK_SIDE: Final = (278, 294, 291, 288, 361, 323, 454)
# Upper face outline from the right temple over the forehead top to the left temple.
UPPER_OUTLINE: Final = (127, 162, 21, 54, 103, 67, 109, 10, 338, 297, 332, 284, 251, 389, 356)
RIGHT_TEMPLE, LEFT_TEMPLE = 234, 454  # outline points at ear level
FOREHEAD_TOP = 10
SUBNASALE = 2
RIGHT_IRIS, LEFT_IRIS = 468, 473
INNER_BROW_ENDS: Final = (107, 336)

# Average proportions, in eye distances (IED, between iris centres): adult ear length is about
# 1.0 IED (~62 mm vs ~63 mm interpupillary) and width about 0.55; the lid-to-cheek gap below the
# eye about 0.12.
EAR_WIDTH_IED: Final = 0.6
EAR_TOP_ABOVE_EYES_IED: Final = 0.35
CHEEK_BELOW_LID_IED: Final = 0.12
JAW_BAND_OUT_IED: Final = 0.12
JAW_BAND_IN_IED: Final = 0.3
HAIRLINE_BAND_IED: Final = 0.3

# Margin around a region's outline for its box, as a fraction of the outline's larger side.
BOX_PADDING: Final = 0.15
BOX_PADDING_LARGE: Final = 0.05  # jawline, forehead, hairline, cheeks: already generous


@dataclass(frozen=True, eq=False)
class FeatureRegion:
    """One worksheet feature: outline (N, 2) in picture pixels and a padded, clipped box."""

    name: str
    polygon: FloatArray
    box: Box  # x, y, width, height; inside the picture (may be empty when outside it)
    estimated: bool

    @property
    def visible(self) -> bool:
        return self.box[2] >= 1.0 and self.box[3] >= 1.0


def _face_frame(points: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, float]:
    """(origin, across, down, eye distance): origin between the irises, unit vectors in 2D."""
    right_iris, left_iris = points[RIGHT_IRIS], points[LEFT_IRIS]
    origin = (right_iris[:2] + left_iris[:2]) / 2.0
    across = left_iris[:2] - right_iris[:2]  # subject's right -> left: image left -> right
    norm = float(np.linalg.norm(across))
    across = np.array([1.0, 0.0]) if norm < 1e-6 else across / norm
    down = np.array([-across[1], across[0]])
    distance = float(np.linalg.norm(left_iris - right_iris))  # 3D: robust to yaw
    outline = points[list(FACE_OVAL), :2]
    height = float(np.linalg.norm(points[152, :2] - points[FOREHEAD_TOP, :2]))
    # A strongly turned face can shorten even the 3D eye distance; the face height is a floor.
    distance = max(distance, height / 3.2, 1.0)
    if not np.isfinite(outline).all():
        raise ImageError("The face landmarks contain a value that is not a number.")
    return origin, across, down, distance


def _hull(points: FloatArray) -> FloatArray:
    hull = cv2.convexHull(points.astype(np.float32).reshape(-1, 1, 2))
    return np.asarray(hull, dtype=np.float64).reshape(-1, 2)


def _band(line: FloatArray, centre: FloatArray, outward: float, inward: float) -> FloatArray:
    """A band along a polyline: each point moved away from and towards ``centre``."""
    directions = line - centre
    lengths = np.linalg.norm(directions, axis=1, keepdims=True)
    directions = directions / np.maximum(lengths, 1e-9)
    outer = line + directions * outward
    inner = line - directions * np.minimum(inward, lengths * 0.9)
    return np.vstack([outer, inner[::-1]])


def _box(polygon: FloatArray, padding: float, image_size: tuple[int, int]) -> Box:
    width, height = image_size
    x0, y0 = polygon.min(axis=0)
    x1, y1 = polygon.max(axis=0)
    margin = padding * max(x1 - x0, y1 - y0)
    # Pixel centres at integers: the picture spans -0.5 .. size - 0.5.
    left = min(max(x0 - margin, -0.5), width - 0.5)
    top = min(max(y0 - margin, -0.5), height - 0.5)
    right = min(max(x1 + margin, -0.5), width - 0.5)
    bottom = min(max(y1 + margin, -0.5), height - 0.5)
    return (float(left), float(top), float(right - left), float(bottom - top))


def _ear(
    points: FloatArray,
    side: int,
    across: FloatArray,
    down: FloatArray,
    distance: float,
    turn: float,
) -> FloatArray:
    """Estimated ear outline (rectangle in the face frame) beside outline point ``side``.

    ``turn``: sine of the yaw towards this ear's side (positive: the ear faces the camera more).
    """
    anchor = points[side, :2]
    outward = -across if side == RIGHT_TEMPLE else across
    brow = np.mean(points[list(RIGHT_BROW_UPPER + LEFT_BROW_UPPER), :2], axis=0)
    eyes = (points[RIGHT_IRIS, :2] + points[LEFT_IRIS, :2]) / 2.0
    top = float((brow - anchor) @ down)
    top = min(top, float((eyes - anchor) @ down) - EAR_TOP_ABOVE_EYES_IED * distance)
    bottom = float((points[SUBNASALE, :2] - anchor) @ down)
    width = EAR_WIDTH_IED * distance * float(np.clip(1.0 + 0.8 * turn, 0.3, 1.8))
    inner = -0.1 * distance
    corners = [
        anchor + outward * inner + down * top,
        anchor + outward * (inner + width) + down * top,
        anchor + outward * (inner + width) + down * bottom,
        anchor + outward * inner + down * bottom,
    ]
    return np.array(corners, dtype=np.float64)


def _hairline(
    points: FloatArray, down: FloatArray, distance: float, centre: FloatArray
) -> FloatArray:
    glabella = np.mean(points[list(INNER_BROW_ENDS), :2], axis=0)
    middle_third = float((points[SUBNASALE, :2] - glabella) @ down)
    trichion = glabella - down * middle_third
    top = points[FOREHEAD_TOP, :2]
    shift = down * float((trichion - top) @ down)  # along the face's vertical only
    arc = points[list(UPPER_OUTLINE), :2] + shift
    return _band(arc, centre, HAIRLINE_BAND_IED * distance, HAIRLINE_BAND_IED * distance)


def feature_regions(mesh: FaceMesh, image_size: tuple[int, int]) -> dict[str, FeatureRegion]:
    """Every worksheet region (REGION_NAMES) of one face; sides are the subject's own."""
    points = mesh.points.astype(np.float64)
    if not np.isfinite(points).all():
        raise ImageError("The face landmarks contain a value that is not a number.")
    origin, across, down, distance = _face_frame(points)
    xy = points[:, :2]
    oval_centre = np.mean(xy[list(FACE_OVAL)], axis=0)

    def take(indices: Sequence[int]) -> FloatArray:
        return np.asarray(xy[list(indices)], dtype=np.float64)

    lid_shift = down * CHEEK_BELOW_LID_IED * distance
    brow_top = np.vstack([take(RIGHT_BROW_UPPER), take(LEFT_BROW_UPPER)])
    brow_level = float(np.min((brow_top - origin) @ down))
    upper = take(UPPER_OUTLINE)
    above_brows = upper[(upper - origin) @ down <= brow_level]
    pose = head_pose(mesh)
    yaw = math.radians(pose.yaw) if pose is not None else 0.0
    polygons: dict[str, FloatArray] = {
        "right_eye": take(RIGHT_EYE),
        "left_eye": take(LEFT_EYE),
        "right_eyebrow": take(RIGHT_EYEBROW),
        "left_eyebrow": take(LEFT_EYEBROW),
        "nose": _hull(take(NOSE)),
        "mouth": _hull(np.vstack([take(LIPS_OUTER), take((SUBNASALE,))])),
        "lips": take(LIPS_OUTER),
        "chin": _hull(take(CHIN)),
        "jawline": _band(
            take(JAW_OUTLINE),
            oval_centre,
            JAW_BAND_OUT_IED * distance,
            JAW_BAND_IN_IED * distance,
        ),
        "right_cheek": _hull(
            np.vstack([take(RIGHT_EYE_LOWER_LID) + lid_shift, take(RIGHT_CHEEK_SIDE)])
        ),
        "left_cheek": _hull(
            np.vstack([take(LEFT_EYE_LOWER_LID) + lid_shift, take(LEFT_CHEEK_SIDE)])
        ),
        "forehead": _hull(np.vstack([brow_top, above_brows])),
        # yaw > 0 turns the face to the image's right: the subject's right ear faces the camera.
        "right_ear": _ear(points, RIGHT_TEMPLE, across, down, distance, math.sin(yaw)),
        "left_ear": _ear(points, LEFT_TEMPLE, across, down, distance, -math.sin(yaw)),
        "hairline": _hairline(points, down, distance, oval_centre),
    }
    large = {"jawline", "forehead", "hairline", "right_cheek", "left_cheek"}
    regions: dict[str, FeatureRegion] = {}
    for name in REGION_NAMES:
        polygon = polygons[name]
        padding = BOX_PADDING_LARGE if name in large else BOX_PADDING
        regions[name] = FeatureRegion(
            name=name,
            polygon=polygon,
            box=_box(polygon, padding, image_size),
            estimated=name in ESTIMATED_REGIONS,
        )
    return regions


def crop_region(
    rgb: npt.NDArray[np.uint8],
    region: FeatureRegion,
    *,
    size: tuple[int, int] = (160, 120),
    pad: float = 0.15,
) -> npt.NDArray[np.uint8]:
    """The region's box plus ``pad`` (fraction of its larger side), widened to the aspect ratio
    of ``size`` (width, height) and resampled to exactly that size, undistorted.

    Parts outside the picture are black. For the feature strip and reports.
    """
    out_w, out_h = size
    if out_w < 1 or out_h < 1:
        raise ValueError("a crop needs a size of at least 1x1")
    if pad < 0 or not math.isfinite(pad):
        raise ValueError("pad must be a non-negative number")
    image = as_rgb(rgb)
    x, y, w, h = region.box
    if not (w >= 1.0 and h >= 1.0):
        # Outside the picture: show the polygon's place as black rather than fail.
        x0, y0 = region.polygon.min(axis=0)
        x1, y1 = region.polygon.max(axis=0)
        x, y, w, h = float(x0), float(y0), float(max(x1 - x0, 1.0)), float(max(y1 - y0, 1.0))
    margin = pad * max(w, h)
    cx, cy = x + w / 2.0, y + h / 2.0
    w, h = w + 2 * margin, h + 2 * margin
    if w / h < out_w / out_h:
        w = h * out_w / out_h
    else:
        h = w * out_h / out_w
    matrix = box_to_output(cx - w / 2.0, cy - h / 2.0, w, h, (out_w, out_h))
    return warp_affine(image, matrix, (out_w, out_h))


__all__ = [
    "ESTIMATED_REGIONS",
    "REGION_NAMES",
    "FeatureRegion",
    "crop_region",
    "feature_regions",
]
