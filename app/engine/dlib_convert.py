"""Convert dlib's ResNet face descriptor (``dlib_face_recognition_resnet_model_v1.dat``) to ONNX.

The graph takes ``chip``: uint8 RGB face chips, NHWC ``[N, 150, 150, 3]`` aligned the way dlib's
``get_face_chip(img, shape5, 150, 0.25)`` aligns them, and returns ``descriptor``: ``[N, 128]``
float32, not L2-normalised (compare with the Euclidean distance). dlib's input normalisation,
``(pixel - channel mean) / 256``, is inside the graph.

Each dlib affine layer (batch norm folded at training time) directly follows a convolution and
is folded into that convolution's weights. Where a residual addition meets two shapes, dlib adds
as if the smaller tensor were zero-extended at the end of channels, rows and columns; the graph
does the same with ``Pad``. The output bytes depend only on the ``.dat`` file and this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from app.engine.atomic_files import sha256_of, write_atomically
from app.engine.dlib_format import DlibNetwork, Layer, read_resnet_v1
from app.errors import ModelError

CONVERTER_VERSION = "1"
OPSET = 17
INPUT_NAME = "chip"
OUTPUT_NAME = "descriptor"
BATCH_DIM = "N"


@dataclass
class _Value:
    """A tensor of the graph being built: its name and static shape (channels, rows, cols)."""

    name: str
    channels: int
    rows: int
    cols: int


class _GraphBuilder:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[TensorProto] = []
        self._counter = 0

    def name(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}_{self._counter}"

    def constant(self, prefix: str, array: npt.NDArray[Any]) -> str:
        name = self.name(prefix)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(
        self, op: str, inputs: list[str], prefix: str, *, output: str = "", **attrs: Any
    ) -> str:
        out = output or self.name(prefix)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out


def _pool_out(size: int, kernel: int, stride: int, padding: int) -> int:
    return 1 + (size + 2 * padding - kernel) // stride


def _build_graph(network: DlibNetwork, source_sha256: str) -> onnx.ModelProto:
    layers = network.layers
    input_layer = layers[-1]
    size = input_layer.size
    g = _GraphBuilder()

    # Input normalisation: (pixel - mean) / 256, then NHWC -> NCHW.
    x = g.node("Cast", [INPUT_NAME], "as_float", to=TensorProto.FLOAT)
    mean = g.constant("rgb_mean", np.asarray(input_layer.mean_rgb, dtype=np.float32))
    x = g.node("Sub", [x, mean], "centred")
    scale = g.constant("inv256", np.asarray(1.0 / 256.0, dtype=np.float32))
    x = g.node("Mul", [x, scale], "scaled")
    x = g.node("Transpose", [x], "nchw", perm=[0, 3, 1, 2])
    current = _Value(x, 3, size, size)

    tags: dict[int, _Value] = {}
    index = len(layers) - 2  # innermost real layer (the first convolution)
    while index >= 0:
        layer = layers[index]
        if layer.kind == "con":
            affine = layers[index - 1] if index >= 1 else None
            if affine is None or affine.kind != "affine":
                raise ModelError("The dlib network has a convolution without batch norm.")
            current = _conv_affine(g, current, layer, affine)
            index -= 2
            continue
        current = _simple_layer(g, current, layer, tags)
        index -= 1

    model = helper.make_model(
        helper.make_graph(
            g.nodes,
            "dlib_face_recognition_resnet_model_v1",
            [
                helper.make_tensor_value_info(
                    INPUT_NAME, TensorProto.UINT8, [BATCH_DIM, size, size, 3]
                )
            ],
            [helper.make_tensor_value_info(current.name, TensorProto.FLOAT, [BATCH_DIM, 128])],
            initializer=g.initializers,
        ),
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="frx-workstation dlib_convert",
        producer_version=CONVERTER_VERSION,
        ir_version=8,
    )
    model.doc_string = (
        "dlib_face_recognition_resnet_model_v1 (dlib, CC0), converted to ONNX. Input: uint8 RGB "
        "150x150 chips aligned as dlib.get_face_chip(img, shape5, 150, 0.25). Output: 128-d "
        "descriptor, Euclidean distance, dlib's threshold 0.6."
    )
    helper.set_model_props(
        model,
        {
            "source": "dlib_face_recognition_resnet_model_v1.dat",
            "source_sha256": source_sha256,
            "loss_distance_threshold": f"{network.loss_distance_threshold:.6g}",
        },
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def _conv_affine(g: _GraphBuilder, x: _Value, con: Layer, affine: Layer) -> _Value:
    assert con.weights is not None and con.bias is not None  # filled by the reader
    assert affine.weights is not None and affine.bias is not None
    if con.weights.shape[1] != x.channels:
        raise ModelError("The dlib network's convolution does not match its input channels.")
    gamma = affine.weights.astype(np.float32)
    beta = affine.bias.astype(np.float32)
    weights = (con.weights * gamma[:, None, None, None]).astype(np.float32)
    bias = (con.bias * gamma + beta).astype(np.float32)
    w = g.constant("conv_w", weights)
    b = g.constant("conv_b", bias)
    pad = con.padding
    out = g.node(
        "Conv",
        [x.name, w, b],
        "conv",
        kernel_shape=[con.kernel, con.kernel],
        strides=[con.stride, con.stride],
        pads=[pad, pad, pad, pad],
    )
    rows = _pool_out(x.rows, con.kernel, con.stride, pad)
    cols = _pool_out(x.cols, con.kernel, con.stride, pad)
    return _Value(out, con.filters, rows, cols)


def _simple_layer(g: _GraphBuilder, x: _Value, layer: Layer, tags: dict[int, _Value]) -> _Value:
    kind = layer.kind
    if kind == "relu":
        return _Value(g.node("Relu", [x.name], "relu"), x.channels, x.rows, x.cols)
    if kind == "tag":
        tags[layer.tag_id] = x
        return x
    if kind == "skip":
        return tags[layer.tag_id]
    if kind == "max_pool" or (kind == "avg_pool" and layer.kernel > 0):
        op = "MaxPool" if kind == "max_pool" else "AveragePool"
        pad = layer.padding
        out = g.node(
            op,
            [x.name],
            "pool",
            kernel_shape=[layer.kernel, layer.kernel],
            strides=[layer.stride, layer.stride],
            pads=[pad, pad, pad, pad],
        )
        rows = _pool_out(x.rows, layer.kernel, layer.stride, pad)
        cols = _pool_out(x.cols, layer.kernel, layer.stride, pad)
        return _Value(out, x.channels, rows, cols)
    if kind == "avg_pool":  # window 0: average over everything
        pooled = g.node("GlobalAveragePool", [x.name], "global_pool")
        return _Value(g.node("Flatten", [pooled], "flat", axis=1), x.channels, 1, 1)
    if kind == "add_prev":
        return _add_zero_extended(g, x, tags[layer.tag_id])
    if kind == "fc":
        assert layer.weights is not None
        if layer.weights.shape[0] != x.channels * x.rows * x.cols:
            raise ModelError("The dlib network's last layer does not match its input size.")
        w = g.constant("fc_w", layer.weights.astype(np.float32))
        return _Value(g.node("MatMul", [x.name, w], "fc", output=OUTPUT_NAME), layer.filters, 1, 1)
    raise ModelError(f"The dlib network has a layer this converter does not know: {kind}.")


def _add_zero_extended(g: _GraphBuilder, a: _Value, b: _Value) -> _Value:
    shape = (max(a.channels, b.channels), max(a.rows, b.rows), max(a.cols, b.cols))

    def extend(v: _Value) -> str:
        grow = [shape[0] - v.channels, shape[1] - v.rows, shape[2] - v.cols]
        if not any(grow):
            return v.name
        pads = g.constant("pads", np.asarray([0, 0, 0, 0, 0, *grow], dtype=np.int64))
        return g.node("Pad", [v.name, pads], "zero_extend", mode="constant")

    out = g.node("Add", [extend(a), extend(b)], "residual")
    return _Value(out, *shape)


def convert_dlib_resnet(
    dat_path: Path,
    onnx_path: Path,
    *,
    progress: Callable[[int, int, str], None] | None = None,
) -> None:
    """Convert the dlib ``.dat`` file to an ONNX file (written atomically).

    Raises ModelError (a DlibFormatError) when the ``.dat`` file is missing, truncated, corrupt
    or not dlib's ResNet face descriptor network.
    """
    if progress:
        progress(0, 3, "Reading the dlib model")
    if not dat_path.is_file():
        raise ModelError(f"The dlib model file {dat_path} does not exist.")
    network = read_resnet_v1(dat_path)
    if progress:
        progress(1, 3, "Building the ONNX graph")
    model = _build_graph(network, sha256_of(dat_path))
    if progress:
        progress(2, 3, "Writing the ONNX model")
    try:
        write_atomically(onnx_path, model.SerializeToString(deterministic=True))
    except OSError as exc:
        raise ModelError(f"The converted model cannot be written to {onnx_path}: {exc}") from exc
    if progress:
        progress(3, 3, "Converted")


__all__ = ["INPUT_NAME", "OUTPUT_NAME", "convert_dlib_resnet"]
