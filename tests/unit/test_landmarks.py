"""Face mesh and named landmarks on real photographs."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from face_detection_support import detector, lfw_face, lfw_image, lfw_sample_paths, mesher, paste

from app.engine.align import dlib_template
from app.engine.detect import KEYPOINT_NAMES, DetectedFace, face_nearest_center
from app.engine.landmarks import (
    MESH_POINT_COUNT,
    POINT_NAMES,
    FaceMesh,
    FaceMesher,
    five_points,
    named_points,
    points_from_detection,
)
from app.errors import ImageError


def _eye_distance(points: dict[str, tuple[float, float]]) -> float:
    left, right = np.array(points["left_eye_center"]), np.array(points["right_eye_center"])
    return float(np.linalg.norm(right - left))


def test_mesh_and_named_points_on_lfw(lfw_dir: Path) -> None:
    for path in lfw_sample_paths(lfw_dir)[:25]:
        face, mesh = lfw_face(path)
        assert mesh is not None, path.name
        assert mesh.points.shape == (MESH_POINT_COUNT, 3) and mesh.points.dtype == np.float32
        assert mesh.image_size == (250, 250)
        named = named_points(mesh)
        assert tuple(named) == POINT_NAMES
        x, y, w, h = face.box
        for name, (px, py) in named.items():
            assert x - 0.12 * w <= px <= x + 1.12 * w and y - 0.12 * h <= py <= y + 1.12 * h, name
        # "left"/"right" are the picture's sides: in order from the image's left edge.
        order = ["left_eye_outer", "left_eye_inner", "right_eye_inner", "right_eye_outer"]
        xs = [named[n][0] for n in order]
        assert xs == sorted(xs), path.name
        assert named["left_eye_outer"][0] < named["left_eye_center"][0] < named["left_eye_inner"][0]
        # The nose tip of a turned head can reach past the far mouth corner: the mouth corners
        # are checked against the upper lip's middle (mesh point 13).
        assert named["left_mouth"][0] < mesh.point(13)[0] < named["right_mouth"][0]
        eyes_y = (named["left_eye_center"][1] + named["right_eye_center"][1]) / 2
        assert eyes_y < named["nose_tip"][1] < named["nose_base"][1] < named["left_mouth"][1]
        # The mesh agrees with the detector about where the eyes are.
        for eye in ("left_eye_center", "right_eye_center"):
            gap = np.hypot(*(np.array(named[eye]) - np.array(face.keypoints[eye])))
            assert gap < 0.3 * _eye_distance(named), (path.name, eye)


def test_mesh_follows_the_chosen_face_when_there_are_several(lfw_dir: Path) -> None:
    paths = lfw_sample_paths(lfw_dir)[6:8]
    canvas = np.full((260, 520, 3), 100, dtype=np.uint8)
    paste(canvas, lfw_image(paths[0]), 5, 5)
    paste(canvas, lfw_image(paths[1]), 265, 5)
    result = detector().detect(canvas)
    left = min(result.faces, key=lambda f: abs(f.center[0] - 130) + abs(f.center[1] - 130))
    right = min(result.faces, key=lambda f: abs(f.center[0] - 390) + abs(f.center[1] - 130))
    assert left is not right
    for face in (left, right):
        mesh = mesher().mesh(canvas, face)
        assert mesh is not None
        named = named_points(mesh)
        for eye in ("left_eye_center", "right_eye_center"):
            gap = np.hypot(*(np.array(named[eye]) - np.array(face.keypoints[eye])))
            assert gap < 0.3 * _eye_distance(named)
    # Each mesh matches the one computed on its photo alone, moved by the paste.
    for face, path, dx in ((left, paths[0], 5), (right, paths[1], 265)):
        alone = lfw_face(path)[1]
        mesh = mesher().mesh(canvas, face)
        assert alone is not None and mesh is not None
        moved = alone.xy + np.array([dx, 5], dtype=np.float32)
        assert float(np.median(np.linalg.norm(mesh.xy - moved, axis=1))) < 2.0


def test_mesh_coordinates_scale_with_the_picture(lfw_dir: Path) -> None:
    path = lfw_sample_paths(lfw_dir)[9]
    _, small_mesh = lfw_face(path)
    factor = 4
    big = cv2.resize(lfw_image(path), None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    face = face_nearest_center(detector().detect(big))
    assert face is not None and small_mesh is not None
    big_mesh = mesher().mesh(big, face)
    assert big_mesh is not None
    expected = (small_mesh.xy + 0.5) * factor - 0.5  # pixel centres at integers
    error = np.linalg.norm(big_mesh.xy - expected, axis=1)
    assert float(np.median(error)) < 0.5 * factor


def test_mirrored_photo_swaps_the_image_side_names(lfw_dir: Path) -> None:
    path = lfw_sample_paths(lfw_dir)[12]
    _, mesh = lfw_face(path)
    mirrored = np.ascontiguousarray(lfw_image(path)[:, ::-1])
    face = face_nearest_center(detector().detect(mirrored))
    assert face is not None and mesh is not None
    mirrored_mesh = mesher().mesh(mirrored, face)
    assert mirrored_mesh is not None
    original, flipped = named_points(mesh), named_points(mirrored_mesh)
    swap = {"left": "right", "right": "left"}
    for name, (x, y) in flipped.items():
        side, rest = name.split("_", 1)
        twin = f"{swap[side]}_{rest}" if side in swap else name
        ox, oy = original[twin]
        assert abs(x - (249 - ox)) < 4.0 and abs(y - oy) < 4.0, name


def test_detector_fallback_points(lfw_dir: Path) -> None:
    errors = []
    for path in lfw_sample_paths(lfw_dir)[:20]:
        face, mesh = lfw_face(path)
        assert mesh is not None
        estimated = points_from_detection(face)
        assert tuple(estimated) == POINT_NAMES
        assert estimated["left_eye_center"] == face.keypoints["left_eye_center"]
        reference = named_points(mesh)
        scale = _eye_distance(reference)
        errors.append(
            [
                np.hypot(*(np.array(estimated[n]) - np.array(reference[n]))) / scale
                for n in POINT_NAMES
            ]
        )
    median = np.median(np.array(errors), axis=0)
    # Estimated from average proportions: within a fifth of the eye distance for most faces.
    assert (median < 0.2).all(), dict(zip(POINT_NAMES, median.round(3), strict=True))


def test_detector_fallback_refuses_a_degenerate_face() -> None:
    keypoints = {name: (10.0, 10.0) for name in KEYPOINT_NAMES}
    face = DetectedFace(box=(0, 0, 20, 20), score=0.9, keypoints=keypoints)
    with pytest.raises(ImageError):
        points_from_detection(face)


def test_five_points_in_the_manifest_order(lfw_dir: Path) -> None:
    _, mesh = lfw_face(lfw_sample_paths(lfw_dir)[0])
    assert mesh is not None
    named = named_points(mesh)
    spec = dlib_template()
    points = five_points(named, spec.points)
    assert points.shape == (5, 2)
    for row, name in zip(points, spec.points, strict=True):
        assert tuple(row) == pytest.approx(named[name])
    with pytest.raises(ImageError, match="nose base"):
        five_points({k: v for k, v in named.items() if k != "nose_base"}, spec.points)


def test_no_mesh_for_a_box_without_a_face() -> None:
    grey = np.full((300, 300, 3), 128, dtype=np.uint8)
    keypoints = {name: (150.0 + i, 150.0) for i, name in enumerate(KEYPOINT_NAMES)}
    face = DetectedFace(box=(100, 100, 100, 100), score=0.9, keypoints=keypoints)
    assert mesher().mesh(grey, face) is None


def test_mesh_of_a_face_cut_by_the_picture_edge(lfw_dir: Path) -> None:
    path = lfw_sample_paths(lfw_dir)[4]
    cut = np.ascontiguousarray(lfw_image(path)[60:, 50:])  # face near the top-left corner
    face = face_nearest_center(detector().detect(cut))
    assert face is not None
    mesh = mesher().mesh(cut, face)
    assert mesh is not None
    _, whole = lfw_face(path)
    assert whole is not None
    moved = whole.xy - np.array([50, 60], dtype=np.float32)
    assert float(np.median(np.linalg.norm(mesh.xy - moved, axis=1))) < 2.5


def test_mesh_json_round_trip(lfw_dir: Path) -> None:
    _, mesh = lfw_face(lfw_sample_paths(lfw_dir)[3])
    assert mesh is not None
    again = FaceMesh.from_dict(json.loads(json.dumps(mesh.to_dict())))
    assert again.image_size == mesh.image_size
    assert np.allclose(again.points, mesh.points, atol=1e-3)


def test_the_mesh_comes_from_the_face_region_and_the_fallback_agrees(
    lfw_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The landmark model runs on the detected face's own region: no second detector, no crop.
    paths = lfw_sample_paths(lfw_dir)[:8]
    from_region = []
    for path in paths:
        face, _ = lfw_face(path)
        points = mesher()._mesh_in_roi(lfw_image(path), face)
        assert points is not None, path.name
        from_region.append(points)
    # When that fails, the complete face mesh on crops around the face gives the same points.
    fallback = FaceMesher()
    monkeypatch.setattr(fallback, "_mesh_in_roi", lambda image, face: None)
    for path, points in zip(paths, from_region, strict=True):
        face, _ = lfw_face(path)
        mesh = fallback.mesh(lfw_image(path), face)
        assert mesh is not None, path.name
        eyes = float(np.linalg.norm(mesh.xy[468] - mesh.xy[473]))
        error = np.linalg.norm(mesh.xy - points[:, :2], axis=1)
        assert float(np.median(error)) < 0.04 * eyes, path.name
        assert abs(float(np.median(mesh.xy[:, 0] - points[:, 0]))) < 0.02 * eyes  # no offset
    fallback.close()


def test_a_region_without_a_face_falls_back_to_the_crops(
    lfw_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A detection whose box is shifted off the face: the region gives no mesh that fits the
    # detected eyes, the fallback's own detector finds the face in the larger crop.
    path = lfw_sample_paths(lfw_dir)[2]
    face, whole = lfw_face(path)
    assert whole is not None
    x, y, w, h = face.box
    shifted = DetectedFace(
        box=(x + 0.45 * w, y - 0.45 * h, w, h), score=face.score, keypoints=face.keypoints
    )
    meshes = FaceMesher()
    assert meshes._mesh_in_roi(lfw_image(path), shifted) is None
    mesh = meshes.mesh(lfw_image(path), shifted)
    assert mesh is not None
    assert float(np.median(np.linalg.norm(mesh.xy - whole.xy, axis=1))) < 2.5
    meshes.close()
