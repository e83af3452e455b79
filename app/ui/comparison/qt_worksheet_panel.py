"""QtWorksheetPanel: the comparison worksheet, answered item by item with one click or key.

Keys (anywhere in the panel except while typing a note): 1 similar, 2 not similar, 3 not
visible / undetermined (each answers the current item and moves to the next unanswered one),
N next unanswered, Up/Down previous/next item. Conclusion buttons are enabled only when the
supplied ``conclusion_allowed`` says so; otherwise its reason is shown. In review mode the first
examiner's answers stay hidden until :meth:`show_first_examiner` is called, then every item
shows both answers and differences are highlighted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.comparison.model import (
    Answer,
    Conclusion,
    ConclusionGate,
    ItemAnswer,
    ReviewRow,
    Worksheet,
    WorksheetItemView,
    default_conclusion_gate,
)

ANSWER_KEYS = {Qt.Key.Key_1: Answer.SIMILAR, Qt.Key.Key_2: Answer.NOT_SIMILAR,
               Qt.Key.Key_3: Answer.NOT_VISIBLE}
_SHORT = {Answer.SIMILAR: "Similar", Answer.NOT_SIMILAR: "Not similar",
          Answer.NOT_VISIBLE: "Not visible"}
_KEY_OF = {Answer.SIMILAR: "1", Answer.NOT_SIMILAR: "2", Answer.NOT_VISIBLE: "3"}
_ROW_STYLE = "QFrame#row {background:%s; border-left:4px solid %s; border-radius:3px;}"
_ROW_PLAIN = ("transparent", "transparent")
_ROW_CURRENT = ("#d7eaff", "#0078d4")
_ROW_DIFFERS = ("#ffe1a6", "#e07b00")
# A checked answer stands out, each in its own colour so a column of answers can be scanned.
_BUTTON_STYLE = (
    "QToolButton {padding:2px 6px;} "
    "QToolButton:checked {background:%s; color:white; font-weight:bold;}"
)
_ANSWER_COLOUR = {Answer.SIMILAR: "#2e7d32", Answer.NOT_SIMILAR: "#b3261e",
                  Answer.NOT_VISIBLE: "#5f6368"}


class _ItemRow(QFrame):
    """One worksheet item: title, three answer buttons, note, first examiner's answer."""

    def __init__(self, item: WorksheetItemView, number: int, panel: QtWorksheetPanel) -> None:
        super().__init__()
        self.item = item
        self.setObjectName("row")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        column = QVBoxLayout(self)
        column.setContentsMargins(6, 3, 4, 3)
        column.setSpacing(2)
        title = f"<b>{number}. {item.label}</b>"
        if item.characteristics:
            title += f" <span style='color:#999'>— {', '.join(item.characteristics)}</span>"
        self.title = QLabel(title)
        self.title.setWordWrap(True)
        tip = item.guidance or item.label
        if item.characteristics:
            tip += "\nLook at: " + ", ".join(item.characteristics)
        self.title.setToolTip(tip)
        column.addWidget(self.title)
        row = QHBoxLayout()
        row.setSpacing(2)
        self.buttons: dict[Answer, QToolButton] = {}
        for answer in Answer:
            button = QToolButton()
            button.setText(_SHORT[answer])
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            button.setToolTip(f"{answer.label} ({_KEY_OF[answer]})")
            button.setAccessibleName(f"{item.label}: {answer.label}")
            button.setStyleSheet(_BUTTON_STYLE % _ANSWER_COLOUR[answer])
            button.clicked.connect(lambda _=False, a=answer: panel._answer_clicked(self.item.id, a))
            button.installEventFilter(panel)
            row.addWidget(button)
            self.buttons[answer] = button
        self.note = QLineEdit()
        self.note.setPlaceholderText("Note (optional)")
        self.note.setAccessibleName(f"{item.label}: note")
        self.note.setToolTip("A note on this item; saved with the answer when you leave the field")
        self.note.editingFinished.connect(lambda: panel._note_edited(self.item.id))
        self.note.installEventFilter(panel)
        row.addWidget(self.note, 1)
        column.addLayout(row)
        self.first_label = QLabel()
        self.first_label.setVisible(False)
        self.first_label.setWordWrap(True)
        column.addWidget(self.first_label)
        self.current = False
        self.differs = False
        self._style = ""
        self.restyle()

    def show_answer(self, answer: ItemAnswer | None) -> None:
        for value, button in self.buttons.items():
            button.setChecked(answer is not None and answer.answer is value)
        if answer is not None and not self.note.hasFocus():
            self.note.setText(answer.note)

    def show_first(self, row: ReviewRow | None) -> None:
        if row is None:
            self.first_label.setVisible(False)
            self.differs = False
        else:
            first = row.first.answer.label if row.first else "no answer"
            note = f" — “{row.first.note}”" if row.first and row.first.note else ""
            marker = "  ≠ DIFFERS" if row.differs else "  = same"
            self.first_label.setText(f"First examiner: <b>{first}</b>{note}<b>{marker}</b>")
            self.first_label.setVisible(True)
            self.differs = row.differs
        self.restyle()

    def set_locked(self, locked: bool) -> None:
        for button in self.buttons.values():
            button.setEnabled(not locked)
        self.note.setReadOnly(locked)

    def restyle(self) -> None:
        colors = _ROW_DIFFERS if self.differs else _ROW_CURRENT if self.current else _ROW_PLAIN
        if self.current and self.differs:
            colors = (_ROW_DIFFERS[0], _ROW_CURRENT[1])
        style = _ROW_STYLE % colors
        if style != self._style:  # style sheets are costly; candidate switches restyle often
            self._style = style
            self.setStyleSheet(style)


class QtWorksheetPanel(QWidget):
    """The worksheet items with answer buttons, notes, progress and conclusion buttons."""

    answer_changed = Signal(str, str, str)  # item id, answer value, note
    conclusion_requested = Signal(str)  # conclusion value
    current_item_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._sheet = Worksheet(())
        self._gate: ConclusionGate | None = None
        self._rows: dict[str, _ItemRow] = {}
        self._current: str | None = None
        self._locked = False
        self._recorded: Conclusion | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.title_label = QLabel("<b>Comparison worksheet</b>")
        self.progress_label = QLabel()
        self.progress_label.setAccessibleName("Worksheet progress")
        self.review_label = QLabel()
        self.review_label.setWordWrap(True)
        self.review_label.setVisible(False)
        self.review_label.setStyleSheet("background:#e8ddf5; color:black; padding:4px;")
        header = QHBoxLayout()
        header.addWidget(self.title_label)
        header.addStretch(1)
        header.addWidget(self.progress_label)
        self.next_button = QPushButton("Next unanswered (N)")
        self.next_button.setToolTip("Go to the next item without an answer (N)")
        self.next_button.clicked.connect(self.go_to_next_unanswered)

        self._rows_widget = QWidget()
        self._rows_layout = QVBoxLayout(self._rows_widget)
        self._rows_layout.setContentsMargins(0, 0, 0, 0)
        self._rows_layout.setSpacing(2)
        self._rows_layout.addStretch(1)
        self.items_scroll = QScrollArea()
        self.items_scroll.setWidgetResizable(True)
        self.items_scroll.setWidget(self._rows_widget)
        self.items_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.items_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.conclusion_buttons: dict[Conclusion, QPushButton] = {}
        conclusions = QHBoxLayout()
        conclusions.addWidget(QLabel("Conclusion:"))
        for conclusion in Conclusion:
            button = QPushButton(conclusion.label)
            button.setAccessibleName(f"Conclude: {conclusion.label}")
            button.clicked.connect(
                lambda _=False, c=conclusion: self.conclusion_requested.emit(c.value)
            )
            conclusions.addWidget(button)
            self.conclusion_buttons[conclusion] = button
        self.reason_label = QLabel()
        self.reason_label.setWordWrap(True)
        self.reason_label.setStyleSheet("color:#e0a040;")
        self.recorded_label = QLabel()
        self.compare_label = QLabel()
        self.compare_label.setWordWrap(True)
        self.compare_label.setVisible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        layout.addWidget(self.review_label)
        layout.addWidget(self.next_button)
        layout.addWidget(self.items_scroll, 1)
        layout.addLayout(conclusions)
        layout.addWidget(self.reason_label)
        layout.addWidget(self.recorded_label)
        layout.addWidget(self.compare_label)
        self._refresh()

    # -- inputs -----------------------------------------------------------------------------
    def set_items(self, items: Sequence[WorksheetItemView]) -> None:
        """Show these items with no answers (a worksheet of the panel's own)."""
        self.set_worksheet(Worksheet(items))

    def set_worksheet(self, worksheet: Worksheet) -> None:
        """Show (and edit in place) this worksheet; the screen passes the session's."""
        rebuild = [i.id for i in worksheet.items] != [i.id for i in self._sheet.items]
        self._sheet = worksheet
        if rebuild:
            self._build_rows()
        self._recorded = worksheet.conclusion
        for row in self._rows.values():
            row.note.clear()
            row.show_first(None)
        self.compare_label.setVisible(False)
        self._refresh_answers()
        first = worksheet.items[0].id if worksheet.items else None
        self.select_item(worksheet.next_unanswered() or first)

    def worksheet(self) -> Worksheet:
        return self._sheet

    def set_answers(self, answers: Mapping[str, ItemAnswer]) -> None:
        for item_id, answer in answers.items():
            self._sheet.set_answer(item_id, answer.answer, answer.note)
        self._refresh_answers()

    def set_conclusion_gate(self, gate: ConclusionGate | None) -> None:
        """``conclusion_allowed(answers) -> (allowed, reason)``, supplied by casework/policy."""
        self._gate = gate
        self._refresh()

    def set_recorded_conclusion(self, conclusion: Conclusion | str | None) -> None:
        """Reflect the conclusion the caller has recorded for this worksheet."""
        self._recorded = None if conclusion is None else Conclusion(conclusion)
        self._sheet.conclusion = self._recorded
        self._refresh()

    def set_locked(self, locked: bool) -> None:
        """Read-only answers (e.g. a blind review already recorded)."""
        self._locked = locked
        for row in self._rows.values():
            row.set_locked(locked)
        self._refresh()

    def _build_rows(self) -> None:
        for row in self._rows.values():
            self._rows_layout.removeWidget(row)
            row.deleteLater()
        self._rows = {}
        for number, item in enumerate(self._sheet.items, start=1):
            row = _ItemRow(item, number, self)
            row.set_locked(self._locked)
            self._rows_layout.insertWidget(self._rows_layout.count() - 1, row)
            self._rows[item.id] = row
        self._current = None

    # -- answering --------------------------------------------------------------------------
    def answers(self) -> dict[str, ItemAnswer]:
        return self._sheet.answers()

    def progress_text(self) -> str:
        return self._sheet.progress_text()

    def current_item_id(self) -> str | None:
        return self._current

    def select_item(self, item_id: str | None, focus: bool = False) -> None:
        if item_id is not None and item_id not in self._rows:
            raise KeyError(f"No worksheet item {item_id!r}.")
        if item_id != self._current:
            if self._current in self._rows:
                self._rows[self._current].current = False
                self._rows[self._current].restyle()
            self._current = item_id
            if item_id is not None:
                row = self._rows[item_id]
                row.current = True
                row.restyle()
                self.items_scroll.ensureWidgetVisible(row, 0, 40)
                self.current_item_changed.emit(item_id)
        if focus and item_id is not None:
            answer = self._sheet.answer(item_id)
            target = answer.answer if answer else Answer.SIMILAR
            self._rows[item_id].buttons[target].setFocus(Qt.FocusReason.OtherFocusReason)

    def answer_current(self, answer: Answer | str) -> None:
        """Answer the current item, then move to the next unanswered item (if any)."""
        if self._current is None or self._locked:
            return
        item_id = self._current
        self._set_answer(item_id, Answer(answer))
        following = self._sheet.next_unanswered(item_id)
        if following is not None:
            self.select_item(following, focus=self._has_focus_inside())

    def go_to_next_unanswered(self) -> None:
        following = self._sheet.next_unanswered(self._current)
        if following is not None:
            self.select_item(following, focus=True)

    def move_current(self, step: int) -> None:
        ids = list(self._rows)
        if not ids:
            return
        position = ids.index(self._current) if self._current in ids else -1
        self.select_item(ids[max(0, min(len(ids) - 1, position + step))], focus=True)

    def _has_focus_inside(self) -> bool:
        focus = QApplication.focusWidget()
        return focus is not None and (focus is self or self.isAncestorOf(focus))

    def _answer_clicked(self, item_id: str, answer: Answer) -> None:
        self.select_item(item_id)
        if self._locked:
            self._rows[item_id].show_answer(self._sheet.answer(item_id))
            return
        self._set_answer(item_id, answer)

    def _set_answer(self, item_id: str, answer: Answer) -> None:
        note = self._rows[item_id].note.text().strip()
        changed = self._sheet.set_answer(item_id, answer, note)
        self._rows[item_id].show_answer(self._sheet.answer(item_id))
        self._refresh()
        if changed:
            self.answer_changed.emit(item_id, answer.value, note)

    def _note_edited(self, item_id: str) -> None:
        if self._locked:
            return
        note = self._rows[item_id].note.text().strip()
        if self._sheet.set_note(item_id, note):
            current = self._sheet.answer(item_id)
            if current is not None:
                self.answer_changed.emit(item_id, current.answer.value, note)

    def _refresh_answers(self) -> None:
        for item_id, row in self._rows.items():
            row.show_answer(self._sheet.answer(item_id))
        self._refresh()

    # -- conclusion -------------------------------------------------------------------------
    def conclusion_state(self) -> tuple[bool, str]:
        if not self._sheet.items:
            return False, "There is no worksheet."
        if self._locked:
            return False, "Your conclusion is recorded."
        gate = self._gate or default_conclusion_gate(self._sheet.items)
        allowed, reason = gate(self._sheet.gate_answers())
        return bool(allowed), "" if allowed else (reason or "A conclusion is not allowed yet.")

    def _refresh(self) -> None:
        self.progress_label.setText(self._sheet.progress_text())
        allowed, reason = self.conclusion_state()
        for conclusion, button in self.conclusion_buttons.items():
            button.setEnabled(allowed)
            button.setToolTip(
                f"Record the conclusion '{conclusion.label}'" if allowed else reason
            )
        self.reason_label.setText(reason)
        self.reason_label.setVisible(bool(reason))
        recorded = self._recorded.label if self._recorded else "none yet"
        self.recorded_label.setText(f"Recorded conclusion: <b>{recorded}</b>")

    # -- review -----------------------------------------------------------------------------
    def set_review_mode(self, enabled: bool, blind: bool = True) -> None:
        if not enabled:
            self.review_label.setVisible(False)
            self.title_label.setText("<b>Comparison worksheet</b>")
        else:
            self.title_label.setText("<b>Second examiner's worksheet</b>")
            self.review_label.setText(
                "Blind review: the first examiner's answers and conclusion stay hidden until "
                "you have answered every item and recorded your own conclusion."
                if blind else "Review: the first examiner's answers are shown beside yours."
            )
            self.review_label.setVisible(True)
        for row in self._rows.values():
            row.show_first(None)
        self.compare_label.setVisible(False)

    def show_first_examiner(self, rows: Sequence[ReviewRow], first: Conclusion | None,
                            own: Conclusion | None) -> None:
        """Show both examiners' answers per item and flag the differences."""
        by_id = {row.item_id: row for row in rows}
        for item_id, widget in self._rows.items():
            widget.show_first(by_id.get(item_id))
        differing = sum(row.differs for row in rows)
        first_text = first.label if first else "none"
        own_text = own.label if own else "none"
        agree = "agree" if first == own else "DIFFER"
        self.compare_label.setText(
            f"<b>{differing} of {len(rows)} answers differ.</b> Conclusions {agree}: "
            f"first examiner <b>{first_text}</b>, yours <b>{own_text}</b>."
        )
        self.compare_label.setStyleSheet(
            "background:#ffe1a6; color:black; padding:4px;" if differing or first != own
            else "background:#d9f2d9; color:black; padding:4px;"
        )
        self.compare_label.setVisible(True)
        self.review_label.setVisible(False)

    def row_differs(self, item_id: str) -> bool:
        return self._rows[item_id].differs

    def first_examiner_text(self, item_id: str) -> str:
        row = self._rows[item_id]
        return row.first_label.text() if row.first_label.isVisibleTo(self) else ""

    # -- keys -------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FocusIn:
            parent = watched.parent()
            while parent is not None and not isinstance(parent, _ItemRow):
                parent = parent.parent()
            if isinstance(parent, _ItemRow):
                self.select_item(parent.item.id)
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if modifiers != Qt.KeyboardModifier.NoModifier:
            super().keyPressEvent(event)
            return
        if key in ANSWER_KEYS:
            self.answer_current(ANSWER_KEYS[Qt.Key(key)])
        elif key == Qt.Key.Key_N:
            self.go_to_next_unanswered()
        elif key == Qt.Key.Key_Down:
            self.move_current(+1)
        elif key == Qt.Key.Key_Up:
            self.move_current(-1)
        else:
            super().keyPressEvent(event)
            return
        event.accept()
