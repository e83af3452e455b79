"""Five-point alignment: the similarity fit, dlib-compatible chips, and input checks."""

from __future__ import annotations

from pathlib import Path

import cv2
import dlib
import numpy as np
import onnxruntime as ort
import pytest
from face_model_support import converted_dlib_onnx, dlib_face, lfw_dlib_faces

from app.engine.align import (
    ARCFACE_112_POINTS,
    ARCFACE_112_TEMPLATE,
    AlignmentSpec,
    align_chip,
    dlib_template,
    image_to_chip_matrix,
    similarity_transform,
)
from app.errors import ImageError, ModelError


def _similarity(angle: float, scale: float, tx: float, ty: float) -> np.ndarray:
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    return np.array([[c, -s, tx], [s, c, ty]])


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def test_similarity_transform_recovers_a_known_transform() -> None:
    rng = np.random.default_rng(7)
    src = rng.uniform(0, 200, size=(5, 2))
    truth = _similarity(0.4, 1.7, -30.0, 12.5)
    found = similarity_transform(src, _apply(truth, src))
    assert np.allclose(found, truth, atol=1e-9)


def test_similarity_transform_never_reflects() -> None:
    src = np.array([[0, 0], [10, 0], [0, 10], [10, 10], [5, 3]], dtype=float)
    mirrored = src * np.array([-1.0, 1.0])
    found = similarity_transform(src, mirrored)
    assert np.linalg.det(found[:, :2]) > 0


def test_degenerate_points_are_refused() -> None:
    with pytest.raises(ImageError, match="same place"):
        similarity_transform(np.ones((5, 2)), np.zeros((5, 2)))
    with pytest.raises(ImageError):
        similarity_transform(np.zeros((5, 3)), np.zeros((5, 3)))
    with pytest.raises(ImageError, match="not a number"):
        similarity_transform(np.full((5, 2), np.nan), np.zeros((5, 2)))


def test_dlib_template_names_the_points_by_image_side() -> None:
    spec = dlib_template()
    xy = dict(zip(spec.points, spec.template, strict=True))
    assert xy["left_eye_outer"][0] < xy["left_eye_inner"][0] < xy["nose_base"][0]
    assert xy["nose_base"][0] < xy["right_eye_inner"][0] < xy["right_eye_outer"][0]
    assert xy["nose_base"][1] > max(xy[n][1] for n in spec.points if "eye" in n)
    assert spec.chip_size == (150, 150) and spec.method == "dlib_chip"


def test_dlib_landmarks_follow_the_named_order(lfw_dir: Path) -> None:
    # Reordered from dlib's 5-point predictor, the eye points run left to right in the image.
    for face in lfw_dlib_faces(lfw_dir):
        xs = face.points[:4, 0]
        assert (np.diff(xs) > 0).all(), face.path.name
        assert face.points[4, 1] > face.points[:4, 1].max()


def test_similarity_alignment_puts_landmarks_on_the_template() -> None:
    spec = AlignmentSpec(ARCFACE_112_POINTS, ARCFACE_112_TEMPLATE, (112, 112), "similarity")
    template = spec.template_array()
    # A photo where the template points, moved by a known similarity, are bright dots.
    photo_from_chip = _similarity(-0.3, 2.5, 140.0, 60.0)
    points = _apply(photo_from_chip, template)
    photo = np.zeros((480, 480, 3), np.uint8)
    for x, y in points:
        cv2.circle(photo, (round(x), round(y)), 6, (255, 255, 255), -1, lineType=cv2.LINE_AA)
    chip = align_chip(photo, points, spec)
    assert chip.shape == (112, 112, 3) and chip.dtype == np.uint8
    grey = chip[..., 0].astype(float)
    for x, y in template:
        window = grey[round(y) - 4 : round(y) + 5, round(x) - 4 : round(x) + 5]
        assert window.max() > 200, f"no dot near template point ({x:.1f}, {y:.1f})"
        ys, xs = np.nonzero(window > 100)
        # The dot's centre lands within half a pixel of the template point.
        assert abs(xs.mean() + round(x) - 4 - x) < 0.75 and abs(ys.mean() + round(y) - 4 - y) < 0.75
    assert np.allclose(image_to_chip_matrix(points, spec), _invert(photo_from_chip), atol=1e-6)


def _invert(m: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(m)


def test_chips_match_dlibs_get_face_chip_on_lfw(lfw_dir: Path) -> None:
    faces = lfw_dlib_faces(lfw_dir)
    session = ort.InferenceSession(str(converted_dlib_onnx()), providers=["CPUExecutionProvider"])
    spec = dlib_template()
    ours = np.stack([align_chip(f.rgb, f.points, spec) for f in faces])
    theirs = np.stack([f.chip for f in faces])
    mad = np.abs(ours.astype(float) - theirs).mean(axis=(1, 2, 3))
    ours_d = session.run(["descriptor"], {"chip": ours})[0]
    theirs_d = session.run(["descriptor"], {"chip": theirs})[0]
    dist = np.linalg.norm(ours_d - theirs_d, axis=1)
    print(
        f"\nalign_chip vs dlib.get_face_chip on {len(faces)} LFW faces: mean |pixel diff| "
        f"{mad.mean():.3f} (worst face {mad.max():.3f}); descriptor distance mean "
        f"{dist.mean():.4f}, max {dist.max():.4f}"
    )
    assert mad.mean() < 0.2 and mad.max() < 0.3
    assert dist.max() < 0.02  # dlib's decision threshold is 0.6


def test_large_photos_go_through_the_pyramid_like_dlib(lfw_dir: Path) -> None:
    spec = dlib_template()
    faces = lfw_dlib_faces(lfw_dir)[:4]
    mads = []
    for small in faces:
        big = cv2.resize(small.rgb, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
        face = dlib_face(small.path, big)
        assert face is not None
        chip = align_chip(big, face.points, spec)
        mads.append(np.abs(chip.astype(float) - face.chip).mean())
        # Measured: 0.33 with the pyramid, 1.8 when align_chip skips it.
    print(f"\n3x enlarged photos: mean |pixel diff| vs dlib {np.mean(mads):.3f}")
    assert np.mean(mads) < 0.6


def test_face_at_the_border_is_black_outside_the_photo(lfw_dir: Path) -> None:
    face = lfw_dlib_faces(lfw_dir)[0]
    spec = dlib_template()
    # Cut the photo just right of the nose: the chip's right part falls outside.
    cut = int(face.points[4, 0]) + 5
    part = np.ascontiguousarray(face.rgb[:, :cut])
    chip = align_chip(part, face.points, spec)
    theirs = dlib.get_face_chip(part, face.shape5, 150, 0.25)
    assert (chip[:, -20:] == 0).all()
    assert np.abs(chip.astype(float) - theirs).mean() < 0.3


def test_face_outside_the_photo_gives_a_black_chip() -> None:
    spec = dlib_template()
    points = spec.template_array() + 5000
    chip = align_chip(np.full((100, 100, 3), 200, np.uint8), points, spec)
    assert chip.shape == (150, 150, 3) and not chip.any()


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((50, 50), np.uint8),
        np.zeros((50, 50, 3), np.float32),
        np.zeros((50, 50, 4), np.uint8),
    ],
    ids=["grey", "float", "rgba"],
)
def test_only_8_bit_rgb_is_aligned(image: np.ndarray) -> None:
    with pytest.raises(ImageError):
        align_chip(image, dlib_template().template_array(), dlib_template())


def test_alignment_spec_is_validated() -> None:
    good = dict(points=ARCFACE_112_POINTS, template=ARCFACE_112_TEMPLATE, chip_size=(112, 112))
    AlignmentSpec(**good)  # type: ignore[arg-type]
    bad_cases = [
        ({"points": ("nose_tip",) * 5}, "five different"),
        ({"points": ("eyeball", *ARCFACE_112_POINTS[1:])}, "Unknown landmark name"),
        ({"template": ARCFACE_112_TEMPLATE[:4]}, "five"),
        ({"template": ((1.0, 1.0),) * 5}, "same place"),
        ({"chip_size": (2, 2)}, "not plausible"),
        ({"method": "magic"}, "Unknown alignment method"),
    ]
    for change, message in bad_cases:
        with pytest.raises(ModelError, match=message):
            AlignmentSpec(**{**good, **change})  # type: ignore[arg-type]
