"""Reader of dlib's binary serialization and of its ResNet face-descriptor network.

dlib writes every object with a handful of primitives (see ``dlib/serialize.h``):

* integers: one control byte (low nibble = number of magnitude bytes, bit 0x80 = negative for
  signed types), then that many little-endian magnitude bytes; a zero is written as one byte;
* floating point numbers: an int64 mantissa and an int16 exponent, value = m * 2**e, with three
  reserved exponents for +inf, -inf and NaN;
* strings: their length (an unsigned integer) then the bytes; booleans: ASCII '0' or '1';
* tensors: version 2, four int64 (samples, channels, rows, columns), then float32 little endian.

A network ``add_layer<L, SUB>`` is written as its version, the whole sub-network, then the layer's
own details, so the file holds the layer versions outermost first and the layer details innermost
(input side) first. Tags, skips and ``add_prev`` carry no identifiers in the file: the wiring
comes from the architecture definition (:func:`resnet_v1_architecture`, the network of dlib's
``dnn_face_recognition_ex.cpp``), which the reader checks the file against layer by layer.

Pure numpy and the standard library; reads the file as a stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
import numpy.typing as npt

from app.errors import ModelError

FloatArray = npt.NDArray[np.float32]

_FLOAT_INF = 32000
_FLOAT_NINF = 32001
_FLOAT_NAN = 32002
_MAX_STRING = 4096  # longest string a sane dlib model holds (layer version names)
_MAX_TENSOR_VALUES = 200_000_000  # 800 MB of float32: beyond this the file is corrupt

LayerKind = Literal[
    "input", "con", "affine", "relu", "max_pool", "avg_pool", "add_prev", "tag", "skip", "fc"
]


class DlibFormatError(ModelError):
    """A dlib model file is truncated, corrupt or not the expected network."""


class DlibStream:
    """Reads dlib's serialization primitives from a binary stream, with offsets in errors."""

    def __init__(self, stream: BinaryIO, *, name: str) -> None:
        self._stream = stream
        self._name = name

    @property
    def offset(self) -> int:
        return self._stream.tell()

    def fail(self, what: str) -> DlibFormatError:
        return DlibFormatError(
            f"The dlib model file {self._name} is corrupt or truncated: {what} "
            f"(at byte {self.offset})."
        )

    def read_bytes(self, count: int, what: str) -> bytes:
        data = self._stream.read(count)
        if len(data) != count:
            raise self.fail(f"the file ends while reading {what}")
        return data

    def skip_bytes(self, count: int, what: str) -> None:
        start = self.offset
        self._stream.seek(count, 1)
        # Seeking past the end does not fail by itself; read one byte back to check.
        if count and (self.offset != start + count or not self._peek_end_ok(start + count)):
            raise self.fail(f"the file ends while reading {what}")

    def _peek_end_ok(self, end: int) -> bool:
        self._stream.seek(end - 1)
        ok = len(self._stream.read(1)) == 1
        self._stream.seek(end)
        return ok

    def read_int(self, what: str, *, signed: bool = True, max_bytes: int = 8) -> int:
        control = self.read_bytes(1, what)[0]
        negative = bool(control & 0x80) and signed
        if not signed and control & 0x80:
            raise self.fail(f"{what} is negative where dlib stores an unsigned number")
        if control & 0x70:
            raise self.fail(f"{what} has an invalid integer control byte {control:#04x}")
        size = control & 0x0F
        if size == 0 or size > max_bytes:
            raise self.fail(f"{what} has an invalid integer size {size}")
        magnitude = int.from_bytes(self.read_bytes(size, what), "little")
        return -magnitude if negative else magnitude

    def read_uint(self, what: str) -> int:
        return self.read_int(what, signed=False)

    def read_float(self, what: str) -> float:
        mantissa = self.read_int(f"{what} (mantissa)", max_bytes=8)
        exponent = self.read_int(f"{what} (exponent)", max_bytes=2)
        if exponent == _FLOAT_INF:
            return float("inf")
        if exponent == _FLOAT_NINF:
            return float("-inf")
        if exponent == _FLOAT_NAN:
            return float("nan")
        return float(np.ldexp(np.float64(mantissa), exponent))

    def read_bool(self, what: str) -> bool:
        value = self.read_bytes(1, what)
        if value == b"1":
            return True
        if value == b"0":
            return False
        raise self.fail(f"{what} is not a dlib boolean")

    def read_string(self, what: str) -> str:
        length = self.read_uint(f"{what} (length)")
        if length > _MAX_STRING:
            raise self.fail(f"{what} claims an implausible length of {length} bytes")
        raw = self.read_bytes(length, what)
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError as exc:
            raise self.fail(f"{what} is not text") from exc

    def _tensor_header(self, what: str) -> tuple[int, int, int, int]:
        version = self.read_int(f"{what} (version)")
        if version != 2:
            raise self.fail(f"{what} has tensor version {version}, expected 2")
        dims = tuple(self.read_int(f"{what} (shape)") for _ in range(4))
        if any(d < 0 for d in dims) or int(np.prod(dims, dtype=np.int64)) > _MAX_TENSOR_VALUES:
            raise self.fail(f"{what} has an implausible shape {dims}")
        return dims[0], dims[1], dims[2], dims[3]

    def read_tensor(self, what: str) -> FloatArray:
        dims = self._tensor_header(what)
        count = int(np.prod(dims, dtype=np.int64))
        data = np.frombuffer(self.read_bytes(count * 4, what), dtype="<f4")
        return data.astype(np.float32).reshape(dims)

    def skip_tensor(self, what: str) -> tuple[int, int, int, int]:
        dims = self._tensor_header(what)
        self.skip_bytes(int(np.prod(dims, dtype=np.int64)) * 4, what)
        return dims

    def read_alias_shape(self, what: str) -> tuple[int, int, int, int]:
        version = self.read_int(f"{what} (version)")
        if version != 1:
            raise self.fail(f"{what} has alias-tensor version {version}, expected 1")
        dims = tuple(self.read_int(f"{what} (shape)") for _ in range(4))
        if any(d < 0 for d in dims):
            raise self.fail(f"{what} has a negative shape {dims}")
        return dims[0], dims[1], dims[2], dims[3]


@dataclass
class Layer:
    """One layer of the network; weights are filled in by the reader."""

    kind: LayerKind
    tag_id: int = 0  # tag, skip and add_prev: which tag they name
    filters: int = 0  # con: output channels; fc: outputs
    kernel: int = 0  # con and pooling: window size (0 = whole input)
    stride: int = 1
    padding: int = 0
    weights: FloatArray | None = None  # con OIHW; fc [in, out]; affine gamma
    bias: FloatArray | None = None  # con bias; affine beta
    mean_rgb: tuple[float, float, float] = (0.0, 0.0, 0.0)  # input: per-channel means
    size: int = 0  # input: rows == columns


def resnet_v1_architecture() -> list[Layer]:
    """The layers of ``dlib_face_recognition_resnet_model_v1``, outermost (output) first."""

    def block(filters: int, stride: int) -> list[Layer]:
        # BN<con<N,3,3,1,1, relu<BN<con<N,3,3,stride,stride, SUB>>>>>
        return [
            Layer("affine"),
            Layer("con", filters=filters, kernel=3, stride=1),
            Layer("relu"),
            Layer("affine"),
            Layer("con", filters=filters, kernel=3, stride=stride),
        ]

    def ares(filters: int) -> list[Layer]:
        # relu<add_prev1<block<N,1,tag1<SUB>>>>
        return [Layer("relu"), Layer("add_prev", tag_id=1), *block(filters, 1), Layer("tag", 1)]

    def ares_down(filters: int) -> list[Layer]:
        # relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,2,tag1<SUB>>>>>>>
        return [
            Layer("relu"),
            Layer("add_prev", tag_id=2),
            Layer("avg_pool", kernel=2, stride=2),
            Layer("skip", tag_id=1),
            Layer("tag", tag_id=2),
            *block(filters, 2),
            Layer("tag", tag_id=1),
        ]

    layers = [Layer("fc", filters=128), Layer("avg_pool", kernel=0, stride=1)]
    layers += ares_down(256)  # level 0
    layers += ares(256) + ares(256) + ares_down(256)  # level 1
    layers += ares(128) + ares(128) + ares_down(128)  # level 2
    layers += ares(64) + ares(64) + ares(64) + ares_down(64)  # level 3
    layers += ares(32) + ares(32) + ares(32)  # level 4
    layers += [
        Layer("max_pool", kernel=3, stride=2),
        Layer("relu"),
        Layer("affine"),
        Layer("con", filters=32, kernel=7, stride=2),
        Layer("input", size=150),
    ]
    return layers


@dataclass(frozen=True)
class DlibNetwork:
    """A parsed network: layers outermost first (weights filled), plus the loss settings."""

    layers: list[Layer]
    loss_margin: float
    loss_distance_threshold: float


def read_resnet_v1(path: Path) -> DlibNetwork:
    """Read ``dlib_face_recognition_resnet_model_v1.dat``; DlibFormatError if it is not one."""
    try:
        with path.open("rb") as raw:
            stream = DlibStream(raw, name=path.name)
            network = _read_network(stream, resnet_v1_architecture())
            if raw.read(1):
                raise stream.fail("unexpected data after the end of the network")
            return network
    except OSError as exc:
        raise DlibFormatError(f"The dlib model file {path} cannot be read: {exc}") from exc


def _read_network(s: DlibStream, layers: list[Layer]) -> DlibNetwork:
    if s.read_int("loss layer version") != 1:
        raise s.fail("this is not a dlib network with a loss layer")
    loss_name = s.read_string("loss layer name")
    margin, threshold = 0.1, 0.75  # dlib's values for the original "loss_metric_"
    if loss_name == "loss_metric_2":
        margin = s.read_float("loss margin")
        threshold = s.read_float("loss distance threshold")
    elif loss_name != "loss_metric_":
        raise s.fail(f"the loss layer is '{loss_name}', not dlib's metric-learning loss")

    # Versions, outermost first. The input layer has no header of its own: the innermost
    # add_layer (the first convolution) is dlib's input-layer specialisation, versions 2-3.
    versions: list[int] = []
    innermost = len(layers) - 2
    for index, layer in enumerate(layers[:-1]):
        version = s.read_int(f"version of layer {index} ({layer.kind})")
        if index == innermost:
            allowed: tuple[int, ...] = (2, 3)
        elif layer.kind in ("tag", "skip"):
            allowed = (1,)
        else:
            allowed = (1, 2)
        if version not in allowed:
            raise s.fail(f"layer {index} should be a {layer.kind} layer (version {version})")
        versions.append(version)
    input_layer, first_con = layers[-1], layers[innermost]
    input_version = versions[innermost]

    _read_input(s, input_layer)
    _read_details(s, first_con, innermost)
    _read_add_layer_tail(s, input_version, innermost=True)
    for index in range(innermost - 1, -1, -1):
        layer = layers[index]
        if layer.kind in ("tag", "skip"):
            continue  # add_tag_layer / add_skip_layer: nothing after their sub-network
        _read_details(s, layer, index)
        _read_add_layer_tail(s, versions[index], innermost=False)
    return DlibNetwork(layers=layers, loss_margin=margin, loss_distance_threshold=threshold)


def _read_input(s: DlibStream, layer: Layer) -> None:
    name = s.read_string("input layer name")
    if name != "input_rgb_image_sized":
        raise s.fail(f"the input layer is '{name}', expected a sized RGB image input")
    means = (s.read_float("red mean"), s.read_float("green mean"), s.read_float("blue mean"))
    rows, cols = s.read_uint("input rows"), s.read_uint("input columns")
    if rows != layer.size or cols != layer.size:
        raise s.fail(f"the input is {rows}x{cols}, expected {layer.size}x{layer.size}")
    layer.mean_rgb = means


def _read_add_layer_tail(s: DlibStream, version: int, *, innermost: bool) -> None:
    for flag in ("setup called", "gradient stale", "output disabled"):
        s.read_bool(f"layer flag '{flag}'")
    s.skip_tensor("cached gradient")
    s.skip_tensor("cached output")
    if innermost:
        s.skip_tensor("final gradient")
        if version >= 3:
            s.read_uint("sample expansion factor")
    elif version == 2:
        s.skip_tensor("parameter gradient")


def _read_details(s: DlibStream, layer: Layer, index: int) -> None:
    what = f"layer {index} ({layer.kind})"
    name = s.read_string(f"{what} name")
    reader = {
        "con": _read_con,
        "affine": _read_affine,
        "relu": _read_relu,
        "max_pool": _read_pool,
        "avg_pool": _read_pool,
        "add_prev": _read_add_prev,
        "fc": _read_fc,
    }[layer.kind]
    reader(s, layer, name, what)


def _check_version(s: DlibStream, name: str, allowed: tuple[str, ...], what: str) -> None:
    if name not in allowed:
        raise s.fail(f"{what} is '{name}', expected one of {', '.join(allowed)}")


def _read_con(s: DlibStream, layer: Layer, name: str, what: str) -> None:
    _check_version(s, name, ("con_4", "con_5", "con_6"), what)
    params = s.read_tensor(f"{what} parameters").reshape(-1)
    filters = s.read_int(f"{what} filter count")
    rows, cols = s.read_int(f"{what} rows"), s.read_int(f"{what} columns")
    stride_y, stride_x = s.read_int(f"{what} stride"), s.read_int(f"{what} stride")
    pad_y, pad_x = s.read_int(f"{what} padding"), s.read_int(f"{what} padding")
    filter_shape = s.read_alias_shape(f"{what} filter shape")
    bias_shape = s.read_alias_shape(f"{what} bias shape")
    for label in ("learning rate", "weight decay", "bias learning rate", "bias weight decay"):
        s.read_float(f"{what} {label}")
    use_bias = True
    if name in ("con_5", "con_6"):
        use_bias = s.read_bool(f"{what} use-bias flag")
    if name == "con_6":
        s.read_bool(f"{what} fused-relu flag")
    expected_pad = 0 if layer.stride != 1 else layer.kernel // 2
    if (filters, rows, cols, stride_y, stride_x, pad_y, pad_x) != (
        layer.filters,
        layer.kernel,
        layer.kernel,
        layer.stride,
        layer.stride,
        expected_pad,
        expected_pad,
    ):
        raise s.fail(
            f"{what} is a {filters}x{rows}x{cols} convolution with stride {stride_y} and "
            f"padding {pad_y}, not the expected {layer.filters}x{layer.kernel}x{layer.kernel} "
            f"with stride {layer.stride}"
        )
    n_weights = int(np.prod(filter_shape))
    n_bias = int(np.prod(bias_shape)) if use_bias else 0
    if filter_shape[0] != filters or params.size != n_weights + n_bias:
        raise s.fail(f"{what} parameter sizes do not agree")
    layer.padding = pad_y
    layer.weights = params[:n_weights].reshape(filter_shape)
    layer.bias = params[n_weights:] if use_bias else np.zeros(filters, np.float32)


def _read_affine(s: DlibStream, layer: Layer, name: str, what: str) -> None:
    _check_version(s, name, ("affine_", "affine_2"), what)
    params = s.read_tensor(f"{what} parameters").reshape(-1)
    gamma_shape = s.read_alias_shape(f"{what} scale shape")
    beta_shape = s.read_alias_shape(f"{what} shift shape")
    mode = s.read_int(f"{what} mode")
    if name == "affine_2" and s.read_bool(f"{what} disabled flag"):
        raise s.fail(f"{what} is disabled, which this converter does not expect")
    n_gamma, n_beta = int(np.prod(gamma_shape)), int(np.prod(beta_shape))
    if mode != 0 or params.size != n_gamma + n_beta or n_gamma != n_beta:
        raise s.fail(f"{what} is not a per-channel (convolutional) affine layer")
    layer.weights = params[:n_gamma].copy()
    layer.bias = params[n_gamma:].copy()


def _read_relu(s: DlibStream, layer: Layer, name: str, what: str) -> None:
    _check_version(s, name, ("relu_", "relu_2"), what)
    if name == "relu_2" and s.read_bool(f"{what} disabled flag"):
        raise s.fail(f"{what} is disabled, which this converter does not expect")


def _read_pool(s: DlibStream, layer: Layer, name: str, what: str) -> None:
    expected = "max_pool_2" if layer.kind == "max_pool" else "avg_pool_2"
    _check_version(s, name, (expected,), what)
    rows, cols = s.read_int(f"{what} rows"), s.read_int(f"{what} columns")
    stride_y, stride_x = s.read_int(f"{what} stride"), s.read_int(f"{what} stride")
    pad_y, pad_x = s.read_int(f"{what} padding"), s.read_int(f"{what} padding")
    expected_pad = 0 if layer.stride != 1 else layer.kernel // 2
    if (rows, cols, stride_y, stride_x, pad_y, pad_x) != (
        layer.kernel,
        layer.kernel,
        layer.stride,
        layer.stride,
        expected_pad,
        expected_pad,
    ):
        raise s.fail(f"{what} has window {rows}x{cols}, stride {stride_y}, padding {pad_y}")
    layer.padding = pad_y


def _read_add_prev(s: DlibStream, layer: Layer, name: str, what: str) -> None:
    _check_version(s, name, ("add_prev_",), what)


def _read_fc(s: DlibStream, layer: Layer, name: str, what: str) -> None:
    _check_version(s, name, ("fc_2", "fc_3"), what)
    outputs, inputs = s.read_uint(f"{what} outputs"), s.read_uint(f"{what} inputs")
    params = s.read_tensor(f"{what} parameters").reshape(-1)
    weight_shape = s.read_alias_shape(f"{what} weight shape")
    s.read_alias_shape(f"{what} bias shape")
    bias_mode = s.read_int(f"{what} bias mode")
    for label in ("learning rate", "weight decay", "bias learning rate", "bias weight decay"):
        s.read_float(f"{what} {label}")
    if name == "fc_3":
        s.read_bool(f"{what} use-bias flag")
    if bias_mode != 1 or outputs != layer.filters:
        raise s.fail(f"{what} should be a {layer.filters}-output layer without bias")
    if weight_shape[:2] != (inputs, outputs) or params.size != inputs * outputs:
        raise s.fail(f"{what} parameter sizes do not agree")
    layer.weights = params.reshape(inputs, outputs)


__all__ = [
    "DlibFormatError",
    "DlibNetwork",
    "DlibStream",
    "Layer",
    "read_resnet_v1",
    "resnet_v1_architecture",
]
