"""QtAuditFilterBar: user, action, case number, object and date range of the audit log viewer.

Dates are whole UTC days, both ends included: "from 2026-03-01 to 2026-03-02" means from
2026-03-01 00:00 UTC up to (not including) 2026-03-03 00:00 UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from app.casework.audit_log import AuditFilters
from app.ui.admin.keyboard import chain_tab_order

ANY = None
EXACT = "exact:"
PREFIX = "prefix:"
DATE_FORMAT = "yyyy-MM-dd"


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _pydate(day: QDate) -> date:
    return date(day.year(), day.month(), day.day())


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def action_choices(actions: Sequence[str]) -> list[tuple[str, str | None]]:
    """Combo entries: any action, then each group ("user.*") and each exact action under it.

    The data is ``exact:<action>`` or ``prefix:<group>.`` (plain text survives Qt's variants).
    """
    entries: list[tuple[str, str | None]] = [("Any action", ANY)]
    groups = sorted({a.split(".", 1)[0] for a in actions if "." in a})
    for group in groups:
        members = [a for a in actions if a.startswith(group + ".")]
        if len(members) > 1:
            entries.append((f"{group}.* (all {len(members)})", f"{PREFIX}{group}."))
        entries.extend((f"    {a}" if len(members) > 1 else a, f"{EXACT}{a}") for a in members)
    entries.extend((a, f"{EXACT}{a}") for a in actions if "." not in a)
    return entries


class QtAuditFilterBar(QWidget):
    """The filter widgets; ``apply_requested`` fires on Apply, Enter in a text box or a choice."""

    apply_requested = Signal()

    def __init__(self, *, today: date, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.user_combo = QComboBox()
        self.user_combo.setObjectName("auditUserFilter")
        self.user_combo.setToolTip("Show only what this user did")
        self.user_combo.setMinimumContentsLength(12)
        self.action_combo = QComboBox()
        self.action_combo.setObjectName("auditActionFilter")
        self.action_combo.setToolTip(
            "Show one action, or a whole group of actions (e.g. every user.* action)"
        )
        self.action_combo.setMinimumContentsLength(22)
        self.case_edit = QLineEdit()
        self.case_edit.setObjectName("auditCaseFilter")
        self.case_edit.setPlaceholderText("e.g. 2026-00123")
        self.case_edit.setToolTip(
            "Show the events recorded for this case number (letter case is ignored)"
        )
        self.case_edit.setClearButtonEnabled(True)
        self.object_type_combo = QComboBox()
        self.object_type_combo.setObjectName("auditObjectTypeFilter")
        self.object_type_combo.setToolTip("Show only events about this kind of record")
        self.object_id_edit = QLineEdit()
        self.object_id_edit.setObjectName("auditObjectIdFilter")
        self.object_id_edit.setPlaceholderText("number")
        self.object_id_edit.setToolTip(
            "Show only events about the record with this number (e.g. a user number)"
        )
        self.object_id_edit.setClearButtonEnabled(True)
        self.object_id_edit.setMaximumWidth(110)
        self.from_check = QCheckBox("&From")
        self.from_check.setObjectName("auditFromEnabled")
        self.from_check.setToolTip("Only events on or after this day (UTC)")
        self.from_date = QDateEdit(_qdate(today - timedelta(days=30)))
        self.to_check = QCheckBox("&To")
        self.to_check.setObjectName("auditToEnabled")
        self.to_check.setToolTip("Only events on or before this day (UTC)")
        self.to_date = QDateEdit(_qdate(today))
        for edit, name in ((self.from_date, "auditFromDate"), (self.to_date, "auditToDate")):
            edit.setObjectName(name)
            edit.setDisplayFormat(DATE_FORMAT)
            edit.setCalendarPopup(True)
            edit.setEnabled(False)
            edit.setToolTip("Day in UTC; press Alt+Down for a calendar")
        self.from_check.toggled.connect(self.from_date.setEnabled)
        self.to_check.toggled.connect(self.to_date.setEnabled)
        self.apply_button = QPushButton("A&pply")
        self.apply_button.setObjectName("auditApplyFilters")
        self.apply_button.setToolTip("Show the events that match these filters (Enter)")
        self.apply_button.setDefault(True)
        self.clear_button = QPushButton("Cl&ear")
        self.clear_button.setObjectName("auditClearFilters")
        self.clear_button.setToolTip("Remove every filter and show the whole log")

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)

        def label(text: str, buddy: QWidget) -> QLabel:
            widget = QLabel(text)
            widget.setBuddy(buddy)
            return widget

        grid.addWidget(label("&User:", self.user_combo), 0, 0)
        grid.addWidget(self.user_combo, 0, 1)
        grid.addWidget(label("&Action:", self.action_combo), 0, 2)
        grid.addWidget(self.action_combo, 0, 3)
        grid.addWidget(label("Case &number:", self.case_edit), 0, 4)
        grid.addWidget(self.case_edit, 0, 5)
        grid.addWidget(label("O&bject:", self.object_type_combo), 1, 0)
        object_row = QHBoxLayout()
        object_row.addWidget(self.object_type_combo, 1)
        object_row.addWidget(self.object_id_edit)
        grid.addLayout(object_row, 1, 1)
        dates = QHBoxLayout()
        dates.addWidget(self.from_check)
        dates.addWidget(self.from_date)
        dates.addSpacing(12)
        dates.addWidget(self.to_check)
        dates.addWidget(self.to_date)
        dates.addWidget(QLabel("(UTC)"))
        dates.addStretch(1)
        grid.addLayout(dates, 1, 2, 1, 2)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.apply_button)
        buttons.addWidget(self.clear_button)
        grid.addLayout(buttons, 1, 4, 1, 2)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 2)
        grid.setColumnStretch(5, 1)

        order: list[QWidget] = [
            self.user_combo,
            self.action_combo,
            self.case_edit,
            self.object_type_combo,
            self.object_id_edit,
            self.from_check,
            self.from_date,
            self.to_check,
            self.to_date,
            self.apply_button,
            self.clear_button,
        ]
        chain_tab_order(order)

        self.set_choices(actors=[], actions=[], object_types=[])
        self.apply_button.clicked.connect(self.apply_requested)
        self.clear_button.clicked.connect(self.clear)
        self.case_edit.returnPressed.connect(self.apply_requested)
        self.object_id_edit.returnPressed.connect(self.apply_requested)
        for combo in (self.user_combo, self.action_combo, self.object_type_combo):
            combo.activated.connect(lambda _index: self.apply_requested.emit())

    @property
    def first_widget(self) -> QWidget:
        return self.user_combo

    @property
    def last_widget(self) -> QWidget:
        return self.clear_button

    # -- choices --------------------------------------------------------------------------
    def set_choices(
        self, *, actors: Sequence[str], actions: Sequence[str], object_types: Sequence[str]
    ) -> None:
        """Fill the lists from the log, keeping the current choices where they still exist."""
        _refill(self.user_combo, [("Anyone", ANY), *((a, a) for a in actors)])
        _refill(self.action_combo, action_choices(actions))
        _refill(self.object_type_combo, [("Any kind", ANY), *((t, t) for t in object_types)])

    # -- reading and writing the filters ---------------------------------------------------
    def filters(self) -> AuditFilters:
        """The filters shown (InvalidInput when the date range is the wrong way round)."""
        action = self.action_combo.currentData() or ""
        since = day_start(_pydate(self.from_date.date())) if self.from_check.isChecked() else None
        until = (
            day_start(_pydate(self.to_date.date()) + timedelta(days=1))
            if self.to_check.isChecked()
            else None
        )
        return AuditFilters(
            actor=self.user_combo.currentData(),
            action=action.removeprefix(EXACT) if action.startswith(EXACT) else None,
            action_prefix=action.removeprefix(PREFIX) if action.startswith(PREFIX) else None,
            object_type=self.object_type_combo.currentData(),
            object_id=self.object_id_edit.text(),
            case_number=self.case_edit.text(),
            since=since,
            until=until,
        )

    def select_user(self, actor: str | None) -> None:
        _select_data(self.user_combo, actor)

    def select_action(self, action: str | None, *, prefix: bool = False) -> None:
        data = None if action is None else (PREFIX if prefix else EXACT) + action
        _select_data(self.action_combo, data)

    def select_object_type(self, object_type: str | None) -> None:
        _select_data(self.object_type_combo, object_type)

    def set_date_range(self, first: date | None, last: date | None) -> None:
        self.from_check.setChecked(first is not None)
        self.to_check.setChecked(last is not None)
        if first is not None:
            self.from_date.setDate(_qdate(first))
        if last is not None:
            self.to_date.setDate(_qdate(last))

    def clear(self) -> None:
        for combo in (self.user_combo, self.action_combo, self.object_type_combo):
            combo.setCurrentIndex(0)
        self.case_edit.clear()
        self.object_id_edit.clear()
        self.from_check.setChecked(False)
        self.to_check.setChecked(False)
        self.apply_requested.emit()


def _refill(combo: QComboBox, entries: Sequence[tuple[str, object]]) -> None:
    current = combo.currentData()
    combo.blockSignals(True)
    try:
        combo.clear()
        for text, data in entries:
            combo.addItem(text, data)
        _select_data(combo, current)
    finally:
        combo.blockSignals(False)


def _select_data(combo: QComboBox, data: object) -> None:
    for index in range(combo.count()):
        if combo.itemData(index) == data:
            combo.setCurrentIndex(index)
            return
    combo.setCurrentIndex(0)


__all__ = ["QtAuditFilterBar", "action_choices", "day_start"]
