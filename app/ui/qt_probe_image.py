"""QtProbeImageView: the probe picture with every detected face boxed; click (or 1-9) to pick.

Also the probe's way in: drop a picture file or image data on it. The boxes are drawn over the
picture, never into it. Keys: 1-9 pick face 1-9, Tab/Shift+Tab leave the view.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QMimeData, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QFont,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.ui.case_views import FaceBox, face_at
from app.ui.comparison.qt_comparison_view import pixmap_png
from app.ui.comparison.qt_face_graphics import qimage_from_array

CHOSEN_COLOUR = QColor(0, 200, 83)
OTHER_COLOUR = QColor(255, 193, 7)
EDITED_COLOUR = QColor(179, 92, 0)
PLACEHOLDER = (
    "Drop a probe picture here, paste it (Ctrl+V)\nor choose a file with 'Add probe image...'"
)


def image_png(image: QImage) -> bytes:
    """PNG bytes of a QImage (a pasted or dropped picture without a file)."""
    return pixmap_png(image)


def picture_from_mime(mime: QMimeData) -> tuple[str | None, bytes | None, str]:
    """(local file path, image bytes, name) of what was dropped or pasted; all None if nothing."""
    for url in mime.urls():
        if url.isLocalFile():
            path = url.toLocalFile()
            if Path(path).is_file():
                return path, None, Path(path).name
    if mime.hasImage():
        image = mime.imageData()
        if isinstance(image, QImage) and not image.isNull():
            return None, image_png(image), "pasted picture.png"
        if isinstance(image, QPixmap) and not image.isNull():
            return None, image_png(image.toImage()), "pasted picture.png"
    return None, None, ""


class QtProbeImageView(QWidget):
    """Shows one picture and its face boxes; reports clicks on a face and dropped pictures."""

    face_clicked = Signal(int)
    file_dropped = Signal(str)
    bytes_dropped = Signal(bytes, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("probeImage")
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(320, 280)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Probe picture")
        self.setToolTip("Click a face box (or press its number) to choose the face to search.")
        self._pixmap: QPixmap | None = None
        self._size = (0, 0)
        self._faces: list[FaceBox] = []
        self._chosen: int | None = None
        self._caption = ""
        self._edited = False
        self._preview: tuple[float, float, float, float] | None = None
        self._drag_over = False

    # ------------------------------------------------------------------------------ content
    def set_image(
        self,
        rgb: npt.NDArray[np.uint8] | None,
        faces: Sequence[FaceBox] = (),
        chosen: int | None = None,
        caption: str = "",
        edited: bool = False,
    ) -> None:
        if rgb is None:
            self._pixmap = None
            self._size = (0, 0)
        else:
            self._pixmap = QPixmap.fromImage(qimage_from_array(rgb))
            self._size = (int(rgb.shape[1]), int(rgb.shape[0]))
        self._faces = list(faces)
        self._chosen = chosen
        self._caption = caption
        self._edited = edited
        self._preview = None
        self.update()

    def set_preview(self, box: tuple[float, float, float, float] | None) -> None:
        """A dashed rectangle over the picture (the crop about to be made); None hides it."""
        self._preview = box
        self.update()

    def preview(self) -> tuple[float, float, float, float] | None:
        return self._preview

    def set_chosen(self, chosen: int | None) -> None:
        self._chosen = chosen
        self.update()

    def faces(self) -> list[FaceBox]:
        return list(self._faces)

    def chosen(self) -> int | None:
        return self._chosen

    def has_image(self) -> bool:
        return self._pixmap is not None

    # ------------------------------------------------------------------------------ geometry
    def image_rect(self) -> QRectF:
        """Where the picture is drawn (fitted, centred, aspect kept)."""
        width, height = self._size
        if not width or not height:
            return QRectF()
        area = QRectF(self.rect()).adjusted(4, 4, -4, -22)
        scale = min(area.width() / width, area.height() / height)
        shown_w, shown_h = width * scale, height * scale
        return QRectF(area.x() + (area.width() - shown_w) / 2,
                      area.y() + (area.height() - shown_h) / 2, shown_w, shown_h)

    def to_image(self, point: QPointF) -> tuple[float, float] | None:
        target = self.image_rect()
        if target.isEmpty() or not target.contains(point):
            return None
        scale = target.width() / self._size[0]
        return ((point.x() - target.x()) / scale, (point.y() - target.y()) / scale)

    def to_widget(self, box: tuple[float, float, float, float]) -> QRectF:
        target = self.image_rect()
        scale = target.width() / self._size[0] if self._size[0] else 1.0
        x, y, w, h = box
        return QRectF(target.x() + x * scale, target.y() + y * scale, w * scale, h * scale)

    # ------------------------------------------------------------------------------ painting
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(38, 38, 38))
        if self._drag_over:
            painter.setPen(QPen(QColor(100, 181, 246), 3, Qt.PenStyle.DashLine))
            painter.drawRect(self.rect().adjusted(2, 2, -3, -3))
        if self._pixmap is None:
            painter.setPen(QColor(220, 220, 220))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, PLACEHOLDER)
            painter.end()
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawPixmap(self.image_rect(), self._pixmap, QRectF(self._pixmap.rect()))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(self.font())
        font.setBold(True)
        painter.setFont(font)
        for face in self._faces:
            chosen = face.index == self._chosen
            colour = CHOSEN_COLOUR if chosen else OTHER_COLOUR
            rect = self.to_widget(face.box)
            painter.setPen(QPen(colour, 3 if chosen else 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect)
            tag = QRectF(rect.x(), rect.y() - 18, 22 if not chosen else 80, 18)
            painter.fillRect(tag, colour)
            painter.setPen(QColor(0, 0, 0))
            painter.drawText(tag, Qt.AlignmentFlag.AlignCenter,
                             f"{face.index + 1} chosen" if chosen else str(face.index + 1))
        if self._preview is not None:
            painter.setPen(QPen(QColor(100, 181, 246), 2, Qt.PenStyle.DashLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(self.to_widget(self._preview))
        if self._caption:
            band = QRectF(0, self.height() - 20, self.width(), 20)
            if self._edited:  # an edited copy must never pass for the original
                painter.fillRect(band, EDITED_COLOUR)
            painter.setPen(QColor(255, 255, 255) if self._edited else QColor(230, 230, 230))
            painter.drawText(band.adjusted(6, 0, -6, 0),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             self._caption)
        if self.hasFocus():
            painter.setPen(QPen(QColor(100, 181, 246), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        painter.end()

    # ------------------------------------------------------------------------------ input
    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if event.button() != Qt.MouseButton.LeftButton:
            return
        point = self.to_image(event.position())
        if point is None:
            return
        face = face_at(self._faces, *point)
        if face is not None:
            self.face_clicked.emit(face.index)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if Qt.Key.Key_1 <= key <= Qt.Key.Key_9 and not event.modifiers() & (
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
        ):
            index = int(key) - int(Qt.Key.Key_1)
            if index < len(self._faces):
                self.face_clicked.emit(self._faces[index].index)
                event.accept()
                return
        super().keyPressEvent(event)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        path, data, _name = picture_from_mime(event.mimeData())
        if path is not None or data is not None:
            self._drag_over = True
            self.update()
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event: object) -> None:
        self._drag_over = False
        self.update()

    def dropEvent(self, event: QDropEvent) -> None:
        self._drag_over = False
        self.update()
        path, data, name = picture_from_mime(event.mimeData())
        if path is not None:
            self.file_dropped.emit(path)
        elif data is not None:
            self.bytes_dropped.emit(data, name)
        else:
            event.ignore()
            return
        event.acceptProposedAction()


__all__ = ["QtProbeImageView", "image_png", "picture_from_mime"]
