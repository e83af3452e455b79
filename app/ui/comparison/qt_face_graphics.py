"""Graphics items for one face: the picture and its annotation layers, in the common frame.

The picture is converted to a QPixmap once per face (cached) and drawn from a lazily built
half-size pyramid, so a 4000x3000 image pans and zooms without per-paint conversions and
without the aliasing of plain bilinear downscaling. Annotation layers (landmarks, region
outlines with labels, eye line) are separate child items drawn over the picture, never into it.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QPolygonF,
    QTransform,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPathItem,
    QStyleOptionGraphicsItem,
    QWidget,
)

from app.ui.comparison.geometry import Similarity, face_frame
from app.ui.comparison.model import FaceSide, Layer, region_title

PROBE_ACCENT = QColor(0, 200, 255)
CANDIDATE_ACCENT = QColor(255, 176, 0)
ESTIMATED_NOTE = "estimated"


def qimage_from_array(image: npt.NDArray[np.uint8]) -> QImage:
    """An RGB888 QImage owning a copy of an HxWx3 uint8 array."""
    array = np.ascontiguousarray(image)
    height, width = array.shape[:2]
    view = QImage(array.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return view.copy()  # detach from the numpy buffer


class FacePixmaps:
    """The full-resolution pixmap of a face and its half-size levels, built when first needed."""

    def __init__(self, image: npt.NDArray[np.uint8]) -> None:
        self._image: QImage | None = qimage_from_array(image)
        self.full = QPixmap.fromImage(self._image)
        self._levels: list[QPixmap] = [self.full]

    def level(self, downscale: float) -> tuple[QPixmap, int]:
        """The coarsest level still at least as sharp as ``downscale`` (image px per device px)."""
        wanted = 0
        while 2 ** (wanted + 1) <= downscale and wanted < 6:
            wanted += 1
        while len(self._levels) <= wanted:
            previous = self._levels[-1]
            if previous.width() < 64 or previous.height() < 64:
                break
            self._levels.append(
                previous.scaled(
                    max(1, previous.width() // 2),
                    max(1, previous.height() // 2),
                    Qt.AspectRatioMode.IgnoreAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
        index = min(wanted, len(self._levels) - 1)
        return self._levels[index], 2**index

    @property
    def level_count(self) -> int:
        return len(self._levels)


_PIXMAP_CACHE: weakref.WeakKeyDictionary[FaceSide, FacePixmaps] = weakref.WeakKeyDictionary()


def face_pixmaps(face: FaceSide) -> FacePixmaps:
    """The cached pixmaps of a face (the cache forgets a face when nothing else holds it)."""
    pixmaps = _PIXMAP_CACHE.get(face)
    if pixmaps is None:
        pixmaps = FacePixmaps(face.image)
        _PIXMAP_CACHE[face] = pixmaps
    return pixmaps


def qtransform(frame: Similarity) -> QTransform:
    # QTransform maps x' = m11*x + m21*y + dx, y' = m12*x + m22*y + dy.
    return QTransform(frame.a, frame.b, -frame.b, frame.a, frame.tx, frame.ty)


def draw_face(painter: QPainter, pixmaps: FacePixmaps, target: QRectF | None = None) -> None:
    """Draw a face in image coordinates with the painter's current transform, from the pyramid."""
    world = painter.worldTransform()
    device_per_image = max(abs(world.determinant()) ** 0.5, 1e-9)
    pixmap, factor = pixmaps.level(1.0 / device_per_image)
    full = QRectF(0, 0, pixmaps.full.width(), pixmaps.full.height())
    area = full if target is None else full.intersected(target)
    if area.isEmpty():
        return
    source = QRectF(area.x() / factor, area.y() / factor, area.width() / factor,
                    area.height() / factor)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    painter.drawPixmap(area, pixmap, source)


class _Container(QGraphicsItem):
    """An item with no content of its own: groups children so a layer toggles as one."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, True)

    def boundingRect(self) -> QRectF:
        return QRectF()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        return


class FacePixmapItem(QGraphicsItem):
    """The picture, drawn from the pyramid level that suits the current zoom."""

    def __init__(self, pixmaps: FacePixmaps, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self._pixmaps = pixmaps
        self._rect = QRectF(0, 0, pixmaps.full.width(), pixmaps.full.height())
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)

    def pixmap(self) -> QPixmap:
        return self._pixmaps.full

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        draw_face(painter, self._pixmaps, option.exposedRect)


class PointsItem(QGraphicsItem):
    """Points drawn as dots of a fixed screen size (a cosmetic pen), whatever the zoom."""

    def __init__(self, points: npt.ArrayLike, color: QColor, size: float = 3.0,
                 parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        self._polygon = QPolygonF([QPointF(float(x), float(y)) for x, y in pts])
        self._rect = self._polygon.boundingRect().adjusted(-5, -5, 5, 5)
        self._pen = QPen(color, size)
        self._pen.setCosmetic(True)
        self._pen.setCapStyle(Qt.PenCapStyle.RoundCap)

    @property
    def count(self) -> int:
        return self._polygon.size()

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        painter.setPen(self._pen)
        painter.drawPoints(self._polygon)


class LabelItem(QGraphicsItem):
    """A small caption on a dark plate that keeps its screen size and stays upright."""

    _font = QFont()

    def __init__(self, text: str, color: QColor, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.text = text
        self._color = color
        self._font = QFont(self._font)
        self._font.setPointSizeF(8.0)
        metrics = QFontMetricsF(self._font)
        # Anchored at its bottom centre, placed above the top middle of its region.
        width = metrics.horizontalAdvance(text) + 6
        self._rect = QRectF(-width / 2, -metrics.height() - 2, width, metrics.height() + 2)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        painter.fillRect(self._rect, QColor(0, 0, 0, 160))
        painter.setFont(self._font)
        painter.setPen(self._color)
        painter.drawText(self._rect.adjusted(3, 0, -3, 0), Qt.AlignmentFlag.AlignVCenter, self.text)


def _cosmetic_pen(color: QColor, width: float, dashed: bool = False) -> QPen:
    pen = QPen(color, width)
    pen.setCosmetic(True)
    if dashed:
        pen.setStyle(Qt.PenStyle.DashLine)
    return pen


def _polygon_path(points: Iterable[tuple[float, float]]) -> QPainterPath:
    path = QPainterPath()
    path.addPolygon(QPolygonF([QPointF(float(x), float(y)) for x, y in points]))
    path.closeSubpath()
    return path


class FaceGraphics:
    """The items of one face in one scene: a root placed in the common frame, picture, layers."""

    def __init__(self, face: FaceSide, accent: QColor, parent: QGraphicsItem | None = None) -> None:
        self.face = face
        self.frame = face_frame(face)
        self.root = _Container(parent)
        self.root.setTransform(qtransform(self.frame))
        self.pixmap_item = FacePixmapItem(face_pixmaps(face), self.root)
        self.layers: dict[Layer, _Container] = {layer: _Container(self.root) for layer in Layer}
        self.region_items: dict[str, QGraphicsPathItem] = {}
        self.labels: dict[str, LabelItem] = {}
        self._build_landmarks(accent)
        self._build_regions(accent)
        self._build_eye_line(accent)

    def _build_landmarks(self, accent: QColor) -> None:
        if self.face.landmarks is not None and len(self.face.landmarks):
            PointsItem(self.face.landmarks, accent.lighter(120), 2.5, self.layers[Layer.LANDMARKS])

    def _build_regions(self, accent: QColor) -> None:
        group = self.layers[Layer.REGIONS]
        for name, region in self.face.regions.items():
            polygon = np.asarray(region.polygon, dtype=np.float64).reshape(-1, 2)
            if len(polygon) < 3:
                x, y, w, h = region.box
                polygon = np.array([(x, y), (x + w, y), (x + w, y + h), (x, y + h)])
            item = QGraphicsPathItem(_polygon_path(polygon), group)
            item.setPen(_cosmetic_pen(accent, 1.5, dashed=region.estimated))
            item.setBrush(QBrush(Qt.BrushStyle.NoBrush))
            self.region_items[name] = item
            text = region_title(name) + (f" ({ESTIMATED_NOTE})" if region.estimated else "")
            label = LabelItem(text, accent, group)
            x0, y0 = polygon.min(axis=0)
            x1 = polygon[:, 0].max()
            label.setPos(float(x0 + x1) / 2, float(y0))
            self.labels[name] = label

    def _build_eye_line(self, accent: QColor) -> None:
        if self.face.eye_points is None:
            return
        (x1, y1), (x2, y2) = self.face.eye_points
        group = self.layers[Layer.EYE_LINE]
        line = QGraphicsLineItem(x1, y1, x2, y2, group)
        line.setPen(_cosmetic_pen(QColor(80, 255, 120), 1.5))
        PointsItem(np.array([(x1, y1), (x2, y2)]), QColor(80, 255, 120), 7.0, group)

    def set_layer_visible(self, layer: Layer, visible: bool) -> None:
        self.layers[layer].setVisible(visible)

    def frame_rect(self) -> QRectF:
        """The picture's bounding box in the common frame."""
        return qtransform(self.frame).mapRect(self.pixmap_item.boundingRect())

    def remove(self) -> None:
        scene = self.root.scene()
        if scene is not None:
            scene.removeItem(self.root)
