"""Synthetic faces (drawn with Pillow) and LFW faces with stand-in markup, for comparison tests.

A synthetic face is laid out in face units (eye midpoint at the origin, eye distance 1, y down)
and placed in the picture by scale, rotation and position, so alignment can be checked exactly.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from app.ui.comparison.model import FaceSide, Region, WorksheetItemView


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 16) -> np.ndarray:
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], 1)


def _rect(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], dtype=np.float64)


# Regions in face units; the subject's right eye is on the image's left.
FACE_REGIONS: dict[str, tuple[np.ndarray, bool]] = {
    "forehead": (_rect(-0.75, -1.0, 0.75, -0.45), False),
    "hairline": (_rect(-0.85, -1.3, 0.85, -1.0), True),
    "right_eyebrow": (_rect(-0.78, -0.36, -0.22, -0.24), False),
    "left_eyebrow": (_rect(0.22, -0.36, 0.78, -0.24), False),
    "right_eye": (_ellipse(-0.5, 0.0, 0.22, 0.1), False),
    "left_eye": (_ellipse(0.5, 0.0, 0.22, 0.1), False),
    "nose": (np.array([(0.0, 0.1), (-0.24, 0.78), (0.24, 0.78)]), False),
    "right_cheek": (_ellipse(-0.62, 0.62, 0.24, 0.24), False),
    "left_cheek": (_ellipse(0.62, 0.62, 0.24, 0.24), False),
    "right_ear": (_ellipse(-1.2, 0.35, 0.14, 0.34), True),
    "left_ear": (_ellipse(1.2, 0.35, 0.14, 0.34), True),
    "mouth": (_ellipse(0.0, 1.12, 0.42, 0.14), False),
    "lips": (_ellipse(0.0, 1.12, 0.36, 0.1), False),
    "chin": (_ellipse(0.0, 1.62, 0.42, 0.18), False),
    "jawline": (_ellipse(0.0, 0.55, 1.05, 1.3, 24)[6:19], False),
}


def synthetic_face(
    width: int = 400,
    height: int = 480,
    eye_distance: float = 100.0,
    center: tuple[float, float] = (200.0, 200.0),
    angle_deg: float = 0.0,
    skin: tuple[int, int, int] = (214, 172, 140),
    label: str = "synthetic",
    background: tuple[int, int, int] = (90, 110, 140),
) -> FaceSide:
    """A drawn face whose eye midpoint is ``center`` and eye distance ``eye_distance`` px."""
    angle = math.radians(angle_deg)
    cos, sin = math.cos(angle), math.sin(angle)

    def place(points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float64) * eye_distance
        x = pts[:, 0] * cos - pts[:, 1] * sin + center[0]
        y = pts[:, 0] * sin + pts[:, 1] * cos + center[1]
        return np.stack([x, y], 1)

    def poly(points: np.ndarray) -> list[tuple[float, float]]:
        return [(float(x), float(y)) for x, y in place(points)]

    picture = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(picture)
    darker = tuple(int(c * 0.8) for c in skin)
    for side in (-1, 1):
        draw.polygon(poly(_ellipse(side * 1.2, 0.35, 0.16, 0.36)), fill=darker)
    draw.polygon(poly(_ellipse(0.0, 0.35, 1.08, 1.45, 48)), fill=skin)
    draw.polygon(poly(_ellipse(0.0, -0.95, 1.0, 0.45, 32)[16:] ), fill=(60, 40, 25))
    for side in (-1, 1):
        draw.polygon(poly(_ellipse(side * 0.5, 0.0, 0.22, 0.1)), fill=(250, 250, 250))
        draw.polygon(poly(_ellipse(side * 0.5, 0.0, 0.08, 0.08)), fill=(60, 90, 50))
        draw.polygon(poly(_rect(side * 0.78, -0.36, side * 0.22, -0.26)), fill=(70, 50, 35))
    draw.polygon(poly(np.array([(0.0, 0.15), (-0.2, 0.75), (0.2, 0.75)])), fill=darker)
    draw.polygon(poly(_ellipse(0.0, 1.12, 0.36, 0.1)), fill=(170, 70, 80))
    image = np.asarray(picture, dtype=np.uint8).copy()

    regions = {}
    landmarks = []
    for name, (shape, estimated) in FACE_REGIONS.items():
        placed = place(shape)
        x0, y0 = placed.min(axis=0)
        x1, y1 = placed.max(axis=0)
        regions[name] = Region(placed, (float(x0), float(y0), float(x1 - x0), float(y1 - y0)),
                               estimated)
        if not estimated:
            landmarks.append(placed)
    eyes = place(np.array([(-0.5, 0.0), (0.5, 0.0)]))
    return FaceSide(
        image=image,
        label=label,
        eye_points=((float(eyes[0, 0]), float(eyes[0, 1])), (float(eyes[1, 0]), float(eyes[1, 1]))),
        landmarks=np.concatenate(landmarks),
        regions=regions,
    )


# Stand-in markup for LFW's deep-funneled 250x250 pictures (faces roughly centred there).
LFW_EYES = ((101.0, 113.0), (149.0, 113.0))


def lfw_face(path: Path, label: str | None = None) -> FaceSide:
    """An LFW photo with approximate eye centres and regions scaled from the synthetic layout."""
    image = np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8).copy()
    (x1, y1), (x2, y2) = LFW_EYES
    distance = x2 - x1
    center = ((x1 + x2) / 2, (y1 + y2) / 2)
    regions = {}
    landmarks = []
    for name, (shape, estimated) in FACE_REGIONS.items():
        placed = shape * distance + np.array(center)
        x0, y0 = placed.min(axis=0)
        xa, ya = placed.max(axis=0)
        regions[name] = Region(placed, (float(x0), float(y0), float(xa - x0), float(ya - y0)),
                               estimated)
        landmarks.append(placed)
    return FaceSide(image=image, label=label or path.stem, eye_points=LFW_EYES,
                    landmarks=np.concatenate(landmarks), regions=regions)


def worksheet_items() -> list[WorksheetItemView]:
    """A worksheet like the policy's: the named features each an item, plus FISWG extras."""
    spec = [
        ("skin", "Skin", (), ()),
        ("face_outline", "Face/head outline", (), ("jawline",)),
        ("hair", "Hair / hairline", ("colour", "length", "hairline"), ("hairline",)),
        ("forehead", "Forehead", ("shape", "brow ridges"), ("forehead",)),
        ("eyebrows", "Eyebrows", (), ("right_eyebrow", "left_eyebrow")),
        ("eyes", "Eyes", ("fissure", "eyelids", "iris", "canthi"), ("right_eye", "left_eye")),
        ("cheeks", "Cheeks", (), ("right_cheek", "left_cheek")),
        ("nose", "Nose", ("root", "tip", "alae", "nostrils"), ("nose",)),
        ("ears", "Ears", ("helix", "lobe", "tragus"), ("right_ear", "left_ear")),
        ("mouth", "Mouth", ("philtrum", "lip fissure"), ("mouth",)),
        ("lips", "Lips", (), ("lips",)),
        ("chin", "Chin / jawline", (), ("chin", "jawline")),
        ("scars", "Scars", (), ()),
        ("marks", "Facial marks", (), ()),
        ("tattoos", "Tattoos", (), ()),
    ]
    return [
        WorksheetItemView(item_id, label, f"Compare the {label.lower()}.", chars, regions)
        for item_id, label, chars, regions in spec
    ]
