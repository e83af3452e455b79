"""The probe panel's side tools: edits on a copy, the edit history, and the quality panel.

:class:`QtEditTools` builds one editor per edit the active profile allows, from the engine's own
descriptions (:data:`app.engine.edits.SUPPORTED_EDITS`: label, parameters, ranges, units), and
asks for an edit with :attr:`QtEditTools.edit_requested`; casework applies it to a copy and logs
it. :class:`QtEditHistory` lists the original and every edited copy; :class:`QtQualityPanel`
shows the chosen face's quality measures with plain warnings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.engine.edits import SUPPORTED_EDITS, EditDefinition, EditParameter
from app.ui.case_views import ProbeVersionRow, QualityRow, quality_summary

LEVEL_COLOURS = {"ok": QColor(27, 94, 32), "warn": QColor(183, 110, 0), "poor": QColor(183, 28, 28)}
LEVEL_WORDS = {"ok": "fine", "warn": "warning", "poor": "poor"}
NUMBER_LIMIT = 1_000_000  # spin boxes need a bound where the engine has none (crop sizes)


def allowed_edit_definitions(allowed: Iterable[str]) -> list[EditDefinition]:
    """The engine's definitions of the edits a profile allows, in the engine's order."""
    wanted = set(allowed)
    return [definition for name, definition in SUPPORTED_EDITS.items() if name in wanted]


class _ParameterEditor(QWidget):
    """The spin boxes of one edit."""

    def __init__(self, definition: EditDefinition) -> None:
        super().__init__()
        self.definition = definition
        self.boxes: dict[str, QSpinBox | QDoubleSpinBox] = {}
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        description = QLabel(definition.description)
        description.setWordWrap(True)
        description.setTextFormat(Qt.TextFormat.PlainText)
        form.addRow(description)
        for parameter in definition.parameters:
            box = self._box(parameter)
            box.setObjectName(f"edit_{definition.name}_{parameter.name}")
            self.boxes[parameter.name] = box
            form.addRow(f"{parameter.label}:", box)
        if not definition.parameters:
            form.addRow(QLabel("No settings."))

    @staticmethod
    def _box(parameter: EditParameter) -> QSpinBox | QDoubleSpinBox:
        low = -NUMBER_LIMIT if parameter.minimum is None else parameter.minimum
        high = NUMBER_LIMIT if parameter.maximum is None else parameter.maximum
        box: QSpinBox | QDoubleSpinBox
        if parameter.kind == "int":
            box = QSpinBox()
            box.setRange(int(low), int(high))
            box.setValue(int(parameter.default))
        else:
            box = QDoubleSpinBox()
            box.setDecimals(2)
            box.setRange(float(low), float(high))
            box.setSingleStep(0.1 if high - low <= 10 else 1.0)
            box.setValue(float(parameter.default))
        if parameter.unit:
            box.setSuffix(f" {parameter.unit}")
        box.setToolTip(parameter.description)
        box.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)
        return box

    def values(self) -> dict[str, float | int]:
        return {
            name: (box.value() if isinstance(box, QSpinBox) else round(box.value(), 4))
            for name, box in self.boxes.items()
        }

    def set_value(self, name: str, value: float) -> None:
        box = self.boxes[name]
        if isinstance(box, QSpinBox):
            box.setValue(round(value))
        else:
            box.setValue(float(value))


class QtEditTools(QWidget):
    """Choose an allowed edit, set its parameters, apply it to a copy of the shown version."""

    edit_requested = Signal(str, dict)  # operation name, parameters
    preview_changed = Signal(object)  # the crop rectangle (x, y, w, h) to outline, or None

    def __init__(self, allowed: Iterable[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.definitions = allowed_edit_definitions(allowed)
        self.combo = QComboBox()
        self.combo.setObjectName("editChoice")
        self.combo.setToolTip("Edits are made on a copy; the original stays untouched.")
        self.stack = QStackedWidget()
        self.editors: dict[str, _ParameterEditor] = {}
        for definition in self.definitions:
            self.combo.addItem(definition.label, definition.name)
            editor = _ParameterEditor(definition)
            self.editors[definition.name] = editor
            self.stack.addWidget(editor)
        self.combo.currentIndexChanged.connect(self.stack.setCurrentIndex)
        self.face_crop_button = QPushButton("Crop around the chosen face")
        self.face_crop_button.setToolTip(
            "Fill in a crop rectangle around the chosen face with a margin."
        )
        self.face_crop_button.clicked.connect(self._crop_around_face)
        self.apply_button = QPushButton("&Apply to a copy")
        self.apply_button.setObjectName("applyEdit")
        self.apply_button.setToolTip(
            "Make an edited copy of the version shown; the edit is logged with your name."
        )
        self.apply_button.clicked.connect(self.apply)
        buttons = QHBoxLayout()
        buttons.addWidget(self.face_crop_button)
        buttons.addStretch(1)
        buttons.addWidget(self.apply_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo)
        layout.addWidget(self.stack)
        layout.addLayout(buttons)
        self._face_box: tuple[float, float, float, float] | None = None
        self._image_size: tuple[int, int] | None = None
        self.combo.currentIndexChanged.connect(lambda _i: self._update_buttons())
        crop = self.editors.get("crop")
        if crop is not None:
            for box in crop.boxes.values():
                box.valueChanged.connect(lambda _v: self._emit_preview())
        self.combo.currentIndexChanged.connect(lambda _i: self._emit_preview())
        self._update_buttons()

    def refresh_preview(self) -> None:
        self._emit_preview()

    def _emit_preview(self) -> None:
        crop = self.editors.get("crop")
        if crop is None or self.current_edit() != "crop" or self._image_size is None:
            self.preview_changed.emit(None)
            return
        values = crop.values()
        self.preview_changed.emit((float(values["x"]), float(values["y"]),
                                   float(values["width"]), float(values["height"])))

    def current_edit(self) -> str:
        return str(self.combo.currentData() or "")

    def choose(self, name: str) -> None:
        self.combo.setCurrentIndex(self.combo.findData(name))

    def editor(self, name: str) -> _ParameterEditor:
        return self.editors[name]

    def set_context(
        self, image_size: tuple[int, int] | None, face_box: tuple[float, float, float, float] | None
    ) -> None:
        """The shown version's size (w, h) and chosen face box, for crop limits and the helper."""
        self._image_size = image_size
        self._face_box = face_box
        crop = self.editors.get("crop")
        if crop is not None and image_size is not None:
            width, height = image_size
            crop.boxes["x"].setMaximum(max(0, width - 1))
            crop.boxes["y"].setMaximum(max(0, height - 1))
            crop.boxes["width"].setMaximum(max(1, width))
            crop.boxes["height"].setMaximum(max(1, height))
        self._update_buttons()

    def _update_buttons(self) -> None:
        has_image = self._image_size is not None
        self.apply_button.setEnabled(has_image and bool(self.definitions))
        self.face_crop_button.setVisible(self.current_edit() == "crop")
        self.face_crop_button.setEnabled(has_image and self._face_box is not None)

    def _crop_around_face(self) -> None:
        if self._face_box is None or self._image_size is None or "crop" not in self.editors:
            return
        x, y, w, h = self._face_box
        width, height = self._image_size
        margin = 0.6
        left = max(0, int(x - w * margin))
        top = max(0, int(y - h * margin))
        right = min(width, int(x + w * (1 + margin)))
        bottom = min(height, int(y + h * (1 + margin)))
        editor = self.editors["crop"]
        editor.set_value("x", left)
        editor.set_value("y", top)
        editor.set_value("width", max(1, right - left))
        editor.set_value("height", max(1, bottom - top))

    def apply(self) -> None:
        name = self.current_edit()
        if name and self.apply_button.isEnabled():
            self.edit_requested.emit(name, self.editors[name].values())


class QtEditHistory(QWidget):
    """The original and every edited copy; choosing one shows it. "Back to original"."""

    version_selected = Signal(int)  # 0 = the original

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setObjectName("editHistory")
        self.list.setAccessibleName("Edit history")
        self.list.setToolTip("Every version of the probe: the original first, then each edit.")
        self.list.currentItemChanged.connect(self._current_changed)
        self.back_button = QPushButton("&Back to original")
        self.back_button.setObjectName("backToOriginal")
        self.back_button.setToolTip("Show (and search with) the original picture again.")
        self.back_button.clicked.connect(lambda: self.select_version(0))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.back_button)
        self._filling = False

    def set_versions(self, rows: Sequence[ProbeVersionRow], current: int) -> None:
        self._filling = True
        try:
            self.list.clear()
            for row in rows:
                item = QListWidgetItem(row.text)
                item.setData(Qt.ItemDataRole.UserRole, 0 if row.is_original else row.version_id)
                if row.is_original:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.list.addItem(item)
            self._select(current)
        finally:
            self._filling = False
        self.back_button.setEnabled(current != 0 and self.list.count() > 0)

    def _select(self, version_id: int) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == version_id:
                self.list.setCurrentRow(row)
                return

    def select_version(self, version_id: int) -> None:
        self._select(version_id)

    def current_version(self) -> int:
        item = self.list.currentItem()
        return int(item.data(Qt.ItemDataRole.UserRole)) if item is not None else 0

    def texts(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def _current_changed(self, current: QListWidgetItem | None, _previous: object) -> None:
        if self._filling or current is None:
            return
        version = int(current.data(Qt.ItemDataRole.UserRole))
        self.back_button.setEnabled(version != 0)
        self.version_selected.emit(version)


class QtQualityPanel(QWidget):
    """Quality of the chosen face: one plain summary line and a measure per row."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel()
        self.summary.setObjectName("qualitySummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.table = QTableWidget(0, 3)
        self.table.setObjectName("qualityTable")
        self.table.setHorizontalHeaderLabels(["Measure", "Value", "Assessment"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.warnings_label = QLabel()
        self.warnings_label.setObjectName("qualityWarnings")
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setTextFormat(Qt.TextFormat.PlainText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.warnings_label)
        layout.addWidget(self.table, 1)
        self._rows: list[QualityRow] = []
        self.set_rows([], ())

    def set_rows(self, rows: Sequence[QualityRow], extra_warnings: Sequence[str] = ()) -> None:
        self._rows = list(rows)
        self.summary.setText(quality_summary(self._rows))
        # The measures' own warnings are in the table; notes from decoding the file come here.
        warnings = list(extra_warnings)
        self.warnings_label.setText("\n".join(f"- {text}" for text in warnings))
        self.warnings_label.setVisible(bool(warnings))
        worst = "poor" if any(r.level == "poor" for r in rows) else (
            "warn" if any(r.level == "warn" for r in rows) else "ok")
        colour = LEVEL_COLOURS[worst].name() if rows else "palette(text)"
        self.summary.setStyleSheet(f"color: {colour}; font-weight: bold;")
        self.table.setRowCount(len(self._rows))
        for position, row in enumerate(self._rows):
            assessment = row.message or LEVEL_WORDS.get(row.level, row.level)
            cells = (row.title, row.value_text, assessment)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(row.message or text)
                if column == 2:
                    item.setForeground(QBrush(LEVEL_COLOURS.get(row.level, QColor(0, 0, 0))))
                self.table.setItem(position, column, item)
        self.table.resizeRowsToContents()

    def rows(self) -> list[QualityRow]:
        return list(self._rows)

    def warning_texts(self) -> list[str]:
        """Every warning shown: the measures' and the file's."""
        text = self.warnings_label.text()
        notes = [line[2:] for line in text.splitlines() if line.startswith("- ")]
        return notes + [row.message for row in self._rows if row.level != "ok" and row.message]


__all__ = [
    "QtEditHistory",
    "QtEditTools",
    "QtQualityPanel",
    "allowed_edit_definitions",
]
