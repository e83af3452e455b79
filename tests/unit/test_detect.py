"""Face detection on real photographs (LFW, Yale) and on built pictures around them."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from face_detection_support import detector, lfw_face, lfw_image, lfw_sample_paths, paste

from app.engine.detect import (
    KEYPOINT_NAMES,
    NO_FACE_MESSAGE,
    DetectedFace,
    DetectionResult,
    FaceDetector,
    face_nearest_center,
    tile_windows,
)
from app.engine.images import load_image_file
from app.errors import ImageError


def _inside(point: tuple[float, float], box: tuple[float, float, float, float]) -> bool:
    x, y, w, h = box
    return x <= point[0] <= x + w and y <= point[1] <= y + h


def _distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(np.hypot(a[0] - b[0], a[1] - b[1]))


def test_lfw_faces_are_found_with_sensible_boxes(lfw_dir: Path) -> None:
    paths = lfw_sample_paths(lfw_dir)
    assert len(paths) >= 40
    for path in paths:
        result = detector().detect(lfw_image(path))
        assert result.found, path.name
        assert result.image_size == (250, 250)
        face = face_nearest_center(result)
        assert face is not None
        w, h = face.box[2], face.box[3]
        # LFW is centred on its subject: a face of about 100-130 pixels near the middle.
        assert 70 <= w <= 180 and 70 <= h <= 180, (path.name, face.box)
        assert abs(face.center[0] - 125) < 30 and abs(face.center[1] - 125) < 35, path.name
        assert 0.5 <= face.score <= 1.0
        assert set(face.keypoints) == set(KEYPOINT_NAMES)
        for name in ("left_eye_center", "right_eye_center", "nose_tip", "mouth_center"):
            assert _inside(face.keypoints[name], face.box), (path.name, name)
        # Named by image side: the image-left eye is left of the image-right eye.
        assert face.keypoints["left_eye_center"][0] < face.keypoints["right_eye_center"][0]
        assert face.keypoints["left_ear_tragion"][0] < face.keypoints["right_ear_tragion"][0]
        eyes_y = (face.keypoints["left_eye_center"][1] + face.keypoints["right_eye_center"][1]) / 2
        assert eyes_y < face.keypoints["nose_tip"][1] < face.keypoints["mouth_center"][1]
        assert [f.index for f in result.faces] == list(range(len(result.faces)))


def test_montage_of_several_faces_all_found_largest_first(lfw_dir: Path) -> None:
    paths = lfw_sample_paths(lfw_dir)[:4]
    scales = (1.6, 1.0, 0.75, 0.55)
    canvas = np.full((700, 1100, 3), 90, dtype=np.uint8)
    placed: list[tuple[int, int, int, int]] = []
    x = 10
    for path, scale in zip(paths, scales, strict=True):
        tile = cv2.resize(lfw_image(path), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        y = 20 + (len(placed) % 2) * 120
        paste(canvas, tile, x, y)
        placed.append((x, y, tile.shape[1], tile.shape[0]))
        x += tile.shape[1] + 20
    result = detector().detect(canvas)
    areas = [f.box[2] * f.box[3] for f in result.faces]
    assert areas == sorted(areas, reverse=True)
    assert [f.index for f in result.faces] == list(range(len(result.faces)))
    owners = []
    for px, py, pw, ph in placed:
        subject = (px + pw / 2, py + ph / 2)
        # The subject of each pasted photo: the detected face nearest its centre.
        inside = [f for f in result.faces if _inside(f.center, (px, py, pw, ph))]
        assert inside, f"no face found in the photo pasted at {(px, py)}"
        nearest = min(inside, key=lambda f: _distance(f.center, subject))
        owners.append(nearest)
    # The largest pasted photo holds the largest face, and sizes follow the pasting scales.
    assert owners[0].index == 0
    sizes = [f.size for f in owners]
    assert sizes == sorted(sizes, reverse=True)


@pytest.fixture(scope="module")
def small_face_canvas(lfw_dir: Path) -> tuple[np.ndarray, tuple[int, int, int, int], DetectedFace]:
    path = lfw_sample_paths(lfw_dir)[3]
    photo = lfw_image(path)
    rng = np.random.default_rng(7)
    canvas = rng.integers(0, 256, (3000, 4000, 3), dtype=np.uint8)
    canvas = cv2.GaussianBlur(canvas, (0, 0), 4)
    x, y = 2710, 1930
    paste(canvas, photo, x, y)
    original, _ = lfw_face(path)
    return canvas, (x, y, photo.shape[1], photo.shape[0]), original


def _faces_in_original(lfw_dir: Path) -> int:
    return len(detector().detect(lfw_image(lfw_sample_paths(lfw_dir)[3])).faces)


def test_small_face_in_a_large_photo_is_found_by_tiling(
    small_face_canvas: tuple[np.ndarray, tuple[int, int, int, int], DetectedFace], lfw_dir: Path
) -> None:
    canvas, (x, y, w, h), original = small_face_canvas
    result = detector().detect(canvas)
    assert result.image_size == (4000, 3000)
    found = [f for f in result.faces if _inside(f.center, (x, y, w, h))]
    # Every face of the pasted photo (its subject and anyone behind) and nothing else.
    assert len(found) == _faces_in_original(lfw_dir) == len(result.faces), result.faces
    face = min(found, key=lambda f: np.hypot(f.center[0] - x - 125, f.center[1] - y - 125))
    # Mapped back to the canvas: the same box as on the original photo, moved by the paste.
    ox, oy, ow, oh = original.box
    assert abs(face.box[0] - (ox + x)) < 0.15 * ow
    assert abs(face.box[1] - (oy + y)) < 0.15 * oh
    assert 0.8 < face.box[2] / ow < 1.25
    for name, (kx, ky) in original.keypoints.items():
        fx, fy = face.keypoints[name]
        assert abs(fx - (kx + x)) < 0.12 * ow and abs(fy - (ky + y)) < 0.12 * oh, name


def test_the_whole_picture_pass_alone_misses_that_small_face(
    small_face_canvas: tuple[np.ndarray, tuple[int, int, int, int], DetectedFace],
) -> None:
    canvas, box, _ = small_face_canvas
    result = detector().detect(canvas, tiles=False)
    assert not [f for f in result.faces if _inside(f.center, box)]


def test_tiles_cover_the_picture_with_overlap() -> None:
    windows = tile_windows(4000, 3000, 32)
    assert windows, "a 4000x3000 picture must be tiled for 32-pixel faces"
    sides = sorted({max(w.width, w.height) for w in windows}, reverse=True)
    assert sides[0] == 2000 and sides[-1] >= 320
    finest = [w for w in windows if max(w.width, w.height) == sides[-1]]
    covered = np.zeros((3000, 4000), dtype=bool)
    for w in finest:
        assert w.x0 >= 0 and w.y0 >= 0
        assert w.x0 + w.width <= 4000 and w.y0 + w.height <= 3000
        covered[w.y0 : w.y0 + w.height, w.x0 : w.x0 + w.width] = True
    assert covered.all()
    assert tile_windows(250, 250, 32) == []


@pytest.mark.parametrize("kind", ["grey", "noise", "black", "white"])
def test_pictures_without_faces(kind: str) -> None:
    rng = np.random.default_rng(3)
    shape = (480, 640, 3)
    image = {
        "grey": np.full(shape, 128, dtype=np.uint8),
        "noise": rng.integers(0, 256, shape, dtype=np.uint8),
        "black": np.zeros(shape, dtype=np.uint8),
        "white": np.full(shape, 255, dtype=np.uint8),
    }[kind]
    result = detector().detect(image)
    assert not result.found
    assert result.faces == ()
    assert result.message == NO_FACE_MESSAGE
    assert face_nearest_center(result) is None


@pytest.mark.parametrize("shape", [(1, 1, 3), (3, 5, 3), (1, 500, 3), (7, 7)])
def test_tiny_pictures_are_a_plain_no_face_result(shape: tuple[int, ...]) -> None:
    result = detector().detect(np.full(shape, 200, dtype=np.uint8))
    assert not result.found
    assert result.message.startswith("No face was found in this image")
    assert "too small" in result.message
    assert result.image_size == (shape[1], shape[0])


def test_huge_picture_is_shrunk_and_coordinates_mapped_back(lfw_dir: Path) -> None:
    path = lfw_sample_paths(lfw_dir)[5]
    photo = lfw_image(path)
    original, _ = lfw_face(path)
    factor = 14  # 3500x3500: the face is ~1500 pixels wide
    huge = cv2.resize(photo, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)
    face = face_nearest_center(detector().detect(huge, tiles=False))
    assert face is not None
    for got, want in zip(face.box, original.box, strict=True):
        # Pixel-centre coordinates: p_huge = (p + 0.5) * factor - 0.5 for positions.
        assert abs(got - want * factor) < 0.08 * original.box[2] * factor
    for name, (kx, ky) in original.keypoints.items():
        hx, hy = face.keypoints[name]
        assert abs(hx - ((kx + 0.5) * factor - 0.5)) < 0.06 * original.box[2] * factor, name
        assert abs(hy - ((ky + 0.5) * factor - 0.5)) < 0.06 * original.box[3] * factor, name


def test_greyscale_pictures(lfw_dir: Path) -> None:
    photo = lfw_image(lfw_sample_paths(lfw_dir)[2])
    grey = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    as_rgb = np.repeat(grey[:, :, None], 3, axis=2)
    from_rgb = detector().detect(as_rgb)
    from_2d = detector().detect(grey)
    assert from_rgb.found and from_2d.found
    assert from_rgb.faces[0].box == pytest.approx(from_2d.faces[0].box)


def test_yale_greyscale_gifs_all_have_a_face(yale_dir: Path) -> None:
    files = sorted(p for p in yale_dir.iterdir() if p.name.startswith("subject"))
    assert len(files) == 164
    found = 0
    for path in files:
        _, decoded = load_image_file(path)
        result = detector().detect(decoded.rgb)
        if result.found:
            found += 1
            face = face_nearest_center(result)
            assert face is not None
            assert face.keypoints["left_eye_center"][0] < face.keypoints["right_eye_center"][0]
    # Measured: 164 of 164 (full-range BlazeFace plus tiles, min_score 0.5).
    assert found >= 162


def test_face_nearest_center_and_json_round_trip() -> None:
    def face(x: float, y: float, size: float, index: int) -> DetectedFace:
        keypoints = {name: (x + size / 2, y + size / 2) for name in KEYPOINT_NAMES}
        return DetectedFace(box=(x, y, size, size), score=0.9, keypoints=keypoints, index=index)

    big_corner = face(0, 0, 300, 0)
    small_middle = face(450, 350, 100, 1)
    result = DetectionResult(faces=(big_corner, small_middle), image_size=(1000, 800), message="")
    assert face_nearest_center(result) is small_middle
    assert face_nearest_center(result, (300, 300)) is big_corner
    data = json.loads(json.dumps(small_middle.to_dict()))
    assert DetectedFace.from_dict(data) == small_middle


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((50, 50, 3), dtype=np.float32),
        np.zeros((50, 50, 4), dtype=np.uint8),
        np.zeros((0, 50, 3), dtype=np.uint8),
        "not an array",
    ],
)
def test_unusable_input_is_a_plain_image_error(bad: object) -> None:
    with pytest.raises(ImageError):
        detector().detect(bad)  # type: ignore[arg-type]


def test_one_detector_shared_by_threads_gives_the_same_answers(lfw_dir: Path) -> None:
    photos = [lfw_image(p) for p in lfw_sample_paths(lfw_dir)[:6]]
    expected = [detector().detect(p).faces for p in photos]
    results: dict[int, list[tuple[DetectedFace, ...]]] = {}

    def work(worker: int) -> None:
        results[worker] = [detector().detect(p).faces for p in photos]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results[0] == expected and results[1] == expected


def test_short_range_model_for_tight_crops(lfw_dir: Path) -> None:
    photo = lfw_image(lfw_sample_paths(lfw_dir)[1])
    tight = np.ascontiguousarray(photo[75:185, 70:180])  # the face fills the picture
    with FaceDetector(model="short") as short:
        assert short.detect(tight, tiles=False).found
    # The default detector also uses the short-range model for faces that fill the picture.
    assert detector().detect(tight).found
    with pytest.raises(ValueError):
        FaceDetector(model="medium")  # type: ignore[arg-type]
