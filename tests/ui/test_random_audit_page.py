"""The Random audit page: draw a seeded sample, walk its requests with Previous/Next through the
read-only sections, record a finding, and see it (and the progress) when the page is reopened."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from typing import Any

import pytest
from case_ui_support import qualify
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from shell_support import ShownMessages, audit_actions

from app.casework import requests, supervision
from app.casework.accounts import SignedInUser
from app.casework.workstation import Workstation
from app.policy.gates import RequestIntake
from app.ui.admin.qt_random_audit_page import QtRandomAuditPage


def intake(case_number: str) -> RequestIntake:
    return RequestIntake(
        case_number=case_number,
        requesting_officer="Det. Alex Moreno",
        requesting_agency="Springfield Police Department",
        purpose_code="IV.B.1a",
        offense="Robbery in the second degree",
        narrative="Store camera still of the suspect at the counter during the robbery.",
        probe_source="agency_personnel",
        probe_obtained_how="Exported from the store's CCTV recorder.",
        attests_lawful_source=True,
        attests_not_protected_basis=True,
        attests_actual_subject=True,
    )


@pytest.fixture
def opened(ws: Workstation, admin: SignedInUser, examiner: SignedInUser) -> list[int]:
    qualify(ws, admin, examiner)
    return [
        requests.open_request(ws, user=examiner, intake=intake(f"2026-CR-{n:04d}")).request_id
        for n in range(5)
    ]


WAIT = 10_000


def make_page(qtbot: QtBot, ws: Workstation, user: SignedInUser) -> QtRandomAuditPage:
    page = QtRandomAuditPage(ws, user)
    qtbot.addWidget(page)
    page.resize(1300, 800)
    page.show()
    qtbot.waitSignal(page.samples_loaded, timeout=WAIT).wait()
    return page


def draw(qtbot: QtBot, page: QtRandomAuditPage, n: int, seed: str) -> Any:
    page.size_spin.setValue(n)
    page.seed_edit.setText(seed)
    drawn: list[Any] = []
    page.sample_drawn.connect(drawn.append)
    with qtbot.waitSignals([page.sample_drawn, page.case_file_shown], timeout=WAIT):
        qtbot.mouseClick(page.draw_button, Qt.MouseButton.LeftButton)
    page.sample_drawn.disconnect(drawn.append)
    return drawn[0]


def click_and_wait(qtbot: QtBot, page: QtRandomAuditPage, button: Any) -> None:
    with qtbot.waitSignal(page.case_file_shown, timeout=WAIT):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_draw_walk_record_and_reopen(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser, opened: list[int],
    shown_messages: ShownMessages,
) -> None:
    page = make_page(qtbot, ws, admin)
    assert page.sample_table.rowCount() == 0
    assert not page.next_button.isEnabled() and not page.record_button.isEnabled()

    sample = draw(qtbot, page, 3, "424242")
    assert sample.seed == 424242 and len(sample.request_ids) == 3
    assert sample.request_ids == supervision.sample_requests(opened, 3, 424242)
    state = page.draw_state.text()
    assert "seed 424242" in state and "3 of the 5 requests" in state
    assert page.sample_table.rowCount() == 1
    assert page.sample_table.item(0, 4).text() == "424242"
    assert page.sample_table.item(0, 5).text() == "0 of 3"
    assert ("ada", "audit.sample_drawn") in audit_actions(ws)

    # The walk starts at the first request drawn.
    assert "request 1 of 3" in page.walk_title.text()
    assert page.walk_title.text().endswith("not audited yet")
    assert page.progress_label.text() == "0 of 3 audited"
    request_text = page.section_views["request"].toPlainText()
    assert "Robbery in the second degree" in request_text
    assert "Purpose IV.B.1a" in page.section_views["purpose"].toPlainText()
    assert page.section_views["search"].toPlainText() == "Nothing recorded."
    assert not page.previous_button.isEnabled() and page.next_button.isEnabled()
    click_and_wait(qtbot, page, page.next_button)
    assert "request 2 of 3" in page.walk_title.text()
    click_and_wait(qtbot, page, page.next_button)
    assert "request 3 of 3" in page.walk_title.text() and not page.next_button.isEnabled()
    click_and_wait(qtbot, page, page.previous_button)
    second = page.case_file
    assert second is not None and second.request_id == sample.request_ids[1]
    assert sum(1 for _, action in audit_actions(ws) if action == "audit.case_read") == 4

    # Record a finding on the second request.
    assert page.findings_view.toPlainText() == "No finding recorded yet."
    page.outcome_combo.setCurrentIndex(1)  # not compliant
    page.note_edit.setPlainText("Attestations were given after the search.")
    assert page.record_button.isEnabled()
    with qtbot.waitSignals([page.finding_recorded, page.case_file_shown], timeout=WAIT):
        qtbot.mouseClick(page.record_button, Qt.MouseButton.LeftButton)
    assert shown_messages.boxes == []
    assert "request 2 of 3" in page.walk_title.text()  # stays on the request
    assert page.walk_title.text().endswith(" - audited")
    assert page.progress_label.text() == "1 of 3 audited"
    assert page.sample_table.item(0, 5).text() == "1 of 3"
    assert "NOT compliant - Attestations were given after the search." in (
        page.findings_view.toPlainText()
    )
    assert page.note_edit.toPlainText() == "" and not page.record_button.isEnabled()
    assert ("ada", "audit.finding_recorded") in audit_actions(ws)
    page.close()

    # Reopen: the sample, its progress and the finding are there.
    again = make_page(qtbot, ws, admin)
    assert again.sample_table.item(0, 5).text() == "1 of 3"
    with qtbot.waitSignal(again.case_file_shown, timeout=WAIT):
        again.select_sample(sample.sample_id)
    assert "request 1 of 3" in again.walk_title.text()
    assert again.findings_view.toPlainText() == "No finding recorded yet."
    click_and_wait(qtbot, again, again.next_button)
    assert "Attestations were given after the search." in again.findings_view.toPlainText()


def test_drawing_from_an_empty_period_is_refused_plainly(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser, shown_messages: ShownMessages
) -> None:
    page = make_page(qtbot, ws, admin)
    page.seed_edit.setText("1")
    qtbot.mouseClick(page.draw_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(shown_messages.texts), timeout=WAIT)
    assert page.sample_table.rowCount() == 0 and page.draw_button.isEnabled()
    assert "nothing to draw" in shown_messages.texts[-1]
    assert "nothing to draw" in page.draw_state.text()


def test_tools_menu_shows_the_page_to_supervisors_and_administrators(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser, examiner: SignedInUser,
    make_main_window: Any,
) -> None:
    from app.ui.admin.menu import RANDOM_AUDIT_PAGE

    window = make_main_window(admin, ensure_model=False)
    action = window.tool_actions[RANDOM_AUDIT_PAGE]
    assert action.isVisible() and action.isEnabled()
    action.trigger()
    assert isinstance(window.stack.currentWidget(), QtRandomAuditPage)
    supervisor = make_main_window(examiner, ensure_model=False)  # examiner and supervisor
    assert supervisor.tool_actions[RANDOM_AUDIT_PAGE].isVisible()
