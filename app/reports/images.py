"""Photos for print: decoded safely, fitted to a box, downscaled to print resolution, JPEG-encoded.

A report shows faces at a few centimetres; embedding the original pixels would make files large
for nothing. Each picture is resampled to about ``PRINT_DPI`` for the size it is printed at and
encoded as JPEG (greyscale pictures as one-channel JPEG). The evidence copies are untouched: the
report only ever holds these derived renditions, and prints the originals' SHA-256.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Final

import numpy as np
from PIL import Image
from reportlab.lib.utils import ImageReader
from reportlab.platypus import Flowable

from app.engine.images import decode_image

__all__ = [
    "JPEG_QUALITY", "PRINT_DPI", "PreparedImage", "PrintedImage", "prepare_image", "printed",
]

PRINT_DPI: Final = 200
JPEG_QUALITY: Final = 85
_POINTS_PER_INCH: Final = 72.0


@dataclass(frozen=True)
class PreparedImage:
    """A JPEG rendition and the size (points) it is drawn at, aspect ratio kept."""

    jpeg: bytes
    width_pt: float
    height_pt: float
    pixel_width: int
    pixel_height: int


def prepare_image(
    data: bytes, *, box_width_pt: float, box_height_pt: float, name: str = "the image"
) -> PreparedImage:
    """Fit ``data`` (PNG/JPEG/...) into the box and encode it at print resolution.

    Raises :class:`app.errors.ImageError` when the bytes are not a usable picture.
    """
    decoded = decode_image(data, name=name)
    height, width = decoded.rgb.shape[:2]
    scale = min(box_width_pt / width, box_height_pt / height)
    width_pt, height_pt = width * scale, height * scale
    target = (
        max(1, min(width, round(width_pt / _POINTS_PER_INCH * PRINT_DPI))),
        max(1, min(height, round(height_pt / _POINTS_PER_INCH * PRINT_DPI))),
    )
    rgb = decoded.rgb
    is_grey = bool(
        np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])
    )
    picture = Image.fromarray(rgb[..., 0], "L") if is_grey else Image.fromarray(rgb, "RGB")
    if target != (width, height):
        picture = picture.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return PreparedImage(buffer.getvalue(), width_pt, height_pt, target[0], target[1])


class PrintedImage(Flowable):  # type: ignore[misc]  # reportlab has no type hints
    """An opaque picture in a box, with a hairline frame around the picture.

    The picture is centred in the box; with ``shrink_height`` the box is only as tall as the
    picture (so it sits at the top of a table cell, level with the text beside it).
    """

    def __init__(
        self,
        image: PreparedImage,
        box_width_pt: float,
        box_height_pt: float,
        *,
        shrink_height: bool = False,
    ) -> None:
        super().__init__()
        self.image = image
        self.width = box_width_pt
        self.height = image.height_pt if shrink_height else box_height_pt

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        x = (self.width - self.image.width_pt) / 2
        y = (self.height - self.image.height_pt) / 2
        canvas.drawImage(
            ImageReader(io.BytesIO(self.image.jpeg)),
            x,
            y,
            width=self.image.width_pt,
            height=self.image.height_pt,
        )
        canvas.saveState()
        canvas.setLineWidth(0.4)
        canvas.setStrokeGray(0.35)
        canvas.rect(x, y, self.image.width_pt, self.image.height_pt, stroke=1, fill=0)
        canvas.restoreState()


def printed(
    data: bytes,
    box_width_pt: float,
    box_height_pt: float,
    *,
    name: str = "the image",
    shrink_height: bool = False,
) -> PrintedImage:
    """Shortcut: prepare ``data`` for the box and wrap it as a flowable."""
    prepared = prepare_image(
        data, box_width_pt=box_width_pt, box_height_pt=box_height_pt, name=name
    )
    return PrintedImage(prepared, box_width_pt, box_height_pt, shrink_height=shrink_height)
