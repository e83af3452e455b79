"""The Compliance admin page: counts, charts and tables of a worked case, the PDF report and the
transparency figures saved through (monkeypatched) file dialogs, the Tools menu entry by role."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QDate, Qt
from pytestqt.qtbot import QtBot
from shell_support import ShownMessages, audit_actions

# The compliance test helpers live with the unit tests (a worked case with every kind of event).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from compliance_support import WorkedCase, worked_case

from app.casework.workstation import Workstation
from app.ui.admin.qt_compliance_page import QtCompliancePage


@pytest.fixture
def worked(ws: Workstation, yale_dir: Path) -> WorkedCase:
    return worked_case(ws, yale_dir)


def _page(qtbot: QtBot, ws: Workstation, user: Any, tmp_path: Path) -> QtCompliancePage:
    page = QtCompliancePage(
        ws,
        user,
        choose_pdf_path=lambda parent, name: tmp_path / name,
        choose_csv_path=lambda parent, name: tmp_path / name,
    )
    qtbot.addWidget(page)
    page.resize(1300, 800)
    page.show()
    return page


def test_page_shows_the_period_and_saves_the_report_and_figures(
    qtbot: QtBot,
    ws: Workstation,
    worked: WorkedCase,
    tmp_path: Path,
    shown_messages: ShownMessages,
) -> None:
    supervisor = worked.case.people.supervisor
    page = _page(qtbot, ws, supervisor, tmp_path)
    with qtbot.waitSignal(page.loaded, timeout=20_000):
        pass
    counts = {key: label.text() for key, label in page.count_labels.items()}
    assert counts["searches"] == "1" and counts["possible_leads"] == "2"
    assert counts["reviews_done"] == "1"
    assert counts["reviews_missing"] == "1 (1 skipped, 0 awaiting)"
    assert counts["disagreements"] == "1" and counts["disseminations"] == "1"
    assert counts["refused"] == "1" and counts["training"] == "1" and counts["sealed"] == "1 / 0"
    purpose = page.tables["purpose"]
    assert purpose.rowCount() == 1 and purpose.item(0, 0).text() == "IV.B.1a"
    assert page.tables["examiner"].item(0, 0).text() == "erin"
    assert page.tables["releases"].item(0, 3).text() == "Det. Alex Moreno"
    assert page.tables["unreviewed"].item(0, 2).text() == "YALE-03"
    assert page.tables["training"].item(0, 0).text() == "Tess (tess)"
    assert page.tables["refusals"].item(0, 3).text() == "dissemination.refused"
    for name in ("purpose", "examiner", "reviews"):
        pixmap = page.chart_labels[name].pixmap()
        assert not pixmap.isNull() and pixmap.width() > 100, name
    assert ("sam", "compliance.viewed") in audit_actions(ws)

    with qtbot.waitSignal(page.report_saved, timeout=30_000) as saved:
        qtbot.mouseClick(page.pdf_button, Qt.MouseButton.LeftButton)
    written = saved.args[0]
    assert written.path.parent == tmp_path and written.path.suffix == ".pdf"
    assert written.path.read_bytes().startswith(b"%PDF")
    assert f"SHA-256 of the file: {written.sha256}" in shown_messages.texts[-1]
    assert ("sam", "compliance.report_written") in audit_actions(ws)
    assert page.pdf_button.isEnabled()

    year = ws.now().year
    page.year_spin.setValue(year)
    with qtbot.waitSignal(page.figures_exported, timeout=20_000) as exported:
        qtbot.mouseClick(page.csv_button, Qt.MouseButton.LeftButton)
    figures, csv_file = exported.args[0]
    assert csv_file.path == (tmp_path / f"transparency-figures-{year}.csv").resolve()
    assert f"{year},searches,,Searches run,1" in csv_file.path.read_text(encoding="utf-8")
    assert figures.searches == 1 and "1 searches" in shown_messages.texts[-1]

    # An earlier period: nothing happened in it.
    last_year = ws.now().date() - timedelta(days=400)
    page.since_edit.setDate(QDate(last_year.year, 1, 1))
    page.until_edit.setDate(QDate(last_year.year, 12, 31))
    with qtbot.waitSignal(page.loaded, timeout=20_000):
        qtbot.mouseClick(page.show_button, Qt.MouseButton.LeftButton)
    assert page.count_labels["searches"].text() == "0"
    assert page.tables["purpose"].rowCount() == 0
    assert page.count_labels["sealed"].text() == "1 / 0"  # sealed now, whatever the period


def test_menu_entry_by_role_and_an_examiner_is_refused(
    qtbot: QtBot,
    ws: Workstation,
    worked: WorkedCase,
    tmp_path: Path,
    make_main_window: Any,
    shown_messages: ShownMessages,
) -> None:
    people = worked.case.people
    window = make_main_window(people.supervisor, ensure_model=False)
    action = window.tool_actions["compliance"]
    assert action.isVisible() and action.isEnabled()
    action.trigger()
    page = window.stack.currentWidget()
    assert isinstance(page, QtCompliancePage)
    assert window.windowTitle().endswith("Compliance")
    with qtbot.waitSignal(page.loaded, timeout=20_000):
        pass
    assert page.count_labels["searches"].text() == "1"

    examiner_window = make_main_window(people.examiner, ensure_model=False)
    assert not examiner_window.tool_actions["compliance"].isVisible()
    refused = _page(qtbot, ws, people.examiner, tmp_path)
    qtbot.waitUntil(lambda: bool(shown_messages.texts), timeout=20_000)
    assert shown_messages.texts[-1].startswith("Only an active")
    assert refused.count_labels["searches"].text() == "\u2013"
    assert refused.status_label.text() == "The figures could not be read."
