"""QtImagePane: one picture in the common face frame, with zoom, pan and annotation layers.

Keys (when the pane has focus): mouse wheel zooms at the cursor, + and - zoom at the centre,
arrow keys pan (Shift for fine steps), F fits the face, Shift+F the whole picture, 1 shows the
picture at one image pixel per screen pixel; dragging pans. The view's scale and centre form its
"view state" (the scene is the common frame), which :class:`QtComparisonView` copies between
panes to keep them synchronised.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QPainter, QTransform, QWheelEvent
from PySide6.QtWidgets import QFrame, QGraphicsScene, QGraphicsView, QWidget

from app.ui.comparison.geometry import face_box
from app.ui.comparison.model import FaceSide, Layer
from app.ui.comparison.qt_face_graphics import PROBE_ACCENT, FaceGraphics

WHEEL_STEP = 1.2  # zoom factor per wheel notch
KEY_ZOOM_STEP = 1.25
PAN_STEP = 48  # viewport pixels per arrow key press
FINE_PAN_STEP = 6
FIT_MARGIN = 0.96


def _rect(box: tuple[float, float, float, float]) -> QRectF:
    return QRectF(*box)


class QtImagePane(QGraphicsView):
    """A zoomable, pannable viewer of one face (plus, in subclasses, a second one)."""

    view_changed = Signal()
    """The user (or code) changed zoom or pan; the new state is :meth:`view_state`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(
            QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform
        )
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        # Full updates: captions and the wipe divider are drawn in viewport coordinates, which
        # scrolling by blitting would smear; with the pyramid a full repaint is cheap.
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setBackgroundBrush(QColor(38, 38, 40))
        self.setMinimumSize(120, 120)
        self._primary: FaceGraphics | None = None
        self._layers = {layer: False for layer in Layer}
        self._quiet = 0
        self._explicit_rect = False
        self._placeholder = ""
        self.horizontalScrollBar().valueChanged.connect(self._scrolled)
        self.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.setToolTip(
            "Wheel: zoom at cursor · +/-: zoom · drag or arrows: pan · F: fit face · "
            "Shift+F: whole picture · 1: one image pixel per screen pixel"
        )

    # -- content ----------------------------------------------------------------------------
    def set_face(self, face: FaceSide | None, accent: QColor = PROBE_ACCENT) -> FaceGraphics | None:
        """Show ``face`` (replacing the previous one) without changing zoom or pan."""
        if self._primary is not None:
            self._primary.remove()
            self._primary = None
        if face is not None:
            self._primary = FaceGraphics(face, accent)
            self.scene().addItem(self._primary.root)
            self._primary.root.setZValue(0)
            self._apply_layers(self._primary)
        if not self._explicit_rect:
            self._set_scene_rect(self.default_frame_rect())
        self.viewport().update()
        return self._primary

    def set_placeholder(self, text: str) -> None:
        """Words shown over the middle of the pane (e.g. while the picture loads); "" for none."""
        if text != self._placeholder:
            self._placeholder = text
            self.viewport().update()

    def placeholder(self) -> str:
        return self._placeholder

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        super().drawForeground(painter, rect)
        if not self._placeholder:
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(QColor(235, 235, 235))
        painter.drawText(self.viewport().rect().adjusted(8, 8, -8, -8),
                         int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                         self._placeholder)
        painter.restore()

    @property
    def primary(self) -> FaceGraphics | None:
        return self._primary

    def faces(self) -> list[FaceGraphics]:
        return [self._primary] if self._primary else []

    def default_frame_rect(self) -> QRectF:
        """The face box and every picture, padded so panning is never blocked early."""
        rect = _rect(face_box())
        for graphics in self.faces():
            rect = rect.united(graphics.frame_rect())
        pad = max(rect.width(), rect.height())
        return rect.adjusted(-pad, -pad, pad, pad)

    def set_frame_rect(self, rect: QRectF) -> None:
        """Use the same scene rectangle as the other panes so centring gives the same result."""
        self._explicit_rect = True
        self._set_scene_rect(rect)

    def _set_scene_rect(self, rect: QRectF) -> None:
        state = self.view_state()
        self._quiet += 1
        try:
            self.setSceneRect(rect)
            self.apply_view_state(*state)
        finally:
            self._quiet -= 1

    # -- layers -----------------------------------------------------------------------------
    def set_layer_visible(self, layer: Layer, visible: bool) -> None:
        self._layers[layer] = visible
        for graphics in self.faces():
            graphics.set_layer_visible(layer, visible)
        self.viewport().update()

    def layer_visible(self, layer: Layer) -> bool:
        return self._layers[layer]

    def _apply_layers(self, graphics: FaceGraphics) -> None:
        for layer, visible in self._layers.items():
            graphics.set_layer_visible(layer, visible)

    # -- view state -------------------------------------------------------------------------
    def scale_factor(self) -> float:
        return self.transform().m11()

    def center(self) -> QPointF:
        inverse, _ = self.viewportTransform().inverted()
        vp = self.viewport()
        return inverse.map(QPointF(vp.width() / 2.0, vp.height() / 2.0))

    def view_state(self) -> tuple[float, QPointF]:
        return self.scale_factor(), self.center()

    def apply_view_state(self, scale: float, center: QPointF) -> None:
        """Adopt another pane's zoom and centre (does not emit :attr:`view_changed`)."""
        self._quiet += 1
        try:
            self.setTransform(QTransform.fromScale(scale, scale))
            self.centerOn(center)
        finally:
            self._quiet -= 1

    def _emit(self) -> None:
        if not self._quiet:
            self.view_changed.emit()

    def _scrolled(self, _value: int) -> None:
        self._emit()

    def image_pixel_scale(self) -> float:
        """Screen pixels per image pixel of the shown face (1.0 at 1:1)."""
        if self._primary is None:
            return self.scale_factor()
        return self.scale_factor() * self._primary.frame.scale

    def _fit_scale(self, rect: QRectF) -> float:
        vp = self.viewport()
        if rect.width() <= 0 or rect.height() <= 0:
            return 1.0
        return FIT_MARGIN * min(vp.width() / rect.width(), vp.height() / rect.height())

    def _scale_limits(self) -> tuple[float, float]:
        fit = self._fit_scale(_rect(face_box()))
        one_to_one = 1.0 / self._primary.frame.scale if self._primary else 1.0
        return min(fit, one_to_one) / 10.0, max(fit * 4.0, one_to_one * 32.0)

    def set_view(self, scale: float, center: QPointF) -> None:
        """Zoom and centre the view (clamped to sensible limits) and tell the other panes."""
        low, high = self._scale_limits()
        self.apply_view_state(min(max(scale, low), high), center)
        self._emit()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom by ``factor`` keeping the scene point under ``anchor`` (viewport px) still."""
        old = self.scale_factor()
        low, high = self._scale_limits()
        new = min(max(old * factor, low), high)
        if new == old:
            return
        center = self.center()
        if anchor is None:
            fixed = center
        else:
            inverse, _ = self.viewportTransform().inverted()
            fixed = inverse.map(anchor)
        ratio = old / new
        self.set_view(new, fixed + (center - fixed) * ratio)

    def fit_face(self) -> None:
        """Show the face (eyebrows to chin, ear to ear) as large as fits."""
        box = _rect(face_box())
        self.set_view(self._fit_scale(box), box.center())

    def fit_image(self) -> None:
        """Show the whole picture."""
        if self._primary is None:
            self.fit_face()
            return
        rect = self._primary.frame_rect()
        self.set_view(self._fit_scale(rect), rect.center())

    def one_to_one(self) -> None:
        """One image pixel of the shown face per screen pixel, keeping the centre."""
        scale = 1.0 / self._primary.frame.scale if self._primary else 1.0
        self.set_view(scale, self.center())

    def pan_by(self, dx: int, dy: int) -> None:
        """Move the view by viewport pixels (positive: content moves left/up)."""
        self._quiet += 1
        try:
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + dx)
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() + dy)
        finally:
            self._quiet -= 1
        self._emit()

    # -- input ------------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps == 0:
            event.ignore()
            return
        self.zoom_by(WHEEL_STEP**steps, event.position())
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = Qt.Key(event.key())
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        step = FINE_PAN_STEP if shift else PAN_STEP
        pans = {
            Qt.Key.Key_Left: (-step, 0),
            Qt.Key.Key_Right: (step, 0),
            Qt.Key.Key_Up: (0, -step),
            Qt.Key.Key_Down: (0, step),
        }
        if key in pans:
            self.pan_by(*pans[key])
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(KEY_ZOOM_STEP)
        elif key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            self.zoom_by(1.0 / KEY_ZOOM_STEP)
        elif key == Qt.Key.Key_F:
            if shift:
                self.fit_image()
            else:
                self.fit_face()
        elif key == Qt.Key.Key_1:
            self.one_to_one()
        else:
            # Leave other keys (PageUp/PageDown, answer keys...) to the parents.
            event.ignore()
            return
        event.accept()
