"""QtBlendPane: probe and candidate in ONE view, aligned on the eyes: overlay, wipe and flicker.

- Overlay: the candidate over the probe at an adjustable opacity.
- Wipe: a vertical divider (drag it, or use the keys of :class:`QtComparisonView`); probe on its
  left, candidate on its right. The candidate sits in a clipping item whose rectangle follows the
  divider, so nothing is re-rendered into the pictures.
- Flicker: probe and candidate shown alternately at an adjustable rate, with a pause.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QHideEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QGraphicsView, QWidget

from app.ui.comparison.model import ComparisonMode, FaceSide, Layer
from app.ui.comparison.qt_face_graphics import CANDIDATE_ACCENT, FaceGraphics
from app.ui.comparison.qt_image_pane import QtImagePane

DIVIDER_GRAB_PX = 10
FLICKER_MIN_RATE = 0.5
FLICKER_MAX_RATE = 10.0


class QtBlendPane(QtImagePane):
    """The probe (as primary face) with the candidate aligned over it."""

    divider_moved = Signal(float)
    flicker_switched = Signal(bool)  # True when the candidate is now the one shown

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._clip = QGraphicsRectItem()
        self._clip.setPen(QPen(Qt.PenStyle.NoPen))
        self._clip.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape, True)
        self._clip.setZValue(1)
        self.scene().addItem(self._clip)
        self._candidate: FaceGraphics | None = None
        self._mode = ComparisonMode.OVERLAY
        self._opacity = 0.5
        self._divider = 0.5
        self._dragging = False
        self._flicker_rate = 2.0
        self._flicker_paused = False
        self._showing_candidate = True
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.flicker_step)
        self.viewport().setMouseTracking(True)
        self.probe_caption = "Probe"
        self.candidate_caption = "Candidate"

    # -- content ----------------------------------------------------------------------------
    def set_candidate(self, face: FaceSide | None) -> FaceGraphics | None:
        if self._candidate is not None:
            self._candidate.remove()
            self._candidate = None
        if face is not None:
            self._candidate = FaceGraphics(face, CANDIDATE_ACCENT, self._clip)
            for layer in Layer:
                self._candidate.set_layer_visible(layer, self.layer_visible(layer))
        self._apply_mode()
        return self._candidate

    @property
    def candidate(self) -> FaceGraphics | None:
        return self._candidate

    def faces(self) -> list[FaceGraphics]:
        return [g for g in (self.primary, self._candidate) if g is not None]

    @property
    def clip_item(self) -> QGraphicsRectItem:
        return self._clip

    # -- modes ------------------------------------------------------------------------------
    @property
    def mode(self) -> ComparisonMode:
        return self._mode

    def set_mode(self, mode: ComparisonMode) -> None:
        self._mode = mode
        self._apply_mode()

    def _apply_mode(self) -> None:
        flicker = self._mode is ComparisonMode.FLICKER
        if flicker and not self._flicker_paused and self.isVisible():
            self._timer.start(self._interval_ms())
        else:
            self._timer.stop()
        show_candidate = self._showing_candidate if flicker else True
        if self.primary is not None:
            self.primary.root.setVisible(not flicker or not show_candidate)
        if self._candidate is not None:
            self._candidate.root.setVisible(show_candidate)
            overlay = self._mode is ComparisonMode.OVERLAY
            self._candidate.root.setOpacity(self._opacity if overlay else 1.0)
        self._update_clip()
        self.viewport().update()

    def opacity(self) -> float:
        return self._opacity

    def set_opacity(self, value: float) -> None:
        self._opacity = min(max(value, 0.0), 1.0)
        self._apply_mode()

    def divider(self) -> float:
        """The wipe divider as a fraction of the view's width (0 = left edge)."""
        return self._divider

    def set_divider(self, fraction: float) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        if fraction != self._divider:
            self._divider = fraction
            self._update_clip()
            self.viewport().update()
            self.divider_moved.emit(fraction)

    def flicker_rate(self) -> float:
        """Switches per second."""
        return self._flicker_rate

    def set_flicker_rate(self, rate: float) -> None:
        self._flicker_rate = min(max(rate, FLICKER_MIN_RATE), FLICKER_MAX_RATE)
        if self._timer.isActive():
            self._timer.start(self._interval_ms())

    def _interval_ms(self) -> int:
        return max(1, round(1000.0 / self._flicker_rate))

    @property
    def flicker_paused(self) -> bool:
        return self._flicker_paused

    def set_flicker_paused(self, paused: bool) -> None:
        self._flicker_paused = paused
        self._apply_mode()

    @property
    def flicker_running(self) -> bool:
        return self._timer.isActive()

    @property
    def showing_candidate(self) -> bool:
        """In flicker mode: whether the candidate (not the probe) is the picture shown."""
        return self._showing_candidate

    def flicker_step(self) -> None:
        """Show the other picture (the timer calls this; also a manual step while paused)."""
        self._showing_candidate = not self._showing_candidate
        self._apply_mode()
        self.flicker_switched.emit(self._showing_candidate)

    # -- wipe clip --------------------------------------------------------------------------
    def _divider_x(self) -> float:
        return self._divider * self.viewport().width()

    def _update_clip(self) -> None:
        scene_rect = self.sceneRect()
        if self._mode is ComparisonMode.WIPE:
            inverse, _ = self.viewportTransform().inverted()
            left = inverse.map(QPointF(self._divider_x(), 0.0)).x()
            left = min(max(left, scene_rect.left()), scene_rect.right())
            rect = QRectF(left, scene_rect.top(), scene_rect.right() - left, scene_rect.height())
        else:
            rect = scene_rect
        if self._clip.rect() != rect:
            self._clip.setRect(rect)

    def apply_view_state(self, scale: float, center: QPointF) -> None:
        super().apply_view_state(scale, center)
        self._update_clip()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        self._update_clip()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._apply_mode()  # (re)starts the flicker timer

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._timer.stop()  # no flicker work while nobody sees it

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._update_clip()

    # -- divider dragging -------------------------------------------------------------------
    def _near_divider(self, position: QPointF) -> bool:
        return (
            self._mode is ComparisonMode.WIPE
            and abs(position.x() - self._divider_x()) <= DIVIDER_GRAB_PX
        )

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._near_divider(event.position()):
            self._dragging = True
            self.setDragMode(QGraphicsView.DragMode.NoDrag)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._dragging:
            width = max(1, self.viewport().width())
            self.set_divider(event.position().x() / width)
            event.accept()
            return
        near = self._near_divider(event.position())
        self.viewport().setCursor(
            Qt.CursorShape.SplitHCursor if near else Qt.CursorShape.OpenHandCursor
        )
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._dragging and event.button() == Qt.MouseButton.LeftButton:
            self._dragging = False
            self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    # -- captions and divider ---------------------------------------------------------------
    def caption_text(self) -> str:
        if self._mode is ComparisonMode.OVERLAY:
            return (f"{self.candidate_caption} over {self.probe_caption}, "
                    f"opacity {round(self._opacity * 100)}%")
        if self._mode is ComparisonMode.FLICKER:
            shown = self.candidate_caption if self._showing_candidate else self.probe_caption
            paused = " (paused)" if self._flicker_paused else f" ({self._flicker_rate:g}/s)"
            return f"Showing {shown}{paused}"
        if self._mode is ComparisonMode.WIPE:
            return f"◀ {self.probe_caption}   |   {self.candidate_caption} ▶"
        return ""

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        super().drawForeground(painter, rect)
        painter.save()
        painter.resetTransform()
        vp = self.viewport()
        if self._mode is ComparisonMode.WIPE:
            x = round(self._divider_x())
            painter.setPen(QPen(QColor(255, 255, 255, 230), 2))
            painter.drawLine(x, 0, x, vp.height())
            handle = QRectF(x - 6, vp.height() / 2 - 22, 12, 44)
            painter.setBrush(QColor(255, 255, 255, 230))
            painter.setPen(QPen(QColor(0, 0, 0, 200), 1))
            painter.drawRoundedRect(handle, 4, 4)
        text = self.caption_text()
        if text:
            font = QFont(painter.font())
            font.setPointSizeF(9.5)
            font.setBold(True)
            painter.setFont(font)
            metrics = painter.fontMetrics()
            width = metrics.horizontalAdvance(text) + 16
            plate = QRectF((vp.width() - width) / 2, 6, width, metrics.height() + 8)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(0, 0, 0, 170))
            painter.drawRoundedRect(plate, 4, 4)
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(plate, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()
