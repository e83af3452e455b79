"""Decode pictures into 8-bit RGB arrays, safely, whatever the file claims to be.

The format is decided by content, never by the file name. The pixel count is checked from the
header before any pixel is decoded (decompression bombs). EXIF orientation is applied; greyscale,
palette, alpha, 16-bit, floating-point and CMYK pictures are normalised to 8-bit RGB, and every
such conversion is recorded as a plain note. Any failure raises :class:`app.errors.ImageError`
with a sentence an examiner understands; no other exception type leaves :func:`decode_image`.

The caller keeps the original bytes as evidence; nothing here modifies them.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

import numpy as np
import numpy.typing as npt
from PIL import (
    BmpImagePlugin,
    GifImagePlugin,
    Image,
    ImageCms,
    ImageFile,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)

from app.engine import image_sniff
from app.engine.image_sniff import PictureFormat, sniff_media_type
from app.errors import ImageError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "MAX_FILE_BYTES",
    "DecodedImage",
    "decode_image",
    "encode_jpeg",
    "encode_png",
    "load_image_file",
    "sniff_media_type",
    "thumbnail",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_PIXELS: Final = 80_000_000
# A picture within the pixel limit is far smaller than this even as uncompressed 16-bit TIFF.
MAX_FILE_BYTES: Final = 1024 * 1024 * 1024
_ORIENTATION_TAG: Final = 0x0112
# "Exif\0\0" + TIFF header (8) + entry count (2) + one 12-byte entry.
_SMALLEST_EXIF_WITH_A_TAG: Final = 6 + 8 + 2 + 12

RGBArray = npt.NDArray[np.uint8]

# Pillow's own constructors, called directly: Image.open would also try every other plugin and
# apply Pillow's global decompression-bomb limit (a warning or an error we could not word).
_OPENERS: Final[dict[str, Callable[[IO[bytes]], ImageFile.ImageFile]]] = {
    "JPEG": JpegImagePlugin.jpeg_factory,
    "PNG": PngImagePlugin.PngImageFile,
    "GIF": GifImagePlugin.GifImageFile,
    "BMP": BmpImagePlugin.BmpImageFile,
    "TIFF": TiffImagePlugin.TiffImageFile,
    "WEBP": WebPImagePlugin.WebPImageFile,
}

_TRUNCATION_HINTS: Final = (
    "truncated",
    "end of file",
    "unexpected end",
    "buffer is not large enough",
    "unpack requires a buffer",
    "not enough data",
    "premature end",
    "broken data stream",
)


@dataclass(frozen=True, eq=False)
class DecodedImage:
    """A decoded picture: (H, W, 3) uint8 C-contiguous RGB, upright, plus what was done to it."""

    rgb: RGBArray
    format: str  # JPEG, PNG, BMP, TIFF, WEBP or GIF, from the content
    media_type: str
    width: int
    height: int
    orientation_applied: int  # EXIF orientation 1-8 that was applied (1: none)
    notes: tuple[str, ...]


def decode_image(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, name: str | None = None
) -> DecodedImage:
    """Decode ``data`` to upright 8-bit RGB; raise ImageError for anything unusable.

    ``name`` only words the messages ("The file 'x.jpg' ..."); it never decides the format.
    """
    if max_pixels < 1:
        raise ValueError("max_pixels must be at least 1")
    if not data:
        raise ImageError(f"{_the_file(name)} is empty (0 bytes).")
    picture_format = image_sniff.sniff_picture_format(data)
    if picture_format is None:
        raise ImageError(_not_a_picture_message(data, name))
    try:
        return _decode(data, picture_format, max_pixels, name)
    except ImageError:
        raise
    except Image.DecompressionBombError:  # Pillow's own limit, hit inside a GIF frame
        raise ImageError(
            f"{_the_image(name)} has a frame too large to open safely; it is refused as a "
            "possible decompression bomb that could exhaust the workstation's memory."
        ) from None
    except MemoryError:
        raise ImageError(
            f"{_the_image(name)} needs more memory to decode than the workstation has free."
        ) from None
    except Exception as error:  # Pillow raises many types for bad data; all mean "unusable".
        raise ImageError(_damaged_message(error, data, picture_format, name)) from None


def load_image_file(
    path: Path,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = MAX_FILE_BYTES,
) -> tuple[bytes, DecodedImage]:
    """Read ``path`` and decode it; returns the untouched bytes and the decoded picture."""
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise ImageError(f"'{path}' is a folder, not a picture file.")
        if size > max_bytes:
            raise ImageError(
                f"The file '{path}' is too large ({size:,} bytes; the limit is {max_bytes:,})."
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageError(f"The file '{path}' does not exist.") from None
    except PermissionError:
        raise ImageError(f"The file '{path}' cannot be read: permission denied.") from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise ImageError(f"The file '{path}' cannot be read ({reason}).") from None
    return data, decode_image(data, max_pixels=max_pixels, name=path.name)


def encode_png(rgb: RGBArray) -> bytes:
    """Lossless PNG of an RGB array; the same pixels always give the same bytes."""
    buffer = io.BytesIO()
    Image.fromarray(_checked_rgb(rgb), "RGB").save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def encode_jpeg(rgb: RGBArray, quality: int = 90) -> bytes:
    """JPEG of an RGB array (for previews and reports, never as evidence)."""
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be an integer from 1 to 100, not {quality!r}")
    buffer = io.BytesIO()
    Image.fromarray(_checked_rgb(rgb), "RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def thumbnail(rgb: RGBArray, max_side: int) -> RGBArray:
    """A copy no larger than ``max_side`` on its longer side, aspect ratio kept."""
    array = _checked_rgb(rgb)
    if isinstance(max_side, bool) or not isinstance(max_side, int) or max_side < 1:
        raise ValueError(f"max_side must be a positive integer, not {max_side!r}")
    height, width = array.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return array.copy()
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = Image.fromarray(array, "RGB").resize(size, Image.Resampling.LANCZOS)
    return np.array(resized, dtype=np.uint8)


# --------------------------------------------------------------------------------------------
# Decoding


def _decode(
    data: bytes, picture_format: PictureFormat, max_pixels: int, name: str | None
) -> DecodedImage:
    notes: list[str] = []
    _check_gif_frame_extent(data, picture_format, max_pixels, name)
    with _OPENERS[picture_format.name](io.BytesIO(data)) as image:
        width, height = image.size
        if width < 1 or height < 1:
            raise ImageError(f"{_the_image(name)} has no pixels ({width} x {height}).")
        _check_pixel_count(width, height, max_pixels, name)
        tiff_orientation = _tiff_orientation_tag(image)
        image.load()
        rgb = _to_rgb(image, data, picture_format, notes, name)
        _note_extra_frames(image, picture_format, notes)
        if tiff_orientation is not None and _ORIENTATION_TAG not in image.getexif():
            # Recent Pillow turns a TIFF upright while loading it and then drops the tag.
            orientation = _checked_orientation(tiff_orientation, notes)
        else:
            orientation = _checked_orientation(_exif_orientation_value(image, notes), notes)
            rgb = _apply_orientation(rgb, orientation)
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    return DecodedImage(
        rgb=rgb,
        format=picture_format.name,
        media_type=picture_format.media_type,
        width=int(rgb.shape[1]),
        height=int(rgb.shape[0]),
        orientation_applied=orientation,
        notes=tuple(dict.fromkeys(notes)),
    )


def _check_pixel_count(width: int, height: int, max_pixels: int, name: str | None) -> None:
    pixels = width * height
    if pixels > max_pixels:
        raise ImageError(
            f"{_the_image(name)} is {width} x {height} pixels ({pixels:,} pixels), more than "
            f"the limit of {max_pixels:,} pixels; it is refused as a possible decompression bomb "
            "that could exhaust the workstation's memory."
        )


def _check_gif_frame_extent(
    data: bytes, picture_format: PictureFormat, max_pixels: int, name: str | None
) -> None:
    """A GIF's first frame may be larger than its stated screen: check it before Pillow does."""
    if picture_format is not image_sniff.GIF or len(data) < 13:
        return
    width, height = int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    position = 13
    if data[10] & 0x80:
        position += 3 << ((data[10] & 7) + 1)
    while position < len(data):
        block = data[position]
        if block == 0x21:  # extension: label, then sub-blocks ending with a zero length
            position += 2
            while position < len(data) and data[position]:
                position += data[position] + 1
            position += 1
        elif block == 0x2C and position + 9 < len(data):
            left, top, frame_w, frame_h = (
                int.from_bytes(data[position + i : position + i + 2], "little")
                for i in (1, 3, 5, 7)
            )
            width, height = max(width, left + frame_w), max(height, top + frame_h)
            break
        else:
            break
    _check_pixel_count(width, height, max_pixels, name)


def _to_rgb(
    image: Image.Image,
    data: bytes,
    picture_format: PictureFormat,
    notes: list[str],
    name: str | None,
) -> RGBArray:
    """Normalise any Pillow mode to 8-bit RGB, flattening transparency on white."""
    mode = image.mode
    if _source_is_16_bit(image, data, picture_format):
        notes.append("16-bit image reduced to 8 bits")
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        grey = _wide_grey_to_8_bit(np.asarray(image), mode, notes)
        return np.repeat(grey[:, :, np.newaxis], 3, axis=2)
    if mode == "1":
        notes.append("1-bit black-and-white image expanded to 8 bits")
        return np.array(image.convert("L").convert("RGB"), dtype=np.uint8)
    if mode == "CMYK":
        return np.array(_cmyk_to_rgb(image, notes), dtype=np.uint8)
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode in ("P", "L", "RGB") and "transparency" in image.info
    ):
        return _flatten_on_white(np.array(image.convert("RGBA"), dtype=np.uint8), notes)
    if mode == "RGB":
        return np.array(image, dtype=np.uint8)
    if mode in ("L", "P", "RGBX", "YCbCr", "HSV"):
        return np.array(image.convert("RGB"), dtype=np.uint8)
    raise ImageError(
        f"{_the_image(name)} uses a colour mode ({mode}) the workstation cannot convert; "
        "save it as an ordinary RGB or greyscale picture first."
    )


def _source_is_16_bit(image: Image.Image, data: bytes, picture_format: PictureFormat) -> bool:
    if image.mode.startswith("I;16"):
        return True
    # Pillow silently reduces 16-bit RGB(A) PNG and TIFF to 8 bits: read the depth from the file.
    if picture_format is image_sniff.PNG and len(data) > 24:
        return data[24] == 16
    if isinstance(image, TiffImagePlugin.TiffImageFile):
        bits = image.tag_v2.get(TiffImagePlugin.BITSPERSAMPLE)
        values = bits if isinstance(bits, tuple) else (bits,)
        return any(isinstance(value, int) and value == 16 for value in values)
    return False


def _wide_grey_to_8_bit(values: npt.NDArray[np.generic], mode: str, notes: list[str]) -> RGBArray:
    """16-bit, 32-bit integer and floating-point greyscale to 0-255."""
    if mode.startswith("I;16"):
        wide = values.astype(np.uint32)
        return ((wide * 255 + 32767) // 65535).astype(np.uint8)
    if mode == "I":
        ints = values.astype(np.int64)
        low, high = (int(ints.min()), int(ints.max())) if ints.size else (0, 0)
        if low >= 0 and high <= 65535:
            notes.append("16-bit image reduced to 8 bits")
            return ((ints * 255 + 32767) // 65535).astype(np.uint8)
        notes.append("32-bit integer image scaled to 8 bits (darkest to brightest)")
        return _stretch(ints.astype(np.float64))
    floats = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    notes.append("32-bit floating-point image scaled to 8 bits")
    low_f, high_f = float(floats.min()), float(floats.max())
    if low_f >= 0.0 and high_f <= 1.0:
        scaled: npt.NDArray[np.float64] = np.rint(floats * 255.0)
        return scaled.astype(np.uint8)
    if low_f >= 0.0 and high_f <= 255.0:
        rounded: npt.NDArray[np.float64] = np.rint(floats)
        return rounded.astype(np.uint8)
    return _stretch(floats)


def _stretch(values: npt.NDArray[np.float64]) -> RGBArray:
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    stretched: npt.NDArray[np.float64] = np.rint((values - low) * (255.0 / (high - low)))
    return stretched.astype(np.uint8)


def _cmyk_to_rgb(image: Image.Image, notes: list[str]) -> Image.Image:
    profile = image.info.get("icc_profile")
    if isinstance(profile, bytes) and profile:
        try:
            converted = ImageCms.profileToProfile(
                image,
                ImageCms.ImageCmsProfile(io.BytesIO(profile)),
                ImageCms.createProfile("sRGB"),
                outputMode="RGB",
            )
        except Exception:  # a broken profile must not make the picture unreadable
            notes.append("CMYK converted to RGB (the embedded colour profile is unusable)")
            return image.convert("RGB")
        else:
            if converted is not None:
                notes.append("CMYK converted to RGB using the embedded colour profile")
                return converted
    notes.append("CMYK converted to RGB")
    return image.convert("RGB")


def _flatten_on_white(rgba: RGBArray, notes: list[str]) -> RGBArray:
    alpha = rgba[:, :, 3:4].astype(np.uint16)
    if bool((alpha == 255).all()):
        return np.ascontiguousarray(rgba[:, :, :3])
    notes.append("transparency flattened on white")
    colour = rgba[:, :, :3].astype(np.uint16)
    blended = (colour * alpha + 255 * (255 - alpha) + 127) // 255
    return blended.astype(np.uint8)


def _note_extra_frames(image: Image.Image, picture_format: PictureFormat, notes: list[str]) -> None:
    try:
        animated = bool(getattr(image, "is_animated", False))
    except Exception:  # a damaged later frame does not spoil the first one
        animated = False
    if not animated:
        return
    if picture_format is image_sniff.TIFF:
        notes.append("first page of a multi-page TIFF used")
    elif picture_format is image_sniff.JPEG:  # MPO: camera stereo pairs, extra previews
        notes.append("first picture of a multi-picture JPEG used")
    else:
        notes.append(f"first frame of an animated {picture_format.name} used")


def _tiff_orientation_tag(image: Image.Image) -> object:
    if not isinstance(image, TiffImagePlugin.TiffImageFile):
        return None
    try:
        return image.tag_v2.get(_ORIENTATION_TAG)
    except Exception:
        return None


def _exif_orientation_value(image: Image.Image, notes: list[str]) -> object:
    """The raw EXIF orientation value; None when absent or with a note when unreadable."""
    try:
        exif = image.getexif()
        value = exif.get(_ORIENTATION_TAG)
    except Exception:
        notes.append("EXIF data unreadable; orientation ignored")
        return None
    if value is None:
        # Pillow skips what it cannot parse without raising: a block with room for at least one
        # entry that yields none is damaged (or hostile), and its orientation may be lost.
        raw = image.info.get("exif")
        if isinstance(raw, bytes) and len(exif) == 0 and len(raw) >= _SMALLEST_EXIF_WITH_A_TAG:
            notes.append("EXIF data unreadable; orientation ignored")
    return value


def _checked_orientation(value: object, notes: list[str]) -> int:
    """An orientation 1-8 from a raw tag value; 1 when absent, or with a note when absurd."""
    if value is None:
        return 1
    if isinstance(value, tuple) and len(value) == 1:
        value = value[0]
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 8:
        return value
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    notes.append(f"EXIF orientation value {shown} is not valid; orientation ignored")
    return 1


def _apply_orientation(rgb: RGBArray, orientation: int) -> RGBArray:
    """Turn the stored pixels upright according to EXIF orientation 1-8."""
    transforms: dict[int, Callable[[RGBArray], RGBArray]] = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1, :],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, k=-1),
        7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1],
        8: lambda a: np.rot90(a, k=1),
    }
    return transforms[orientation](rgb)


# --------------------------------------------------------------------------------------------
# Messages and checks


def _the_file(name: str | None) -> str:
    return f"The file '{name}'" if name else "The file"


def _the_image(name: str | None) -> str:
    return f"The image '{name}'" if name else "The image"


def _not_a_picture_message(data: bytes, name: str | None) -> str:
    looks_like = image_sniff.describe_content(data)
    reason = (
        f"it looks like {looks_like}" if looks_like else "its content is not a known picture format"
    )
    supported = ", ".join(f.name for f in image_sniff.SUPPORTED_FORMATS)
    return (
        f"{_the_file(name)} is not a picture the workstation can read ({reason}). "
        f"Readable formats: {supported}."
    )


def _damaged_message(
    error: Exception, data: bytes, picture_format: PictureFormat, name: str | None
) -> str:
    text = str(error).lower()
    if (
        isinstance(error, EOFError)
        or any(hint in text for hint in _TRUNCATION_HINTS)
        or _ends_early(data, picture_format)
    ):
        return f"{_the_image(name)} is truncated: the file ends before the picture data does."
    logger.info("Undecodable %s picture (%s: %s)", picture_format.name, type(error).__name__, error)
    return (
        f"{_the_image(name)} is damaged and cannot be decoded "
        f"(its {picture_format.name} data is corrupt or uses an unsupported variant)."
    )


def _ends_early(data: bytes, picture_format: PictureFormat) -> bool:
    """Whether the file lacks its format's closing marker or is shorter than its header says."""
    if picture_format is image_sniff.JPEG:
        return not data.endswith(b"\xff\xd9")
    if picture_format is image_sniff.PNG:
        return b"IEND" not in data[-12:]
    if picture_format is image_sniff.GIF:
        return not data.endswith(b";")
    if picture_format is image_sniff.WEBP:
        return int.from_bytes(data[4:8], "little") + 8 > len(data)
    if picture_format is image_sniff.BMP:
        return int.from_bytes(data[2:6], "little") > len(data)
    return False


def _checked_rgb(rgb: RGBArray) -> RGBArray:
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8:
        raise ValueError("expected a uint8 numpy array")
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise ValueError(f"expected an (H, W, 3) RGB array, got shape {rgb.shape}")
    return np.ascontiguousarray(rgb)
