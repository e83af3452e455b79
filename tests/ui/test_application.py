"""Application start: plugin-path guard, exception handler, exit code 2 when the workstation
cannot open, a whole run through sign-in and Quit, and the GUI under X with cv2 and mediapipe."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from shell_support import ADMIN_PASSWORD, ShownMessages, audit_actions

from app.casework.accounts import SignedInUser
from app.casework.workstation import Workstation
from app.errors import StorageError
from app.ui import application
from app.ui.application import drop_cv2_qt_plugin_paths, install_exception_handler
from app.ui.qt_login import QtLoginDialog
from app.ui.qt_main_window import QtMainWindow

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_qt_plugin_paths_inside_cv2_are_dropped() -> None:
    cv2_plugins = "/venv/lib/python3.11/site-packages/cv2/qt/plugins"
    env = {
        "QT_QPA_PLATFORM_PLUGIN_PATH": cv2_plugins,
        "QT_PLUGIN_PATH": os.pathsep.join(["/usr/lib/qt6/plugins", cv2_plugins]),
        "PATH": "/usr/bin",
    }
    assert drop_cv2_qt_plugin_paths(env) == ["QT_QPA_PLATFORM_PLUGIN_PATH", "QT_PLUGIN_PATH"]
    assert env == {"QT_PLUGIN_PATH": "/usr/lib/qt6/plugins", "PATH": "/usr/bin"}
    own = {"QT_PLUGIN_PATH": "/opt/cv2tools/plugins"}  # a name that merely contains "cv2"
    assert drop_cv2_qt_plugin_paths(own) == []
    assert own == {"QT_PLUGIN_PATH": "/opt/cv2tools/plugins"}


def test_uncaught_exceptions_are_logged_and_shown_plainly(
    qapp: QApplication, shown_messages: ShownMessages, caplog: pytest.LogCaptureFixture
) -> None:
    restore = install_exception_handler()
    try:
        with caplog.at_level(logging.ERROR):
            try:
                raise ZeroDivisionError("division by zero")
            except ZeroDivisionError as exc:
                sys.excepthook(type(exc), exc, exc.__traceback__)
            error = StorageError("The database is read-only.")
            sys.excepthook(StorageError, error, None)
    finally:
        restore()
    assert shown_messages.texts == ["Unexpected error: division by zero",
                                    "The database is read-only."]
    assert not any("Traceback" in text for text in shown_messages.texts)
    logged = [r for r in caplog.records if r.getMessage() == "Uncaught exception"]
    assert logged and logged[0].exc_info is not None and logged[0].exc_info[0] is ZeroDivisionError
    assert sys.excepthook is not None and not isinstance(
        sys.excepthook, application.UncaughtExceptionHandler
    )


def test_a_workstation_that_cannot_open_exits_with_2(
    qapp: QApplication, monkeypatch: pytest.MonkeyPatch, shown_messages: ShownMessages
) -> None:
    monkeypatch.setenv("FRX_POLICY_PROFILE", "no-such-profile")
    assert application.run(["frx-workstation"]) == 2
    assert len(shown_messages.texts) == 1
    assert shown_messages.texts[0].startswith("Policy profile 'no-such-profile' was not found.")
    assert "Traceback" not in shown_messages.texts[0]


def test_run_signs_in_opens_the_window_and_quits(
    qapp: QApplication, ws: Workstation, admin: SignedInUser, shown_messages: ShownMessages,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(application, "QtMainWindow",
                        lambda *a, **k: QtMainWindow(*a, **{**k, "ensure_model": False}))
    seen: list[str] = []

    def drive() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QtLoginDialog) and widget.isVisible() and "login" not in seen:
                seen.append("login")
                widget.username_edit.setText("ada")
                widget.password_edit.setText(ADMIN_PASSWORD)
                widget.sign_in_button.click()
                return
            if isinstance(widget, QtMainWindow) and widget.isVisible() and "window" not in seen:
                seen.append("window")
                widget.action_quit.trigger()
                return

    poll = QTimer()
    poll.timeout.connect(drive)
    poll.start(50)
    # Never hang the suite; and stopped afterwards: a late exit() would end a later test's wait.
    safety = QTimer()
    safety.setSingleShot(True)
    safety.timeout.connect(lambda: QApplication.exit(99))
    safety.start(30000)
    try:
        code = application.run(["frx-workstation"])
    finally:
        poll.stop()
        safety.stop()
    assert code == 0
    assert seen == ["login", "window"]
    assert [a for _, a in audit_actions(ws)][-2:] == ["login.success", "logout"]
    assert qapp.applicationName() == "FRX Examiner Workstation"
    assert not qapp.windowIcon().isNull()


XVFB_SCRIPT = textwrap.dedent(
    """
    import cv2, mediapipe  # first, as the engine does: they must not break Qt under X
    import os, sys
    from PySide6.QtWidgets import QApplication
    from app.ui.application import configure_application, drop_cv2_qt_plugin_paths
    drop_cv2_qt_plugin_paths(os.environ)
    app = QApplication(sys.argv)
    configure_application(app)
    from app.casework import accounts
    from app.casework.workstation import Workstation
    from app.ui.qt_main_window import QtMainWindow
    ws = Workstation.open()
    user = accounts.create_first_admin(ws, username="ada", display_name="Ada Admin",
                                       password="correct horse battery")
    window = QtMainWindow(ws, user, ensure_model=False)
    window.show()
    for _ in range(20):
        app.processEvents()
    image = window.grab().toImage()
    sys.stdout.write(f"{app.platformName()} {image.width()}x{image.height()} "
                     f"{window.isVisible()}\\n")
    window.shutdown_quietly()
    ws.close()
    """
)


def test_gui_runs_under_x_after_cv2_and_mediapipe(tmp_path: Path) -> None:
    xvfb_run = shutil.which("xvfb-run")
    assert xvfb_run, "xvfb-run is missing: install xvfb and xauth (make setup-test does)"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FRX_", "QT_"))}
    env.update({"FRX_DATA_DIR": str(tmp_path / "data"), "QT_QPA_PLATFORM": "xcb",
                "PYTHONPATH": str(REPO_ROOT)})
    result = subprocess.run(
        [xvfb_run, "-a", "-s", "-screen 0 1280x900x24", sys.executable, "-c", XVFB_SCRIPT],
        env=env, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    platform, size, visible = result.stdout.split()
    assert platform == "xcb"
    assert visible == "True"
    width, height = (int(n) for n in size.split("x"))
    assert width >= 800 and height >= 500


def test_session_flow_refuses_plainly_when_the_database_fails(
    qtbot: QtBot, ws: Workstation, shown_messages: ShownMessages,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.casework import accounts

    def broken(_ws: Workstation) -> bool:
        raise StorageError("The database is damaged and cannot be used.")

    monkeypatch.setattr(accounts, "needs_first_admin", broken)
    flow = application.SessionFlow(ws, ensure_model=False)
    with qtbot.waitSignal(flow.finished) as finished:
        flow.start()
    assert finished.args == [2]
    assert shown_messages.texts == ["The database is damaged and cannot be used."]
