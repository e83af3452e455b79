"""QtCompliancePage: the supervisors' compliance dashboard.

A period (first and last day, UTC, both included), the period's counts, three bar charts
(searches per purpose, per examiner, second reviews; PNGs drawn by casework with matplotlib) and
the tables behind them: searches per purpose and per examiner, possible leads without a second
review, disagreements, releases, refused actions and training due. "Save PDF report..." writes
the compliance report of the period and "Export transparency figures..." the CSV of a year;
both run on the writer worker behind a progress dialog and are audited by casework, as is each
reading of the overview. Reading is for supervisors, administrators and legal advisors;
casework refuses everyone else on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateEdit,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.casework import compliance, compliance_files
from app.casework.accounts import SignedInUser
from app.casework.workstation import Workstation
from app.ui import messages
from app.ui.admin.page_frame import page_heading
from app.ui.workers import BackgroundTask, run_in_background, run_with_progress

log = logging.getLogger(__name__)

ChoosePath = Callable[[QWidget, str], Path | None]  # parent, suggested file name
CHART_WIDTH = 420
DEFAULT_DAYS = 90


def _ask_path(parent: QWidget, suggested: str, caption: str, pattern: str) -> Path | None:
    name, _ = QFileDialog.getSaveFileName(parent, caption, suggested, pattern)
    if not name:
        return None
    path = Path(name)
    suffix = Path(suggested).suffix
    return path if path.suffix.lower() == suffix else path.with_name(path.name + suffix)


def ask_pdf_path(parent: QWidget, suggested: str) -> Path | None:
    """A save dialog for the PDF report; None when cancelled."""
    return _ask_path(parent, suggested, "Save the compliance report", "PDF files (*.pdf)")


def ask_csv_path(parent: QWidget, suggested: str) -> Path | None:
    """A save dialog for the transparency figures; None when cancelled."""
    return _ask_path(parent, suggested, "Export transparency figures", "CSV files (*.csv)")


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _day(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


class QtCompliancePage(QWidget):
    """The compliance dashboard for one signed-in user."""

    loaded = Signal(object)  # ComplianceOverview
    report_saved = Signal(object)  # WrittenFile
    figures_exported = Signal(object)  # (TransparencyFigures, WrittenFile)

    def __init__(
        self,
        ws: Workstation,
        user: SignedInUser,
        parent: QWidget | None = None,
        *,
        choose_pdf_path: ChoosePath = ask_pdf_path,
        choose_csv_path: ChoosePath = ask_csv_path,
    ) -> None:
        super().__init__(parent)
        self.ws = ws
        self.user = user
        self.choose_pdf_path = choose_pdf_path
        self.choose_csv_path = choose_csv_path
        self.overview: compliance.ComplianceOverview | None = None
        self._tasks: list[BackgroundTask] = []
        self.setObjectName("compliancePage")

        title = page_heading("Compliance")
        note = QLabel(
            "How the unit worked in a period: searches, leads, second reviews, releases, "
            "refusals, training and sealed records. Days are UTC, both included. Reading this "
            "page, saving the report and exporting figures are recorded in the audit log."
        )
        note.setWordWrap(True)

        today = ws.now().date()
        self.since_edit = self._date_edit(today - timedelta(days=DEFAULT_DAYS), "First day")
        self.until_edit = self._date_edit(today, "Last day (included)")
        self.show_button = self._button("&Show", "Read the figures of this period", self.refresh)
        self.pdf_button = self._button(
            "Save &PDF report...",
            "Write the compliance report of this period as a PDF (recorded with its hash)",
            self.save_pdf,
        )
        self.year_spin = QSpinBox()
        self.year_spin.setRange(compliance.FIRST_YEAR, compliance.LAST_YEAR)
        self.year_spin.setValue(today.year)
        self.year_spin.setToolTip("The calendar year of the transparency figures")
        self.csv_button = self._button(
            "Export &transparency figures...",
            "Write the year's counts (searches, purposes, offenses, leads, releases) as CSV",
            self.export_figures,
        )
        period = QHBoxLayout()
        for label, widget in (("&From:", self.since_edit), ("&To:", self.until_edit)):
            buddy = QLabel(label)
            buddy.setBuddy(widget)
            period.addWidget(buddy)
            period.addWidget(widget)
        period.addWidget(self.show_button)
        period.addStretch(1)
        period.addWidget(self.pdf_button)
        year_label = QLabel("&Year:")
        year_label.setBuddy(self.year_spin)
        period.addWidget(year_label)
        period.addWidget(self.year_spin)
        period.addWidget(self.csv_button)

        self.status_label = QLabel("")
        self.status_label.setObjectName("complianceStatus")
        self.counts_form = QFormLayout()
        self.count_labels: dict[str, QLabel] = {}
        for key, caption in COUNT_CAPTIONS:
            value = QLabel("\u2013")
            value.setObjectName(f"count_{key}")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.count_labels[key] = value
            self.counts_form.addRow(caption, value)
        self.chart_labels: dict[str, QLabel] = {}
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addLayout(self.counts_form)
        for name in ("purpose", "examiner", "reviews"):
            chart = QLabel()
            chart.setObjectName(f"chart_{name}")
            chart.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            self.chart_labels[name] = chart
            left_layout.addWidget(chart)
        left_layout.addStretch(1)
        left.setMinimumWidth(CHART_WIDTH + 24)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(left)

        self.tabs = QTabWidget()
        self.tables: dict[str, QTableWidget] = {}
        for key, caption, headers in TABLES:
            table = QTableWidget(0, len(headers))
            table.setObjectName(f"table_{key}")
            table.setHorizontalHeaderLabels(list(headers))
            table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
            table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
            table.verticalHeader().setVisible(False)
            table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
            table.horizontalHeader().setStretchLastSection(True)
            self.tables[key] = table
            self.tabs.addTab(table, caption)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("complianceSplitter")
        self.splitter.addWidget(scroll)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([CHART_WIDTH + 60, 2 * CHART_WIDTH])

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(note)
        layout.addLayout(period)
        layout.addWidget(self.status_label)
        layout.addWidget(self.splitter, 1)
        self.refresh()

    # -- widgets --------------------------------------------------------------------------
    def _date_edit(self, day: date, tip: str) -> QDateEdit:
        edit = QDateEdit(_qdate(day))
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setToolTip(tip)
        return edit

    def _button(self, text: str, tip: str, slot: Callable[[], object]) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.setAutoDefault(False)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    def period(self) -> tuple[datetime, datetime]:
        """The chosen days as [first day 00:00 UTC, the day after the last day 00:00 UTC)."""
        first, last = _day(self.since_edit.date()), _day(self.until_edit.date())
        since = datetime(first.year, first.month, first.day, tzinfo=UTC)
        until = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
        return since, until

    # -- reading --------------------------------------------------------------------------
    def refresh(self) -> BackgroundTask:
        """Read the figures of the chosen period (and draw the charts) on a worker."""
        since, until = self.period()
        ws, user = self.ws, self.user
        self.show_button.setEnabled(False)
        self.status_label.setText("Reading the figures...")

        def work(
            progress: object, cancelled: object
        ) -> tuple[compliance.ComplianceOverview, dict[str, bytes]]:
            overview = compliance.compliance_overview(ws, user=user, since=since, until=until)
            return overview, compliance_files.chart_images(overview, width_px=CHART_WIDTH)

        task = run_in_background(
            work,
            on_done=self._loaded,
            on_error=self._load_failed,
            parent=self,
            description="reading the compliance figures",
            serial=True,
        )
        self._keep(task)
        return task

    def _loaded(self, result: tuple[compliance.ComplianceOverview, dict[str, bytes]]) -> None:
        overview, charts = result
        self.overview = overview
        self.show_button.setEnabled(True)
        first, last = self.period()
        self.status_label.setText(
            f"{first.date().isoformat()} to {(last - timedelta(days=1)).date().isoformat()}, "
            f"read {_when(overview.generated_at)}."
        )
        for key, value in count_values(overview).items():
            self.count_labels[key].setText(value)
        for name, png in charts.items():
            pixmap = QPixmap()
            pixmap.loadFromData(png, "PNG")
            self.chart_labels[name].setPixmap(pixmap)
        for key, rows in table_rows(overview).items():
            self._fill(self.tables[key], rows)
        self.loaded.emit(overview)

    def _load_failed(self, error: BaseException) -> None:
        self.show_button.setEnabled(True)
        self.status_label.setText("The figures could not be read.")
        messages.show_error(self, error, title="Compliance")

    def _fill(self, table: QTableWidget, rows: Sequence[Sequence[str]]) -> None:
        table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                table.setItem(r, c, QTableWidgetItem(value))

    # -- files ----------------------------------------------------------------------------
    def save_pdf(self) -> None:
        since, until = self.period()
        suggested = (
            f"compliance-{since.date().isoformat()}-to-"
            f"{(until - timedelta(days=1)).date().isoformat()}.pdf"
        )
        path = self.choose_pdf_path(self, suggested)
        if path is None:
            return
        ws, user = self.ws, self.user
        self.pdf_button.setEnabled(False)
        run_with_progress(
            lambda progress, cancelled: compliance_files.write_compliance_report(
                ws, user=user, since=since, until=until, path=path
            ),
            parent=self,
            title="Writing the compliance report",
            on_done=self._pdf_saved,
            on_error=lambda error: self._file_failed(error, "Compliance report"),
            cancellable=False,
            serial=True,
        )

    def _pdf_saved(self, written: compliance_files.WrittenFile) -> None:
        self.pdf_button.setEnabled(True)
        messages.show_info(
            self,
            f"The compliance report was written to {written.path}.\n\n"
            f"SHA-256 of the file: {written.sha256}",
            title="Compliance report saved",
        )
        self.report_saved.emit(written)

    def export_figures(self) -> None:
        year = self.year_spin.value()
        path = self.choose_csv_path(self, f"transparency-figures-{year}.csv")
        if path is None:
            return
        ws, user = self.ws, self.user
        self.csv_button.setEnabled(False)
        run_with_progress(
            lambda progress, cancelled: compliance_files.export_transparency(
                ws, user=user, year=year, path=path
            ),
            parent=self,
            title="Exporting transparency figures",
            on_done=self._figures_exported,
            on_error=lambda error: self._file_failed(error, "Transparency figures"),
            cancellable=False,
            serial=True,
        )

    def _figures_exported(
        self, result: tuple[compliance.TransparencyFigures, compliance_files.WrittenFile]
    ) -> None:
        figures, written = result
        self.csv_button.setEnabled(True)
        messages.show_info(
            self,
            f"The transparency figures of {figures.year} ({figures.searches} searches) were "
            f"written to {written.path}.\n\nSHA-256 of the file: {written.sha256}",
            title="Transparency figures exported",
        )
        self.figures_exported.emit(result)

    def _file_failed(self, error: BaseException, title: str) -> None:
        self.pdf_button.setEnabled(True)
        self.csv_button.setEnabled(True)
        messages.show_error(self, error, title=title)

    def _keep(self, task: BackgroundTask) -> None:
        self._tasks.append(task)
        task.finished.connect(lambda: self._tasks.remove(task) if task in self._tasks else None)

    def busy(self) -> bool:
        return any(t.is_running() for t in self._tasks)


COUNT_CAPTIONS: tuple[tuple[str, str], ...] = (
    ("requests", "Search requests opened:"),
    ("searches", "Searches run:"),
    ("possible_leads", "Possible leads:"),
    ("no_leads", "Not a lead / inconclusive:"),
    ("reports", "Lead / no-lead reports:"),
    ("reviews_done", "Second reviews done:"),
    ("reviews_missing", "Second reviews missing:"),
    ("disagreements", "Reviews that disagreed:"),
    ("disseminations", "Releases of reports:"),
    ("refused", "Refused actions:"),
    ("training", "Training due in 30 days:"),
    ("sealed", "Sealed subjects / photos:"),
)

TABLES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("purpose", "Per purpose", ("Purpose", "Meaning", "Searches")),
    ("examiner", "Per examiner", ("Examiner", "Searches")),
    (
        "unreviewed",
        "Without second review",
        ("Request", "Case", "Candidate", "Examiner", "Concluded", "State", "Reason"),
    ),
    (
        "disagreements",
        "Disagreements",
        ("Request", "Case", "Examiner", "Reviewer", "Conclusions", "Recorded", "Resolved"),
    ),
    (
        "releases",
        "Releases",
        ("Report", "Case", "Recipient", "Official", "Type", "Method", "Released", "By"),
    ),
    ("refusals", "Refused actions", ("Event", "When", "User", "Action", "Reason")),
    ("training", "Training due", ("Examiner", "State", "Valid until", "Reminder")),
)


def count_values(o: compliance.ComplianceOverview) -> dict[str, str]:
    """The text of each count on the page."""
    c, r = o.counts, o.reviews
    return {
        "requests": str(c.requests),
        "searches": str(c.searches),
        "possible_leads": str(c.possible_leads),
        "no_leads": str(c.no_lead_conclusions),
        "reports": f"{c.lead_reports} / {c.no_lead_reports}",
        "reviews_done": str(r.done),
        "reviews_missing": f"{r.missing} ({r.skipped} skipped, {r.awaiting} awaiting)",
        "disagreements": str(r.disagreements),
        "disseminations": str(c.disseminations),
        "refused": str(c.refused_actions),
        "training": "not shown" if o.training_due is None else str(len(o.training_due)),
        "sealed": f"{o.sealed.subjects_sealed_now} / {o.sealed.photos_sealed_now}",
    }


def table_rows(o: compliance.ComplianceOverview) -> dict[str, list[list[str]]]:
    """The rows of each table on the page."""
    return {
        "purpose": [[p.key, p.label, str(p.count)] for p in o.searches_per_purpose],
        "examiner": [[e.key, str(e.count)] for e in o.searches_per_examiner],
        "unreviewed": [
            [
                u.request_number,
                u.case_number,
                u.subject_reference,
                u.examiner,
                _when(u.concluded_at),
                u.review_state,
                u.skip_reason or "",
            ]
            for u in o.unreviewed_leads
        ],
        "disagreements": [
            [
                d.request_number,
                d.case_number,
                d.examiner,
                d.reviewer,
                f"{d.first_conclusion} / {d.reviewer_conclusion}",
                _when(d.recorded_at),
                "yes" if d.resolved else "no",
            ]
            for d in o.disagreements
        ],
        "releases": [
            [
                f"{x.report_number} v{x.version}",
                x.case_number,
                x.recipient_agency,
                x.official,
                x.recipient_type,
                x.method,
                _when(x.released_at),
                x.released_by,
            ]
            for x in o.releases
        ],
        "refusals": [
            [str(x.sequence), x.occurred_at[:19].replace("T", " "), x.actor, x.action, x.reason]
            for x in o.refusals
        ],
        "training": [
            [
                f"{t.display_name} ({t.username})",
                t.state,
                t.valid_until.isoformat() if t.valid_until else "",
                t.sentence,
            ]
            for t in (o.training_due or ())
        ],
    }


__all__ = ["QtCompliancePage", "ask_csv_path", "ask_pdf_path", "count_values", "table_rows"]
