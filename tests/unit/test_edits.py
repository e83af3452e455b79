"""Probe edits: each operation's effect, validation, determinism, serialisation, input safety."""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from app.engine.edits import (
    SUPPORTED_EDITS,
    EditOperation,
    apply_edit,
    apply_history,
    edit_engine_version,
    history_from_json,
    history_to_json,
)
from app.engine.images import load_image_file
from app.errors import EditError, FrxError

REPO_ROOT = Path(__file__).resolve().parents[2]


def noise_image(height: int = 48, width: int = 64, seed: int = 7) -> npt.NDArray[np.uint8]:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def ramp_image() -> npt.NDArray[np.uint8]:
    """Every grey level 0..255 once, as a 16 x 16 picture."""
    values = np.arange(256, dtype=np.uint8).reshape(16, 16)
    return np.repeat(values[:, :, None], 3, axis=2)


def one_of_each() -> list[EditOperation]:
    return [
        EditOperation("crop", {"x": 3, "y": 5, "width": 40, "height": 30}),
        EditOperation("rotate", {"degrees": 90}),
        EditOperation("rotate", {"degrees": 17.5}),
        EditOperation("brightness", {"amount": 25}),
        EditOperation("contrast", {"amount": 30}),
        EditOperation("gamma", {"gamma": 1.8}),
        EditOperation("sharpen", {"amount": 1.5, "radius": 2}),
        EditOperation("denoise", {"strength": 8}),
        EditOperation("mirror"),
        EditOperation("grayscale"),
    ]


def digest(rgb: npt.NDArray[np.uint8]) -> str:
    return hashlib.sha256(str(rgb.shape).encode() + rgb.tobytes()).hexdigest()


# --------------------------------------------------------------------------------------------
# Effects


def test_crop_keeps_exactly_the_rectangle() -> None:
    rgb = noise_image()
    result = apply_edit(rgb, EditOperation("crop", {"x": 10, "y": 4, "width": 20, "height": 7}))
    assert result.shape == (7, 20, 3)
    assert np.array_equal(result, rgb[4:11, 10:30])
    whole = apply_edit(rgb, EditOperation("crop", {"x": 0, "y": 0, "width": 64, "height": 48}))
    assert np.array_equal(whole, rgb)


@pytest.mark.parametrize(
    "box",
    [
        {"x": 50, "y": 0, "width": 15, "height": 10},
        {"x": 0, "y": 40, "width": 10, "height": 9},
        {"x": 64, "y": 0, "width": 1, "height": 1},
    ],
)
def test_crop_outside_the_picture_is_refused(box: dict[str, int]) -> None:
    with pytest.raises(EditError, match=r"reaches outside the 64 x 48 picture"):
        apply_edit(noise_image(), EditOperation("crop", box))


def test_rotate_90_moves_a_marked_pixel_counter_clockwise() -> None:
    rgb = np.zeros((4, 6, 3), dtype=np.uint8)
    rgb[0, 5] = (255, 0, 0)  # top-right
    rgb[3, 0] = (0, 255, 0)  # bottom-left
    result = apply_edit(rgb, EditOperation("rotate", {"degrees": 90}))
    assert result.shape == (6, 4, 3)
    assert tuple(result[0, 0]) == (255, 0, 0)  # top-right -> top-left
    assert tuple(result[5, 3]) == (0, 255, 0)  # bottom-left -> bottom-right
    # For a counter-clockwise quarter turn, (row, col) goes to (width - 1 - col, row).
    rows, cols = np.nonzero(rgb.any(axis=2))
    for row, col in zip(rows, cols, strict=True):
        assert np.array_equal(result[6 - 1 - col, row], rgb[row, col])


def test_rotations_by_multiples_of_90_are_exact() -> None:
    rgb = noise_image()
    assert np.array_equal(apply_edit(rgb, EditOperation("rotate", {"degrees": 0})), rgb)
    assert np.array_equal(apply_edit(rgb, EditOperation("rotate", {"degrees": 360})), rgb)
    assert np.array_equal(
        apply_edit(rgb, EditOperation("rotate", {"degrees": 180})), rgb[::-1, ::-1]
    )
    clockwise = apply_edit(rgb, EditOperation("rotate", {"degrees": -90}))
    assert np.array_equal(clockwise, apply_edit(rgb, EditOperation("rotate", {"degrees": 270})))
    back = apply_edit(clockwise, EditOperation("rotate", {"degrees": 90}))
    assert np.array_equal(back, rgb)


def test_any_angle_expands_the_canvas_and_fills_black() -> None:
    rgb = np.full((40, 60, 3), 200, dtype=np.uint8)
    result = apply_edit(rgb, EditOperation("rotate", {"degrees": 30}))
    radians = math.radians(30)
    expected_width = math.ceil(60 * math.cos(radians) + 40 * math.sin(radians))
    expected_height = math.ceil(60 * math.sin(radians) + 40 * math.cos(radians))
    assert result.shape == (expected_height, expected_width, 3)
    for corner in (result[0, 0], result[0, -1], result[-1, 0], result[-1, -1]):
        assert tuple(corner) == (0, 0, 0)
    centre = result[expected_height // 2, expected_width // 2]
    assert tuple(centre) == (200, 200, 200)  # nothing of the picture is lost in the middle


def test_positive_angle_turns_counter_clockwise_also_off_the_right_angles() -> None:
    rgb = np.zeros((41, 41, 3), dtype=np.uint8)
    rgb[18:23, 34:40] = 255  # a block right of the centre
    result = apply_edit(rgb, EditOperation("rotate", {"degrees": 89.5}))
    rows, cols = np.nonzero(result[:, :, 0] > 128)
    centre_row, centre_col = (result.shape[0] - 1) / 2, (result.shape[1] - 1) / 2
    assert rows.mean() < centre_row - 10  # now above the centre
    assert abs(cols.mean() - centre_col) < 3


def test_brightness_raises_and_lowers_the_mean() -> None:
    rgb = noise_image()
    brighter = apply_edit(rgb, EditOperation("brightness", {"amount": 20}))
    darker = apply_edit(rgb, EditOperation("brightness", {"amount": -20}))
    assert darker.mean() < rgb.mean() < brighter.mean()
    assert int(brighter[rgb < 200].min()) >= 51  # +20% of 255 = 51 everywhere not clipped
    assert np.array_equal(apply_edit(rgb, EditOperation("brightness", {"amount": 0})), rgb)
    assert (apply_edit(rgb, EditOperation("brightness", {"amount": 100})) == 255).all()


def test_contrast_spreads_or_flattens_tones() -> None:
    rgb = noise_image()
    assert apply_edit(rgb, EditOperation("contrast", {"amount": 40})).std() > rgb.std()
    assert apply_edit(rgb, EditOperation("contrast", {"amount": -40})).std() < rgb.std()
    flat = apply_edit(rgb, EditOperation("contrast", {"amount": -100}))
    assert len(np.unique(flat)) == 1 and int(flat[0, 0, 0]) in (127, 128)
    assert np.array_equal(apply_edit(rgb, EditOperation("contrast", {"amount": 0})), rgb)


def test_gamma_is_monotonic_keeps_black_and_white_and_orders_the_means() -> None:
    ramp = ramp_image()
    means = []
    for gamma in (0.2, 0.5, 1.0, 2.0, 5.0):
        curve = apply_edit(ramp, EditOperation("gamma", {"gamma": gamma}))[:, :, 0].ravel()
        assert (np.diff(curve.astype(int)) >= 0).all()  # brighter in, brighter out
        assert curve[0] == 0 and curve[-1] == 255
        means.append(float(curve.mean()))
    assert means == sorted(means) and len(set(means)) == len(means)
    identity = apply_edit(ramp, EditOperation("gamma", {"gamma": 1}))
    assert np.array_equal(identity, ramp)


def test_sharpen_strengthens_edges_and_leaves_flat_areas() -> None:
    edge = np.zeros((32, 32, 3), dtype=np.uint8)
    edge[:, 16:] = 200
    soft = apply_edit(edge, EditOperation("sharpen", {"amount": 0, "radius": 1}))
    assert np.array_equal(soft, edge)
    blurred = edge.copy()
    blurred[:, 15] = 67
    blurred[:, 16] = 133
    sharp = apply_edit(blurred, EditOperation("sharpen", {"amount": 2, "radius": 1.5}))
    assert int(sharp[:, 15].max()) < 67 and int(sharp[:, 16].min()) > 133
    flat = np.full((16, 16, 3), 90, dtype=np.uint8)
    assert np.array_equal(
        apply_edit(flat, EditOperation("sharpen", {"amount": 3, "radius": 4})), flat
    )


def test_denoise_reduces_noise_on_a_flat_patch() -> None:
    rng = np.random.default_rng(3)
    noisy = np.clip(128 + rng.normal(0, 12, (48, 48, 3)), 0, 255).astype(np.uint8)
    cleaned = apply_edit(noisy, EditOperation("denoise", {"strength": 15}))
    assert cleaned.shape == noisy.shape
    assert cleaned.std() < noisy.std() / 2
    assert abs(float(cleaned.mean()) - float(noisy.mean())) < 3


def test_mirror_flips_left_to_right() -> None:
    rgb = noise_image()
    mirrored = apply_edit(rgb, EditOperation("mirror"))
    assert np.array_equal(mirrored, rgb[:, ::-1])
    assert np.array_equal(apply_edit(mirrored, EditOperation("mirror")), rgb)


def test_grayscale_uses_luminance_weights() -> None:
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 200, 30]]], dtype=np.uint8)
    grey = apply_edit(rgb, EditOperation("grayscale"))
    assert grey[0, :, 0].tolist() == [76, 150, 29, 124]
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 1], grey[..., 2])


# --------------------------------------------------------------------------------------------
# Input safety and determinism


@pytest.mark.parametrize("op", one_of_each(), ids=lambda op: op.describe())
def test_input_is_never_changed_and_output_is_a_new_array(op: EditOperation) -> None:
    rgb = noise_image()
    before = rgb.copy()
    result = apply_edit(rgb, op)
    assert np.array_equal(rgb, before)
    assert not np.shares_memory(result, rgb)
    assert result.dtype == np.uint8 and result.ndim == 3 and result.shape[2] == 3
    assert result.flags["C_CONTIGUOUS"]


def test_edits_accept_read_only_and_non_contiguous_input() -> None:
    strided = noise_image(48, 128)[:, ::2]
    strided.flags.writeable = False
    contiguous = np.ascontiguousarray(strided)
    for op in one_of_each():
        assert np.array_equal(apply_edit(strided, op), apply_edit(contiguous, op))


DETERMINISM_SCRIPT = """
import hashlib, sys
import cv2
import numpy as np
import numpy.typing as npt
sys.path.insert(0, {root!r})
cv2.setNumThreads(1)
from app.engine.edits import EditOperation, apply_edit, history_from_json
rgb = np.random.default_rng(7).integers(0, 256, (48, 64, 3), dtype=np.uint8)
for op in history_from_json(sys.stdin.read()):
    out = apply_edit(rgb, op)
    print(hashlib.sha256(str(out.shape).encode() + out.tobytes()).hexdigest())
"""


def test_every_edit_is_byte_identical_across_runs_and_processes() -> None:
    ops = one_of_each()
    rgb = noise_image()
    first = [digest(apply_edit(rgb, op)) for op in ops]
    second = [digest(apply_edit(rgb.copy(), op)) for op in ops]
    assert first == second
    # Another process, single-threaded OpenCV, operations read back from JSON.
    completed = subprocess.run(
        [sys.executable, "-c", DETERMINISM_SCRIPT.format(root=str(REPO_ROOT))],
        input=history_to_json(ops),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert completed.stdout.split() == first


def test_history_replayed_from_json_reproduces_the_edited_photo(lfw_dir: Path) -> None:
    photo = sorted(next(p for p in sorted(lfw_dir.iterdir()) if p.is_dir()).glob("*.jpg"))[0]
    original_bytes, decoded = load_image_file(photo)
    history = [
        EditOperation("crop", {"x": 50, "y": 40, "width": 150, "height": 170}),
        EditOperation("rotate", {"degrees": -7.25}),
        EditOperation("gamma", {"gamma": 1.3}),
        EditOperation("sharpen", {"amount": 0.8, "radius": 1.2}),
    ]
    edited = apply_history(decoded.rgb, history)
    stored = history_to_json(history)
    replayed = apply_history(load_image_file(photo)[1].rgb, history_from_json(stored))
    assert digest(replayed) == digest(edited)
    assert photo.read_bytes() == original_bytes  # the original is never touched
    manual = decoded.rgb
    for op in history:
        manual = apply_edit(manual, op)
    assert np.array_equal(manual, edited)


# --------------------------------------------------------------------------------------------
# Validation


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("blur", {}, "'blur' is not an edit the workstation supports"),
        ("crop", {"x": 0, "y": 0, "width": 10}, "Crop needs a value for 'height'"),
        ("crop", {"x": -1, "y": 0, "width": 1, "height": 1}, "'x' must be at least 0; -1"),
        ("crop", {"x": 0, "y": 0, "width": 0, "height": 1}, "'width' must be at least 1"),
        ("crop", {"x": 0.5, "y": 0, "width": 1, "height": 1}, "whole number of pixels"),
        ("rotate", {"degrees": 361}, "'degrees' must be between -360 and 360; 361 was given"),
        ("brightness", {"amount": 101}, "Brightness: 'amount' must be between -100 and 100"),
        ("contrast", {"amount": -100.5}, "between -100 and 100; -100.5 was given"),
        ("gamma", {"gamma": 0.1}, "Gamma: 'gamma' must be between 0.2 and 5; 0.1 was given"),
        ("gamma", {"gamma": 5.01}, "between 0.2 and 5"),
        ("sharpen", {"amount": 4, "radius": 1}, "'amount' must be between 0 and 3"),
        ("sharpen", {"amount": 1}, "Sharpen needs a value for 'radius'"),
        ("denoise", {"strength": 0}, "'strength' must be between 1 and 20"),
        ("denoise", {"strength": 21}, "between 1 and 20; 21 was given"),
        ("brightness", {"amount": "10"}, "must be a number, not '10'"),
        ("brightness", {"amount": True}, "must be a number"),
        ("brightness", {"amount": float("inf")}, "must be a finite number"),
        ("mirror", {"axis": 1}, "Mirror has no parameter 'axis'"),
        ("grayscale", {"strength": 1}, "Greyscale has no parameter 'strength'"),
    ],
)
def test_bad_parameters_are_refused_in_plain_words(
    name: str, params: dict[str, object], message: str
) -> None:
    with pytest.raises(EditError) as caught:
        EditOperation(name, params)  # type: ignore[arg-type]
    assert message in str(caught.value)
    assert isinstance(caught.value, FrxError)


def test_history_error_names_the_failing_step() -> None:
    history = [
        EditOperation("rotate", {"degrees": 90}),
        EditOperation("crop", {"x": 0, "y": 0, "width": 60, "height": 60}),
    ]
    with pytest.raises(EditError, match=r"^Edit 2 of 2 \(Crop to 60 x 60 pixels at \(0, 0\)\)"):
        apply_history(noise_image(), history)


def test_apply_rejects_arrays_that_are_not_rgb() -> None:
    with pytest.raises(ValueError):
        apply_edit(np.zeros((4, 4), dtype=np.uint8), EditOperation("mirror"))
    with pytest.raises(ValueError):
        apply_edit(np.zeros((4, 4, 3), dtype=np.float64), EditOperation("mirror"))


# --------------------------------------------------------------------------------------------
# Serialisation and the catalogue


def test_operation_json_round_trip_is_canonical() -> None:
    for op in one_of_each():
        text = op.to_json()
        again = EditOperation.from_json(text)
        assert again == op and hash(again) == hash(op)
        assert again.to_json() == text
        assert json.loads(text) == {"name": op.name, "params": dict(op.params)}
    a = EditOperation("crop", {"y": 1, "x": 2, "width": 3, "height": 4.0})
    b = EditOperation("crop", {"height": 4, "width": 3, "x": 2, "y": 1})
    assert (
        a.to_json() == b.to_json() == '{"name":"crop","params":{"height":4,"width":3,"x":2,"y":1}}'
    )


def test_params_are_frozen_copies() -> None:
    given = {"amount": 10}
    op = EditOperation("brightness", given)
    given["amount"] = 99
    assert op.params["amount"] == 10.0
    with pytest.raises(TypeError):
        op.params["amount"] = 50  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"name": "gamma"}', "Gamma needs a value for 'gamma'"),
        ('{"params": {}}', "has no name"),
        ('{"name": "mirror", "params": [], "x": 1}', "unexpected fields: x"),
        ('{"name": "mirror", "params": [1]}', "are not an object"),
        ("[1, 2]", "must be an object"),
        ('{"name": "gamma", "params": {"gamma": NaN}}', "must be a finite number"),
    ],
)
def test_bad_stored_operations_are_refused(text: str, message: str) -> None:
    with pytest.raises(EditError, match=message):
        EditOperation.from_json(text)


def test_history_json_round_trip_and_errors() -> None:
    history = one_of_each()
    assert history_from_json(history_to_json(history)) == tuple(history)
    assert history_from_json("[]") == ()
    with pytest.raises(EditError, match="must be a list"):
        history_from_json('{"name": "mirror"}')


def test_catalogue_describes_every_edit_and_its_defaults_work() -> None:
    assert set(SUPPORTED_EDITS) == {
        "crop",
        "rotate",
        "brightness",
        "contrast",
        "gamma",
        "sharpen",
        "denoise",
        "mirror",
        "grayscale",
    }
    rgb = noise_image(120, 120)
    for name, definition in SUPPORTED_EDITS.items():
        assert definition.name == name and definition.label and definition.description
        for parameter in definition.parameters:
            assert parameter.label and parameter.description
            if parameter.minimum is not None and parameter.maximum is not None:
                assert parameter.minimum < parameter.maximum
                assert parameter.minimum <= parameter.default <= parameter.maximum
        defaults = {parameter.name: parameter.default for parameter in definition.parameters}
        op = EditOperation(name, defaults)
        assert op.describe()
        result = apply_edit(rgb, op)
        if not definition.changes_geometry:
            assert result.shape == rgb.shape
    assert SUPPORTED_EDITS["gamma"].parameters[0].minimum == 0.2
    assert SUPPORTED_EDITS["brightness"].parameters[0].maximum == 100


def test_engine_version_names_the_libraries_the_output_depends_on() -> None:
    import cv2

    version = edit_engine_version()
    assert version.startswith("frx-edits/") and cv2.__version__ in version
