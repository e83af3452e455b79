"""QtReportView: an issued report inside the app - preview, print, export, releases, verification.

The page shows the lead-only banner, which report this is (and a red warning when a later
version supersedes it), the PDF itself (QtPdf), and the recorded releases. Print and Export first
ask which recorded release the copy is for (or record a new one): casework refuses both without
one and audits each. "Verify a report file" checks any PDF against the reports issued here.

Entry points for the other screens and the menus::

    open_report_view(main_window, ws, user, report_id)        # a page of the main window
    issue_report_and_open(main_window, ws, user, comparison_id=...)  # or request_id=...
    verify_report_file_dialog(parent, ws, user)
    install_report_actions(main_window)                        # Tools menu, Case > dissemination

Dialogs are module-level functions on the view (``choose_export_path``, ``choose_verify_path``,
``choose_release``, ``ask_printer``) so tests can answer them without a modal loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QAction, QPainter
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.casework import dissemination, report_verify, reports
from app.casework.accounts import SignedInUser
from app.casework.report_views import ReleasedFile, ReportSummary, ReportVerification
from app.casework.workstation import Workstation
from app.errors import InvalidInput
from app.ui import messages
from app.ui.qt_dissemination_dialog import QtDisseminationDialog, pick_release
from app.ui.qt_lead_banner import QtLeadBanner
from app.ui.workers import run_in_background, run_with_progress

log = logging.getLogger(__name__)

PAGE_PREFIX = "report:"
MAX_PRINT_DPI = 300  # enough for photographs on paper; keeps page images small
WARNING_STYLE = "color: #a40000; font-weight: bold;"
CURRENT_STYLE = "color: #1f6f1f; font-weight: bold;"


# ----------------------------------------------------------------------------- dialogs
def ask_export_path(parent: QWidget, suggested: str) -> Path | None:
    name, _ = QFileDialog.getSaveFileName(parent, "Export report", suggested, "PDF files (*.pdf)")
    if not name:
        return None
    path = Path(name)
    return path if path.suffix.lower() == ".pdf" else path.with_name(path.name + ".pdf")


def ask_verify_path(parent: QWidget) -> Path | None:
    name, _ = QFileDialog.getOpenFileName(
        parent, "Verify a report file", "", "PDF files (*.pdf);;All files (*)"
    )
    return Path(name) if name else None


def ask_printer(parent: QWidget) -> QPrinter | None:
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle("Print report")
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return printer


def paint_pages(document: QPdfDocument, printer: QPrinter) -> int:
    """Render every page onto the printer, fitted to the printable area; the pages printed."""
    painter = QPainter()
    if not painter.begin(printer):
        raise InvalidInput("The printer could not be started; nothing was printed.")
    printed = 0
    try:
        dpi = min(printer.resolution(), MAX_PRINT_DPI)
        area = printer.pageRect(QPrinter.Unit.DevicePixel)
        for page in range(document.pageCount()):
            if page:
                printer.newPage()
            points = document.pagePointSize(page)
            pixels = QSize(round(points.width() / 72 * dpi), round(points.height() / 72 * dpi))
            image = document.render(page, pixels)
            scale = min(area.width() / image.width(), area.height() / image.height())
            target = QRectF(0, 0, image.width() * scale, image.height() * scale)
            painter.drawImage(target, image)
            printed += 1
    finally:
        painter.end()
    return printed


def verification_text(result: ReportVerification) -> str:
    lines = [result.message, "", f"SHA-256 of the file: {result.sha256}"]
    if result.report is not None:
        lines.append(f"Content fingerprint: {result.report.content_fingerprint}")
    return "\n".join(lines)


def verify_report_file_dialog(parent: QWidget, ws: Workstation, user: SignedInUser) -> None:
    """Ask for a PDF and say whether it is an unaltered report issued by this installation."""
    path = QtReportView.choose_verify_path(parent)
    if path is None:
        return

    def work(**_: Any) -> ReportVerification:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InvalidInput(f"{path} cannot be read: {exc.strerror or exc}.") from exc
        return report_verify.verify_report_file(ws, data=data, user=user)

    def shown(result: ReportVerification) -> None:
        show = messages.show_info if result.valid else messages.show_error
        show(parent, verification_text(result), title="Report verification")

    run_in_background(work, on_done=shown, parent=parent, description="Verifying the report")


# ----------------------------------------------------------------------------- the page
class QtReportView(QWidget):
    """One issued report version: preview, releases, print, export."""

    changed = Signal(object)  # a casework result that changed records (release, print, export)
    loaded = Signal(object)  # the ReportSummary once the report is shown

    choose_export_path: Callable[[QWidget, str], Path | None] = staticmethod(ask_export_path)
    choose_verify_path: Callable[[QWidget], Path | None] = staticmethod(ask_verify_path)
    choose_printer: Callable[[QWidget], QPrinter | None] = staticmethod(ask_printer)
    choose_release: Callable[..., int | None] = staticmethod(pick_release)

    def __init__(
        self,
        ws: Workstation,
        user: SignedInUser,
        report_id: int,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ws, self.user, self.report_id = ws, user, report_id
        self.summary: ReportSummary | None = None
        self.setObjectName("reportView")
        self.document = QPdfDocument(self)
        self._buffer: QBuffer | None = None

        self.banner = QtLeadBanner(ws.profile.report.banner)
        self.title = QLabel("Loading the report...")
        self.title.setObjectName("reportTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.title.setFont(font)
        self.state = QLabel("")
        self.state.setObjectName("reportState")
        self.state.setWordWrap(True)
        self.state.setTextFormat(Qt.TextFormat.PlainText)
        self.hash_line = QLabel("")
        self.hash_line.setObjectName("reportHash")
        self.hash_line.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.release_button = self._button("Record &release...", self.record_release)
        self.print_button = self._button("&Print...", self.print_report)
        self.export_button = self._button("&Export...", self.export_report)
        self.verify_button = self._button("&Verify a report file...", self.verify_file)
        for name, button in (
            ("recordRelease", self.release_button),
            ("printReport", self.print_button),
            ("exportReport", self.export_button),
            ("verifyFile", self.verify_button),
        ):
            button.setObjectName(name)
        tools = QHBoxLayout()
        for button in (self.release_button, self.print_button, self.export_button):
            tools.addWidget(button)
        tools.addStretch(1)
        tools.addWidget(self.verify_button)

        self.pdf_view = QPdfView()
        self.pdf_view.setObjectName("reportPreview")
        self.pdf_view.setDocument(self.document)
        self.pdf_view.setPageMode(QPdfView.PageMode.MultiPage)
        self.pdf_view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.releases = QListWidget()
        self.releases.setObjectName("releases")
        self.releases.setWordWrap(True)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(QLabel("Recorded releases (MPTC IV.G)"))
        side_layout.addWidget(self.releases)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.pdf_view)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.title)
        layout.addWidget(self.state)
        layout.addWidget(self.hash_line)
        layout.addLayout(tools)
        layout.addWidget(self.splitter, 1)
        self._set_enabled(False)
        self.reload()

    def _button(self, text: str, slot: Callable[[], None]) -> QPushButton:
        button = QPushButton(text)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    def _set_enabled(self, enabled: bool) -> None:
        current = enabled and self.summary is not None and self.summary.is_current
        for button in (self.release_button, self.print_button, self.export_button):
            button.setEnabled(current)

    # ------------------------------------------------------------------------- loading
    def reload(self) -> None:
        ws, user, report_id = self.ws, self.user, self.report_id

        def work(**_: Any) -> tuple[ReportSummary, bytes]:
            summary = reports.get_report(ws, user=user, report_id=report_id)
            return summary, reports.report_pdf(ws, user=user, report_id=report_id)

        run_in_background(work, on_done=self._show, parent=self, description="Opening the report")

    def _show(self, loaded: tuple[ReportSummary, bytes]) -> None:
        summary, pdf = loaded
        self.summary = summary
        self.title.setText(summary.title)
        if summary.is_current:
            self.state.setText("Current version. Every print and export is recorded.")
            self.state.setStyleSheet(CURRENT_STYLE)
        else:
            self.state.setText(
                f"SUPERSEDED on {summary.superseded_at:%Y-%m-%d}: a later version of "
                f"{summary.report_number} replaces this one. It is kept for the record and "
                "cannot be released."
            )
            self.state.setStyleSheet(WARNING_STYLE)
        self.hash_line.setText(
            f"Issued {summary.issued_at:%Y-%m-%d %H:%M} UTC by {summary.issued_by} \u00b7 "
            f"SHA-256 {summary.pdf_sha256}"
        )
        self.releases.clear()
        for release in summary.disseminations:
            self.releases.addItem(f"{release.label} \u2014 by {release.released_by}")
            item = self.releases.item(self.releases.count() - 1)
            item.setToolTip(
                f"{release.recipient_type_label}. Need to know: {release.need_to_know}"
            )
        if not summary.disseminations:
            self.releases.addItem("None recorded yet.")
        self.document.close()
        buffer = QBuffer(self)
        buffer.setData(QByteArray(pdf))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.document.load(buffer)
        if self._buffer is not None:
            self._buffer.deleteLater()
        self._buffer = buffer
        self._set_enabled(True)
        self.loaded.emit(summary)

    # ------------------------------------------------------------------------- actions
    def record_release(self) -> None:
        if self.summary is None:
            return
        dialog = QtDisseminationDialog(self.ws, self.user, self.summary, self)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.result_release is not None:
            self._changed(dialog.result_release)

    def _release_for(self, action: str) -> int | None:
        if self.summary is None:
            return None
        return self.choose_release(self, self.ws, self.user, self.summary, action)

    def export_report(self) -> None:
        release = self._release_for("export")
        if release is None or self.summary is None:
            return
        suggested = f"{self.summary.report_number}-v{self.summary.version}.pdf"
        path = self.choose_export_path(self, suggested)
        if path is None:
            return
        ws, user, report_id = self.ws, self.user, self.report_id
        run_in_background(
            lambda **_: dissemination.export_report(
                ws, user=user, report_id=report_id, destination=path, dissemination_id=release
            ),
            on_done=self._exported,
            parent=self,
            description="Exporting the report",
            serial=True,
        )

    def _exported(self, written: ReleasedFile) -> None:
        messages.show_info(
            self,
            f"The report was written to {written.path} for release #{written.dissemination_id}.",
        )
        self._changed(written)

    def print_report(self) -> None:
        release = self._release_for("print")
        if release is None:
            return
        printer = self.choose_printer(self)
        if printer is None:
            return
        ws, user, report_id = self.ws, self.user, self.report_id
        copies = max(1, printer.copyCount())
        name = printer.printerName()
        # Recorded first: nothing is printed when casework refuses (or cannot record it).
        run_with_progress(
            lambda progress, cancelled: dissemination.record_print(
                ws,
                user=user,
                report_id=report_id,
                dissemination_id=release,
                copies=copies,
                printer=name,
            ),
            parent=self,
            title="Printing the report",
            on_done=lambda done: self._print(printer, done),
            cancellable=False,
            serial=True,
        )

    def _print(self, printer: QPrinter, recorded: ReleasedFile) -> None:
        paint_pages(self.document, printer)
        self._changed(recorded)

    def verify_file(self) -> None:
        verify_report_file_dialog(self, self.ws, self.user)

    def _changed(self, result: object) -> None:
        self.changed.emit(result)
        self.reload()


# ----------------------------------------------------------------------------- entry points
def open_report_view(
    main_window: Any, ws: Workstation, user: SignedInUser, report_id: int
) -> QtReportView:
    """Show a report as a page of the main window (the same page again if already open)."""
    key = f"{PAGE_PREFIX}{report_id}"
    if main_window.has_page(key):
        view = main_window.page(key)
    else:
        view = QtReportView(ws, user, report_id)
        view.changed.connect(main_window.announce_changes)
        main_window.add_page(key, view, title=f"Report {report_id}")
    main_window.show_page(key)
    return view  # type: ignore[no-any-return]


def issue_report_and_open(
    main_window: Any,
    ws: Workstation,
    user: SignedInUser,
    *,
    comparison_id: int | None = None,
    request_id: int | None = None,
    reason: str = "",
) -> None:
    """Issue the lead report of ``comparison_id`` (or the no-lead report of ``request_id``) on
    a worker, then open it; a refusal is shown as a message."""
    if (comparison_id is None) == (request_id is None):
        raise ValueError("give either comparison_id or request_id")

    def work(**_: Any) -> ReportSummary:
        if comparison_id is not None:
            return reports.issue_lead_report(
                ws, user=user, comparison_id=comparison_id, reason=reason
            )
        return reports.issue_no_lead_report(
            ws, user=user, request_id=int(request_id or 0), reason=reason
        )

    def done(report: ReportSummary) -> None:
        main_window.announce_changes(report)
        open_report_view(main_window, ws, user, report.report_id)

    run_with_progress(
        work,
        parent=main_window,
        title="Issuing the report",
        on_done=done,
        cancellable=False,
        serial=True,
    )


def install_report_actions(main_window: Any) -> None:
    """Tools > "Verify a report file..." for everyone, and Case > "Record dissemination..."
    while a report page is shown."""
    if getattr(main_window, "report_actions_installed", False):
        return
    main_window.report_actions_installed = True
    verify = QAction("Verify a report &file...", main_window)
    verify.setObjectName("tool_verify_report")
    verify.triggered.connect(
        lambda _checked=False: verify_report_file_dialog(
            main_window, main_window.ws, main_window.user
        )
    )
    main_window.tools_menu.insertAction(main_window.action_change_password, verify)
    main_window.action_verify_report = verify
    release = main_window.case_actions.get("dissemination")
    if release is None:
        return

    def current_view() -> QtReportView | None:
        page = main_window.stack.currentWidget()
        return page if isinstance(page, QtReportView) else None

    def page_changed(_key: str = "") -> None:
        view = current_view()
        release.setEnabled(view is not None)
        release.setStatusTip("" if view is not None else "Open an issued report first.")

    def trigger(_checked: bool = False) -> None:
        view = current_view()
        if view is not None:
            view.record_release()

    release.triggered.connect(trigger)
    main_window.page_changed.connect(page_changed)
    page_changed()


__all__ = [
    "QtReportView",
    "install_report_actions",
    "issue_report_and_open",
    "open_report_view",
    "paint_pages",
    "verify_report_file_dialog",
]
