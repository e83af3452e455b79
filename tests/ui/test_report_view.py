"""The report page (issue 8): PDF preview, releases, print and export only for a recorded
release, the dissemination dialog's refusals, report file verification, menu entry points."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtPrintSupport import QPrinter
from pytestqt.qtbot import QtBot
from shell_support import ShownMessages, audit_actions

# The report test helpers live with the unit tests (a case with an issued lead report).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from report_support import LAW_ENFORCEMENT, ReportedCase, load_reported_case

from app.casework import dissemination, reports
from app.casework.workstation import Workstation
from app.reports.data import sha256_hex
from app.ui import qt_report_view
from app.ui.qt_dissemination_dialog import QtDisseminationDialog
from app.ui.qt_report_view import QtReportView


@pytest.fixture
def reported(ws: Workstation, yale_dir: Path) -> ReportedCase:
    return load_reported_case(ws, yale_dir)


def _view(qtbot: QtBot, ws: Workstation, reported: ReportedCase) -> QtReportView:
    view = QtReportView(ws, reported.case.people.examiner, reported.report.report_id)
    qtbot.addWidget(view)
    view.resize(1100, 800)
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        pass
    return view


def _fill(dialog: QtDisseminationDialog, recipient_type: str) -> None:
    dialog.agency.setText(LAW_ENFORCEMENT["recipient_agency"])
    dialog.official.setText(LAW_ENFORCEMENT["official"])
    dialog.recipient_type.setCurrentIndex(dialog.recipient_type.findData(recipient_type))
    dialog.need_to_know.setPlainText(LAW_ENFORCEMENT["need_to_know"])
    dialog.method.setEditText(LAW_ENFORCEMENT["method"])


def test_preview_shows_the_issued_pdf_with_banner_and_state(
    qtbot: QtBot, ws: Workstation, reported: ReportedCase, shown_messages: ShownMessages
) -> None:
    view = _view(qtbot, ws, reported)
    assert view.document.pageCount() >= 2
    assert view.banner.text() == ws.profile.report.banner
    assert reported.report.report_number in view.title.text()
    assert "Current version" in view.state.text()
    assert reported.report.pdf_sha256 in view.hash_line.text()
    assert view.print_button.isEnabled() and view.export_button.isEnabled()
    assert view.releases.item(0).text() == "None recorded yet."
    # Rendered, the first page is a real picture of the report (not blank).
    image = view.document.render(0, view.document.pagePointSize(0).toSize())
    assert not image.isNull() and len({image.pixel(x, 40) for x in range(0, 600, 7)}) > 1


def test_dialog_refuses_outside_law_enforcement_then_records(
    qtbot: QtBot, ws: Workstation, reported: ReportedCase, shown_messages: ShownMessages
) -> None:
    summary = reports.get_report(
        ws, user=reported.case.people.examiner, report_id=reported.report.report_id
    )
    dialog = QtDisseminationDialog(ws, reported.case.people.examiner, summary)
    qtbot.addWidget(dialog)
    _fill(dialog, "not_law_enforcement")
    assert "NOT ALLOWED" in dialog.recipient_type.currentText()
    dialog.record_button.click()
    qtbot.waitUntil(lambda: dialog.problem.isVisibleTo(dialog), timeout=10_000)
    assert "law enforcement" in dialog.problem.text()
    assert dialog.result() == 0 and dialog.result_release is None
    _fill(dialog, "law_enforcement_agency")
    dialog.record_button.click()
    qtbot.waitUntil(lambda: dialog.result_release is not None, timeout=10_000)
    assert dialog.result_release is not None
    assert dialog.result_release.official == LAW_ENFORCEMENT["official"]
    assert ("erin", "dissemination.refused") in audit_actions(ws)
    assert ("erin", "report.disseminated") in audit_actions(ws)


def test_print_and_export_need_a_release_and_are_recorded(
    qtbot: QtBot,
    ws: Workstation,
    reported: ReportedCase,
    shown_messages: ShownMessages,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    view = _view(qtbot, ws, reported)
    asked: list[str] = []
    monkeypatch.setattr(
        QtReportView, "choose_release", staticmethod(lambda *a: asked.append(a[-1]))
    )
    target = tmp_path / "exported.pdf"
    monkeypatch.setattr(QtReportView, "choose_export_path", staticmethod(lambda *a: target))
    printed_to = tmp_path / "printed.pdf"

    def pdf_printer(_parent: object) -> QPrinter:
        printer = QPrinter(QPrinter.PrinterMode.ScreenResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(printed_to))
        return printer

    monkeypatch.setattr(QtReportView, "choose_printer", staticmethod(pdf_printer))
    # Cancelled at "which release?": nothing is printed or exported, nothing recorded.
    view.print_button.click()
    view.export_button.click()
    assert asked == ["print", "export"]
    assert not target.exists() and not printed_to.exists()

    examiner = reported.case.people.examiner
    release = dissemination.disseminate(
        ws, user=examiner, report_id=reported.report.report_id, **LAW_ENFORCEMENT
    )
    monkeypatch.setattr(
        QtReportView, "choose_release", staticmethod(lambda *a: release.dissemination_id)
    )
    with qtbot.waitSignal(view.changed, timeout=10_000):
        view.export_button.click()
    assert sha256_hex(target.read_bytes()) == reported.report.pdf_sha256
    with qtbot.waitSignal(view.changed, timeout=20_000):
        view.print_button.click()
    assert printed_to.read_bytes().startswith(b"%PDF") and printed_to.stat().st_size > 10_000
    actions = [action for actor, action in audit_actions(ws) if actor == "erin"]
    assert actions[-2:] == ["report.exported", "report.printed"]
    qtbot.waitUntil(lambda: release.label in view.releases.item(0).text(), timeout=10_000)


def test_verify_a_report_file_says_valid_or_not(
    qtbot: QtBot,
    ws: Workstation,
    reported: ReportedCase,
    shown_messages: ShownMessages,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    view = _view(qtbot, ws, reported)
    pdf = reports.report_pdf(
        ws, user=reported.case.people.examiner, report_id=reported.report.report_id
    )
    good, bad = tmp_path / "good.pdf", tmp_path / "bad.pdf"
    good.write_bytes(pdf)
    bad.write_bytes(pdf[:-40] + b"X" + pdf[-39:])
    for path in (good, bad):
        monkeypatch.setattr(QtReportView, "choose_verify_path", staticmethod(lambda _p, f=path: f))
        count = len(shown_messages.boxes)
        view.verify_button.click()
        qtbot.waitUntil(lambda c=count: len(shown_messages.boxes) > c, timeout=10_000)
    (title_good, text_good), (_, text_bad) = shown_messages.boxes[-2:]
    assert title_good == "Report verification" and text_good.startswith("VALID")
    assert reported.report.report_number in text_good and sha256_hex(pdf) in text_good
    assert text_bad.startswith("NOT VALID") and "altered" in text_bad


def test_main_window_entry_points(
    qtbot: QtBot,
    ws: Workstation,
    reported: ReportedCase,
    make_main_window: object,
    shown_messages: ShownMessages,
) -> None:
    window = make_main_window(reported.case.people.examiner, ensure_model=False)  # type: ignore[operator]
    qt_report_view.install_report_actions(window)
    qt_report_view.install_report_actions(window)  # once only
    verify_actions = [
        a for a in window.tools_menu.actions() if a.objectName() == "tool_verify_report"
    ]
    assert len(verify_actions) == 1
    release_action = window.case_actions["dissemination"]
    assert not release_action.isEnabled()
    view = qt_report_view.open_report_view(
        window, ws, reported.case.people.examiner, reported.report.report_id
    )
    assert window.stack.currentWidget() is view and release_action.isEnabled()
    # Loaded before the test ends: no work of this test may outlive it (a shared PostgreSQL
    # database is emptied for the next test).
    qtbot.waitUntil(lambda: view.summary is not None, timeout=10_000)
    again = qt_report_view.open_report_view(
        window, ws, reported.case.people.examiner, reported.report.report_id
    )
    assert again is view
    window.show_page("home")
    assert not release_action.isEnabled()


def test_issue_report_and_open_shows_the_new_version(
    qtbot: QtBot,
    ws: Workstation,
    reported: ReportedCase,
    make_main_window: object,
    shown_messages: ShownMessages,
) -> None:
    examiner = reported.case.people.examiner
    window = make_main_window(examiner, ensure_model=False)  # type: ignore[operator]
    qt_report_view.issue_report_and_open(
        window, ws, examiner, comparison_id=reported.comparison_id, reason="Note corrected"
    )
    qtbot.waitUntil(lambda: isinstance(window.stack.currentWidget(), QtReportView), timeout=20_000)
    view = window.stack.currentWidget()
    qtbot.waitUntil(lambda: view.summary is not None, timeout=10_000)
    assert view.summary.version == 2 and view.summary.is_current
    # The superseded first version opens read-only: it can no longer be released.
    old = qt_report_view.open_report_view(window, ws, examiner, reported.report.report_id)
    qtbot.waitUntil(lambda: old.summary is not None, timeout=10_000)
    assert "SUPERSEDED" in old.state.text()
    assert not old.print_button.isEnabled() and not old.export_button.isEnabled()
    # A refusal comes back as a plain message, and no page is opened for it.
    qt_report_view.issue_report_and_open(window, ws, examiner, request_id=reported.case.request_id)
    qtbot.waitUntil(lambda: len(shown_messages.boxes) > 0, timeout=20_000)
    assert "concluded without a lead" in shown_messages.texts[-1]
    assert window.stack.currentWidget() is old
