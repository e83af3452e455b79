"""QtHealthCheckPage: the workstation health check (``frx admin check``) on screen.

For supervisors and administrators (casework refuses anyone else and audits the refusal). The
check runs on a worker thread with progress and a Stop button; the page then shows one row per
section (database, audit chain, evidence, search index, face models) with its status and summary,
every problem and warning of the section chosen, the verdict, and which audit event recorded the
check. The full report can be saved as the same JSON file ``frx admin check --json`` writes.
Nothing is repaired: the page says what is wrong, as the command does.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidgetItem,
    QWidget,
)

from app.casework.accounts import SignedInUser
from app.casework.health_check import HealthReport, run_health_check, write_report_json
from app.casework.health_sections import PROBLEM, SKIPPED, Section
from app.casework.workstation import Workstation
from app.errors import FrxError, ImportCancelled
from app.ui import messages
from app.ui.admin.page_frame import body_with_margins, frame_page, page_heading, read_only_table
from app.ui.qt_lead_banner import QtLeadBanner
from app.ui.workers import BackgroundTask, run_in_background

COLUMNS = ("Section", "Status", "Problems", "Warnings", "Summary")
EXPLANATION = (
    "Checks, without changing anything: the database's integrity (SQLite), the whole audit "
    "chain, every evidence file's presence, size and SHA-256, each search index against the "
    "database, and the face models against their manifests. The check is recorded in the audit "
    "log. Quick: SQLite's quick check, and evidence files checked by size without hashing."
)
_STATUS_COLOURS = {PROBLEM: QColor("#b00020"), SKIPPED: QColor("#666666")}


def section_details(section: Section) -> str:
    """Every problem and warning of ``section``, as plain text."""
    lines = [f"{section.title}: {section.status} - {section.summary}"]
    for label, items in (
        ("Problems", section.problems),
        ("Warnings (not problems)", section.warnings),
    ):
        if items:
            lines.append("")
            lines.append(f"{label} ({len(items)}):")
            lines.extend(f"  {item}" for item in items)
    if not section.problems and not section.warnings:
        lines.extend(["", "Nothing to report."])
    return "\n".join(lines)


def verdict_text(report: HealthReport) -> str:
    kind = "quick check" if report.quick else "full check"
    if report.ok:
        head = "ALL OK."
    else:
        failing = ", ".join(s.title.lower() for s in report.sections if s.status == PROBLEM)
        head = f"PROBLEMS FOUND ({failing})."
    recorded = (
        f"recorded as audit event {report.recorded_sequence}"
        if report.recorded_sequence is not None
        else "NOT recorded in the audit log"
    )
    return f"{head} {kind.capitalize()} by {report.checked_by}, {recorded}."


class QtHealthCheckPage(QWidget):
    """Run the health check and read what it found."""

    check_finished = Signal(object)  # HealthReport, or the exception that stopped it
    report_saved = Signal(object)  # the Path written, or the exception

    def __init__(self, ws: Workstation, user: SignedInUser, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.user = user
        self.report: HealthReport | None = None
        self._task: BackgroundTask | None = None
        self.banner = QtLeadBanner()

        explanation = QLabel(EXPLANATION)
        explanation.setWordWrap(True)
        self.quick_box = QCheckBox("&Quick check")
        self.run_button = QPushButton("&Run the health check")
        self.run_button.clicked.connect(self.start_check)
        self.stop_button = QPushButton("Sto&p")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop_check)
        self.save_button = QPushButton("&Save the report as JSON...")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.choose_report_file)
        controls = QHBoxLayout()
        for widget in (self.quick_box, self.run_button, self.stop_button, self.save_button):
            controls.addWidget(widget)
        controls.addStretch(1)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setVisible(False)  # until the first check
        self.state_label = QLabel("Not run yet on this screen.")
        self.state_label.setWordWrap(True)
        self.state_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verdict_label = QLabel()
        self.verdict_label.setWordWrap(True)
        font = self.verdict_label.font()
        font.setBold(True)
        self.verdict_label.setFont(font)

        self.section_table = read_only_table(COLUMNS)
        self.section_table.itemSelectionChanged.connect(self._show_selected)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Choose a section to read its problems and warnings.")
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("healthCheckSplitter")
        self.splitter.addWidget(self.section_table)
        self.splitter.addWidget(self.details)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([220, 300])

        body = body_with_margins()
        body.addWidget(page_heading("Health check"))
        body.addWidget(explanation)
        body.addLayout(controls)
        body.addWidget(self.progress)
        body.addWidget(self.state_label)
        body.addWidget(self.verdict_label)
        body.addWidget(self.splitter, 1)
        frame_page(self, self.banner, body)

    # --------------------------------------------------------------------------------- running

    def start_check(self) -> None:
        if self._task is not None:
            return
        ws, user, quick = self.ws, self.user, self.quick_box.isChecked()
        self.run_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.save_button.setEnabled(False)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.state_label.setText("Checking...")
        self.verdict_label.clear()
        self._task = run_in_background(
            lambda progress, cancelled: run_health_check(
                ws, by=user, quick=quick, progress=progress, cancelled=cancelled
            ),
            on_done=self._checked,
            on_error=self._failed,
            on_progress=self._show_progress,
            parent=self,
            description="checking the workstation",
        )

    def stop_check(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self.stop_button.setEnabled(False)
            self.state_label.setText("Stopping...")

    def _show_progress(self, done: int, total: int, message: str) -> None:
        if total > 1:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        else:
            self.progress.setRange(0, 0)
        self.state_label.setText(f"Checking: {message}" if message else "Checking...")

    def _ended(self) -> None:
        self._task = None
        self.run_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.progress.setRange(0, 1)

    def _checked(self, report: HealthReport) -> None:
        self._ended()
        self.progress.setValue(1)
        self.report = report
        self.save_button.setEnabled(True)
        started = report.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        seconds = (report.finished_at - report.started_at).total_seconds()
        self.state_label.setText(f"Checked at {started} in {seconds:.0f} s.")
        self.verdict_label.setText(verdict_text(report))
        colour = "#1b5e20" if report.ok else "#b00020"
        self.verdict_label.setStyleSheet(f"color: {colour};")
        self._fill_table(report)
        self.check_finished.emit(report)

    def _failed(self, error: BaseException) -> None:
        self._ended()
        self.progress.setValue(0)
        if isinstance(error, ImportCancelled):
            self.state_label.setText(messages.error_text(error))
        else:
            self.state_label.setText(f"The check could not run: {messages.error_text(error)}")
            messages.show_error(self, error)
        self.check_finished.emit(error)

    def _fill_table(self, report: HealthReport) -> None:
        table = self.section_table
        table.setRowCount(len(report.sections))
        for row, section in enumerate(report.sections):
            cells = (
                section.title,
                section.status,
                str(len(section.problems)),
                str(len(section.warnings)),
                section.summary,
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                colour = _STATUS_COLOURS.get(section.status)
                if column == 1 and colour is not None:
                    item.setForeground(colour)
                table.setItem(row, column, item)
        first_problem = next(
            (row for row, s in enumerate(report.sections) if s.status == PROBLEM), 0
        )
        if report.sections:
            table.selectRow(first_problem)

    def _show_selected(self) -> None:
        rows = self.section_table.selectionModel().selectedRows()
        if self.report is None or not rows:
            self.details.clear()
            return
        self.details.setPlainText(section_details(self.report.sections[rows[0].row()]))

    # -------------------------------------------------------------------------------- the file

    def choose_report_file(self) -> None:
        if self.report is None:
            return
        name, _ = QFileDialog.getSaveFileName(
            self,
            "Save the health check report",
            str(Path.home() / "frx-health-check.json"),
            "JSON files (*.json)",
        )
        if name:
            self.save_report(Path(name))

    def save_report(self, path: Path) -> None:
        """Write the last report as JSON (the format ``frx admin check --json`` writes)."""
        if self.report is None:
            return
        try:
            written = write_report_json(self.report, path)
        except FrxError as exc:
            self.state_label.setText(f"The report was not saved: {messages.error_text(exc)}")
            messages.show_error(self, exc)
            self.report_saved.emit(exc)
            return
        self.state_label.setText(f"Report saved to {written}.")
        self.report_saved.emit(written)


__all__ = ["QtHealthCheckPage", "section_details", "verdict_text"]
