"""Head pose (yaw, pitch, roll in degrees) estimated geometrically from the 3D face mesh.

Method: MediaPipe's mesh gives every landmark with a depth ``z`` on about the same scale as x
and y (weak perspective). The head's own axes are built from the mesh and read as angles:

- *across* (the subject's right-to-left axis, pointing to the image's right in a frontal
  photo): the mean direction of nine pairs of mirror-symmetric landmarks (eye corners, mouth
  corners, brow ends and four pairs of the face outline);
- *down*: the mean direction forehead top -> chin bottom and glabella -> lower lip, made
  perpendicular to *across*;
- the face's normal (out of the face, towards the viewer) is perpendicular to both.

No 3D reference model or camera calibration is needed (MediaPipe 0.10.21's wheel has no canonical
face model file). The *down* landmarks were chosen so that the 164 frontal Yale photographs give
a mean pitch within 1 degree of zero (measured: yaw -0.8, pitch -0.5, roll -0.8 degrees, spread
3-5 degrees). It is an estimate, good to several degrees, not a measurement.

Signs, as the picture is seen:

- yaw > 0: the face is turned towards the image's right (the subject looks to their own left);
- pitch > 0: the face is tilted up (chin raised);
- roll > 0: the face is rotated clockwise (the image-right eye is lower than the image-left eye).

A mirrored picture gives the opposite yaw and roll and the same pitch, up to the mesh model's
own asymmetry: on 300 LFW faces |yaw + mirrored yaw| was 1.1 degrees at the median, 2.9 at the
95th percentile (roll 0.4 and 1.4, pitch difference 0.9 and 3.0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from app.engine.landmarks import FaceMesh

# (subject's right, subject's left) MediaPipe mesh indices of mirror-symmetric points.
SYMMETRIC_PAIRS: Final[tuple[tuple[int, int], ...]] = (
    (33, 263),  # outer eye corners
    (133, 362),  # inner eye corners
    (61, 291),  # mouth corners
    (70, 300),  # outer brow ends
    (234, 454),  # face outline at eye level
    (127, 356),
    (132, 361),
    (58, 288),
    (172, 397),  # face outline near the jaw angle
)
# (upper, lower) midline points for the face's down direction.
MIDLINE_PAIRS: Final[tuple[tuple[int, int], ...]] = (
    (10, 152),  # forehead top -> chin bottom
    (168, 17),  # glabella -> lower lip bottom
)


@dataclass(frozen=True)
class HeadPose:
    yaw: float
    pitch: float
    roll: float


def _mean_direction(
    points: npt.NDArray[np.float64], pairs: tuple[tuple[int, int], ...]
) -> npt.NDArray[np.float64]:
    total = np.zeros(3)
    for start, end in pairs:
        vector = points[end] - points[start]
        length = float(np.linalg.norm(vector))
        if length > 1e-9:
            total += vector / length
    return total


def head_pose(mesh: FaceMesh) -> HeadPose | None:
    """Yaw, pitch and roll of the face in degrees (see the module docstring), or None."""
    points = mesh.points.astype(np.float64)
    across = _mean_direction(points, SYMMETRIC_PAIRS)
    norm = float(np.linalg.norm(across))
    if norm < 1e-9:
        return None
    across /= norm
    down = _mean_direction(points, MIDLINE_PAIRS)
    down -= float(down @ across) * across
    norm = float(np.linalg.norm(down))
    if norm < 1e-9:
        return None
    down /= norm
    # Picture axes: x right, y down, z away from the camera (right-handed): across x down points
    # away from the viewer, so the face's normal is its opposite.
    normal = -np.cross(across, down)
    yaw = math.degrees(math.atan2(normal[0], -normal[2]))
    pitch = math.degrees(math.atan2(-normal[1], math.hypot(normal[0], normal[2])))
    roll = math.degrees(math.atan2(across[1], across[0]))
    if not all(math.isfinite(v) for v in (yaw, pitch, roll)):
        return None
    return HeadPose(yaw=yaw, pitch=pitch, roll=roll)


__all__ = ["MIDLINE_PAIRS", "SYMMETRIC_PAIRS", "HeadPose", "head_pose"]
