"""Worksheet feature regions: subject's own sides, inside the picture, crops of the asked size."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from face_detection_support import detector, lfw_face, lfw_image, lfw_sample_paths, mesher

from app.engine.detect import face_nearest_center
from app.engine.images import load_image_file
from app.engine.landmarks import FaceMesh, named_points
from app.engine.regions import (
    ESTIMATED_REGIONS,
    REGION_NAMES,
    FeatureRegion,
    crop_region,
    feature_regions,
)

WORKSHEET_NAMES = {
    "right_eye", "left_eye", "right_eyebrow", "left_eyebrow", "nose", "mouth", "lips", "chin",
    "jawline", "right_cheek", "left_cheek", "forehead", "right_ear", "left_ear", "hairline",
}  # fmt: skip


def _centre(region: FeatureRegion) -> np.ndarray:
    return region.polygon.mean(axis=0)


def _contains(region: FeatureRegion, point: tuple[float, float]) -> bool:
    contour = region.polygon.astype(np.float32).reshape(-1, 1, 2)
    return cv2.pointPolygonTest(contour, (float(point[0]), float(point[1])), False) >= 0


def _yale_normal(yale_dir: Path, subject: str) -> tuple[np.ndarray, FaceMesh]:
    _, decoded = load_image_file(yale_dir / f"{subject}.normal")
    face = face_nearest_center(detector().detect(decoded.rgb))
    assert face is not None
    mesh = mesher().mesh(decoded.rgb, face)
    assert mesh is not None
    return decoded.rgb, mesh


def test_every_region_is_there_and_inside_the_picture(lfw_dir: Path) -> None:
    assert set(REGION_NAMES) == WORKSHEET_NAMES
    for path in lfw_sample_paths(lfw_dir)[:15]:
        _, mesh = lfw_face(path)
        assert mesh is not None
        regions = feature_regions(mesh, (250, 250))
        assert set(regions) == WORKSHEET_NAMES
        for name, region in regions.items():
            assert region.name == name
            assert region.estimated == (name in ESTIMATED_REGIONS)
            assert region.polygon.ndim == 2 and region.polygon.shape[1] == 2
            assert len(region.polygon) >= 3
            x, y, w, h = region.box
            assert x >= -0.5 and y >= -0.5 and x + w <= 249.5 and y + h <= 249.5, name
            assert region.visible, (path.name, name)
        assert {"right_ear", "left_ear", "hairline"} == ESTIMATED_REGIONS


@pytest.mark.parametrize("subject", ["subject01", "subject05", "subject09"])
def test_subjects_right_side_is_on_the_image_left_in_a_frontal_photo(
    yale_dir: Path, subject: str
) -> None:
    rgb, mesh = _yale_normal(yale_dir, subject)
    regions = feature_regions(mesh, (rgb.shape[1], rgb.shape[0]))
    for feature in ("eye", "eyebrow", "cheek", "ear"):
        right, left = regions[f"right_{feature}"], regions[f"left_{feature}"]
        assert _centre(right)[0] < _centre(left)[0], feature
        assert right.box[0] < left.box[0], feature
    named = named_points(mesh)  # landmark names are image sides
    assert _contains(regions["right_eye"], named["left_eye_center"])
    assert _contains(regions["left_eye"], named["right_eye_center"])
    assert _contains(regions["nose"], named["nose_tip"])
    assert _contains(regions["mouth"], named["left_mouth"])
    assert _contains(regions["mouth"], named["right_mouth"])
    # Top to bottom: hairline, forehead, brows, eyes, nose, lips, chin.
    order = ["hairline", "forehead", "right_eyebrow", "right_eye", "nose", "lips", "chin"]
    heights = [_centre(regions[n])[1] for n in order]
    assert heights == sorted(heights), dict(zip(order, heights, strict=True))
    # The ears sit beside the face, outside the cheeks.
    assert regions["right_ear"].box[0] < regions["right_cheek"].box[0]
    right_cheek_end = regions["left_cheek"].box[0] + regions["left_cheek"].box[2]
    assert regions["left_ear"].box[0] + regions["left_ear"].box[2] > right_cheek_end
    # The lips lie inside the mouth region, the chin below them, the jawline around them.
    assert _contains(regions["mouth"], tuple(_centre(regions["lips"])))
    assert _contains(
        regions["jawline"], tuple(regions["chin"].polygon[regions["chin"].polygon[:, 1].argmax()])
    )


def test_mirrored_photo_swaps_subject_sides(lfw_dir: Path) -> None:
    path = lfw_sample_paths(lfw_dir)[7]
    _, mesh = lfw_face(path)
    mirrored = np.ascontiguousarray(lfw_image(path)[:, ::-1])
    face = face_nearest_center(detector().detect(mirrored))
    assert face is not None and mesh is not None
    mirrored_mesh = mesher().mesh(mirrored, face)
    assert mirrored_mesh is not None
    original = feature_regions(mesh, (250, 250))
    flipped = feature_regions(mirrored_mesh, (250, 250))
    for name in ("right_eye", "left_eye", "right_cheek", "right_eyebrow", "nose", "mouth"):
        twin = name.replace("right", "LEFT").replace("left", "right").replace("LEFT", "left")
        cx, cy = _centre(flipped[name])
        ox, oy = _centre(original[twin])
        # In the mirror image the subject's right eye is the original's left eye, reflected.
        assert abs(cx - (249 - ox)) < 4 and abs(cy - oy) < 4, name


def test_boxes_are_clipped_when_the_face_touches_the_edge(lfw_dir: Path) -> None:
    path = lfw_sample_paths(lfw_dir)[4]
    cut = np.ascontiguousarray(lfw_image(path)[95:, 60:])  # forehead and left side cut off
    face = face_nearest_center(detector().detect(cut))
    assert face is not None
    mesh = mesher().mesh(cut, face)
    assert mesh is not None
    height, width = cut.shape[:2]
    regions = feature_regions(mesh, (width, height))
    for name, region in regions.items():
        x, y, w, h = region.box
        assert x >= -0.5 and y >= -0.5 and w >= 0 and h >= 0, name
        assert x + w <= width - 0.5 + 1e-9 and y + h <= height - 0.5 + 1e-9, name
    # The hairline lies above the cut: its box is squeezed against the top edge.
    assert regions["hairline"].box[1] == -0.5
    crop = crop_region(cut, regions["hairline"], size=(90, 40))
    assert crop.shape == (40, 90, 3)


@pytest.mark.parametrize("size", [(160, 120), (64, 64), (50, 200), (1, 1)])
def test_crops_have_the_requested_size(lfw_dir: Path, size: tuple[int, int]) -> None:
    path = lfw_sample_paths(lfw_dir)[2]
    _, mesh = lfw_face(path)
    assert mesh is not None
    regions = feature_regions(mesh, (250, 250))
    for region in regions.values():
        crop = crop_region(lfw_image(path), region, size=size)
        assert crop.shape == (size[1], size[0], 3) and crop.dtype == np.uint8


def test_crop_shows_exactly_the_padded_box() -> None:
    # A picture whose pixel values are their own coordinates.
    xs, ys = np.meshgrid(np.arange(240), np.arange(200))
    picture = np.stack([xs, ys, np.zeros_like(xs)], axis=2).astype(np.uint8)
    square = np.array([[99.5, 49.5], [139.5, 49.5], [139.5, 89.5], [99.5, 89.5]])
    region = FeatureRegion(
        name="nose", polygon=square, box=(99.5, 49.5, 40.0, 40.0), estimated=False
    )
    crop = crop_region(picture, region, size=(40, 40), pad=0.0)
    assert crop[0, 0, 0] == 100 and crop[0, 0, 1] == 50
    assert crop[-1, -1, 0] == 139 and crop[-1, -1, 1] == 89
    # Padding widens the view; a wide output widens the box to keep the proportions.
    padded = crop_region(picture, region, size=(60, 60), pad=0.25)
    assert padded[0, 0, 0] == 90 and padded[-1, -1, 0] == 149
    wide = crop_region(picture, region, size=(80, 40), pad=0.0)
    assert wide[20, 0, 0] == 80 and wide[20, -1, 0] == 159 and wide[0, 40, 1] == 50
    outside = FeatureRegion(
        name="left_ear", polygon=square + 1000, box=(239.5, 199.5, 0.0, 0.0), estimated=True
    )
    assert not outside.visible
    assert (crop_region(picture, outside, size=(30, 20)) == 0).all()
    with pytest.raises(ValueError):
        crop_region(picture, region, size=(0, 10))
