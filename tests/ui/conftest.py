"""Fixtures of the GUI shell tests: offscreen Qt, message boxes answered without a modal loop,
a workstation with a first administrator, a signed-in main window."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot
from shell_support import ADMIN_PASSWORD, EXAMINER_PASSWORD, ShownMessages

from app.casework import accounts
from app.casework.accounts import SignedInUser
from app.casework.workstation import Workstation
from app.policy.roles import Role
from app.ui import messages


@pytest.fixture
def shown_messages(monkeypatch: pytest.MonkeyPatch) -> ShownMessages:
    shown = ShownMessages()

    def fake_present(box: QMessageBox) -> int:
        shown.boxes.append((box.windowTitle(), box.text()))
        box.deleteLater()
        return int(shown.answer)

    monkeypatch.setattr(messages, "present", fake_present)
    return shown


@pytest.fixture
def admin(ws: Workstation) -> SignedInUser:
    return accounts.create_first_admin(
        ws, username="ada", display_name="Ada Admin", password=ADMIN_PASSWORD
    )


@pytest.fixture
def examiner(ws: Workstation, admin: SignedInUser) -> SignedInUser:
    created = accounts.create_user(
        ws,
        by=admin,
        username="eve",
        display_name="Eve Examiner",
        password=EXAMINER_PASSWORD,
        roles=[Role.EXAMINER, Role.SUPERVISOR],
    )
    return accounts.sign_in(ws, username=created.username, password=EXAMINER_PASSWORD)


@pytest.fixture
def make_main_window(
    qtbot: QtBot, ws: Workstation, shown_messages: ShownMessages
) -> Iterator[Callable[..., object]]:
    """Build a signed-in main window (closed at the end of the test)."""
    from app.ui.qt_main_window import QtMainWindow

    windows: list[QtMainWindow] = []

    def make(user: SignedInUser, **kwargs: object) -> QtMainWindow:
        window = QtMainWindow(ws, user, **kwargs)  # type: ignore[arg-type]
        qtbot.addWidget(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.shutdown_quietly()


@pytest.fixture
def session_flow(ws: Workstation, shown_messages: ShownMessages) -> Iterator[object]:
    """The application's session flow over the test workstation (no model conversion)."""
    from app.ui.application import SessionFlow

    flow = SessionFlow(ws, ensure_model=False)
    yield flow
    flow.shutdown()
