"""QtComparisonView: probe and candidate with synchronised zoom and pan, in four modes.

Both pictures live in the common face frame (aligned on the eye centres), so copying one pane's
scale and centre to the others shows the same facial area everywhere. Modes: side by side (two
panes of equal size), overlay, wipe and flicker (one :class:`QtBlendPane`). The probe shown is the
ORIGINAL unless the examiner switches to the edited copy, which is then labelled as such.

Keyboard (anywhere in the view): S side by side, O overlay, W wipe, K flicker, P pause/resume
flicker, . (period) one flicker step, [ and ] adjust opacity / divider / flicker rate, L landmarks,
R regions, E eye line, V original/edited probe, F fit face, Shift+F whole picture, 1 one-to-one,
+ and - zoom. In a focused pane: wheel, drag and arrow keys as well.
"""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.comparison.model import ComparisonMode, FaceSide, Layer, ProbeVersion
from app.ui.comparison.qt_blend_pane import QtBlendPane
from app.ui.comparison.qt_face_graphics import CANDIDATE_ACCENT, PROBE_ACCENT
from app.ui.comparison.qt_image_pane import QtImagePane

_MODE_KEYS = {
    ComparisonMode.SIDE_BY_SIDE: "S",
    ComparisonMode.OVERLAY: "O",
    ComparisonMode.WIPE: "W",
    ComparisonMode.FLICKER: "K",
}
_LAYER_KEYS = {Layer.LANDMARKS: "L", Layer.REGIONS: "R", Layer.EYE_LINE: "E"}
_EDITED_STYLE = "background:#b35c00;color:white;font-weight:bold;padding:2px 6px;"
_ORIGINAL_STYLE = "background:#1f4e79;color:white;font-weight:bold;padding:2px 6px;"
_CANDIDATE_STYLE = "background:#6b4a00;color:white;font-weight:bold;padding:2px 6px;"


def _tool_button(text: str, tip: str, checkable: bool = True) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setCheckable(checkable)
    button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    return button


class QtComparisonView(QWidget):
    """Probe (left) and candidate (right), synchronised, with overlay, wipe and flicker."""

    mode_changed = Signal(str)
    probe_version_changed = Signal(str)
    view_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._probes: dict[ProbeVersion, FaceSide] = {}
        self._version = ProbeVersion.ORIGINAL
        self._candidate: FaceSide | None = None
        self._candidate_caption = "Candidate"
        self._mode = ComparisonMode.SIDE_BY_SIDE
        self._layers = {layer: False for layer in Layer}
        self._state: tuple[float, QPointF] | None = None
        self._syncing = False
        self._auto_fit = True
        self._active: QtImagePane | None = None
        self._frame_rect = QRectF()

        self.probe_pane = QtImagePane()
        self.candidate_pane = QtImagePane()
        self.blend_pane = QtBlendPane()
        for pane in self.panes():
            pane.view_changed.connect(self._pane_changed)
        self.probe_pane.setToolTip("Probe. " + self.probe_pane.toolTip())
        self.candidate_pane.setToolTip("Candidate. " + self.candidate_pane.toolTip())
        self.probe_pane.setAccessibleName("Probe picture")
        self.candidate_pane.setAccessibleName("Candidate picture")
        self.blend_pane.setAccessibleName("Probe and candidate combined")

        self._build_toolbar()
        self._build_display()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self._toolbar)
        layout.addWidget(self.display, 1)
        self._install_shortcuts()
        self._update_controls()

    # -- construction -----------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        self._toolbar = QWidget()
        row = QHBoxLayout(self._toolbar)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(3)
        self._mode_group = QButtonGroup(self)
        self._mode_buttons: dict[ComparisonMode, QToolButton] = {}
        for mode, key in _MODE_KEYS.items():
            button = _tool_button(mode.label, f"{mode.label} ({key})")
            self._mode_group.addButton(button)
            self._mode_buttons[mode] = button
            button.clicked.connect(lambda _=False, m=mode: self.set_mode(m))
            row.addWidget(button)
        row.addSpacing(8)

        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(50)
        self.opacity_slider.setFixedWidth(110)
        self.opacity_slider.setToolTip("Opacity of the candidate over the probe ([ and ])")
        self.opacity_slider.setAccessibleName("Candidate opacity")
        self.opacity_slider.valueChanged.connect(lambda v: self.blend_pane.set_opacity(v / 100.0))
        self._opacity_label = QLabel("Opacity")
        row.addWidget(self._opacity_label)
        row.addWidget(self.opacity_slider)

        self.rate_spin = QDoubleSpinBox()
        self.rate_spin.setRange(0.5, 10.0)
        self.rate_spin.setSingleStep(0.5)
        self.rate_spin.setValue(self.blend_pane.flicker_rate())
        self.rate_spin.setSuffix(" /s")
        self.rate_spin.setToolTip("Flicker rate: switches per second ([ and ])")
        self.rate_spin.setAccessibleName("Flicker rate")
        self.rate_spin.valueChanged.connect(self.blend_pane.set_flicker_rate)
        self.pause_button = _tool_button("Pause", "Pause or resume the flicker (P); . steps")
        self.pause_button.toggled.connect(self.blend_pane.set_flicker_paused)
        self._rate_label = QLabel("Rate")
        row.addWidget(self._rate_label)
        row.addWidget(self.rate_spin)
        row.addWidget(self.pause_button)
        row.addStretch(1)

        self._layer_buttons: dict[Layer, QToolButton] = {}
        for layer, key in _LAYER_KEYS.items():
            button = _tool_button(layer.label, f"Show or hide {layer.label.lower()} ({key})")
            button.toggled.connect(lambda on, la=layer: self.set_layer_visible(la, on))
            self._layer_buttons[layer] = button
            row.addWidget(button)
        row.addSpacing(8)
        self.version_button = _tool_button(
            "Edited probe", "Show the edited copy of the probe instead of the original (V). "
            "Decisions are always made against the original."
        )
        self.version_button.toggled.connect(
            lambda on: self.set_probe_version(ProbeVersion.EDITED if on else ProbeVersion.ORIGINAL)
        )
        row.addWidget(self.version_button)
        fit = _tool_button("Fit", "Fit the face (F); Shift+F: whole picture", checkable=False)
        fit.clicked.connect(self.fit_face)
        actual = _tool_button("1:1", "One image pixel per screen pixel (1)", checkable=False)
        actual.clicked.connect(self.one_to_one)
        row.addWidget(fit)
        row.addWidget(actual)

    def _build_display(self) -> None:
        self.display = QWidget()
        column = QVBoxLayout(self.display)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        self.stack = QStackedWidget()
        side = QWidget()
        grid = QHBoxLayout(side)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        left, right = QVBoxLayout(), QVBoxLayout()
        self.probe_caption = QLabel()
        self.candidate_caption = QLabel()
        for label in (self.probe_caption, self.candidate_caption):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        left.addWidget(self.probe_caption)
        left.addWidget(self.probe_pane, 1)
        right.addWidget(self.candidate_caption)
        right.addWidget(self.candidate_pane, 1)
        grid.addLayout(left, 1)
        grid.addLayout(right, 1)
        self.stack.addWidget(side)
        blend = QWidget()
        blend_column = QVBoxLayout(blend)
        blend_column.setContentsMargins(0, 0, 0, 0)
        self.blend_caption = QLabel()
        self.blend_caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        blend_column.addWidget(self.blend_caption)
        blend_column.addWidget(self.blend_pane, 1)
        self.stack.addWidget(blend)
        column.addWidget(self.stack, 1)

    def _install_shortcuts(self) -> None:
        def add(key: str, slot: object) -> None:
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

        for mode, key in _MODE_KEYS.items():
            add(key, lambda m=mode: self.set_mode(m))
        for layer, key in _LAYER_KEYS.items():
            add(key, lambda la=layer: self.set_layer_visible(la, not self._layers[la]))
        add("V", self.toggle_probe_version)
        add("P", lambda: self.pause_button.toggle())
        add(".", self.blend_pane.flicker_step)
        add("[", lambda: self.adjust(-1))
        add("]", lambda: self.adjust(+1))
        add("F", self.fit_face)
        add("Shift+F", self.fit_image)
        add("1", self.one_to_one)
        add("+", lambda: self.zoom_by(1.25))
        add("=", lambda: self.zoom_by(1.25))
        add("-", lambda: self.zoom_by(0.8))

    # -- content ----------------------------------------------------------------------------
    def set_probe(self, original: FaceSide, edited: FaceSide | None = None) -> None:
        """The probe's original and (optionally) edited version; shows the ORIGINAL."""
        self._probes = {ProbeVersion.ORIGINAL: original}
        if edited is not None:
            self._probes[ProbeVersion.EDITED] = edited
        self._version = ProbeVersion.ORIGINAL
        self._show_probe()
        self._update_frame_rect(reset=True)
        self._update_controls()
        if self._auto_fit:
            self.fit_face()

    def set_candidate(self, face: FaceSide | None, caption: str = "Candidate", *,
                      placeholder: str = "") -> None:
        """Replace the candidate, keeping zoom and pan; ``placeholder``: words shown instead."""
        self._candidate = face
        self._candidate_caption = caption
        self.candidate_pane.set_face(face, CANDIDATE_ACCENT)
        self.candidate_pane.set_placeholder(placeholder)
        self.blend_pane.set_candidate(face)
        self.blend_pane.set_placeholder(placeholder)
        self.blend_pane.candidate_caption = caption
        self._update_frame_rect()
        self._update_controls()

    def candidate(self) -> FaceSide | None:
        return self._candidate

    def probe(self) -> FaceSide | None:
        return self._probes.get(self._version)

    def _show_probe(self) -> None:
        face = self._probes.get(self._version)
        self.probe_pane.set_face(face, PROBE_ACCENT)
        self.blend_pane.set_face(face, PROBE_ACCENT)
        self.blend_pane.probe_caption = (
            "probe (EDITED copy)" if self._version is ProbeVersion.EDITED else "probe"
        )
        self.blend_pane.set_mode(self.blend_pane.mode)  # re-apply flicker visibility

    def _update_frame_rect(self, reset: bool = False) -> None:
        """One scene rectangle for every pane; it only grows, so centring stays comparable."""
        rect = QRectF() if reset else QRectF(self._frame_rect)
        for pane in self.panes():
            wanted = pane.default_frame_rect()
            rect = wanted if rect.isNull() else rect.united(wanted)
        if rect != self._frame_rect:
            self._frame_rect = rect
            for pane in self.panes():
                pane.set_frame_rect(rect)
        self._reapply_state()

    # -- probe version ----------------------------------------------------------------------
    def probe_version(self) -> ProbeVersion:
        return self._version

    def has_edited_probe(self) -> bool:
        return ProbeVersion.EDITED in self._probes

    def set_probe_version(self, version: ProbeVersion | str) -> None:
        version = ProbeVersion(version)
        if version is ProbeVersion.EDITED and not self.has_edited_probe():
            version = ProbeVersion.ORIGINAL
        if version is self._version:
            self._update_controls()
            return
        self._version = version
        self._show_probe()
        self._update_frame_rect()
        self._update_controls()
        self.probe_version_changed.emit(version.value)

    def toggle_probe_version(self) -> None:
        edited = self._version is ProbeVersion.EDITED
        self.set_probe_version(ProbeVersion.ORIGINAL if edited else ProbeVersion.EDITED)

    # -- modes and layers -------------------------------------------------------------------
    def mode(self) -> ComparisonMode:
        return self._mode

    def set_mode(self, mode: ComparisonMode | str) -> None:
        mode = ComparisonMode(mode)
        changed = mode is not self._mode
        self._mode = mode
        if mode is not ComparisonMode.SIDE_BY_SIDE:
            self.blend_pane.set_mode(mode)
        else:
            self.blend_pane.set_mode(ComparisonMode.OVERLAY)  # stops the flicker timer
        self.stack.setCurrentIndex(0 if mode is ComparisonMode.SIDE_BY_SIDE else 1)
        self._reapply_state()
        self._update_controls()
        if changed:
            self.mode_changed.emit(mode.value)

    def set_layer_visible(self, layer: Layer, visible: bool) -> None:
        self._layers[layer] = visible
        for pane in self.panes():
            pane.set_layer_visible(layer, visible)
        self._update_controls()

    def layer_visible(self, layer: Layer) -> bool:
        return self._layers[layer]

    def set_opacity(self, value: float) -> None:
        self.opacity_slider.setValue(round(min(max(value, 0.0), 1.0) * 100))

    def adjust(self, direction: int) -> None:
        """[ and ]: the parameter of the current mode, one step down or up."""
        if self._mode is ComparisonMode.OVERLAY:
            self.opacity_slider.setValue(self.opacity_slider.value() + 10 * direction)
        elif self._mode is ComparisonMode.WIPE:
            self.blend_pane.set_divider(self.blend_pane.divider() + 0.05 * direction)
        elif self._mode is ComparisonMode.FLICKER:
            self.rate_spin.setValue(self.rate_spin.value() + 0.5 * direction)

    # -- synchronised view ------------------------------------------------------------------
    def panes(self) -> tuple[QtImagePane, QtImagePane, QtBlendPane]:
        return self.probe_pane, self.candidate_pane, self.blend_pane

    def active_pane(self) -> QtImagePane:
        """The pane keys act on: the blend pane, else the last focused side pane (probe)."""
        if self._mode is not ComparisonMode.SIDE_BY_SIDE:
            return self.blend_pane
        if self.candidate_pane.hasFocus():
            self._active = self.candidate_pane
        elif self.probe_pane.hasFocus():
            self._active = self.probe_pane
        return self._active or self.probe_pane

    def _pane_changed(self) -> None:
        pane = self.sender()
        if self._syncing or not isinstance(pane, QtImagePane):
            return
        self._sync_from(pane)
        if not self._fitting:
            self._auto_fit = False

    _fitting = False

    def _sync_from(self, source: QtImagePane) -> None:
        self._state = source.view_state()
        self._syncing = True
        try:
            for pane in self.panes():
                if pane is not source:
                    pane.apply_view_state(*self._state)
        finally:
            self._syncing = False
        self.view_changed.emit()

    def _reapply_state(self) -> None:
        if self._state is None:
            return
        self._syncing = True
        try:
            for pane in self.panes():
                pane.apply_view_state(*self._state)
        finally:
            self._syncing = False

    def view_state(self) -> tuple[float, QPointF]:
        """The shared (scale, centre in the common frame)."""
        return self._state if self._state is not None else self.active_pane().view_state()

    def set_view_state(self, scale: float, center: QPointF) -> None:
        self._auto_fit = False
        self.active_pane().set_view(scale, center)

    def fit_face(self) -> None:
        self._fitting = True
        try:
            self.active_pane().fit_face()
        finally:
            self._fitting = False

    def fit_image(self) -> None:
        self._auto_fit = False
        self.active_pane().fit_image()

    def one_to_one(self) -> None:
        self._auto_fit = False
        self.active_pane().one_to_one()

    def zoom_by(self, factor: float) -> None:
        self._auto_fit = False
        self.active_pane().zoom_by(factor)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        # Until the examiner zooms or pans, keep the face fitted as the layout settles.
        if self._auto_fit and self._probes:
            self.fit_face()

    # -- captions and controls --------------------------------------------------------------
    def _update_controls(self) -> None:
        edited = self._version is ProbeVersion.EDITED
        probe = self._probes.get(self._version)
        name = probe.label if probe else ""
        if edited:
            text = f"EDITED COPY — decide against the original · PROBE · {name}"
            style = _EDITED_STYLE
        else:
            text = f"PROBE · ORIGINAL · {name}"
            style = _ORIGINAL_STYLE
        self.probe_caption.setText(text)
        self.probe_caption.setStyleSheet(style)
        self.candidate_caption.setText(f"CANDIDATE · {self._candidate_caption}")
        self.candidate_caption.setStyleSheet(_CANDIDATE_STYLE)
        self.blend_caption.setText(f"{text}   +   CANDIDATE · {self._candidate_caption}")
        self.blend_caption.setStyleSheet(style)
        for mode, button in self._mode_buttons.items():
            button.setChecked(mode is self._mode)
        for layer, button in self._layer_buttons.items():
            button.blockSignals(True)
            button.setChecked(self._layers[layer])
            button.blockSignals(False)
        self.version_button.blockSignals(True)
        self.version_button.setChecked(edited)
        self.version_button.blockSignals(False)
        self.version_button.setEnabled(self.has_edited_probe())
        overlay = self._mode is ComparisonMode.OVERLAY
        flicker = self._mode is ComparisonMode.FLICKER
        overlay_widgets: tuple[QWidget, ...] = (self._opacity_label, self.opacity_slider)
        flicker_widgets: tuple[QWidget, ...] = (self._rate_label, self.rate_spin, self.pause_button)
        for widget in overlay_widgets:
            widget.setVisible(overlay)
        for widget in flicker_widgets:
            widget.setVisible(flicker)

    # -- screenshot -------------------------------------------------------------------------
    def grab_png(self) -> bytes:
        """PNG bytes of the pictures as shown (captions included, tool bar excluded)."""
        return pixmap_png(self.display.grab())


def pixmap_png(pixmap: object) -> bytes:
    """Encode a QPixmap or QImage as PNG bytes."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    pixmap.save(buffer, "PNG")  # type: ignore[attr-defined]
    buffer.close()
    return bytes(data.data())
