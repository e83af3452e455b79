"""Resample part of a picture through an affine map, touching only the part that is needed.

Used for the mesh's face crop, the quality module's standard face square and the feature crops.
Coordinates have pixel centres at integers. When the map shrinks the picture by more than half,
the needed window is first shrunk by area averaging, so the result is not aliased.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def warp_affine(
    image: npt.NDArray[np.uint8],
    matrix: npt.ArrayLike,
    size: tuple[int, int],
    *,
    replicate_border: bool = False,
    smooth_upscaling: bool = False,
) -> npt.NDArray[np.uint8]:
    """``image`` resampled so that picture point p lands on ``matrix @ [p, 1]`` of the output.

    ``size`` is (width, height) of the output; outside the picture is black, or the nearest
    edge pixel with ``replicate_border``. Sampling is bilinear; ``smooth_upscaling`` uses
    bicubic sampling where the map enlarges, so that the result has no kinks between the
    source pixels (bilinear enlargement shows them to a Laplacian as false detail).
    """
    to_output = np.asarray(matrix, dtype=np.float64).reshape(2, 3)
    out_w, out_h = size
    full = np.vstack([to_output, [0.0, 0.0, 1.0]])
    # cv2's closed form: np.linalg.inv goes through threaded OpenBLAS, which costs milliseconds
    # per call when the cores are busy. A singular map still raises as before.
    singular = float(np.linalg.det(to_output[:, :2])) == 0.0
    to_picture = (
        np.linalg.inv(full)
        if singular
        else np.vstack([cv2.invertAffineTransform(to_output), [0.0, 0.0, 1.0]])
    )
    corners = np.array(
        [
            [-0.5, -0.5, 1],
            [out_w - 0.5, -0.5, 1],
            [-0.5, out_h - 0.5, 1],
            [out_w - 0.5, out_h - 0.5, 1],
        ]
    )
    seen = (corners @ to_picture.T)[:, :2]
    # Output pixels per picture pixel (geometric mean of the two axes).
    scale = math.sqrt(abs(float(np.linalg.det(to_output[:, :2]))))
    margin = 2 + (2.0 / scale if scale < 1.0 else 0.0)
    height, width = image.shape[:2]
    x0 = max(math.floor(float(seen[:, 0].min()) - margin), 0)
    y0 = max(math.floor(float(seen[:, 1].min()) - margin), 0)
    x1 = min(math.ceil(float(seen[:, 0].max()) + margin) + 1, width)
    y1 = min(math.ceil(float(seen[:, 1].max()) + margin) + 1, height)
    channels = image.shape[2:] if image.ndim == 3 else ()
    if x1 - x0 < 1 or y1 - y0 < 1:
        if not replicate_border:
            return np.zeros((out_h, out_w, *channels), dtype=np.uint8)
        x0, y0 = min(max(x0, 0), width - 1), min(max(y0, 0), height - 1)
        x1, y1 = x0 + 1, y0 + 1
    window: npt.NDArray[np.uint8] = image[y0:y1, x0:x1]
    # window pixel q -> picture q + (x0, y0)
    shifted = to_output @ np.array([[1.0, 0.0, x0], [0.0, 1.0, y0], [0.0, 0.0, 1.0]])
    if scale < 0.5:
        factor = 0.5 / scale  # shrink so the remaining step halves at most
        new_w = max(1, round(window.shape[1] / factor))
        new_h = max(1, round(window.shape[0] / factor))
        fx, fy = window.shape[1] / new_w, window.shape[0] / new_h
        window = np.asarray(
            cv2.resize(window, (new_w, new_h), interpolation=cv2.INTER_AREA), dtype=np.uint8
        )
        # shrunk pixel s -> window (s + 0.5) * f - 0.5
        shifted = shifted @ np.array(
            [[fx, 0.0, 0.5 * fx - 0.5], [0.0, fy, 0.5 * fy - 0.5], [0, 0, 1]]
        )
    border = cv2.BORDER_REPLICATE if replicate_border else cv2.BORDER_CONSTANT
    result = cv2.warpAffine(
        np.ascontiguousarray(window),
        shifted,
        (out_w, out_h),
        flags=cv2.INTER_CUBIC if smooth_upscaling and scale > 1.0 else cv2.INTER_LINEAR,
        borderMode=border,
        borderValue=(0, 0, 0),
    )
    return np.ascontiguousarray(result, dtype=np.uint8)


def box_to_output(
    left: float, top: float, width: float, height: float, size: tuple[int, int]
) -> FloatArray:
    """The affine map taking the rectangle onto the whole output, edge to edge.

    The rectangle is in picture coordinates (pixel centres at integers), so the picture's own
    edges are at -0.5 and size - 0.5; its ``left`` maps to the output's left edge (-0.5).
    """
    out_w, out_h = size
    sx, sy = out_w / width, out_h / height
    return np.array([[sx, 0.0, -left * sx - 0.5], [0.0, sy, -top * sy - 0.5]], dtype=np.float64)


__all__ = ["box_to_output", "warp_affine"]
