"""dlib's serialization reader and the ONNX conversion of its ResNet face descriptor.

The key test compares the converted model with dlib's own descriptors on real LFW faces.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from face_model_support import converted_dlib_onnx, dlib_face, lfw_dlib_faces, lfw_pairs

from app.engine.align import align_chip, dlib_template
from app.engine.dlib_convert import convert_dlib_resnet
from app.engine.dlib_format import DlibStream, read_resnet_v1
from app.engine.models import find_dlib_model_files
from app.errors import ModelError

PARITY_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def session() -> ort.InferenceSession:
    return ort.InferenceSession(str(converted_dlib_onnx()), providers=["CPUExecutionProvider"])


def _run(session: ort.InferenceSession, chips: np.ndarray) -> np.ndarray:
    return np.asarray(session.run(["descriptor"], {"chip": chips})[0])


# --- serialization primitives -------------------------------------------------------------


def _dlib_int(value: int) -> bytes:
    magnitude = abs(value)
    raw = magnitude.to_bytes(max(1, (magnitude.bit_length() + 7) // 8), "little")
    return bytes([len(raw) | (0x80 if value < 0 else 0)]) + raw


def test_integers_floats_strings_and_tensors_decode() -> None:
    data = (
        _dlib_int(0)
        + _dlib_int(300)
        + _dlib_int(-5)
        + _dlib_int(3)  # float 3 * 2**-2 = 0.75: mantissa then exponent
        + _dlib_int(-2)
        + _dlib_int(1)  # +inf: exponent 32000
        + _dlib_int(32000)
        + _dlib_int(0)  # NaN: exponent 32002
        + _dlib_int(32002)
        + _dlib_int(4)
        + b"abcd"
        + b"1"
        + _dlib_int(2)  # tensor version 2, shape (1, 2, 1, 1), two float32
        + b"".join(_dlib_int(d) for d in (1, 2, 1, 1))
        + struct.pack("<2f", 1.5, -2.0)
    )
    s = DlibStream(io.BytesIO(data), name="test")
    assert s.read_int("a") == 0
    assert s.read_int("b") == 300
    assert s.read_int("c") == -5
    assert s.read_float("d") == 0.75
    assert s.read_float("e") == float("inf")
    assert np.isnan(s.read_float("f"))
    assert s.read_string("g") == "abcd"
    assert s.read_bool("h") is True
    tensor = s.read_tensor("i")
    assert tensor.shape == (1, 2, 1, 1)
    assert tensor.ravel().tolist() == [1.5, -2.0]


@pytest.mark.parametrize(
    ("data", "reader"),
    [
        (b"", "read_int"),
        (b"\x02\x01", "read_int"),
        (b"\x00", "read_int"),
        (b"\x7f\x01", "read_int"),
        (b"\x81\x01", "read_uint"),
        (b"\x01\x05\x00", "read_float"),
        (_dlib_int(10) + b"short", "read_string"),
        (b"x", "read_bool"),
        (_dlib_int(3) + b"\x01\x01\x01\x01", "read_tensor"),
        (_dlib_int(2) + b"".join(_dlib_int(d) for d in (1, 1, 2, 2)) + b"\x00" * 12, "read_tensor"),
    ],
    ids=[
        "empty",
        "truncated-int",
        "zero-size",
        "bad-control",
        "negative-unsigned",
        "truncated-float",
        "truncated-string",
        "not-a-bool",
        "tensor-version",
        "truncated-tensor",
    ],
)
def test_bad_primitives_are_model_errors(data: bytes, reader: str) -> None:
    s = DlibStream(io.BytesIO(data), name="bad.dat")
    with pytest.raises(ModelError, match=r"bad\.dat is corrupt or truncated"):
        getattr(s, reader)("x")


# --- the network file ---------------------------------------------------------------------


def test_reader_finds_dlibs_network() -> None:
    dat, _ = find_dlib_model_files()
    network = read_resnet_v1(dat)
    convs = [layer for layer in network.layers if layer.kind == "con"]
    assert len(convs) == 29
    assert convs[-1].weights is not None and convs[-1].weights.shape == (32, 3, 7, 7)
    assert [c.padding for c in convs if c.stride == 2] == [0] * 5
    assert all(c.padding == 1 for c in convs if c.stride == 1)
    fc = network.layers[0]
    assert fc.kind == "fc" and fc.weights is not None and fc.weights.shape == (256, 128)
    assert network.layers[-1].mean_rgb == pytest.approx((122.782, 117.001, 104.298), abs=1e-4)
    assert network.loss_distance_threshold == pytest.approx(0.6)


def test_graph_shapes_and_zero_extension(session: ort.InferenceSession) -> None:
    model = onnx.shape_inference.infer_shapes(onnx.load(str(converted_dlib_onnx())))
    spatial = set()
    for value in model.graph.value_info:
        dims = [d.dim_value for d in value.type.tensor_type.shape.dim]
        if len(dims) == 4:
            spatial.add(dims[2])
    assert {72, 35, 17, 8, 4, 2} <= spatial
    pads = [node for node in model.graph.node if node.op_type == "Pad"]
    assert len(pads) == 5  # four downsampling blocks; one pads both of its branches
    assert sum(node.op_type == "Conv" for node in model.graph.node) == 29
    (inp,) = session.get_inputs()
    assert inp.name == "chip" and inp.type == "tensor(uint8)" and inp.shape[1:] == [150, 150, 3]
    (out,) = session.get_outputs()
    assert out.name == "descriptor" and out.shape[1] == 128


def test_conversion_is_deterministic(tmp_path: Path) -> None:
    dat, _ = find_dlib_model_files()
    convert_dlib_resnet(dat, tmp_path / "again.onnx")
    assert (tmp_path / "again.onnx").read_bytes() == converted_dlib_onnx().read_bytes()


@pytest.mark.parametrize("keep", [0.0001, 0.3, 0.999], ids=["header", "middle", "end"])
def test_truncated_dat_is_refused(tmp_path: Path, keep: float) -> None:
    dat, _ = find_dlib_model_files()
    data = dat.read_bytes()
    bad = tmp_path / "truncated.dat"
    bad.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ModelError, match="corrupt or truncated"):
        convert_dlib_resnet(bad, tmp_path / "out.onnx")
    assert not (tmp_path / "out.onnx").exists()


def test_other_files_are_refused(tmp_path: Path) -> None:
    dat, shape5 = find_dlib_model_files()
    with pytest.raises(ModelError):
        convert_dlib_resnet(shape5, tmp_path / "out.onnx")
    extra = tmp_path / "extra.dat"
    extra.write_bytes(dat.read_bytes() + b"\x00")
    with pytest.raises(ModelError, match="after the end"):
        convert_dlib_resnet(extra, tmp_path / "out.onnx")
    with pytest.raises(ModelError, match="does not exist"):
        convert_dlib_resnet(tmp_path / "missing.dat", tmp_path / "out.onnx")


# --- parity with dlib ---------------------------------------------------------------------


def test_descriptors_match_dlib_on_lfw(lfw_dir: Path, session: ort.InferenceSession) -> None:
    faces = lfw_dlib_faces(lfw_dir)
    chips = np.stack([f.chip for f in faces])
    ours = _run(session, chips)
    theirs = np.stack([f.descriptor for f in faces])
    worst = float(np.abs(ours - theirs).max())
    print(f"\nONNX vs dlib on {len(faces)} LFW chips: max |difference| = {worst:.3g}")
    assert worst <= PARITY_TOLERANCE
    # Batching gives the same numbers as one chip at a time.
    single = np.concatenate([_run(session, chip[None]) for chip in chips[:5]])
    assert np.abs(single - ours[:5]).max() <= 1e-5


def test_same_person_is_closer_than_different_people(
    lfw_dir: Path, session: ort.InferenceSession
) -> None:
    spec = dlib_template()

    def descriptor(path: Path) -> np.ndarray:
        face = dlib_face(path)
        assert face is not None, f"dlib finds no face in {path.name}"
        return _run(session, align_chip(face.rgb, face.points, spec)[None])[0]

    def distances(same: bool) -> list[float]:
        pairs = lfw_pairs(lfw_dir, same=same, count=6)
        return [float(np.linalg.norm(descriptor(a) - descriptor(b))) for a, b in pairs]

    same, different = distances(True), distances(False)
    print(f"\nsame-person distances {np.round(same, 3)}, different {np.round(different, 3)}")
    assert np.median(same) < 0.6 < np.median(different)
    assert np.mean(same) < np.mean(different)
