"""QtRandomAuditPage: draw a random audit sample and walk it request by request (MPTC VI.C).

For supervisors and administrators. The left side draws a sample (period, size, and the seed,
chosen at random when left empty; all recorded) and lists the samples drawn with their progress.
The right side walks the selected sample's requests with Previous/Next: a read-only summary of
the request, purpose, probe and edits, search, candidates, worksheet, review, reports and
dissemination (each read audited by casework), the findings recorded so far, and a form to
record a finding (outcome and note).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta

from PySide6.QtCore import QDate, QRegularExpression, Qt, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.casework.accounts import SignedInUser
from app.casework.audit_samples import MAX_SAMPLE, AuditSampleSummary
from app.casework.audit_walk import (
    SECTION_TITLES,
    AuditedCaseFile,
    audit_case_file,
    audit_progress,
)
from app.casework.supervision import (
    draw_audit_sample,
    list_audit_samples,
    record_audit_finding,
)
from app.casework.workstation import Workstation
from app.errors import FrxError
from app.ui import messages
from app.ui.qt_lead_banner import QtLeadBanner

SAMPLE_COLUMNS = ("Sample", "Drawn", "Period", "Requests", "Seed", "Audited")
OUTCOMES = (("Compliant", True), ("Not compliant", False))
NOTE_MIN = 5


@contextmanager
def wait_cursor() -> Iterator[None]:
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _start_of(day: QDate) -> datetime:
    return datetime.combine(date(day.year(), day.month(), day.day()), time.min, tzinfo=UTC)


def progress_text(sample: AuditSampleSummary) -> str:
    done, total = audit_progress(sample)
    return f"{done} of {total} audited"


def period_text(sample: AuditSampleSummary) -> str:
    last_day = (sample.period_end - timedelta(microseconds=1)).date()
    return f"{sample.period_start:%Y-%m-%d} to {last_day:%Y-%m-%d}"


def _read_only_text() -> QPlainTextEdit:
    view = QPlainTextEdit()
    view.setReadOnly(True)
    return view


class QtRandomAuditPage(QWidget):
    """Draw, list and walk random audit samples; record a finding per sampled request."""

    sample_drawn = Signal(object)  # AuditSampleSummary
    finding_recorded = Signal(object)  # AuditFindingSummary

    def __init__(
        self, ws: Workstation, user: SignedInUser, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ws = ws
        self.user = user
        self.samples: list[AuditSampleSummary] = []
        self.sample: AuditSampleSummary | None = None
        self.position = 0  # index into the selected sample's request_ids
        self.case_file: AuditedCaseFile | None = None
        self.banner = QtLeadBanner()
        heading = QLabel("Random audit")
        font = heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        heading.setFont(font)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("randomAuditSplitter")
        self.splitter.addWidget(self._build_samples_side())
        self.splitter.addWidget(self._build_walk_side())
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([540, 760])
        body = QVBoxLayout()
        body.setContentsMargins(12, 8, 12, 8)
        body.addWidget(heading)
        body.addWidget(self.splitter, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addLayout(body, 1)
        self.refresh()

    # ------------------------------------------------------------------------------ building
    def _build_samples_side(self) -> QWidget:
        today = self.ws.now().date()
        draw_box = QGroupBox("Draw a sample")
        form = QFormLayout(draw_box)
        self.from_edit = QDateEdit(_qdate(today - timedelta(days=30)))
        self.to_edit = QDateEdit(_qdate(today))
        for edit in (self.from_edit, self.to_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        self.size_spin = QSpinBox()
        self.size_spin.setRange(1, MAX_SAMPLE)
        self.size_spin.setValue(10)
        self.seed_edit = QLineEdit()
        self.seed_edit.setPlaceholderText("empty: chosen at random (recorded)")
        self.seed_edit.setValidator(
            QRegularExpressionValidator(QRegularExpression(r"[0-9]{0,19}"), self.seed_edit)
        )
        self.draw_button = QPushButton("Draw")
        self.draw_button.clicked.connect(self.draw)
        self.draw_state = QLabel()
        self.draw_state.setWordWrap(True)
        self.draw_state.setTextFormat(Qt.TextFormat.PlainText)
        form.addRow("Requests opened from:", self.from_edit)
        form.addRow("through:", self.to_edit)
        form.addRow("Requests to draw:", self.size_spin)
        form.addRow("Seed:", self.seed_edit)
        form.addRow(self.draw_button)
        form.addRow(self.draw_state)

        self.sample_table = QTableWidget(0, len(SAMPLE_COLUMNS))
        self.sample_table.setHorizontalHeaderLabels(list(SAMPLE_COLUMNS))
        self.sample_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.sample_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.sample_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.sample_table.verticalHeader().setVisible(False)
        header = self.sample_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.sample_table.itemSelectionChanged.connect(self._sample_selected)

        side = QWidget()
        layout = QVBoxLayout(side)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(draw_box)
        layout.addWidget(QLabel("Samples drawn:"))
        layout.addWidget(self.sample_table, 1)
        return side

    def _build_walk_side(self) -> QWidget:
        self.walk_title = QLabel("Select a sample to walk its requests.")
        self.walk_title.setTextFormat(Qt.TextFormat.PlainText)
        self.walk_title.setWordWrap(True)
        self.walk_title.setObjectName("walkTitle")
        self.progress_label = QLabel()
        self.progress_label.setObjectName("auditProgress")
        self.previous_button = QPushButton("< Previous")
        self.next_button = QPushButton("Next >")
        self.previous_button.clicked.connect(lambda: self.go_to(self.position - 1))
        self.next_button.clicked.connect(lambda: self.go_to(self.position + 1))
        navigation = QHBoxLayout()
        navigation.addWidget(self.previous_button)
        navigation.addWidget(self.next_button)
        navigation.addStretch(1)
        navigation.addWidget(self.progress_label)

        self.tabs = QTabWidget()
        self.section_views: dict[str, QPlainTextEdit] = {}
        for key, title in SECTION_TITLES:
            view = _read_only_text()
            view.setObjectName(f"section_{key}")
            self.section_views[key] = view
            self.tabs.addTab(view, title)

        findings_box = QGroupBox("Audit findings for this request")
        self.findings_view = _read_only_text()
        self.findings_view.setObjectName("findings")
        self.findings_view.setMaximumHeight(110)
        self.outcome_combo = QComboBox()
        for label, compliant in OUTCOMES:
            self.outcome_combo.addItem(label, compliant)
        self.note_edit = QPlainTextEdit()
        self.note_edit.setPlaceholderText("What the audit found (required)")
        self.note_edit.setMaximumHeight(90)
        self.note_edit.textChanged.connect(self._update_buttons)
        self.record_button = QPushButton("Record finding")
        self.record_button.clicked.connect(self.record_finding)
        finding_layout = QVBoxLayout(findings_box)
        finding_layout.addWidget(self.findings_view)
        row = QHBoxLayout()
        row.addWidget(QLabel("Outcome:"))
        row.addWidget(self.outcome_combo)
        row.addStretch(1)
        row.addWidget(self.record_button)
        finding_layout.addLayout(row)
        finding_layout.addWidget(self.note_edit)

        side = QWidget()
        layout = QVBoxLayout(side)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.walk_title)
        layout.addLayout(navigation)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(findings_box)
        self._show_case_file(None)
        return side

    # ------------------------------------------------------------------------------ samples
    def refresh(self, *, select_sample_id: int | None = None) -> None:
        """Read the samples again, keeping (or moving to) the selected one."""
        keep = select_sample_id
        if keep is None and self.sample is not None:
            keep = self.sample.sample_id
        try:
            with wait_cursor():
                self.samples = list_audit_samples(self.ws, user=self.user)
        except FrxError as exc:
            messages.show_error(self, exc)
            return
        table = self.sample_table
        table.blockSignals(True)
        table.setRowCount(len(self.samples))
        for row, s in enumerate(self.samples):
            cells = (
                str(s.sample_id),
                f"{s.drawn_at:%Y-%m-%d} {s.drawn_by}",
                period_text(s),
                f"{len(s.request_ids)} of {s.population}",
                str(s.seed),
                "{} of {}".format(*audit_progress(s)),
            )
            for col, text in enumerate(cells):
                table.setItem(row, col, QTableWidgetItem(text))
        table.blockSignals(False)
        if keep is not None:
            self.select_sample(keep)

    def select_sample(self, sample_id: int) -> None:
        for row, s in enumerate(self.samples):
            if s.sample_id == sample_id:
                self.sample_table.clearSelection()  # so that the walk is always read again
                self.sample_table.selectRow(row)
                return

    def _sample_selected(self) -> None:
        rows = self.sample_table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.samples):
            return
        chosen = self.samples[rows[0].row()]
        same = self.sample is not None and self.sample.sample_id == chosen.sample_id
        self.sample = chosen
        self.go_to(self.position if same else 0)

    def draw(self) -> AuditSampleSummary | None:
        since = _start_of(self.from_edit.date())
        until = _start_of(self.to_edit.date()) + timedelta(days=1)
        text = self.seed_edit.text().strip()
        try:
            seed = int(text) if text else None
            with wait_cursor():
                sample = draw_audit_sample(
                    self.ws,
                    user=self.user,
                    n=self.size_spin.value(),
                    since=since,
                    until=until,
                    seed=seed,
                )
        except FrxError as exc:
            self.draw_state.setText(messages.error_text(exc))
            messages.show_error(self, exc)
            return None
        self.draw_state.setText(
            f"Sample {sample.sample_id} drawn with seed {sample.seed}: "
            f"{len(sample.request_ids)} of the {sample.population} requests opened from "
            f"{period_text(sample)}."
        )
        self.sample = None
        self.refresh(select_sample_id=sample.sample_id)
        self.sample_drawn.emit(sample)
        return sample

    # ------------------------------------------------------------------------------ walking
    def go_to(self, position: int) -> None:
        sample = self.sample
        if sample is None or not sample.request_ids:
            self._show_case_file(None)
            return
        position = max(0, min(position, len(sample.request_ids) - 1))
        self.position = position
        try:
            with wait_cursor():
                case_file = audit_case_file(
                    self.ws,
                    user=self.user,
                    sample_id=sample.sample_id,
                    request_id=sample.request_ids[position],
                )
        except FrxError as exc:
            messages.show_error(self, exc)
            self._show_case_file(None)
            return
        self._show_case_file(case_file)

    def _show_case_file(self, case_file: AuditedCaseFile | None) -> None:
        self.case_file = case_file
        sample = self.sample
        if case_file is None or sample is None:
            self.walk_title.setText("Select a sample to walk its requests.")
            self.progress_label.setText("")
            for view in self.section_views.values():
                view.setPlainText("")
            self.findings_view.setPlainText("")
            self._update_buttons()
            return
        case = f", case {case_file.case_number}" if case_file.case_number else ""
        self.walk_title.setText(
            f"Sample {sample.sample_id} (seed {sample.seed}) - request {case_file.position} of "
            f"{case_file.total}: {case_file.request_number}{case}"
            + (" - audited" if case_file.findings else " - not audited yet")
        )
        self.progress_label.setText(progress_text(sample))
        for section in case_file.sections:
            self.section_views[section.key].setPlainText(section.text)
        self.findings_view.setPlainText(
            "\n".join(
                f"{f.recorded_at:%Y-%m-%d %H:%M} {f.recorded_by}: "
                f"{'compliant' if f.compliant else 'NOT compliant'} - {f.finding}"
                for f in case_file.findings
            )
            or "No finding recorded yet."
        )
        self._update_buttons()

    def _update_buttons(self) -> None:
        walking = self.case_file is not None and self.sample is not None
        total = len(self.sample.request_ids) if self.sample is not None else 0
        self.previous_button.setEnabled(walking and self.position > 0)
        self.next_button.setEnabled(walking and self.position < total - 1)
        note = " ".join(self.note_edit.toPlainText().split())
        self.record_button.setEnabled(walking and len(note) >= NOTE_MIN)

    def record_finding(self) -> None:
        case_file = self.case_file
        if case_file is None:
            return
        compliant = bool(self.outcome_combo.currentData())
        try:
            with wait_cursor():
                finding = record_audit_finding(
                    self.ws,
                    user=self.user,
                    sample_id=case_file.sample_id,
                    request_id=case_file.request_id,
                    finding=self.note_edit.toPlainText(),
                    compliant=compliant,
                )
        except FrxError as exc:
            messages.show_error(self, exc)
            return
        self.note_edit.clear()
        self.refresh(select_sample_id=case_file.sample_id)  # the findings and progress again
        self.finding_recorded.emit(finding)


__all__ = ["QtRandomAuditPage", "period_text", "progress_text"]
