"""Face detection: every face in a still, with box, score and six BlazeFace keypoints.

MediaPipe 0.10.21's legacy ``face_detection`` solution is used because its models ship inside
the wheel (later releases download them, which this product must never do). Two BlazeFace
models exist: *full range* (192x192 input, faces down to about a tenth of the picture's longer
side) and *short range* (128x128 input, faces that fill the frame, e.g. tight crops).

One look at a whole photograph only finds faces that are at least about a tenth of its longer
side, so a face in a crowd or a small face in a 12-megapixel photo would be missed. The detector
therefore also runs the full-range model on overlapping square tiles, halving the tile size per
level until a tile is about ``TILE_FACE_RATIO`` times the smallest face asked for (tiles smaller
than the model's input are upscaled by MediaPipe: that is the upscaled pass for small pictures).
Detections from all passes are mapped back to image pixels and merged by non-maximum
suppression. Very large pictures are shrunk for each pass (never the coordinates).

Coordinates are image pixels with pixel centres at integers (the top-left pixel's centre is
(0, 0)), as everywhere in the engine. Keypoint names use the sides of
the picture as it is seen: ``left_eye_center`` is the eye on the image's left, which is the
subject's right eye in a frontal photo.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import cv2
import numpy as np
import numpy.typing as npt

from app.errors import ImageError

log = logging.getLogger(__name__)

RGBArray = npt.NDArray[np.uint8]
Point = tuple[float, float]
Box = tuple[float, float, float, float]  # x, y, width, height in image pixels

NO_FACE_MESSAGE: Final = "No face was found in this image."

# BlazeFace's keypoints in the model's output order. The model names them from the subject's
# point of view (its first "right eye" lies on the image's left); here they are named by the
# side of the picture.
KEYPOINT_NAMES: Final[tuple[str, ...]] = (
    "left_eye_center",
    "right_eye_center",
    "nose_tip",
    "mouth_center",
    "left_ear_tragion",
    "right_ear_tragion",
)

# Measured on LFW faces pasted into grey canvases (bench/face_detection.py scale): the
# full-range model finds 97-100% of faces whose width is >= 1/12 of the picture's longer side
# and about 80% at 1/18. A tile 10x the smallest wanted face keeps that face in the safe band.
TILE_FACE_RATIO: Final = 10.0
# A level's tiles must find faces up to the size the next coarser level (tiles twice as large)
# finds reliably, about 0.2 of this tile; tiles overlap by 0.3 of their side so that every such
# face lies whole inside at least one tile.
TILE_OVERLAP: Final = 0.3
# In a tile with a finer level below it, detections smaller than this fraction of the tile are
# dropped: the model is unreliable there (false faces in texture) and the finer level sees them.
TILE_MIN_FACE_FRACTION: Final = 0.07
# Tiles are many more looks at the picture, so chance face-like texture scores more often. On ten
# blurred-noise 4000x3000 pictures the tiles' false faces scored 0.60-0.72 (13 of 16 below 0.7);
# real LFW faces of about 33 pixels pasted into 2000x1500 noise scored 0.74-0.96 (median 0.91)
# (bench/face_detection.py tiles). Tile detections need at least this score (or the caller's
# min_score when that is higher).
TILE_MIN_SCORE: Final = 0.7
# Smallest face (box width in pixels) searched for by default. Faces this small are far below
# what a comparison needs (see quality.py) but the examiner should still see that they are there.
DEFAULT_MIN_FACE_SIZE: Final = 32
# The short-range model is only trusted for large faces (what it was made for): at least this
# fraction of the picture's longer side. It rescues tight crops the full-range model misses.
SHORT_RANGE_MIN_FRACTION: Final = 0.3
# Pictures are shrunk to this longer side before the whole-picture pass, and each tile level is
# shrunk once so that its tiles are about TILE_INPUT_SIDE pixels: the models see at most 192
# pixels, and shrinking by area averaging first avoids aliasing, large copies and repeated work.
PASS_MAX_SIDE: Final = 384
TILE_INPUT_SIDE: Final = 256
# Duplicates: the same face seen by two passes overlaps this much (IoU), or one box lies almost
# inside the other (intersection over the smaller box).
NMS_IOU: Final = 0.3
NMS_CONTAINMENT: Final = 0.7
# Smaller pictures cannot show a face the models can find.
MIN_IMAGE_SIDE: Final = 8

ModelRange = Literal["full", "short"]


@dataclass(frozen=True)
class DetectedFace:
    """One face: box (x, y, w, h) and keypoints in image pixels, the model's score (0-1).

    The box is the model's, not clipped: it may reach past the picture's edge when the face
    does (:func:`clip_box` gives the visible part).
    """

    box: Box
    score: float
    keypoints: dict[str, Point] = field(hash=False, compare=True)
    index: int = 0  # position in the DetectionResult (largest face first)

    @property
    def center(self) -> Point:
        x, y, w, h = self.box
        return (x + w / 2.0, y + h / 2.0)

    @property
    def size(self) -> float:
        """The geometric mean of box width and height, in pixels."""
        return math.sqrt(max(self.box[2], 0.0) * max(self.box[3], 0.0))

    def to_dict(self) -> dict[str, Any]:
        return {
            "box": [float(v) for v in self.box],
            "score": float(self.score),
            "keypoints": {k: [float(v[0]), float(v[1])] for k, v in self.keypoints.items()},
            "index": self.index,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectedFace:
        x, y, w, h = (float(v) for v in data["box"])
        keypoints = {str(k): (float(v[0]), float(v[1])) for k, v in data["keypoints"].items()}
        return cls(
            box=(x, y, w, h),
            score=float(data["score"]),
            keypoints=keypoints,
            index=int(data.get("index", 0)),
        )


@dataclass(frozen=True)
class DetectionResult:
    """Every face found in one picture, largest first; ``message`` says what happened."""

    faces: tuple[DetectedFace, ...]
    image_size: tuple[int, int]  # (width, height)
    message: str

    @property
    def found(self) -> bool:
        return bool(self.faces)

    def __len__(self) -> int:
        return len(self.faces)

    def __iter__(self) -> Iterator[DetectedFace]:
        return iter(self.faces)


def as_rgb(image: npt.NDArray[Any]) -> RGBArray:
    """A C-contiguous uint8 (H, W, 3) view of an RGB or greyscale array; ImageError otherwise."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ImageError("Face detection needs an 8-bit picture.")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ImageError("Face detection needs an RGB picture (height x width x 3).")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ImageError("The picture has no pixels.")
    return np.ascontiguousarray(image)


def _shrunk(rgb: RGBArray, max_side: int) -> RGBArray:
    """The picture shrunk (area averaging) so that its longer side is at most ``max_side``.

    The models report positions relative to the picture's width and height, so shrinking
    changes no coordinate.
    """
    height, width = rgb.shape[:2]
    longest = max(height, width)
    if longest <= max_side:
        return np.ascontiguousarray(rgb)
    scale = max_side / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.ascontiguousarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))


@dataclass(frozen=True)
class _Level:
    """The picture shrunk for one pass: level pixel centre q is picture (q + 0.5) / f - 0.5."""

    image: RGBArray
    fx: float
    fy: float


def _level(image: RGBArray, shrunk: RGBArray) -> _Level:
    height, width = image.shape[:2]
    return _Level(shrunk, shrunk.shape[1] / width, shrunk.shape[0] / height)


def _pyramid(image: RGBArray, sides: Sequence[int]) -> dict[int, _Level]:
    """One shrunk copy of the picture per tile side, finest first, each from the previous."""
    height, width = image.shape[:2]
    levels: dict[int, _Level] = {}
    source = image
    for side in sorted(sides):
        scale = min(1.0, TILE_INPUT_SIDE / side)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        if size == (source.shape[1], source.shape[0]):
            shrunk = source
        else:
            shrunk = np.ascontiguousarray(cv2.resize(source, size, interpolation=cv2.INTER_AREA))
        levels[side] = _level(image, shrunk)
        source = shrunk
    return levels


@dataclass(frozen=True)
class _Window:
    """A part of the picture given to a model, and which of its edges lie inside the picture."""

    x0: int
    y0: int
    width: int
    height: int
    inner_edges: tuple[bool, bool, bool, bool]  # left, top, right, bottom
    min_face: float = 0.0  # smaller detections (box size, pixels) are dropped here
    side: int = 0  # the tile side of its level (0: the whole picture)


def tile_sides(width: int, height: int, min_face_size: float) -> list[int]:
    """The tile side of every level finer than the whole picture, coarsest first."""
    sides: list[int] = []
    side = max(width, height) / 2.0
    smallest = max(TILE_FACE_RATIO * min_face_size, 48.0)
    while side >= smallest:
        sides.append(round(side))
        side /= 2.0
    return sides


def tile_windows(width: int, height: int, min_face_size: float) -> list[_Window]:
    """The overlapping square tiles of every level finer than the whole picture."""
    windows: list[_Window] = []
    sides = tile_sides(width, height, min_face_size)
    for level, tile in enumerate(sides):
        finest = level == len(sides) - 1
        # Tiny detections in a tile are mostly texture (measured on blurred noise); a real
        # face that small is seen again, larger, by the next finer level.
        min_face = 0.75 * min_face_size if finest else TILE_MIN_FACE_FRACTION * tile
        stride = max(1, round(tile * (1.0 - TILE_OVERLAP)))
        for y0 in _starts(height, tile, stride):
            for x0 in _starts(width, tile, stride):
                w = min(tile, width - x0)
                h = min(tile, height - y0)
                edges = (x0 > 0, y0 > 0, x0 + w < width, y0 + h < height)
                windows.append(_Window(x0, y0, w, h, edges, min_face, tile))
    return windows


def _starts(length: int, tile: int, stride: int) -> list[int]:
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)  # the last tile ends on the picture's edge
    return sorted(set(starts))


@dataclass
class _Candidate:
    box: Box
    score: float
    keypoints: dict[str, Point]


class FaceDetector:
    """MediaPipe BlazeFace, constructed once and reused.

    ``model`` chooses the model of the whole-picture pass: ``"full"`` (default, for stills) or
    ``"short"`` (faces close to the camera). Calls are serialised by a lock, so one instance may
    be shared between threads; for parallel work create one instance per thread.
    """

    def __init__(self, *, model: ModelRange = "full") -> None:
        if model not in ("full", "short"):
            raise ValueError("model must be 'full' or 'short'")
        from mediapipe.python.solutions import face_detection  # heavy import, done once here

        self.model: ModelRange = model
        # The graphs filter at the lowest score any caller may ask for; detect() filters again.
        self._full = face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=_GRAPH_MIN_SCORE
        )
        self._short = face_detection.FaceDetection(
            model_selection=0, min_detection_confidence=_GRAPH_MIN_SCORE
        )
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._full.close()
            self._short.close()

    def __enter__(self) -> FaceDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def detect(
        self,
        rgb: npt.NDArray[Any],
        *,
        min_score: float = 0.5,
        min_face_size: float = DEFAULT_MIN_FACE_SIZE,
        tiles: bool = True,
        tile_min_score: float | None = None,
    ) -> DetectionResult:
        """Every face in ``rgb`` (uint8 RGB or greyscale), largest first.

        ``min_score``: the lowest detection score kept (0-1; values under 0.3 act as 0.3, the
        floor of the MediaPipe graphs). ``min_face_size``: the smallest
        face width in pixels searched for by tiling; ``tiles=False`` only looks at the whole
        picture (fast, finds faces down to about a tenth of its longer side).
        ``tile_min_score``: the lowest score kept from tiles (default: the higher of
        ``min_score`` and ``TILE_MIN_SCORE``).
        """
        if not 0.0 <= min_score <= 1.0:
            raise ValueError("min_score must be between 0 and 1")
        tile_score = max(min_score, TILE_MIN_SCORE) if tile_min_score is None else tile_min_score
        if not 0.0 <= tile_score <= 1.0:
            raise ValueError("tile_min_score must be between 0 and 1")
        image = as_rgb(rgb)
        height, width = image.shape[:2]
        size = (width, height)
        if min(width, height) < MIN_IMAGE_SIDE:
            message = (
                f"No face was found in this image: at {width}x{height} pixels it is too small "
                "to show a face."
            )
            return DetectionResult(faces=(), image_size=size, message=message)
        candidates: list[_Candidate] = []
        windows = tile_windows(width, height, max(min_face_size, 4.0)) if tiles else []
        # With tiles below it, the whole-picture pass need not report faces the tiles see better.
        whole_min = TILE_MIN_FACE_FRACTION * max(width, height) if windows else 0.0
        whole = _Window(0, 0, width, height, (False, False, False, False), whole_min)
        first: ModelRange = self.model
        second: ModelRange = "short" if first == "full" else "full"
        overview = _level(image, _shrunk(image, PASS_MAX_SIDE))
        pyramid = _pyramid(image, sorted({w.side for w in windows}))
        with self._lock:
            candidates += self._run(overview, whole, first, min_score)
            large_only = SHORT_RANGE_MIN_FRACTION * max(width, height) if second == "short" else 0
            candidates += [
                c
                for c in self._run(overview, whole, second, min_score)
                if math.sqrt(c.box[2] * c.box[3]) >= large_only
            ]
            for window in windows:
                candidates += self._run(pyramid[window.side], window, "full", tile_score)
        kept = _suppress(candidates)
        kept.sort(key=lambda c: (-(c.box[2] * c.box[3]), -c.score, c.box[0], c.box[1]))
        faces = tuple(
            DetectedFace(box=c.box, score=c.score, keypoints=c.keypoints, index=i)
            for i, c in enumerate(kept)
        )
        if not faces:
            message = NO_FACE_MESSAGE
        elif len(faces) == 1:
            message = "One face was found."
        else:
            message = f"{len(faces)} faces were found; the largest is listed first."
        return DetectionResult(faces=faces, image_size=size, message=message)

    def _run(
        self, level: _Level, window: _Window, model: ModelRange, min_score: float
    ) -> list[_Candidate]:
        # The window's part of the shrunk picture, and where that part lies in the picture.
        lx0 = min(round(window.x0 * level.fx), level.image.shape[1] - 1)
        ly0 = min(round(window.y0 * level.fy), level.image.shape[0] - 1)
        lx1 = max(round((window.x0 + window.width) * level.fx), lx0 + 1)
        ly1 = max(round((window.y0 + window.height) * level.fy), ly0 + 1)
        small = np.ascontiguousarray(level.image[ly0:ly1, lx0:lx1])
        seen = _Seen(
            left=lx0 / level.fx - 0.5,  # picture position of the part's left edge
            top=ly0 / level.fy - 0.5,
            width=(lx1 - lx0) / level.fx,
            height=(ly1 - ly0) / level.fy,
        )
        graph = self._full if model == "full" else self._short
        try:
            output = graph.process(small)
        except Exception as error:  # MediaPipe raises RuntimeError/ValueError from its graph
            raise ImageError(f"Face detection failed on this picture ({error}).") from error
        detections = output.detections or []
        found: list[_Candidate] = []
        for detection in detections:
            score = float(detection.score[0]) if detection.score else 0.0
            if score < min_score:
                continue
            candidate = _to_candidate(detection, seen, score)
            if candidate is None or _cut_by_inner_edge(candidate.box, window):
                continue
            if math.sqrt(candidate.box[2] * candidate.box[3]) < window.min_face:
                continue
            found.append(candidate)
        return found


# The MediaPipe graphs drop detections below this; detect() applies the caller's threshold.
_GRAPH_MIN_SCORE: Final = 0.3


@dataclass(frozen=True)
class _Seen:
    """Where the part given to a model lies in the picture: its outer edges, in pixels."""

    left: float
    top: float
    width: float
    height: float


def _to_candidate(detection: Any, seen: _Seen, score: float) -> _Candidate | None:
    # MediaPipe's relative positions run from the part's left edge (0) to its right edge (1).
    location = detection.location_data
    rel = location.relative_bounding_box
    x = seen.left + float(rel.xmin) * seen.width
    y = seen.top + float(rel.ymin) * seen.height
    w = float(rel.width) * seen.width
    h = float(rel.height) * seen.height
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 1.0 or h <= 1.0:
        return None
    keypoints: dict[str, Point] = {}
    for name, point in zip(KEYPOINT_NAMES, location.relative_keypoints, strict=False):
        keypoints[name] = (
            seen.left + float(point.x) * seen.width,
            seen.top + float(point.y) * seen.height,
        )
    if len(keypoints) != len(KEYPOINT_NAMES):
        return None
    return _Candidate(box=(x, y, w, h), score=score, keypoints=keypoints)


def _cut_by_inner_edge(box: Box, window: _Window) -> bool:
    """True when the box crosses a tile edge inside the picture: another tile sees it whole."""
    x, y, w, h = box
    margin = 0.02 * max(window.width, window.height)
    left, top, right, bottom = window.inner_edges
    return (
        (left and x < window.x0 + margin)
        or (top and y < window.y0 + margin)
        or (right and x + w > window.x0 + window.width - margin)
        or (bottom and y + h > window.y0 + window.height - margin)
    )


def _overlaps(a: Box, b: Box) -> tuple[float, float]:
    """(intersection over union, intersection over the smaller box)."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = min(ax + aw, bx + bw) - max(ax, bx)
    ih = min(ay + ah, by + bh) - max(ay, by)
    if iw <= 0 or ih <= 0:
        return 0.0, 0.0
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union, inter / min(aw * ah, bw * bh)


def _suppress(candidates: Sequence[_Candidate]) -> list[_Candidate]:
    """Greedy non-maximum suppression across passes, highest score first."""
    kept: list[_Candidate] = []
    for candidate in sorted(candidates, key=lambda c: -c.score):
        duplicate = False
        for other in kept:
            iou, containment = _overlaps(candidate.box, other.box)
            if iou >= NMS_IOU or containment >= NMS_CONTAINMENT:
                duplicate = True
                break
        if not duplicate:
            kept.append(candidate)
    return kept


def clip_box(box: Box, image_size: tuple[int, int]) -> Box:
    """The part of ``box`` inside the picture (width/height 0 when it lies outside).

    Pixel centres are at integers, so the picture spans -0.5 to width - 0.5.
    """
    width, height = image_size
    x0 = min(max(box[0], -0.5), width - 0.5)
    y0 = min(max(box[1], -0.5), height - 0.5)
    x1 = min(max(box[0] + box[2], -0.5), width - 0.5)
    y1 = min(max(box[1] + box[3], -0.5), height - 0.5)
    return (x0, y0, x1 - x0, y1 - y0)


def face_nearest_center(
    result: DetectionResult, image_size: tuple[int, int] | None = None
) -> DetectedFace | None:
    """The face whose box centre is nearest the picture's centre (LFW's convention), or None."""
    if not result.faces:
        return None
    width, height = image_size if image_size is not None else result.image_size
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0  # pixel centres at integers
    return min(
        result.faces,
        key=lambda f: ((f.center[0] - cx) ** 2 + (f.center[1] - cy) ** 2, f.index),
    )


__all__ = [
    "DEFAULT_MIN_FACE_SIZE",
    "KEYPOINT_NAMES",
    "NO_FACE_MESSAGE",
    "DetectedFace",
    "DetectionResult",
    "FaceDetector",
    "as_rgb",
    "clip_box",
    "face_nearest_center",
    "tile_sides",
    "tile_windows",
]
