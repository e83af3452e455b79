"""The manifest of a face embedding model: what the ONNX file expects and what its scores mean.

A model is a folder ``<models_dir>/<name>/`` holding the ONNX file and ``manifest.toml``::

    [model]
    name = "dlib-resnet-v1"          # same as the folder name
    version = "1"
    file = "dlib-resnet-v1.onnx"
    sha256 = "<hex digest of the ONNX file>"
    licence = "..."
    source = "..."
    source_sha256 = ""               # optional: digest of what the file was converted from
    score_meaning = "One plain sentence for the UI and reports."

    [input]
    name = "chip"
    size = [150, 150]                # width, height in pixels
    layout = "NHWC"                  # or "NCHW"
    dtype = "uint8"                  # or "float32"
    colour_order = "RGB"             # or "BGR"

    [input.normalization]            # x' = (x - mean) / std, channels in colour_order
    mean = [122.782, 117.001, 104.298]
    std = [256.0, 256.0, 256.0]
    in_graph = true                  # true: the graph does it itself (for the record only)

    [alignment]                      # see app.engine.align
    points = ["left_eye_outer", ...] # five names from app.engine.align.POINT_NAMES
    template = [[x, y], ...]         # five points in chip pixels
    chip_size = [150, 150]
    method = "dlib_chip"             # or "similarity" (the default)

    [output]
    dimension = 128
    metric = "euclidean"             # or "cosine" (1 - cosine similarity)
    l2_normalize = false
    threshold = 0.6                  # the model's decision threshold on that distance
    mirror_average = false           # optional: a face's descriptor is the mean of its chip's
                                     # and the mirrored chip's (every descriptor, so all compare)

Every problem with a manifest is a ModelError naming the model, the field and what is wrong.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from app.engine.align import AlignmentSpec
from app.errors import ModelError

MANIFEST_FILE = "manifest.toml"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

Layout = Literal["NHWC", "NCHW"]
DType = Literal["uint8", "float32"]
ColourOrder = Literal["RGB", "BGR"]
Metric = Literal["euclidean", "cosine"]


@dataclass(frozen=True)
class ModelManifest:
    """Everything the workstation must know about one embedding model."""

    name: str
    version: str
    file_name: str
    sha256: str
    input_name: str
    input_size: tuple[int, int]  # (width, height)
    layout: Layout
    dtype: DType
    colour_order: ColourOrder
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    normalization_in_graph: bool
    alignment: AlignmentSpec
    output_dim: int
    metric: Metric
    l2_normalize: bool
    threshold: float
    licence: str
    source: str
    score_meaning: str
    source_sha256: str = ""
    mirror_average: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        label = f"model '{self.name}'"
        if not NAME_PATTERN.match(self.name):
            raise ModelError(
                f"The model name '{self.name}' is not allowed: use lower-case letters, digits, "
                "'.', '_' or '-' (at most 64 characters)."
            )
        if not _SHA256.match(self.sha256):
            raise ModelError(f"The manifest of {label} has an invalid sha256 (64 hex digits).")
        if self.source_sha256 and not _SHA256.match(self.source_sha256):
            raise ModelError(f"The manifest of {label} has an invalid source_sha256.")
        if "/" in self.file_name or "\\" in self.file_name or self.file_name in ("", ".", ".."):
            raise ModelError(f"The manifest of {label} names a file outside the model's folder.")
        if self.input_size != self.alignment.chip_size:
            raise ModelError(
                f"The manifest of {label} has input size {self.input_size} but aligns chips "
                f"of size {self.alignment.chip_size}."
            )
        if any(s <= 0 or not math.isfinite(s) for s in self.std):
            raise ModelError(f"The manifest of {label} has a normalisation std that is not > 0.")
        if not all(math.isfinite(m) for m in self.mean):
            raise ModelError(
                f"The manifest of {label} has a normalisation mean that is not a number."
            )
        if (
            self.dtype == "uint8"
            and not self.normalization_in_graph
            and (self.mean != (0.0, 0.0, 0.0) or self.std != (1.0, 1.0, 1.0))
        ):
            raise ModelError(
                f"The manifest of {label} asks for normalisation outside the graph on an 8-bit "
                "input, which cannot hold the result; use dtype float32."
            )
        if not 1 <= self.output_dim <= 65536:
            raise ModelError(f"The manifest of {label} has an implausible output dimension.")
        if not math.isfinite(self.threshold) or self.threshold < 0:
            raise ModelError(f"The manifest of {label} has an invalid decision threshold.")
        if not self.score_meaning.strip():
            raise ModelError(f"The manifest of {label} must say what its score means.")

    @property
    def chip_size(self) -> tuple[int, int]:
        return self.alignment.chip_size


class _Fields:
    """Typed access to a parsed TOML table with plain error messages naming the field."""

    def __init__(self, data: dict[str, Any], where: str) -> None:
        self._data = data
        self._where = where

    def _get(self, dotted: str) -> Any:
        node: Any = self._data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                raise ModelError(f"The manifest {self._where} is missing the field '{dotted}'.")
            node = node[part]
        return node

    def has(self, dotted: str) -> bool:
        try:
            self._get(dotted)
        except ModelError:
            return False
        return True

    def bad(self, dotted: str, expected: str) -> ModelError:
        return ModelError(f"The manifest {self._where} has an invalid '{dotted}': {expected}.")

    def text(
        self, dotted: str, *, choices: tuple[str, ...] = (), default: str | None = None
    ) -> str:
        if default is not None and not self.has(dotted):
            return default
        value = self._get(dotted)
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)  # e.g. version = 1
        if not isinstance(value, str):
            raise self.bad(dotted, "expected text")
        if choices and value not in choices:
            raise self.bad(dotted, f"expected one of {', '.join(choices)}")
        return value

    def boolean(self, dotted: str, *, default: bool | None = None) -> bool:
        if default is not None and not self.has(dotted):
            return default
        value = self._get(dotted)
        if not isinstance(value, bool):
            raise self.bad(dotted, "expected true or false")
        return value

    def number(self, dotted: str) -> float:
        value = self._get(dotted)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.bad(dotted, "expected a number")
        return float(value)

    def integer(self, dotted: str) -> int:
        value = self._get(dotted)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.bad(dotted, "expected a whole number")
        return value

    def numbers(self, dotted: str, count: int) -> tuple[float, ...]:
        value = self._get(dotted)
        if (
            not isinstance(value, list)
            or len(value) != count
            or any(isinstance(v, bool) or not isinstance(v, int | float) for v in value)
        ):
            raise self.bad(dotted, f"expected a list of {count} numbers")
        return tuple(float(v) for v in value)

    def size(self, dotted: str) -> tuple[int, int]:
        value = self._get(dotted)
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value, value]
        if (
            not isinstance(value, list)
            or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) or v <= 0 for v in value)
        ):
            raise self.bad(dotted, "expected [width, height] in pixels")
        return value[0], value[1]


def parse_manifest(data: dict[str, Any], *, where: str) -> ModelManifest:
    """Build a manifest from parsed TOML; ``where`` names it in error messages."""
    f = _Fields(data, where)
    points = f._get("alignment.points")
    if not isinstance(points, list) or not all(isinstance(p, str) for p in points):
        raise f.bad("alignment.points", "expected a list of five landmark names")
    template = f._get("alignment.template")
    if (
        not isinstance(template, list)
        or len(template) != 5
        or not all(
            isinstance(xy, list)
            and len(xy) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in xy)
            for xy in template
        )
    ):
        raise f.bad("alignment.template", "expected five [x, y] points")
    try:
        alignment = AlignmentSpec(
            points=tuple(points),
            template=tuple((float(x), float(y)) for x, y in template),
            chip_size=f.size("alignment.chip_size"),
            method=f.text(  # type: ignore[arg-type]
                "alignment.method", choices=("similarity", "dlib_chip"), default="similarity"
            ),
        )
    except ModelError as exc:
        raise ModelError(f"The manifest {where} has an invalid alignment: {exc}") from exc
    mean = f.numbers("input.normalization.mean", 3)
    std = f.numbers("input.normalization.std", 3)
    known_sections = {"model", "input", "alignment", "output"}
    return ModelManifest(
        name=f.text("model.name"),
        version=f.text("model.version"),
        file_name=f.text("model.file"),
        sha256=f.text("model.sha256").lower(),
        licence=f.text("model.licence"),
        source=f.text("model.source"),
        source_sha256=f.text("model.source_sha256", default="").lower(),
        score_meaning=f.text("model.score_meaning"),
        input_name=f.text("input.name"),
        input_size=f.size("input.size"),
        layout=f.text("input.layout", choices=("NHWC", "NCHW")),  # type: ignore[arg-type]
        dtype=f.text("input.dtype", choices=("uint8", "float32")),  # type: ignore[arg-type]
        colour_order=f.text("input.colour_order", choices=("RGB", "BGR")),  # type: ignore[arg-type]
        mean=(mean[0], mean[1], mean[2]),
        std=(std[0], std[1], std[2]),
        normalization_in_graph=f.boolean("input.normalization.in_graph"),
        alignment=alignment,
        output_dim=f.integer("output.dimension"),
        metric=f.text("output.metric", choices=("euclidean", "cosine")),  # type: ignore[arg-type]
        l2_normalize=f.boolean("output.l2_normalize"),
        threshold=f.number("output.threshold"),
        mirror_average=f.boolean("output.mirror_average", default=False),
        extra={k: v for k, v in data.items() if k not in known_sections},
    )


def read_manifest(path: Path) -> ModelManifest:
    """Read and validate ``manifest.toml``; ModelError with a plain message on any problem."""
    where = f"of model '{path.parent.name}' ({path})"
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ModelError(f"Model '{path.parent.name}' has no manifest ({path}).") from exc
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"The manifest {where} cannot be read: {exc}") from exc
    manifest = parse_manifest(data, where=where)
    if manifest.name != path.parent.name:
        raise ModelError(
            f"The manifest {where} names the model '{manifest.name}', "
            f"but its folder is '{path.parent.name}'."
        )
    return manifest


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to a manifest")


def manifest_to_toml(manifest: ModelManifest) -> str:
    """The manifest as TOML text (round-trips through :func:`parse_manifest`)."""
    a = manifest.alignment
    sections: list[tuple[str, list[tuple[str, object]]]] = [
        (
            "model",
            [
                ("name", manifest.name),
                ("version", manifest.version),
                ("file", manifest.file_name),
                ("sha256", manifest.sha256),
                ("licence", manifest.licence),
                ("source", manifest.source),
                ("source_sha256", manifest.source_sha256),
                ("score_meaning", manifest.score_meaning),
            ],
        ),
        (
            "input",
            [
                ("name", manifest.input_name),
                ("size", list(manifest.input_size)),
                ("layout", manifest.layout),
                ("dtype", manifest.dtype),
                ("colour_order", manifest.colour_order),
            ],
        ),
        (
            "input.normalization",
            [
                ("mean", list(manifest.mean)),
                ("std", list(manifest.std)),
                ("in_graph", manifest.normalization_in_graph),
            ],
        ),
        (
            "alignment",
            [
                ("points", list(a.points)),
                ("template", [list(xy) for xy in a.template]),
                ("chip_size", list(a.chip_size)),
                ("method", a.method),
            ],
        ),
        (
            "output",
            [
                ("dimension", manifest.output_dim),
                ("metric", manifest.metric),
                ("l2_normalize", manifest.l2_normalize),
                ("threshold", manifest.threshold),
                ("mirror_average", manifest.mirror_average),
            ],
        ),
    ]
    lines = [f"# Face embedding model manifest ({manifest.name}); see app/engine/model_manifest.py"]
    for title, entries in sections:
        lines.append("")
        lines.append(f"[{title}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in entries)
    return "\n".join(lines) + "\n"


def with_file(manifest: ModelManifest, *, file_name: str, sha256: str) -> ModelManifest:
    """A copy of ``manifest`` pointing at another file and digest."""
    return replace(manifest, file_name=file_name, sha256=sha256)


__all__ = [
    "MANIFEST_FILE",
    "ModelManifest",
    "manifest_to_toml",
    "parse_manifest",
    "read_manifest",
    "with_file",
]
