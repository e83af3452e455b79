"""QtFeatureStrip: the same facial region of probe and candidate, cropped side by side.

Each pair shows one region (eyes next to eyes, ears next to ears) cut from both pictures in the
common face frame, over one rectangle that covers the region in both: the crops are upright and
at the same scale. Estimated regions (ears, hairline) are marked. Clicking a pair (or Enter /
Space on it) asks for the worksheet item the region belongs to.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QMouseEvent, QPainter, QPixmap, QTransform
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.ui.comparison.geometry import crop_rect, face_frame, region_frame_box
from app.ui.comparison.model import REGION_NAMES, FaceSide, WorksheetItemView, region_title
from app.ui.comparison.qt_face_graphics import draw_face, face_pixmaps, qtransform

DEFAULT_THUMB = QSize(104, 80)
_TILE_STYLE = "QFrame#pair {border:2px solid %s; border-radius:4px; background:%s;}"
_PLAIN = ("#444", "#2a2a2c")
_SELECTED = ("#00a0e0", "#1d3346")
_FOCUSED = ("#ffffff", "#2a2a2c")


def render_crop(face: FaceSide, rect: tuple[float, float, float, float], size: QSize) -> QPixmap:
    """The frame rectangle ``rect`` of ``face`` rendered upright into a ``size`` picture."""
    image = QImage(size, QImage.Format.Format_RGB32)
    image.fill(QColor(20, 20, 20))
    x, y, w, h = rect
    sx, sy = size.width() / w, size.height() / h
    to_thumb = QTransform(sx, 0, 0, sy, -x * sx, -y * sy)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    painter.setTransform(qtransform(face_frame(face)) * to_thumb)
    draw_face(painter, face_pixmaps(face))
    painter.end()
    return QPixmap.fromImage(image)


def _placeholder(size: QSize, text: str) -> QPixmap:
    pixmap = QPixmap(size)
    pixmap.fill(QColor(20, 20, 20))
    painter = QPainter(pixmap)
    painter.setPen(QColor(150, 150, 150))
    painter.drawText(QRectF(0, 0, size.width(), size.height()), Qt.AlignmentFlag.AlignCenter, text)
    painter.end()
    return pixmap


class QtFeaturePair(QFrame):
    """One region: title (with 'estimated' when so) over the probe and candidate crops."""

    activated = Signal(str)

    def __init__(self, region: str, estimated: bool, probe: QPixmap, candidate: QPixmap,
                 item_label: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.region = region
        self.estimated = estimated
        self.setObjectName("pair")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        column = QVBoxLayout(self)
        column.setContentsMargins(4, 3, 4, 4)
        column.setSpacing(2)
        title = region_title(region)
        self._item_label = item_label
        self.title_label = QLabel()
        self.title_label.setStyleSheet("color:#ddd;")
        column.addWidget(self.title_label)
        row = QHBoxLayout()
        row.setSpacing(3)
        self.probe_label, self.candidate_label = QLabel(), QLabel()
        self.probe_label.setToolTip(f"Probe: {title}")
        self.candidate_label.setToolTip(f"Candidate: {title}")
        row.addWidget(self.probe_label)
        row.addWidget(self.candidate_label)
        column.addLayout(row)
        self._selected = False
        self._style = ""
        self.set_crops(probe, candidate, estimated)
        self._restyle()

    def set_crops(self, probe: QPixmap, candidate: QPixmap, estimated: bool) -> None:
        """New pictures for the same region (a candidate switch reuses the pair)."""
        title = region_title(self.region)
        self.estimated = estimated
        self.title_label.setText(f"<b>{title}</b>" + (" <i>(estimated)</i>" if estimated else ""))
        self.probe_label.setPixmap(probe)
        self.candidate_label.setPixmap(candidate)
        tip = f"{title}: probe (left), candidate (right)."
        if estimated:
            tip += " Estimated from the face outline, not found by landmarks."
        if self._item_label:
            tip += f" Click or press Enter to go to the worksheet item '{self._item_label}'."
        self.setToolTip(tip)
        self.setAccessibleName(f"{title} feature pair" + (" (estimated)" if estimated else ""))

    def set_selected(self, selected: bool) -> None:
        self._selected = selected
        self._restyle()

    @property
    def selected(self) -> bool:
        return self._selected

    def _restyle(self) -> None:
        border, background = _SELECTED if self._selected else _PLAIN
        if self.hasFocus():
            border = _FOCUSED[0]
        style = _TILE_STYLE % (border, background)
        if style != self._style:
            self._style = style
            self.setStyleSheet(style)

    def focusInEvent(self, event: object) -> None:
        super().focusInEvent(event)  # type: ignore[arg-type]
        self._restyle()

    def focusOutEvent(self, event: object) -> None:
        super().focusOutEvent(event)  # type: ignore[arg-type]
        self._restyle()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.setFocus(Qt.FocusReason.MouseFocusReason)
            self.activated.emit(self.region)
            event.accept()
            return
        super().mousePressEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.activated.emit(self.region)
        elif key == Qt.Key.Key_Right:
            self.focusNextChild()
        elif key == Qt.Key.Key_Left:
            self.focusPreviousChild()
        else:
            super().keyPressEvent(event)
            return
        event.accept()


class QtFeatureStrip(QWidget):
    """A row of feature pairs for the worksheet's regions (or the selected item's regions)."""

    region_clicked = Signal(str)
    item_requested = Signal(str)  # the worksheet item the clicked region belongs to

    def __init__(self, parent: QWidget | None = None, thumb_size: QSize = DEFAULT_THUMB) -> None:
        super().__init__(parent)
        self._thumb = QSize(thumb_size)
        self._items: tuple[WorksheetItemView, ...] = ()
        self._probe: FaceSide | None = None
        self._candidate: FaceSide | None = None
        self._selected_item: str | None = None
        self.pairs: dict[str, QtFeaturePair] = {}

        self.only_selected = QCheckBox("Only the selected item")
        self.only_selected.setToolTip(
            "Show only the regions of the selected worksheet item instead of every region"
        )
        self.only_selected.toggled.connect(lambda _on: self._rebuild())
        self._empty = QLabel()
        self._empty.setStyleSheet("color:#999;")
        self._row_widget = QWidget()
        self._row = QHBoxLayout(self._row_widget)
        self._row.setContentsMargins(2, 2, 2, 2)
        self._row.setSpacing(6)
        self._row.addStretch(1)
        self._scroll = QScrollArea()
        self._scroll.setWidgetResizable(True)
        self._scroll.setWidget(self._row_widget)
        self._scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        side = QVBoxLayout()
        heading = QLabel("<b>Features</b>")
        side.addWidget(heading)
        self.probe_version_label = QLabel("Probe: original")
        self.probe_version_label.setToolTip("Which probe version the left crops are cut from")
        side.addWidget(self.probe_version_label)
        side.addWidget(self.only_selected)
        side.addWidget(self._empty)
        side.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(side)
        layout.addWidget(self._scroll, 1)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        # Title, both crops and the horizontal scroll bar must fit without squeezing.
        bar = self._scroll.horizontalScrollBar().sizeHint().height()
        self.setMinimumHeight(self._thumb.height() + self.fontMetrics().height() + 30 + bar)

    # -- inputs -----------------------------------------------------------------------------
    def set_items(self, items: Sequence[WorksheetItemView]) -> None:
        self._items = tuple(items)
        self._rebuild()

    def set_faces(self, probe: FaceSide | None, candidate: FaceSide | None) -> None:
        self._probe, self._candidate = probe, candidate
        self._rebuild()

    def set_probe_caption(self, text: str, warning: bool = False) -> None:
        """Say which probe version the crops come from (the edited copy is flagged)."""
        self.probe_version_label.setText(text)
        style = "color:#b35c00; font-weight:bold;" if warning else ""
        self.probe_version_label.setStyleSheet(style)

    def set_selected_item(self, item_id: str | None) -> None:
        self._selected_item = item_id
        if self.only_selected.isChecked():
            self._rebuild()
        else:
            self._highlight()

    def set_only_selected(self, only: bool) -> None:
        self.only_selected.setChecked(only)

    # -- derived ----------------------------------------------------------------------------
    def item_for_region(self, region: str) -> WorksheetItemView | None:
        """The first worksheet item (in list order) that names this region."""
        return next((item for item in self._items if region in item.regions), None)

    def _selected_regions(self) -> tuple[str, ...]:
        item = next((i for i in self._items if i.id == self._selected_item), None)
        return item.regions if item else ()

    def regions_shown(self) -> list[str]:
        return list(self.pairs)

    def _wanted_regions(self) -> list[str]:
        available: set[str] = set()
        for face in (self._probe, self._candidate):
            if face is not None:
                available |= set(face.regions)
        if self.only_selected.isChecked():
            wanted = set(self._selected_regions())
        elif self._items:
            wanted = {region for item in self._items for region in item.regions}
        else:
            wanted = available
        order = [name for name in REGION_NAMES if name in wanted]
        order += sorted(wanted - set(REGION_NAMES))
        return [name for name in order if name in available]

    # -- building ---------------------------------------------------------------------------
    def _rebuild(self) -> None:
        regions = self._wanted_regions()
        aspect = self._thumb.width() / self._thumb.height()
        if regions and regions == list(self.pairs):
            # Same regions (the usual candidate switch): new crops in the existing pairs.
            for region, pair in self.pairs.items():
                pair.set_crops(*self._crops(region, aspect))
            self._highlight()
            return
        for pair in self.pairs.values():
            self._row.removeWidget(pair)
            pair.hide()  # deleteLater waits for the event loop; never show stale pairs meanwhile
            pair.deleteLater()
        self.pairs = {}
        for region in regions:
            pair = self._make_pair(region, aspect)
            pair.activated.connect(self._pair_activated)
            self._row.insertWidget(self._row.count() - 1, pair)
            pair.show()  # at once, not when the event loop gets to the layout's queued show
            self.pairs[region] = pair
        if not regions:
            self._empty.setText("No regions to show" if self._probe else "No probe")
        self._empty.setVisible(not regions)
        self._highlight()

    def _make_pair(self, region: str, aspect: float) -> QtFeaturePair:
        item = self.item_for_region(region)
        probe, candidate, estimated = self._crops(region, aspect)
        return QtFeaturePair(region, estimated, probe, candidate, item.label if item else "")

    def _crops(self, region: str, aspect: float) -> tuple[QPixmap, QPixmap, bool]:
        """Probe and candidate crops over one common frame rectangle, and 'estimated'."""
        faces = [self._probe, self._candidate]
        frames = [face_frame(f) if f is not None else None for f in faces]
        boxes = [
            region_frame_box(f, region, fr) if f is not None and fr is not None else None
            for f, fr in zip(faces, frames, strict=True)
        ]
        rect = crop_rect(boxes, aspect)
        thumbs = []
        estimated = False
        for face, box in zip(faces, boxes, strict=True):
            if face is None or box is None or rect is None:
                thumbs.append(_placeholder(self._thumb, "not available"))
                continue
            estimated |= face.regions[region].estimated
            thumbs.append(render_crop(face, rect, self._thumb))
        return thumbs[0], thumbs[1], estimated

    def _highlight(self) -> None:
        selected = set(self._selected_regions())
        for region, pair in self.pairs.items():
            pair.set_selected(region in selected)

    def _pair_activated(self, region: str) -> None:
        self.region_clicked.emit(region)
        item = self.item_for_region(region)
        if item is not None:
            self.item_requested.emit(item.id)
