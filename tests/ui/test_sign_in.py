"""First start and sign-in: the wizard creates the administrator and opens the main window; the
login dialog shows casework's refusals inline, including the lockout; Sign out returns to it."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot
from shell_support import ADMIN_PASSWORD, audit_actions

from app.casework.accounts import SignedInUser
from app.casework.workstation import Workstation
from app.policy.roles import Role
from app.ui.application import SessionFlow
from app.ui.qt_first_run import QtFirstRunWizard
from app.ui.qt_login import QtLoginDialog
from app.ui.qt_main_window import QtMainWindow, SessionEnd
from app.ui.qt_password_form import password_strength_hint


def fill_administrator(wizard: QtFirstRunWizard, *, password: str, repeat: str | None = None
                       ) -> None:
    page = wizard.administrator_page
    page.username_edit.setText("Ada")
    page.display_name_edit.setText("Ada Admin")
    page.passwords.password_edit.setText(password)
    page.passwords.repeat_edit.setText(password if repeat is None else repeat)


def test_first_run_wizard_creates_the_administrator_and_opens_the_main_window(
    qtbot: QtBot, ws: Workstation, session_flow: SessionFlow
) -> None:
    flow = session_flow
    flow.start()
    wizard = flow.dialog
    assert isinstance(wizard, QtFirstRunWizard)
    assert wizard.isVisible()
    assert wizard.currentPage() is wizard.welcome_page
    welcome = wizard.welcome_page.findChildren(object)
    assert any("investigative lead only" in str(getattr(w, "text", lambda: "")()).lower()
               for w in welcome)

    wizard.next()
    page = wizard.administrator_page
    assert wizard.currentPage() is page
    assert not page.isComplete()  # nothing typed: Create is disabled
    fill_administrator(wizard, password="a long enough one", repeat="something else")
    assert not page.isComplete()
    assert "do not match" in page.passwords.match_label.text()

    fill_administrator(wizard, password="short")
    assert page.isComplete()
    assert "Too short" in page.passwords.hint_label.text()
    wizard.next()  # casework refuses: the sentence shows inline and the page stays
    assert wizard.currentPage() is page
    assert page.error_label.isVisible()
    assert "too short" in page.error_label.text()
    assert wizard.user is None

    fill_administrator(wizard, password=ADMIN_PASSWORD)
    assert not page.error_label.isVisible()  # typing clears the old refusal
    wizard.next()
    summary = wizard.summary_page
    assert wizard.currentPage() is summary
    assert wizard.user is not None and wizard.user.username == "ada"
    assert "Ada Admin (ada), administrator" in summary.user_label.text()
    assert str(ws.settings.data_dir) in summary.data_dir_label.text()
    assert summary.database_label.text() == ws.database.display_url
    assert summary.profile_label.text() == f"{ws.profile.title} ({ws.profile.version})"
    qtbot.waitUntil(lambda: "not installed" in summary.model_label.text(), timeout=5000)

    with qtbot.waitSignal(flow.window_opened, timeout=5000) as opened:
        wizard.accept()  # Finish
    window = opened.args[0]
    assert isinstance(window, QtMainWindow)
    assert window.isVisible()
    assert window.user.username == "ada"
    assert window.user.has_role(Role.ADMINISTRATOR)
    assert ("ada", "user.created") in audit_actions(ws)
    assert audit_actions(ws)[-1] == ("ada", "login.success")
    window.shutdown_quietly()


def test_password_hint_follows_the_typing() -> None:
    assert "at least 10" in password_strength_hint("")
    assert "3 more characters" in password_strength_hint("abcdefg")
    assert "1 more character " in password_strength_hint("abcdefghi")
    assert "weak" in password_strength_hint("aaaaaaaaaaaa").lower()
    assert "strong" in password_strength_hint("Correct horse 42 battery!")


def sign_in_with(dialog: QtLoginDialog, username: str, password: str) -> None:
    dialog.username_edit.setText(username)
    dialog.password_edit.setText(password)
    dialog.sign_in_button.click()


def test_login_success_and_failure(qtbot: QtBot, ws: Workstation, admin: SignedInUser) -> None:
    dialog = QtLoginDialog(ws)
    qtbot.addWidget(dialog)
    dialog.open()
    sign_in_with(dialog, "ada", "not the password")
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.isVisible()
    assert dialog.error_label.isVisible()
    assert dialog.error_label.text() == "The user name or password is wrong."
    assert dialog.password_edit.text() == ""  # retype the password, keep the name
    assert dialog.username_edit.text() == "ada"
    sign_in_with(dialog, "nobody", ADMIN_PASSWORD)
    assert dialog.error_label.text() == "The user name or password is wrong."

    with qtbot.waitSignal(dialog.signed_in) as signal:
        sign_in_with(dialog, "ada", ADMIN_PASSWORD)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert signal.args[0].username == "ada"
    assert dialog.user is not None and dialog.user.display_name == "Ada Admin"
    actions = [a for _, a in audit_actions(ws)]
    assert actions[-3:] == ["login.failure", "login.failure", "login.success"]


def test_login_shows_the_lockout(qtbot: QtBot, ws: Workstation, admin: SignedInUser) -> None:
    dialog = QtLoginDialog(ws, username="ada")
    qtbot.addWidget(dialog)
    dialog.open()
    for _ in range(ws.settings.lockout_failures):
        sign_in_with(dialog, "ada", "wrong password")
    assert "locked until" in dialog.error_label.text()
    sign_in_with(dialog, "ada", ADMIN_PASSWORD)  # even the right password waits for the lock
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert "is locked until" in dialog.error_label.text()
    assert dialog.user is None


def test_sign_out_returns_to_the_login_and_quit_ends_the_flow(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser, session_flow: SessionFlow
) -> None:
    flow = session_flow
    flow.start()
    login = flow.dialog
    assert isinstance(login, QtLoginDialog)
    with qtbot.waitSignal(flow.window_opened) as opened:
        sign_in_with(login, "ada", ADMIN_PASSWORD)
    window = opened.args[0]
    window.action_sign_out.trigger()
    assert window.outcome is SessionEnd.SIGNED_OUT
    assert not window.isVisible()
    second = flow.dialog
    assert isinstance(second, QtLoginDialog) and second is not login
    assert second.isVisible()
    with qtbot.waitSignal(flow.window_opened) as opened:
        sign_in_with(second, "ada", ADMIN_PASSWORD)
    window = opened.args[0]
    with qtbot.waitSignal(flow.finished) as finished:
        window.action_quit.trigger()
    assert finished.args == [0]
    assert window.outcome is SessionEnd.QUIT
    actions = [a for _, a in audit_actions(ws)]
    assert actions[-4:] == ["login.success", "logout", "login.success", "logout"]
