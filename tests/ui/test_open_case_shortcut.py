"""Ctrl+O in the main window opens a case by its request number (or id): the case page is shown;
an unknown number is refused with a plain sentence; Cancel does nothing."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator

import pytest
from case_ui_support import qualify
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QInputDialog
from pytestqt.qtbot import QtBot
from shell_support import ShownMessages

from app.casework.accounts import SignedInUser
from app.casework.workstation import Workstation
from app.ui.case_screens import CaseScreens, install_case_screens
from app.ui.case_views import IntakeForm
from app.ui.qt_case_page import QtCasePage
from app.ui.qt_main_window import QtMainWindow

WAIT = 30_000


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, bool]]]:
    """What the "Open case" question answers, one per Ctrl+O; the questions asked are kept."""
    queued: list[tuple[str, bool]] = []
    asked: list[str] = []

    def get_text(parent: object, title: str, label: str, *args: object, **kwargs: object
                 ) -> tuple[str, bool]:
        asked.append(f"{title}: {label}")
        return queued.pop(0)

    monkeypatch.setattr(QInputDialog, "getText", staticmethod(get_text))
    yield queued
    assert not queued, "every prepared answer was asked for"
    assert all(question.startswith("Open case") for question in asked)


def ready_window(qtbot: QtBot, make_main_window: Callable[..., object], user: SignedInUser
                 ) -> tuple[QtMainWindow, CaseScreens]:
    window = make_main_window(user, ensure_model=False)
    assert isinstance(window, QtMainWindow)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    screens = install_case_screens(window)
    assert isinstance(screens, CaseScreens)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT)
    return window, screens


def test_ctrl_o_opens_a_case_by_its_request_number(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser, examiner: SignedInUser,
    make_main_window: Callable[..., object], shown_messages: ShownMessages,
    answers: list[tuple[str, bool]],
) -> None:
    qualify(ws, admin, examiner)
    window, screens = ready_window(qtbot, make_main_window, examiner)
    request_id = screens.desk.create_request(IntakeForm(
        case_number="2026-CR-0101", requesting_officer="Det. Ray", requesting_agency="PD",
        purpose_code=ws.profile.purposes[0].code, offense="Burglary", narrative="Door camera.",
        probe_source="agency_personnel", probe_obtained_how="Exported by Det. Ray.",
        attests_lawful_source=True, attests_not_protected_basis=True,
        attests_actual_subject=True,
    ))
    number = screens.desk.request(request_id).request_number
    assert window.case_actions["open_case"].shortcut().toString() == "Ctrl+O"
    assert window.current_page_key() == "queue"

    answers.append(("", False))  # Cancel: nothing happens
    qtbot.keyClick(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    assert not answers and window.current_page_key() == "queue"

    answers.append(("REQ-1999-999999", True))  # unknown: a plain refusal, no page
    before = len(shown_messages.texts)
    qtbot.keyClick(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(shown_messages.texts) > before, timeout=WAIT)
    refusal = shown_messages.texts[-1]
    assert "REQ-1999-999999" in refusal and "Traceback" not in refusal
    assert window.current_page_key() == "queue"

    answers.append((f"  {number.lower()} ", True))  # as typed: spaces and lower case are fine
    qtbot.keyClick(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: isinstance(window.stack.currentWidget(), QtCasePage), timeout=WAIT)
    page = window.stack.currentWidget()
    assert isinstance(page, QtCasePage) and page.request_id == request_id
    qtbot.waitUntil(lambda: page.state is not None, timeout=WAIT)
    assert "2026-CR-0101" in page.summary.title.text()

    window.show_page("queue")
    answers.append((str(request_id), True))  # by its id too; the open page is reused
    qtbot.keyClick(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is page, timeout=WAIT)
