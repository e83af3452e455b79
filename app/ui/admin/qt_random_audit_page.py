"""QtRandomAuditPage: draw a random audit sample and walk it request by request (MPTC VI.C).

For supervisors and administrators. The left side draws a sample (period, size, and the seed,
chosen at random when left empty; all recorded) and lists the samples drawn with their progress.
The right side walks the selected sample's requests with Previous/Next: a read-only summary of
the request, purpose, probe and edits, search, candidates, worksheet, review, reports and
dissemination (each read audited by casework), the findings recorded so far, and a form to
record a finding (outcome and note). Every read and write runs on a worker (the reads are
audited, so they go through the serial writer); a case file that arrives after the auditor moved
on is not shown.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from PySide6.QtCore import QDate, QRegularExpression, Qt, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.casework.accounts import SignedInUser
from app.casework.audit_samples import MAX_SAMPLE, AuditFindingSummary, AuditSampleSummary
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
from app.ui import messages
from app.ui.admin.page_frame import (
    body_with_margins,
    frame_page,
    page_heading,
    read_only_table,
)
from app.ui.qt_lead_banner import QtLeadBanner
from app.ui.workers import run_in_background

SAMPLE_COLUMNS = ("Sample", "Drawn", "Period", "Requests", "Seed", "Audited")
OUTCOMES = (("Compliant", True), ("Not compliant", False))
NOTE_MIN = 5


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
    samples_loaded = Signal()  # the sample list was read again
    case_file_shown = Signal()  # the walk shows a case file (or none)

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
        self._walk_generation = 0  # a case file read for an earlier position is not shown
        self.banner = QtLeadBanner()
        heading = page_heading("Random audit")
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("randomAuditSplitter")
        self.splitter.addWidget(self._build_samples_side())
        self.splitter.addWidget(self._build_walk_side())
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([540, 760])
        body = body_with_margins()
        body.addWidget(heading)
        body.addWidget(self.splitter, 1)
        frame_page(self, self.banner, body)
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

        self.sample_table = read_only_table(SAMPLE_COLUMNS)
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
        """Read the samples again (on a worker), keeping (or moving to) the selected one."""
        keep = select_sample_id
        if keep is None and self.sample is not None:
            keep = self.sample.sample_id
        ws, user = self.ws, self.user
        run_in_background(
            lambda progress, cancelled: list_audit_samples(ws, user=user),
            on_done=lambda samples: self._show_samples(samples, keep),
            on_error=lambda exc: messages.show_error(self, exc, log_it=False),
            parent=self,
            description="reading the audit samples",
        )

    def _show_samples(self, samples: list[AuditSampleSummary], keep: int | None) -> None:
        self.samples = list(samples)
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
        self.samples_loaded.emit()
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

    def draw(self) -> None:
        """Draw a sample on a worker; ``sample_drawn`` follows once the list shows it."""
        since = _start_of(self.from_edit.date())
        until = _start_of(self.to_edit.date()) + timedelta(days=1)
        text = self.seed_edit.text().strip()
        seed = int(text) if text else None  # the validator lets digits only through
        ws, user, n = self.ws, self.user, self.size_spin.value()
        self.draw_button.setEnabled(False)
        self.draw_state.setText("Drawing...")
        run_in_background(
            lambda progress, cancelled: draw_audit_sample(
                ws, user=user, n=n, since=since, until=until, seed=seed
            ),
            on_done=self._drawn,
            on_error=self._draw_failed,
            parent=self,
            description="drawing an audit sample",
            serial=True,
        )

    def _draw_failed(self, exc: BaseException) -> None:
        self.draw_button.setEnabled(True)
        self.draw_state.setText(messages.error_text(exc))
        messages.show_error(self, exc, log_it=False)

    def _drawn(self, sample: AuditSampleSummary) -> None:
        self.draw_button.setEnabled(True)
        self.draw_state.setText(
            f"Sample {sample.sample_id} drawn with seed {sample.seed}: "
            f"{len(sample.request_ids)} of the {sample.population} requests opened from "
            f"{period_text(sample)}."
        )
        self.sample = None
        self.refresh(select_sample_id=sample.sample_id)
        self.sample_drawn.emit(sample)

    # ------------------------------------------------------------------------------ walking
    def go_to(self, position: int) -> None:
        """Read the sampled request's case file at ``position`` (on a worker) and show it."""
        sample = self.sample
        if sample is None or not sample.request_ids:
            self._show_case_file(None)
            return
        position = max(0, min(position, len(sample.request_ids) - 1))
        self.position = position
        self._walk_generation += 1
        generation = self._walk_generation
        ws, user = self.ws, self.user
        sample_id, request_id = sample.sample_id, sample.request_ids[position]
        self.previous_button.setEnabled(False)
        self.next_button.setEnabled(False)
        run_in_background(
            lambda progress, cancelled: audit_case_file(
                ws, user=user, sample_id=sample_id, request_id=request_id
            ),
            on_done=lambda case_file: self._case_file_read(generation, case_file),
            on_error=lambda exc: self._case_file_failed(generation, exc),
            parent=self,
            description="reading a sampled case file",
            serial=True,  # the read is audited: a write
        )

    def _case_file_read(self, generation: int, case_file: AuditedCaseFile) -> None:
        if generation == self._walk_generation:  # else the auditor has moved on
            self._show_case_file(case_file)

    def _case_file_failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._walk_generation:
            return
        messages.show_error(self, exc, log_it=False)
        self._show_case_file(None)

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
            self.case_file_shown.emit()
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
        self.case_file_shown.emit()

    def _update_buttons(self) -> None:
        walking = self.case_file is not None and self.sample is not None
        total = len(self.sample.request_ids) if self.sample is not None else 0
        self.previous_button.setEnabled(walking and self.position > 0)
        self.next_button.setEnabled(walking and self.position < total - 1)
        note = " ".join(self.note_edit.toPlainText().split())
        self.record_button.setEnabled(walking and len(note) >= NOTE_MIN)

    def record_finding(self) -> None:
        """Record the finding on a worker; the walk and the progress are then read again."""
        case_file = self.case_file
        if case_file is None:
            return
        ws, user = self.ws, self.user
        compliant = bool(self.outcome_combo.currentData())
        note = self.note_edit.toPlainText()
        self.record_button.setEnabled(False)
        run_in_background(
            lambda progress, cancelled: record_audit_finding(
                ws,
                user=user,
                sample_id=case_file.sample_id,
                request_id=case_file.request_id,
                finding=note,
                compliant=compliant,
            ),
            on_done=lambda finding: self._finding_saved(case_file.sample_id, finding),
            on_error=self._finding_failed,
            parent=self,
            description="recording an audit finding",
            serial=True,
        )

    def _finding_failed(self, exc: BaseException) -> None:
        self._update_buttons()
        messages.show_error(self, exc, log_it=False)

    def _finding_saved(self, sample_id: int, finding: AuditFindingSummary) -> None:
        self.note_edit.clear()
        self.refresh(select_sample_id=sample_id)  # the findings and progress again
        self.finding_recorded.emit(finding)


__all__ = ["QtRandomAuditPage", "period_text", "progress_text"]
