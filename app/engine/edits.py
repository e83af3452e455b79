"""Probe edits as data: crop, rotate, brightness, contrast, gamma, sharpen, denoise, mirror, grey.

An examiner may improve a copy of a probe (never the original). Each edit is an
:class:`EditOperation` (a name and numeric parameters) that serialises to canonical JSON, so the
case file can store the history and anyone can replay it: :func:`apply_edit` and
:func:`apply_history` are deterministic (the same input and operations give byte-identical
output on the same software build; :func:`edit_engine_version` names that build). Every function
returns a new array and leaves its input untouched.

Conventions: pixel coordinates of the image the edit is applied to, (0, 0) at the top-left;
positive rotation angles turn the picture counter-clockwise, as in OpenCV and Pillow.

``mirror`` exists because an engine should be complete; whether casework allows it on a probe is
a policy decision made elsewhere.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

import cv2
import numpy as np
import numpy.typing as npt

from app.errors import EditError

__all__ = [
    "SUPPORTED_EDITS",
    "EditDefinition",
    "EditOperation",
    "EditParameter",
    "ParamValue",
    "apply_edit",
    "apply_history",
    "edit_engine_version",
    "history_from_json",
    "history_to_json",
]

ParamValue = float | int | str
RGBArray = npt.NDArray[np.uint8]

# Bump when any operation's arithmetic changes: stored histories name the version they used.
_ALGORITHM_REVISION: Final = 1


@dataclass(frozen=True)
class EditParameter:
    """One numeric parameter of an edit, with its allowed range (None: no fixed bound)."""

    name: str
    label: str
    kind: Literal["int", "float"]
    minimum: float | None
    maximum: float | None
    default: float  # the value an edit tool starts from; every parameter must still be given
    unit: str
    description: str


@dataclass(frozen=True)
class EditDefinition:
    """What an edit does, in words, and its parameters; the UI builds its tools from these."""

    name: str
    label: str
    description: str
    parameters: tuple[EditParameter, ...]
    changes_geometry: bool  # True when pixel positions move (crop, rotate, mirror)


def _param(
    name: str,
    label: str,
    kind: Literal["int", "float"],
    bounds: tuple[float | None, float | None],
    default: float,
    unit: str,
    description: str,
) -> EditParameter:
    return EditParameter(name, label, kind, bounds[0], bounds[1], default, unit, description)


SUPPORTED_EDITS: Final[Mapping[str, EditDefinition]] = MappingProxyType(
    {
        "crop": EditDefinition(
            "crop",
            "Crop",
            "Keep a rectangle of the picture; the rectangle must lie inside the picture.",
            (
                _param("x", "Left", "int", (0, None), 0, "px", "Left edge, from the left side."),
                _param("y", "Top", "int", (0, None), 0, "px", "Top edge, from the top."),
                _param("width", "Width", "int", (1, None), 100, "px", "Width of the rectangle."),
                _param("height", "Height", "int", (1, None), 100, "px", "Height of the rectangle."),
            ),
            changes_geometry=True,
        ),
        "rotate": EditDefinition(
            "rotate",
            "Rotate",
            "Turn the picture by any angle; the canvas grows to keep every pixel and the new "
            "corners are black. Multiples of 90 degrees are exact.",
            (
                _param(
                    "degrees",
                    "Angle",
                    "float",
                    (-360, 360),
                    0,
                    "°",
                    "Counter-clockwise; negative values turn clockwise.",
                ),
            ),
            changes_geometry=True,
        ),
        "brightness": EditDefinition(
            "brightness",
            "Brightness",
            "Add the same amount of light to every pixel.",
            (
                _param(
                    "amount",
                    "Amount",
                    "float",
                    (-100, 100),
                    0,
                    "%",
                    "Percent of full white added (negative darkens).",
                ),
            ),
            changes_geometry=False,
        ),
        "contrast": EditDefinition(
            "contrast",
            "Contrast",
            "Spread the tones away from (or towards) mid-grey.",
            (
                _param(
                    "amount",
                    "Amount",
                    "float",
                    (-100, 100),
                    0,
                    "%",
                    "-100 makes the picture flat grey, 0 changes nothing, 100 is four times "
                    "the contrast.",
                ),
            ),
            changes_geometry=False,
        ),
        "gamma": EditDefinition(
            "gamma",
            "Gamma",
            "Lighten or darken the mid-tones while keeping black and white.",
            (
                _param(
                    "gamma",
                    "Gamma",
                    "float",
                    (0.2, 5),
                    1,
                    "",
                    "Above 1 lightens the mid-tones, below 1 darkens them.",
                ),
            ),
            changes_geometry=False,
        ),
        "sharpen": EditDefinition(
            "sharpen",
            "Sharpen",
            "Unsharp mask: strengthen edges by the given amount at the given radius.",
            (
                _param("amount", "Amount", "float", (0, 3), 1, "", "0 changes nothing."),
                _param(
                    "radius", "Radius", "float", (0.3, 20), 1, "px", "Size of detail to sharpen."
                ),
            ),
            changes_geometry=False,
        ),
        "denoise": EditDefinition(
            "denoise",
            "Reduce noise",
            "Non-local means noise reduction (slow on large pictures).",
            (
                _param(
                    "strength",
                    "Strength",
                    "float",
                    (1, 20),
                    5,
                    "",
                    "Higher removes more noise and more fine detail.",
                ),
            ),
            changes_geometry=False,
        ),
        "mirror": EditDefinition(
            "mirror",
            "Mirror",
            "Flip the picture left to right.",
            (),
            changes_geometry=True,
        ),
        "grayscale": EditDefinition(
            "grayscale",
            "Greyscale",
            "Replace colour by its luminance (ITU-R BT.601 weights).",
            (),
            changes_geometry=False,
        ),
    }
)


@dataclass(frozen=True)
class EditOperation:
    """One edit: a name from :data:`SUPPORTED_EDITS` and all of its parameters.

    Validated on construction (EditError with a plain sentence); parameters are kept in an
    immutable mapping, integers for ``int`` parameters and floats for ``float`` parameters.
    """

    name: str
    params: Mapping[str, ParamValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        definition = _definition(self.name)
        object.__setattr__(
            self, "params", MappingProxyType(_checked_params(definition, self.params))
        )

    def __hash__(self) -> int:
        return hash((self.name, tuple(sorted(self.params.items()))))

    @property
    def definition(self) -> EditDefinition:
        return SUPPORTED_EDITS[self.name]

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "params": dict(sorted(self.params.items()))}

    def to_json(self) -> str:
        """Canonical JSON: the same operation always gives the same text."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, data: object) -> EditOperation:
        if not isinstance(data, Mapping):
            raise EditError("A stored edit must be an object with a name and parameters.")
        unknown = set(data) - {"name", "params"}
        if unknown:
            raise EditError(f"A stored edit has unexpected fields: {', '.join(sorted(unknown))}.")
        name, params = data.get("name"), data.get("params", {})
        if not isinstance(name, str):
            raise EditError("A stored edit has no name.")
        if not isinstance(params, Mapping):
            raise EditError(f"The parameters of the stored edit '{name}' are not an object.")
        return cls(name, dict(params))

    @classmethod
    def from_json(cls, text: str | bytes) -> EditOperation:
        return cls.from_dict(_parse_json(text))

    def describe(self) -> str:
        """A short line for the edit history ("Rotate 90° counter-clockwise")."""
        p = self.params
        if self.name == "crop":
            return f"Crop to {p['width']} x {p['height']} pixels at ({p['x']}, {p['y']})"
        if self.name == "rotate":
            degrees = float(p["degrees"])
            turn = "counter-clockwise" if degrees >= 0 else "clockwise"
            return f"Rotate {_number(abs(degrees))}° {turn}"
        if self.name in ("brightness", "contrast"):
            return f"{self.definition.label} {float(p['amount']):+g}"
        if self.name == "gamma":
            return f"Gamma {_number(float(p['gamma']))}"
        if self.name == "sharpen":
            amount, radius = _number(float(p["amount"])), _number(float(p["radius"]))
            return f"Sharpen (amount {amount}, radius {radius} px)"
        if self.name == "denoise":
            return f"Reduce noise (strength {_number(float(p['strength']))})"
        if self.name == "mirror":
            return "Mirror (left to right)"
        return self.definition.label


def apply_edit(rgb: RGBArray, op: EditOperation) -> RGBArray:
    """The result of ``op`` on ``rgb`` as a new (H, W, 3) uint8 array; ``rgb`` is not changed."""
    source = _checked_rgb(rgb)
    result = _OPERATIONS[op.name](source, op.params)
    if result is rgb or np.shares_memory(result, rgb):
        result = result.copy()
    return np.ascontiguousarray(result, dtype=np.uint8)


def apply_history(rgb: RGBArray, ops: Sequence[EditOperation]) -> RGBArray:
    """Apply ``ops`` in order to a copy of ``rgb``; an error names the step that failed."""
    result = _checked_rgb(rgb).copy()
    for step, op in enumerate(ops, start=1):
        try:
            result = apply_edit(result, op)
        except EditError as error:
            raise EditError(f"Edit {step} of {len(ops)} ({op.describe()}): {error}") from None
    return result


def history_to_json(ops: Sequence[EditOperation]) -> str:
    """Canonical JSON list of operations."""
    return "[" + ",".join(op.to_json() for op in ops) + "]"


def history_from_json(text: str | bytes) -> tuple[EditOperation, ...]:
    data = _parse_json(text)
    if not isinstance(data, list):
        raise EditError("A stored edit history must be a list of edits.")
    return tuple(EditOperation.from_dict(item) for item in data)


def edit_engine_version() -> str:
    """What an edit's output depends on; store it with a history to judge a replay."""
    return f"frx-edits/{_ALGORITHM_REVISION} opencv/{cv2.__version__} numpy/{np.__version__}"


# --------------------------------------------------------------------------------------------
# Validation


def _definition(name: object) -> EditDefinition:
    if isinstance(name, str) and name in SUPPORTED_EDITS:
        return SUPPORTED_EDITS[name]
    known = ", ".join(SUPPORTED_EDITS)
    raise EditError(f"'{name}' is not an edit the workstation supports (it supports: {known}).")


def _checked_params(
    definition: EditDefinition, params: Mapping[str, ParamValue]
) -> dict[str, ParamValue]:
    if not isinstance(params, Mapping):
        raise EditError(f"The parameters of '{definition.name}' must be given by name.")
    expected = {parameter.name for parameter in definition.parameters}
    unknown = sorted(str(key) for key in params if key not in expected)
    if unknown:
        allowed = ", ".join(sorted(expected)) if expected else "none"
        raise EditError(
            f"{definition.label} has no parameter {', '.join(repr(k) for k in unknown)} "
            f"(its parameters: {allowed})."
        )
    checked: dict[str, ParamValue] = {}
    for parameter in definition.parameters:
        if parameter.name not in params:
            raise EditError(f"{definition.label} needs a value for '{parameter.name}'.")
        checked[parameter.name] = _checked_value(definition, parameter, params[parameter.name])
    return checked


def _checked_value(definition: EditDefinition, parameter: EditParameter, value: object) -> float:
    what = f"{definition.label}: '{parameter.name}'"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EditError(f"{what} must be a number, not {value!r}.")
    if not math.isfinite(value):
        raise EditError(f"{what} must be a finite number.")
    number: float = value
    if parameter.kind == "int":
        if float(value) != int(value):
            raise EditError(f"{what} must be a whole number of pixels, not {value}.")
        number = int(value)
    else:
        number = float(value)
    low, high = parameter.minimum, parameter.maximum
    if (low is not None and number < low) or (high is not None and number > high):
        raise EditError(f"{what} must be {_range_words(low, high)}; {_number(number)} was given.")
    return number


def _range_words(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"between {_number(low)} and {_number(high)}"
    if low is not None:
        return f"at least {_number(low)}"
    return f"at most {_number(high or 0)}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _parse_json(text: str | bytes) -> object:
    try:
        return json.loads(text)
    except (ValueError, TypeError) as error:
        raise EditError(f"The stored edit record is not valid JSON ({error}).") from None


def _checked_rgb(rgb: RGBArray) -> RGBArray:
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8:
        raise ValueError("expected a uint8 numpy array")
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise ValueError(f"expected an (H, W, 3) RGB array, got shape {rgb.shape}")
    return np.ascontiguousarray(rgb)


# --------------------------------------------------------------------------------------------
# Operations (each receives validated parameters and must not write into its input)


def _crop(rgb: RGBArray, p: Mapping[str, ParamValue]) -> RGBArray:
    x, y, width, height = (int(p[key]) for key in ("x", "y", "width", "height"))
    image_height, image_width = rgb.shape[:2]
    if x + width > image_width or y + height > image_height:
        raise EditError(
            f"The crop rectangle (left {x}, top {y}, {width} x {height} pixels) reaches outside "
            f"the {image_width} x {image_height} picture."
        )
    return rgb[y : y + height, x : x + width].copy()


def _rotate(rgb: RGBArray, p: Mapping[str, ParamValue]) -> RGBArray:
    degrees = float(p["degrees"]) % 360.0
    if degrees % 90.0 == 0.0:
        return np.rot90(rgb, k=int(degrees // 90.0)).copy()
    height, width = rgb.shape[:2]
    radians = math.radians(degrees)
    cos, sin = abs(math.cos(radians)), abs(math.sin(radians))
    # A tiny tolerance keeps e.g. 0.000001 degrees from adding a whole row of black.
    new_width = max(1, math.ceil(width * cos + height * sin - 1e-6))
    new_height = max(1, math.ceil(width * sin + height * cos - 1e-6))
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2.0, (height - 1) / 2.0), degrees, 1.0)
    matrix[0, 2] += (new_width - width) / 2.0
    matrix[1, 2] += (new_height - height) / 2.0
    rotated = cv2.warpAffine(
        rgb,
        matrix,
        (new_width, new_height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )
    return np.asarray(rotated, dtype=np.uint8)


def _lookup(rgb: RGBArray, table: Callable[[int], float]) -> RGBArray:
    """Apply a per-value tone curve through a 256-entry table (exact and cheap)."""
    lut = np.array([min(255, max(0, round(table(value)))) for value in range(256)], dtype=np.uint8)
    return lut[rgb]


def _brightness(rgb: RGBArray, p: Mapping[str, ParamValue]) -> RGBArray:
    offset = float(p["amount"]) * 255.0 / 100.0
    return _lookup(rgb, lambda value: value + offset)


def _contrast(rgb: RGBArray, p: Mapping[str, ParamValue]) -> RGBArray:
    factor = ((100.0 + float(p["amount"])) / 100.0) ** 2
    return _lookup(rgb, lambda value: (value - 127.5) * factor + 127.5)


def _gamma(rgb: RGBArray, p: Mapping[str, ParamValue]) -> RGBArray:
    exponent = 1.0 / float(p["gamma"])
    return _lookup(rgb, lambda value: 255.0 * math.pow(value / 255.0, exponent))


def _sharpen(rgb: RGBArray, p: Mapping[str, ParamValue]) -> RGBArray:
    amount, radius = float(p["amount"]), float(p["radius"])
    if amount == 0.0:
        return rgb.copy()
    blurred = cv2.GaussianBlur(rgb, (0, 0), sigmaX=radius, sigmaY=radius)
    sharpened = cv2.addWeighted(rgb, 1.0 + amount, blurred, -amount, 0.0)
    return np.asarray(sharpened, dtype=np.uint8)


def _denoise(rgb: RGBArray, p: Mapping[str, ParamValue]) -> RGBArray:
    strength = float(p["strength"])
    denoised = cv2.fastNlMeansDenoisingColored(rgb, None, strength, strength, 7, 21)
    return np.asarray(denoised, dtype=np.uint8)


def _mirror(rgb: RGBArray, p: Mapping[str, ParamValue]) -> RGBArray:
    return rgb[:, ::-1].copy()


def _grayscale(rgb: RGBArray, p: Mapping[str, ParamValue]) -> RGBArray:
    # Y = (299 R + 587 G + 114 B) / 1000 rounded, in integers via one table per channel.
    red, green, blue = (
        np.arange(256, dtype=np.uint32) * weight + offset
        for weight, offset in ((299, 0), (587, 0), (114, 500))
    )
    luminance = (red[rgb[:, :, 0]] + green[rgb[:, :, 1]] + blue[rgb[:, :, 2]]) // 1000
    grey = luminance.astype(np.uint8)
    return np.repeat(grey[:, :, np.newaxis], 3, axis=2)


_OPERATIONS: Final[dict[str, Callable[[RGBArray, Mapping[str, ParamValue]], RGBArray]]] = {
    "crop": _crop,
    "rotate": _rotate,
    "brightness": _brightness,
    "contrast": _contrast,
    "gamma": _gamma,
    "sharpen": _sharpen,
    "denoise": _denoise,
    "mirror": _mirror,
    "grayscale": _grayscale,
}
