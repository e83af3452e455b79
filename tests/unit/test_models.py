"""Model manifests, the registry, the embedder and ``frx model``.

A second model family (an ArcFace-style NCHW/BGR/cosine network built here) goes through the same
code as dlib's converted model, checked against a numpy reimplementation.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
from face_model_support import lfw_dlib_faces
from numpy.lib.stride_tricks import sliding_window_view
from onnx import TensorProto, helper, numpy_helper

from app.engine import models
from app.engine.align import ARCFACE_112_POINTS, ARCFACE_112_TEMPLATE, AlignmentSpec
from app.engine.model_manifest import (
    ModelManifest,
    manifest_to_toml,
    parse_manifest,
    read_manifest,
)
from app.engine.models import (
    install_default_model,
    install_model_file,
    list_models,
    load_embedder,
    verify_model,
)
from app.errors import ModelError

TINY_DIM = 16
PLACEHOLDER_SHA = "0" * 64


# --- a tiny ArcFace-style model -----------------------------------------------------------


def _tiny_weights() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(42)
    return {
        "conv_w": rng.normal(0, 0.5, (4, 3, 3, 3)).astype(np.float32),
        "conv_b": rng.normal(0, 0.1, 4).astype(np.float32),
        "fc_w": rng.normal(0, 1.0, (4, TINY_DIM)).astype(np.float32),
        "fc_b": rng.normal(0, 0.1, TINY_DIM).astype(np.float32),
    }


def _write_tiny_onnx(path: Path, size: int = 112) -> None:
    w = _tiny_weights()
    nodes = [
        helper.make_node(
            "Conv",
            ["data", "conv_w", "conv_b"],
            ["c"],
            kernel_shape=[3, 3],
            strides=[2, 2],
            pads=[1, 1, 1, 1],
        ),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"], axis=1),
        helper.make_node("MatMul", ["f", "fc_w"], ["m"]),
        helper.make_node("Add", ["m", "fc_b"], ["embedding"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", TINY_DIM])],
        initializer=[numpy_helper.from_array(v, k) for k, v in w.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, str(path))


def _tiny_reference(chips: np.ndarray) -> np.ndarray:
    """What the tiny model must give: BGR, (x - 127.5) / 128, NCHW, the network, L2 norm."""
    w = _tiny_weights()
    x = chips[..., ::-1].astype(np.float64)
    x = ((x - 127.5) / 128.0).transpose(0, 3, 1, 2)
    x = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = sliding_window_view(x, (3, 3), axis=(2, 3))[:, :, ::2, ::2]
    conv = np.einsum("nchwij,ocij->nohw", windows, w["conv_w"]) + w["conv_b"][None, :, None, None]
    pooled = np.maximum(conv, 0).mean(axis=(2, 3))
    out = pooled @ w["fc_w"] + w["fc_b"]
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def _tiny_manifest(**changes: object) -> ModelManifest:
    base = ModelManifest(
        name="tiny-arcface",
        version="0.1",
        file_name="tiny-arcface.onnx",
        sha256=PLACEHOLDER_SHA,
        input_name="data",
        input_size=(112, 112),
        layout="NCHW",
        dtype="float32",
        colour_order="BGR",
        mean=(127.5, 127.5, 127.5),
        std=(128.0, 128.0, 128.0),
        normalization_in_graph=False,
        alignment=AlignmentSpec(ARCFACE_112_POINTS, ARCFACE_112_TEMPLATE, (112, 112)),
        output_dim=TINY_DIM,
        metric="cosine",
        l2_normalize=True,
        threshold=0.5,
        licence="test only",
        source="built by the test",
        score_meaning="Cosine distance; smaller is more similar. It is not a probability.",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    return tmp_path / "models"


@pytest.fixture
def tiny_installed(models_dir: Path, tmp_path: Path) -> ModelManifest:
    source = tmp_path / "tiny.onnx"
    _write_tiny_onnx(source)
    return install_model_file(models_dir, source, _tiny_manifest())


def _chips(count: int, size: int = 112, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # Smooth-ish chips with a distinct colour cast per channel, so BGR vs RGB matters.
    base = rng.integers(0, 256, (count, size // 8, size // 8, 3)).astype(np.uint8)
    chips = np.repeat(np.repeat(base, 8, axis=1), 8, axis=2)
    chips[..., 0] //= 2
    return np.ascontiguousarray(chips)


def test_second_model_family_through_the_same_code(
    models_dir: Path, tiny_installed: ModelManifest
) -> None:
    assert tiny_installed.sha256 != PLACEHOLDER_SHA
    assert verify_model(models_dir, "tiny-arcface") == tiny_installed
    assert [m.name for m in list_models(models_dir)] == ["tiny-arcface"]
    embedder = load_embedder(models_dir, "tiny-arcface", threads=1)
    assert embedder.manifest.alignment.chip_size == (112, 112)
    chips = _chips(5)
    out = embedder.embed(chips)
    assert out.shape == (5, TINY_DIM) and out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert np.abs(out - _tiny_reference(chips)).max() < 1e-5
    # The reference is sensitive to the colour order: RGB input would give other numbers.
    assert np.abs(out - _tiny_reference(chips[..., ::-1])).max() > 1e-3
    # Cosine distance: 0 for the same face, 1 - dot for unit vectors, broadcast over a gallery.
    assert embedder.distance(out[0], out[0]) == pytest.approx(0.0, abs=1e-6)
    assert embedder.distance(out[0], -out[0]) == pytest.approx(2.0, abs=1e-6)
    gallery = embedder.distance(out[0], out)
    assert isinstance(gallery, np.ndarray) and gallery.shape == (5,)
    assert np.allclose(gallery, 1.0 - out @ out[0], atol=1e-6)


def test_batches_and_mirror(models_dir: Path, tiny_installed: ModelManifest) -> None:
    whole = load_embedder(models_dir, "tiny-arcface", threads=1).embed(_chips(7))
    small = load_embedder(models_dir, "tiny-arcface", threads=1, batch_size=3)
    seen: list[tuple[int, int]] = []
    batched = small.embed(_chips(7), progress=lambda done, total, _msg: seen.append((done, total)))
    assert np.abs(whole - batched).max() < 1e-6
    assert seen == [(3, 7), (6, 7), (7, 7)]
    chip = _chips(1)[0]
    mirrored = small.descriptor_with_mirror(chip)
    expected = _tiny_reference(chip[None])[0] + _tiny_reference(chip[None, :, ::-1])[0]
    assert np.abs(mirrored - expected / np.linalg.norm(expected)).max() < 1e-5
    with pytest.raises(Exception, match="112x112"):
        small.embed(_chips(2, size=96))


def test_changed_truncated_or_corrupt_files_are_refused(
    models_dir: Path, tiny_installed: ModelManifest
) -> None:
    path = models_dir / "tiny-arcface" / tiny_installed.file_name
    original = path.read_bytes()
    path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    with pytest.raises(ModelError, match=r"tiny-arcface.*does not match its manifest"):
        load_embedder(models_dir, "tiny-arcface")
    path.write_bytes(original[: len(original) // 2])
    with pytest.raises(ModelError, match="does not match its manifest"):
        verify_model(models_dir, "tiny-arcface")
    # Garbage whose digest is (wrongly) recorded in the manifest still cannot be used.
    path.write_bytes(b"not an onnx model at all")
    manifest_path = models_dir / "tiny-arcface" / "manifest.toml"
    manifest_path.write_text(
        manifest_to_toml(replace(tiny_installed, sha256=models.sha256_of(path))), encoding="utf-8"
    )
    with pytest.raises(ModelError, match="cannot be loaded"):
        verify_model(models_dir, "tiny-arcface")
    path.unlink()
    with pytest.raises(ModelError, match="is missing"):
        verify_model(models_dir, "tiny-arcface")
    with pytest.raises(ModelError, match="'nothing' is not installed"):
        verify_model(models_dir, "nothing")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {
                "input_size": (100, 100),
                "alignment": AlignmentSpec(ARCFACE_112_POINTS, ARCFACE_112_TEMPLATE, (100, 100)),
            },
            "input has shape",
        ),
        ({"output_dim": 32}, "output has shape"),
        ({"input_name": "image"}, "no input named 'image'"),
        ({"dtype": "uint8", "normalization_in_graph": True}, "input is tensor"),
        ({"layout": "NHWC"}, "input has shape"),
    ],
    ids=["size", "dimension", "input-name", "dtype", "layout"],
)
def test_manifest_that_does_not_fit_the_file_is_refused(
    models_dir: Path, tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    source = tmp_path / "tiny.onnx"
    _write_tiny_onnx(source)
    with pytest.raises(ModelError, match=message):
        install_model_file(models_dir, source, _tiny_manifest(**changes))


def _manifest_dict() -> dict[str, object]:
    return tomllib.loads(manifest_to_toml(_tiny_manifest()))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["input"].pop("layout"), "missing the field 'input.layout'"),
        (lambda d: d.pop("output"), "missing the field 'output.dimension'"),
        (lambda d: d["input"].update(layout="NHCW"), "invalid 'input.layout'"),
        (lambda d: d["output"].update(dimension="16"), "invalid 'output.dimension'"),
        (lambda d: d["output"].update(metric="manhattan"), "invalid 'output.metric'"),
        (lambda d: d["output"].update(threshold=-1.0), "invalid decision threshold"),
        (lambda d: d["model"].update(sha256="xyz"), "invalid sha256"),
        (lambda d: d["model"].update(name="Bad Name"), "not allowed"),
        (lambda d: d["model"].update(file="../elsewhere.onnx"), "outside the model's folder"),
        (lambda d: d["model"].update(score_meaning=" "), "what its score means"),
        (lambda d: d["alignment"].update(points=["eye"] * 5), "invalid alignment"),
        (lambda d: d["alignment"].update(template=[[1, 2]] * 4), "invalid 'alignment.template'"),
        (lambda d: d["alignment"].update(chip_size=[96, 96]), "aligns chips of size"),
        (lambda d: d["input"]["normalization"].update(std=[1, 0, 1]), "not > 0"),
        (lambda d: d["input"].update(dtype="uint8"), "cannot hold"),
    ],
)
def test_manifest_fields_are_validated(edit: object, message: str) -> None:
    data = _manifest_dict()
    edit(data)  # type: ignore[operator]
    with pytest.raises(ModelError, match=message):
        parse_manifest(data, where="of model 'tiny-arcface' (test)")


def test_unreadable_manifests(models_dir: Path, tiny_installed: ModelManifest) -> None:
    broken = models_dir / "broken"
    broken.mkdir()
    (broken / "manifest.toml").write_text("[model\nname = ", encoding="utf-8")
    with pytest.raises(ModelError, match="cannot be read"):
        read_manifest(broken / "manifest.toml")
    with pytest.raises(ModelError, match="cannot be read"):
        verify_model(models_dir, "broken")
    # Listing skips it (the casework status names the problem).
    assert [m.name for m in list_models(models_dir)] == ["tiny-arcface"]
    assert models.model_folders(models_dir) == ["broken", "tiny-arcface"]
    moved = models_dir / "renamed"
    (models_dir / "tiny-arcface").rename(moved)
    with pytest.raises(ModelError, match="but its folder is 'renamed'"):
        verify_model(models_dir, "renamed")


# --- the default model ----------------------------------------------------------------------


def test_install_default_model_is_idempotent_and_matches_dlib(
    models_dir: Path, lfw_dir: Path
) -> None:
    steps: list[str] = []
    manifest = install_default_model(models_dir, progress=lambda d, t, m: steps.append(m))
    assert steps and manifest.name == models.DEFAULT_MODEL_NAME
    onnx_path = models_dir / manifest.name / manifest.file_name
    stamp = onnx_path.stat().st_mtime_ns
    assert install_default_model(models_dir) == manifest
    assert onnx_path.stat().st_mtime_ns == stamp  # kept, not converted again
    assert manifest.metric == "euclidean" and not manifest.l2_normalize
    assert manifest.threshold == 0.6 and "not a probability" in manifest.score_meaning

    embedder = load_embedder(models_dir, manifest.name, threads=2)
    faces = lfw_dlib_faces(lfw_dir)[:6]
    out = embedder.embed(np.stack([f.chip for f in faces]))
    assert np.abs(out - np.stack([f.descriptor for f in faces])).max() <= 1e-4
    mirrored = embedder.descriptor_with_mirror(faces[0].chip)
    assert 0 < embedder.distance(mirrored, out[0]) < 0.3
    assert embedder.is_below_threshold(float(embedder.distance(out[0], out[0])))

    # A damaged install is repaired by installing again.
    onnx_path.write_bytes(b"damaged")
    assert install_default_model(models_dir).sha256 == manifest.sha256


def test_install_default_model_without_the_package(
    models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "face_recognition_models" else real(name, *a),
    )
    with pytest.raises(ModelError, match=r"face_recognition_models.*not installed"):
        install_default_model(models_dir)
    assert not (models_dir / models.DEFAULT_MODEL_NAME).exists()


# --- frx model ------------------------------------------------------------------------------


def _frx(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "model", *args],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ),
    )


def test_frx_model_commands(fresh_data_dir: Path) -> None:
    empty = _frx("list")
    assert empty.returncode == 0 and "No face models are installed" in empty.stdout
    assert _frx("verify").returncode == 1

    installed = _frx("install-default")
    assert installed.returncode == 0, installed.stderr
    assert "dlib-resnet-v1" in installed.stdout
    onnx_file = fresh_data_dir / "models" / "dlib-resnet-v1" / "dlib-resnet-v1.onnx"
    assert onnx_file.is_file()

    listing = _frx("list")
    assert listing.returncode == 0
    row = next(line for line in listing.stdout.splitlines() if "dlib-resnet-v1" in line)
    assert row.split()[:6] == ["*", "dlib-resnet-v1", "1", "128", "euclidean", "0.6"]
    assert row.split()[-1] == "verified"

    ok = _frx("verify", "dlib-resnet-v1")
    assert ok.returncode == 0 and ok.stdout.startswith("OK")

    onnx_file.write_bytes(onnx_file.read_bytes()[:-10])
    bad = _frx("verify")
    assert bad.returncode == 1 and "does not match its manifest" in bad.stdout
    assert "NOT VERIFIED" in _frx("list").stdout
    assert _frx("verify", "no-such-model").returncode == 1
