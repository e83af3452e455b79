"""QtProbePanel: the probe of a request: picture with face boxes, quality, edits and history.

A probe comes in by the file dialog ("Add probe image...", Ctrl+Shift+O), by drag and drop on the
picture, or by pasting (Ctrl+V). The panel only shows and asks: :attr:`file_chosen`,
:attr:`bytes_supplied`, :attr:`face_chosen`, :attr:`edit_requested` and :attr:`version_selected`
go to the case page, which calls casework on a worker and then calls :meth:`show_version`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.ui.case_views import FaceBox, ProbeVersionRow, QualityRow
from app.ui.qt_probe_image import QtProbeImageView, picture_from_mime
from app.ui.qt_probe_tools import QtEditHistory, QtEditTools, QtQualityPanel

IMAGE_FILTER = (
    "Pictures (*.jpg *.jpeg *.png *.bmp *.tif *.tiff *.webp *.gif);;All files (*)"
)


class QtProbePanel(QWidget):
    """Picture and tools of the probe being worked on."""

    file_chosen = Signal(str)
    bytes_supplied = Signal(bytes, str)
    face_chosen = Signal(int)
    edit_requested = Signal(str, dict)
    version_selected = Signal(int)  # 0 = original
    probe_selected = Signal(int)  # probe id

    def __init__(self, allowed_edits: Iterable[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("probePanel")
        self.add_button = QPushButton("&Add probe image...")
        self.add_button.setObjectName("addProbe")
        self.add_button.setToolTip(
            "Choose the probe picture from a file (Ctrl+Shift+O). You can also drop a picture "
            "on the panel or paste one (Ctrl+V)."
        )
        self.add_button.clicked.connect(self.choose_file)
        self.paste_button = QPushButton("&Paste")
        self.paste_button.setToolTip("Use the picture on the clipboard as the probe (Ctrl+V).")
        self.paste_button.clicked.connect(self.paste)
        self.probe_combo = QComboBox()
        self.probe_combo.setObjectName("probeChoice")
        self.probe_combo.setToolTip("Probes of this request.")
        self.probe_combo.setVisible(False)
        self.probe_combo.currentIndexChanged.connect(self._probe_chosen)
        bar = QHBoxLayout()
        bar.addWidget(self.add_button)
        bar.addWidget(self.paste_button)
        bar.addWidget(self.probe_combo, 1)
        bar.addStretch(0)

        self.image_view = QtProbeImageView()
        self.image_view.face_clicked.connect(self.face_chosen)
        self.image_view.file_dropped.connect(self.file_chosen)
        self.image_view.bytes_dropped.connect(self.bytes_supplied)
        self.message_label = QLabel()
        self.message_label.setObjectName("detectionMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setTextFormat(Qt.TextFormat.PlainText)

        self.quality = QtQualityPanel()
        self.edit_tools = QtEditTools(allowed_edits)
        self.edit_tools.edit_requested.connect(self.edit_requested)
        self.edit_tools.preview_changed.connect(self.image_view.set_preview)
        self.history = QtEditHistory()
        self.history.version_selected.connect(self.version_selected)
        edit_page = QWidget()
        edit_layout = QVBoxLayout(edit_page)
        note = QLabel("Edits are made on a copy and logged; the original is never changed.")
        note.setWordWrap(True)
        edit_layout.addWidget(note)
        edit_layout.addWidget(self.edit_tools)
        edit_layout.addStretch(1)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("probeTabs")
        self.tabs.addTab(self.quality, "&Quality")
        self.tabs.addTab(edit_page, "&Edit a copy")
        self.tabs.addTab(self.history, "&History")
        self._edit_page = edit_page
        self.tabs.currentChanged.connect(self._tab_changed)

        picture = QWidget()
        picture_layout = QVBoxLayout(picture)
        picture_layout.setContentsMargins(0, 0, 0, 0)
        picture_layout.addLayout(bar)
        picture_layout.addWidget(self.image_view, 1)
        picture_layout.addWidget(self.message_label)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("probeSplitter")
        self.splitter.addWidget(picture)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        paste = QShortcut(QKeySequence(QKeySequence.StandardKey.Paste), self)
        paste.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        paste.activated.connect(self.paste)
        open_file = QShortcut(QKeySequence("Ctrl+Shift+O"), self)
        open_file.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        open_file.activated.connect(self.choose_file)
        self._probe_ids: list[int] = []
        self.set_enabled_for_work(can_add=True)

    def _tab_changed(self, _index: int) -> None:
        # The crop outline belongs to the edit tools: shown only while they are.
        if self.tabs.currentWidget() is self._edit_page:
            self.edit_tools.refresh_preview()
        else:
            self.image_view.set_preview(None)

    # ------------------------------------------------------------------------------ input
    def choose_file(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self, "Choose the probe picture", "", IMAGE_FILTER
        )
        if path:
            self.file_chosen.emit(path)

    def paste(self) -> None:
        if not self.add_button.isEnabled():
            return
        mime = QApplication.clipboard().mimeData()
        if mime is None:
            return
        path, data, name = picture_from_mime(mime)
        if path is not None:
            self.file_chosen.emit(path)
        elif data is not None:
            self.bytes_supplied.emit(data, name)
        else:
            self.message_label.setText("The clipboard holds no picture to paste.")

    def _probe_chosen(self, index: int) -> None:
        if 0 <= index < len(self._probe_ids):
            self.probe_selected.emit(self._probe_ids[index])

    # ------------------------------------------------------------------------------ showing
    def set_enabled_for_work(self, *, can_add: bool) -> None:
        """Adding and editing are for the assigned examiner of an open request."""
        self.add_button.setEnabled(can_add)
        self.paste_button.setEnabled(can_add)
        self.image_view.setAcceptDrops(can_add)
        self.edit_tools.setEnabled(can_add)

    def set_probes(self, probes: Sequence[tuple[int, str]], current: int | None) -> None:
        """(probe id, name) of every probe of the request; the chooser shows when several."""
        self._probe_ids = [probe_id for probe_id, _ in probes]
        self.probe_combo.blockSignals(True)
        self.probe_combo.clear()
        for number, (_probe_id, name) in enumerate(probes, start=1):
            self.probe_combo.addItem(f"Probe {number}: {name}")
        if current in self._probe_ids:
            self.probe_combo.setCurrentIndex(self._probe_ids.index(current))
        self.probe_combo.blockSignals(False)
        self.probe_combo.setVisible(len(probes) > 1)

    def show_version(
        self,
        rgb: npt.NDArray[np.uint8] | None,
        *,
        faces: Sequence[FaceBox],
        chosen: int | None,
        caption: str,
        message: str,
        quality: Sequence[QualityRow],
        warnings: Sequence[str],
        versions: Sequence[ProbeVersionRow],
        current_version: int,
    ) -> None:
        self.image_view.set_image(rgb, faces, chosen, caption,
                                  edited=caption.startswith("EDITED"))
        self.message_label.setText(message)
        self.quality.set_rows(quality, warnings)
        self.history.set_versions(versions, current_version)
        size = None if rgb is None else (int(rgb.shape[1]), int(rgb.shape[0]))
        box = next((face.box for face in faces if face.index == chosen), None)
        self.edit_tools.set_context(size, box)

    def clear(self) -> None:
        self.show_version(None, faces=(), chosen=None, caption="", message="", quality=(),
                          warnings=(), versions=(), current_version=0)


__all__ = ["IMAGE_FILTER", "QtProbePanel"]
