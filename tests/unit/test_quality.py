"""Quality measures degrade as the picture does; pose follows the head; reports round-trip."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from face_detection_support import detector, lfw_face, lfw_image, lfw_sample_paths, mesher

from app.engine.detect import DetectedFace, face_nearest_center
from app.engine.images import load_image_file
from app.engine.landmarks import FaceMesh
from app.engine.pose import head_pose
from app.engine.quality import LEVELS, QualityReport, assess_quality


def _describe(rgb: np.ndarray) -> tuple[DetectedFace, FaceMesh | None, QualityReport]:
    face = face_nearest_center(detector().detect(rgb))
    assert face is not None
    mesh = mesher().mesh(rgb, face)
    return face, mesh, assess_quality(rgb, face, mesh)


def _rank(report: QualityReport, name: str) -> int:
    measure = report.get(name)
    assert measure is not None, name
    return LEVELS.index(measure.level)


def _value(report: QualityReport, name: str) -> float:
    measure = report.get(name)
    assert measure is not None and measure.value is not None, name
    return measure.value


def test_report_has_every_measure(lfw_dir: Path) -> None:
    path = lfw_sample_paths(lfw_dir)[0]
    face, mesh = lfw_face(path)
    report = assess_quality(lfw_image(path), face, mesh)
    names = [m.name for m in report.measures]
    assert names == [
        "inter_eye_distance",
        "face_size",
        "sharpness",
        "yaw",
        "pitch",
        "roll",
        "brightness",
        "clipping",
        "detection_score",
    ]
    assert report.worst == max((m.level for m in report.measures), key=LEVELS.index)
    assert all(m.message and m.message.endswith(".") for m in report.measures)
    assert _value(report, "detection_score") == pytest.approx(face.score)


def test_blurred_copy_is_less_sharp(lfw_dir: Path) -> None:
    flagged = 0
    for path in lfw_sample_paths(lfw_dir)[:8]:
        photo = lfw_image(path)
        _, _, sharp = _describe(photo)
        _, _, soft = _describe(cv2.GaussianBlur(photo, (0, 0), 1.0))
        _, _, blurred = _describe(cv2.GaussianBlur(photo, (0, 0), 2.5))
        values = [_value(r, "sharpness") for r in (sharp, soft, blurred)]
        assert values[0] > values[1] > values[2], (path.name, values)
        assert values[2] < 0.6 * values[0], path.name
        assert _rank(blurred, "sharpness") >= _rank(sharp, "sharpness")
        flagged += blurred.get("sharpness").level != "ok"  # type: ignore[union-attr]
    # Measured: 7 of these 8 faces are flagged after a blur of 2.5 pixels.
    assert flagged >= 6


def test_downscaled_face_warns_about_eye_distance(lfw_dir: Path) -> None:
    path = lfw_sample_paths(lfw_dir)[1]
    photo = lfw_image(path)
    _, _, full = _describe(photo)
    small = cv2.resize(photo, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)
    _, _, reduced = _describe(small)
    ratio = _value(reduced, "inter_eye_distance") / _value(full, "inter_eye_distance")
    assert 0.25 < ratio < 0.36
    measure = reduced.get("inter_eye_distance")
    assert measure is not None and measure.level == "poor"
    assert "too small for a reliable comparison (60+ recommended)" in measure.message
    assert measure.message.startswith("Eyes only ")
    assert _rank(reduced, "face_size") > 0
    assert measure.message in reduced.warnings


def test_large_face_has_enough_eye_distance(lfw_dir: Path) -> None:
    photo = lfw_image(lfw_sample_paths(lfw_dir)[1])
    _, _, big = _describe(cv2.resize(photo, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC))
    assert big.get("inter_eye_distance").level == "ok"  # type: ignore[union-attr]
    assert big.get("face_size").level == "ok"  # type: ignore[union-attr]


def test_darkened_and_overexposed_copies_warn_on_exposure(lfw_dir: Path) -> None:
    path = lfw_sample_paths(lfw_dir)[2]
    photo = lfw_image(path)
    _, _, normal = _describe(photo)
    assert normal.get("brightness").level == "ok"  # type: ignore[union-attr]
    dark = (photo.astype(np.float32) * 0.25).astype(np.uint8)
    _, _, darkened = _describe(dark)
    assert _value(darkened, "brightness") < 0.35 * _value(normal, "brightness")
    assert _rank(darkened, "brightness") >= 1
    assert "dark" in darkened.get("brightness").message  # type: ignore[union-attr]
    bright = np.clip(photo.astype(np.float32) * 2.2 + 40, 0, 255).astype(np.uint8)
    _, _, burnt = _describe(bright)
    assert _rank(burnt, "clipping") >= 1
    assert _value(burnt, "clipping") > _value(normal, "clipping")


def test_yaw_and_roll_change_sign_in_a_mirrored_photo(lfw_dir: Path) -> None:
    checked = 0
    for path in lfw_sample_paths(lfw_dir):
        _, mesh = lfw_face(path)
        assert mesh is not None
        pose = head_pose(mesh)
        assert pose is not None
        if abs(pose.yaw) < 8:
            continue
        _, mirrored_mesh, _ = _describe(np.ascontiguousarray(lfw_image(path)[:, ::-1]))
        assert mirrored_mesh is not None
        mirrored = head_pose(mirrored_mesh)
        assert mirrored is not None
        assert np.sign(mirrored.yaw) == -np.sign(pose.yaw), path.name
        # Measured on 300 LFW faces: |yaw + mirrored yaw| median 1.1, 99th percentile 4.7.
        assert abs(mirrored.yaw + pose.yaw) < 6.0, path.name
        assert abs(mirrored.roll + pose.roll) < 5.0, path.name
        assert abs(mirrored.pitch - pose.pitch) < 5.0, path.name
        checked += 1
        if checked == 5:
            break
    assert checked == 5


def test_rotating_the_photo_changes_roll(lfw_dir: Path) -> None:
    path = lfw_sample_paths(lfw_dir)[5]
    _, mesh = lfw_face(path)
    assert mesh is not None
    upright = head_pose(mesh)
    rotation = cv2.getRotationMatrix2D((124.5, 124.5), -20, 1.0)  # 20 degrees clockwise
    turned = cv2.warpAffine(lfw_image(path), rotation, (250, 250), borderMode=cv2.BORDER_REFLECT)
    _, turned_mesh, _ = _describe(turned)
    assert upright is not None and turned_mesh is not None
    rotated = head_pose(turned_mesh)
    assert rotated is not None
    assert rotated.roll - upright.roll == pytest.approx(20, abs=3)
    assert rotated.yaw == pytest.approx(upright.yaw, abs=4)


def test_frontal_yale_faces_are_near_frontal(yale_dir: Path) -> None:
    for path in sorted(yale_dir.glob("subject*.normal"))[:8]:
        _, decoded = load_image_file(path)
        _, mesh, report = _describe(decoded.rgb)
        assert mesh is not None
        for name in ("yaw", "pitch", "roll"):
            assert report.get(name).level == "ok", (path.name, name)  # type: ignore[union-attr]


def test_without_a_mesh_pose_is_reported_unmeasured(lfw_dir: Path) -> None:
    path = lfw_sample_paths(lfw_dir)[0]
    face, _ = lfw_face(path)
    report = assess_quality(lfw_image(path), face, None)
    pose = report.get("pose")
    assert pose is not None and pose.level == "warn" and pose.value is None
    assert report.get("yaw") is None
    assert report.get("inter_eye_distance") is not None


def test_report_json_round_trip(lfw_dir: Path) -> None:
    path = lfw_sample_paths(lfw_dir)[4]
    face, mesh = lfw_face(path)
    report = assess_quality(lfw_image(path), face, mesh)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["worst"] == report.worst
    again = QualityReport.from_dict(data)
    assert [m.name for m in again.measures] == [m.name for m in report.measures]
    for a, b in zip(again.measures, report.measures, strict=True):
        assert a.level == b.level and a.message == b.message and a.unit == b.unit
        assert a.value == pytest.approx(b.value, abs=1e-4)
    with pytest.raises(ValueError):
        QualityReport.from_dict({"measures": [{"name": "x", "level": "terrible"}]})
