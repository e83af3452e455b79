"""The Health check page: an administrator runs the check and reads one row per section; after an
audit event is edited with SQL the audit row says PROBLEM, its details name the broken event and
the verdict says so; the report saves as the JSON ``frx admin check --json`` writes; Stop ends a
running check with nothing recorded; an examiner without a supervising role is refused (audited)
and the Tools menu shows the page only to supervisors and administrators."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from shell_support import EXAMINER_PASSWORD, ShownMessages, audit_actions
from sqlalchemy import text

from app.casework import accounts
from app.casework.accounts import SignedInUser
from app.casework.health_check import HealthReport
from app.casework.workstation import Workstation
from app.errors import ImportCancelled, PermissionDenied
from app.policy.roles import Role
from app.ui.admin import qt_health_check_page
from app.ui.admin.qt_health_check_page import QtHealthCheckPage

WAIT = 20_000


def make_page(qtbot: QtBot, ws: Workstation, user: SignedInUser) -> QtHealthCheckPage:
    page = QtHealthCheckPage(ws, user)
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    return page


def run_check(qtbot: QtBot, page: QtHealthCheckPage) -> Any:
    finished: list[Any] = []
    page.check_finished.connect(finished.append)
    with qtbot.waitSignal(page.check_finished, timeout=WAIT):
        qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)
    page.check_finished.disconnect(finished.append)
    return finished[0]


def rows(page: QtHealthCheckPage) -> dict[str, str]:
    table = page.section_table
    return {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}


def test_run_read_break_and_save(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser, tmp_path: Path
) -> None:
    page = make_page(qtbot, ws, admin)
    assert not page.save_button.isEnabled()
    report = run_check(qtbot, page)
    assert isinstance(report, HealthReport)
    assert rows(page) == {s.title: s.status for s in report.sections}
    assert rows(page)["Audit chain"] == "OK"
    assert page.verdict_label.text().startswith("ALL OK." if report.ok else "PROBLEMS FOUND")
    assert f"recorded as audit event {report.recorded_sequence}" in page.verdict_label.text()
    assert audit_actions(ws)[-1] == ("ada", "admin.checked")
    assert page.run_button.isEnabled() and page.save_button.isEnabled()

    with ws.database.session() as session:
        session.execute(
            text("UPDATE audit_events SET details = :d WHERE sequence = :s"),
            {"d": '{"edited":true}', "s": 1},
        )
    broken = run_check(qtbot, page)
    assert isinstance(broken, HealthReport) and not broken.ok
    assert rows(page)["Audit chain"] == "PROBLEM"
    assert page.verdict_label.text().startswith("PROBLEMS FOUND (audit chain).")
    # The first section with a problem is chosen, and its details list the problem.
    selected = page.section_table.selectionModel().selectedRows()[0].row()
    assert page.section_table.item(selected, 0).text() == "Audit chain"
    assert "audit chain BROKEN at event 1" in page.details.toPlainText()

    saved: list[Any] = []
    page.report_saved.connect(saved.append)
    page.save_report(tmp_path / "check.json")
    assert saved == [tmp_path / "check.json"]
    written = json.loads((tmp_path / "check.json").read_text())
    assert written["verdict"] == "problems"
    assert written["audit_event"] == broken.recorded_sequence
    assert "Report saved to" in page.state_label.text()


def test_saving_into_a_missing_folder_says_why(
    qtbot: QtBot,
    ws: Workstation,
    admin: SignedInUser,
    tmp_path: Path,
    shown_messages: ShownMessages,
) -> None:
    page = make_page(qtbot, ws, admin)
    run_check(qtbot, page)
    page.save_report(tmp_path / "no-such-folder" / "check.json")
    assert "does not exist" in page.state_label.text()
    assert "does not exist" in shown_messages.texts[-1]
    assert not (tmp_path / "no-such-folder").exists()


def test_stop_ends_a_running_check_and_records_nothing(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = qt_health_check_page.run_health_check
    started = threading.Event()

    def waits_for_stop(ws: Workstation, **kwargs: Any) -> HealthReport:
        started.set()
        cancelled = kwargs["cancelled"]
        while not cancelled():
            threading.Event().wait(0.01)
        return real(ws, **kwargs)

    monkeypatch.setattr(qt_health_check_page, "run_health_check", waits_for_stop)
    page = make_page(qtbot, ws, admin)
    before = audit_actions(ws)
    finished: list[Any] = []
    page.check_finished.connect(finished.append)
    qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)
    assert not page.run_button.isEnabled() and page.stop_button.isEnabled()
    qtbot.waitUntil(started.is_set, timeout=WAIT)
    with qtbot.waitSignal(page.check_finished, timeout=WAIT):
        qtbot.mouseClick(page.stop_button, Qt.MouseButton.LeftButton)
    assert isinstance(finished[0], ImportCancelled)
    assert "nothing was changed" in page.state_label.text()
    assert page.run_button.isEnabled() and not page.save_button.isEnabled()
    assert audit_actions(ws) == before


def test_examiner_is_refused_and_the_menu_is_for_supervisors(
    qtbot: QtBot,
    ws: Workstation,
    admin: SignedInUser,
    shown_messages: ShownMessages,
    make_main_window: Any,
) -> None:
    from app.ui.admin.menu import HEALTH_PAGE

    accounts.create_user(
        ws,
        by=admin,
        username="ed",
        display_name="Ed Examiner",
        password=EXAMINER_PASSWORD,
        roles=[Role.EXAMINER],
    )
    examiner = accounts.sign_in(ws, username="ed", password=EXAMINER_PASSWORD)
    page = make_page(qtbot, ws, examiner)
    refused = run_check(qtbot, page)
    assert isinstance(refused, PermissionDenied)
    assert "supervisor or administrator" in page.state_label.text()
    assert audit_actions(ws)[-1] == ("ed", "permission.denied")
    assert page.section_table.rowCount() == 0

    window = make_main_window(admin, ensure_model=False)
    action = window.tool_actions[HEALTH_PAGE]
    assert action.isVisible() and action.isEnabled()
    action.trigger()
    assert isinstance(window.stack.currentWidget(), QtHealthCheckPage)
    assert not make_main_window(examiner, ensure_model=False).tool_actions[HEALTH_PAGE].isVisible()
