"""Face alignment: five named landmarks -> the embedding model's chip.

An embedding model is trained on chips cut the same way every time: a similarity transform
(rotation, uniform scale, translation; never a reflection) takes five facial points of the photo
to five fixed points of the chip (the model's *template*). The model manifest names the five
points (from :data:`POINT_NAMES`) and gives the template in chip pixels; the face pipeline
supplies the photo's points in that order.

Coordinates: pixel centres at integers, as in OpenCV (the centre of the top-left pixel is (0, 0)).
"Left" and "right" mean the sides of the picture as it is seen, not the subject's own sides.

Two methods:

``similarity``
    the least-squares similarity from the photo's points to the template (the usual way for
    ArcFace-type models), bilinear sampling, rounding to the nearest integer.
``dlib_chip``
    what ``dlib.get_face_chip`` / ``extract_image_chip(img, get_face_chip_details(...))`` does,
    reproduced so that descriptors match dlib's own: the least-squares fit runs from the template
    to the photo's points, the chip is sampled from the rotated rectangle whose corner pixels map
    to the chip's corner pixels, and the bilinear value is truncated, not rounded.

Both shrink the photo by halves first (Gaussian pyramid) when the face is more than twice the chip
size, so that bilinear sampling does not alias.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from app.errors import ImageError, ModelError

FloatArray = npt.NDArray[np.float64]
Chip = npt.NDArray[np.uint8]

POINT_NAMES: tuple[str, ...] = (
    "left_eye_outer",
    "left_eye_inner",
    "right_eye_inner",
    "right_eye_outer",
    "nose_base",
    "left_eye_center",
    "right_eye_center",
    "nose_tip",
    "left_mouth",
    "right_mouth",
)
AlignMethod = Literal["similarity", "dlib_chip"]
ALIGN_METHODS: tuple[str, ...] = ("similarity", "dlib_chip")


@dataclass(frozen=True)
class AlignmentSpec:
    """How a model wants its chips: which five points go where, and the chip size."""

    points: tuple[str, ...]
    template: tuple[tuple[float, float], ...]
    chip_size: tuple[int, int]  # (width, height)
    method: AlignMethod = "similarity"

    def __post_init__(self) -> None:
        if len(self.points) != 5 or len(set(self.points)) != 5:
            raise ModelError("An alignment needs five different landmark names.")
        unknown = [p for p in self.points if p not in POINT_NAMES]
        if unknown:
            raise ModelError(
                f"Unknown landmark name(s) {', '.join(unknown)}; "
                f"known names: {', '.join(POINT_NAMES)}."
            )
        if len(self.template) != 5 or any(len(xy) != 2 for xy in self.template):
            raise ModelError("An alignment template needs five [x, y] points.")
        if not all(math.isfinite(v) for xy in self.template for v in xy):
            raise ModelError("An alignment template has a point that is not a number.")
        width, height = self.chip_size
        if not (8 <= width <= 4096 and 8 <= height <= 4096):
            raise ModelError(f"The chip size {width}x{height} is not plausible.")
        if self.method not in ALIGN_METHODS:
            raise ModelError(
                f"Unknown alignment method '{self.method}'; use one of {', '.join(ALIGN_METHODS)}."
            )
        spread = self.template_array().std(axis=0)
        if float(spread.max()) < 1.0:
            raise ModelError("The alignment template's points are all in the same place.")

    def template_array(self) -> FloatArray:
        return np.asarray(self.template, dtype=np.float64).reshape(5, 2)


def _as_points(points: npt.ArrayLike, what: str) -> FloatArray:
    array = np.asarray(points, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2 or array.shape[0] < 2:
        raise ImageError(f"The {what} must be a list of at least two (x, y) points.")
    if not np.isfinite(array).all():
        raise ImageError(f"The {what} contain a value that is not a number.")
    return array


def similarity_transform(src: npt.ArrayLike, dst: npt.ArrayLike) -> FloatArray:
    """The 2x3 similarity matrix that best maps ``src`` points onto ``dst`` (least squares).

    Umeyama's closed form: rotation, uniform scale and translation, never a reflection.
    """
    s = _as_points(src, "source points")
    d = _as_points(dst, "destination points")
    if s.shape != d.shape:
        raise ImageError("The source and destination point lists differ in length.")
    s_mean, d_mean = s.mean(axis=0), d.mean(axis=0)
    s_c, d_c = s - s_mean, d - d_mean
    s_var = float((s_c**2).sum()) / len(s)
    if s_var < 1e-12:
        raise ImageError(
            "The face landmarks are all in the same place; the face cannot be aligned."
        )
    covariance = d_c.T @ s_c / len(s)
    u, sigma, vt = np.linalg.svd(covariance)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1.0  # the best orthogonal map would reflect: take the best rotation instead
    rotation = u @ np.diag(sign) @ vt
    scale = float((sigma * sign).sum()) / s_var
    translation = d_mean - scale * rotation @ s_mean
    return np.hstack([scale * rotation, translation[:, None]])


def _invert(matrix: FloatArray) -> FloatArray:
    # Closed form: np.linalg.inv goes through threaded OpenBLAS, which costs milliseconds per
    # 2x2 matrix when the cores are busy.
    (a, b), (c, d) = matrix[:, :2]
    det = a * d - b * c
    if det == 0 or not math.isfinite(det):
        raise ImageError("The face landmarks are degenerate; the face cannot be aligned.")
    inverse = np.array([[d, -b], [-c, a]], dtype=np.float64) / det
    return np.hstack([inverse, (-inverse @ matrix[:, 2])[:, None]])


def image_to_chip_matrix(points: npt.ArrayLike, alignment: AlignmentSpec) -> FloatArray:
    """The 2x3 affine matrix taking photo coordinates to chip coordinates for these points."""
    photo = _as_points(points, "face landmarks")
    if photo.shape != (5, 2):
        raise ImageError("Five face landmarks are needed to align a face.")
    template = alignment.template_array()
    if alignment.method == "similarity":
        return similarity_transform(photo, template)
    # dlib_chip: dlib's template lives in coordinates where pixel centres sit at +0.5.
    chip_to_photo = similarity_transform(template + 0.5, photo)
    width, height = alignment.chip_size
    scale = math.hypot(chip_to_photo[0, 0], chip_to_photo[1, 0])
    if scale <= 0:
        raise ImageError("The face landmarks are degenerate; the face cannot be aligned.")
    rotation = chip_to_photo[:, :2] / scale
    centre = chip_to_photo @ np.array([width / 2.0, height / 2.0, 1.0])
    # dlib samples the rectangle of size (w*scale - 1, h*scale - 1) centred there, with the
    # chip's corner pixels on the rectangle's corners.
    stretch = np.diag([(width * scale - 1) / (width - 1), (height * scale - 1) / (height - 1)])
    linear = rotation @ stretch
    offset = centre - linear @ np.array([(width - 1) / 2.0, (height - 1) / 2.0])
    return _invert(np.hstack([linear, offset[:, None]]))


def align_chip(rgb: npt.NDArray[np.uint8], points: npt.ArrayLike, alignment: AlignmentSpec) -> Chip:
    """Cut the aligned face chip (uint8 RGB, chip_size) from an RGB photo.

    ``points`` are the photo's five landmarks in the order of ``alignment.points``.
    Parts of the chip outside the photo are black.
    """
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3:
        raise ImageError("Alignment needs an 8-bit RGB image.")
    if rgb.shape[2] != 3 or rgb.shape[0] < 2 or rgb.shape[1] < 2:
        raise ImageError("Alignment needs an 8-bit RGB image with three channels.")
    matrix = image_to_chip_matrix(points, alignment)
    width, height = alignment.chip_size

    # Only the part of the photo the chip can see is converted and filtered.
    chip_to_photo = _invert(matrix)
    corners = np.array(
        [[0, 0, 1], [width - 1, 0, 1], [0, height - 1, 1], [width - 1, height - 1, 1]]
    )
    seen = corners @ chip_to_photo.T
    photo_per_chip = 1.0 / math.sqrt(abs(np.linalg.det(matrix[:, :2])))
    levels = 0
    while photo_per_chip / 2 ** (levels + 1) > 1.0 + 1e-9 and levels < 8:
        levels += 1  # each pyramid level halves the photo while the chip stays smaller
    margin = 4 * 2**levels + 2
    x0 = max(math.floor(seen[:, 0].min()) - margin, 0)
    y0 = max(math.floor(seen[:, 1].min()) - margin, 0)
    x1 = min(math.ceil(seen[:, 0].max()) + margin + 1, rgb.shape[1])
    y1 = min(math.ceil(seen[:, 1].max()) + margin + 1, rgb.shape[0])
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.zeros((height, width, 3), dtype=np.uint8)  # the face lies outside the photo
    crop: npt.NDArray[np.float32] = rgb[y0:y1, x0:x1].astype(np.float32)
    matrix = matrix.copy()
    matrix[:, 2] += matrix[:, :2] @ np.array([x0, y0], dtype=np.float64)
    dlib_style = alignment.method == "dlib_chip"
    done = 0
    for _ in range(levels):
        if min(crop.shape[:2]) < 8:
            break
        crop = np.asarray(cv2.pyrDown(crop), dtype=np.float32)  # pixel i is on input pixel 2i
        if dlib_style:
            crop = np.floor(crop)  # dlib keeps 8-bit pyramid levels, truncating
        matrix[:, :2] *= 2.0
        done += 1
    if dlib_style and done:
        # dlib's pyramid puts level pixel i on input pixel 2i+2 but maps points as if it were
        # at 2i+2.5 (columns) and 2i+1.5 (rows): its chip is sampled that far off. Same here.
        shift = _dlib_pyramid_shift(done)
        matrix[:, 2] -= matrix[:, :2] @ (shift / 2.0**done)
    warped = cv2.warpAffine(
        crop,
        matrix,
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0.0, 0.0, 0.0),
    )
    if dlib_style:
        warped = np.floor(warped)
        # dlib leaves a chip pixel black unless all four of its bilinear neighbours are inside.
        cols, rows = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height))
        xs = chip_to_photo[0, 0] * cols + chip_to_photo[0, 1] * rows + chip_to_photo[0, 2]
        ys = chip_to_photo[1, 0] * cols + chip_to_photo[1, 1] * rows + chip_to_photo[1, 2]
        inside = (xs >= 0) & (xs < rgb.shape[1] - 1) & (ys >= 0) & (ys < rgb.shape[0] - 1)
        warped[~inside] = 0
    else:
        warped = np.rint(warped)
    return np.clip(warped, 0, 255).astype(np.uint8)


def _dlib_pyramid_shift(levels: int) -> FloatArray:
    """Where dlib's chip samples after ``levels`` pyramid levels, minus where it means to."""
    claimed = np.zeros(2)  # dlib's point_down: p/2 - (1.25, 0.75) per level
    for _ in range(levels):
        claimed = claimed / 2.0 - np.array([1.25, 0.75])
    actual = claimed  # the content of level pixel q is at input pixel 2q + 2 per level
    for _ in range(levels):
        actual = 2.0 * actual + 2.0
    return actual


# dlib's 5-point face template (get_face_chip_details, interpolation.h): the landmark predictor's
# points 0-4 are the image-right eye's outer and inner corners, the image-left eye's outer and
# inner corners, and the base of the nose, on a unit square of dlib's mean face.
_DLIB_MEAN_FACE_5 = {
    "right_eye_outer": (0.8595674595992, 0.2134981538014),
    "right_eye_inner": (0.6460604764104, 0.2289674387677),
    "left_eye_outer": (0.1205750620789, 0.2137274526848),
    "left_eye_inner": (0.3340850613712, 0.2290642403242),
    "nose_base": (0.4901123135679, 0.6277975316475),
}
DLIB_5_POINT_ORDER: tuple[str, ...] = (
    "right_eye_outer",
    "right_eye_inner",
    "left_eye_outer",
    "left_eye_inner",
    "nose_base",
)


def dlib_template(size: int = 150, padding: float = 0.25) -> AlignmentSpec:
    """The alignment of ``dlib.get_face_chip(img, shape5, size, padding)`` as an AlignmentSpec.

    Points in the order left_eye_outer, left_eye_inner, right_eye_inner, right_eye_outer,
    nose_base; template in this module's pixel-centre coordinates (dlib's minus half a pixel).
    """
    names = ("left_eye_outer", "left_eye_inner", "right_eye_inner", "right_eye_outer", "nose_base")
    template = tuple(
        (
            round((padding + _DLIB_MEAN_FACE_5[n][0]) / (2 * padding + 1) * size - 0.5, 9),
            round((padding + _DLIB_MEAN_FACE_5[n][1]) / (2 * padding + 1) * size - 0.5, 9),
        )
        for n in names
    )
    return AlignmentSpec(
        points=names, template=template, chip_size=(size, size), method="dlib_chip"
    )


# The usual five-point template of ArcFace-type 112x112 models (eye centres, nose tip, mouth
# corners), in pixel-centre coordinates.
ARCFACE_112_TEMPLATE: tuple[tuple[float, float], ...] = (
    (38.2946, 51.6963),
    (73.5318, 51.5014),
    (56.0252, 71.7366),
    (41.5493, 92.3655),
    (70.7299, 92.2041),
)
ARCFACE_112_POINTS: tuple[str, ...] = (
    "left_eye_center",
    "right_eye_center",
    "nose_tip",
    "left_mouth",
    "right_mouth",
)


__all__ = [
    "ALIGN_METHODS",
    "ARCFACE_112_POINTS",
    "ARCFACE_112_TEMPLATE",
    "DLIB_5_POINT_ORDER",
    "POINT_NAMES",
    "AlignmentSpec",
    "align_chip",
    "dlib_template",
    "image_to_chip_matrix",
    "similarity_transform",
]
