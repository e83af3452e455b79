"""The screen lock: idle time or Ctrl+L hides all case content and other windows until the same
user's password; another user can only sign the session out."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout
from pytestqt.qtbot import QtBot
from shell_support import ADMIN_PASSWORD, EXAMINER_PASSWORD, ShownMessages, audit_actions

from app.casework.accounts import SignedInUser
from app.casework.workstation import Workstation
from app.ui import messages
from app.ui.idle_lock import IdleLock
from app.ui.qt_main_window import QtMainWindow, SessionEnd

MakeWindow = Callable[..., QtMainWindow]


def case_dialog(window: QtMainWindow) -> QDialog:
    """A non-modal window showing case content, like a candidate list opened beside the main one."""
    dialog = QDialog(window)
    dialog.setWindowTitle("Candidate list")
    layout = QVBoxLayout(dialog)
    layout.addWidget(QLabel("Case 2026-0042: candidate 1"))
    dialog.show()
    return dialog


def test_idle_time_locks_and_only_the_same_users_password_unlocks(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser, examiner: SignedInUser,
    make_main_window: MakeWindow, shown_messages: ShownMessages
) -> None:
    window = make_main_window(admin, idle_timeout_ms=0, ensure_model=False)
    window.show()
    qtbot.waitExposed(window)
    dialog = case_dialog(window)
    assert dialog.isVisible()

    with qtbot.waitSignal(window.lock_changed, timeout=10000) as locked:
        window.idle_lock.set_timeout_ms(250)  # now a short idle time, injected
        window.idle_lock.start()
    assert locked.args == [True]
    assert window.is_locked()
    assert window.lock_page.isVisible()
    assert not window.home_page.isVisible()  # case content hidden
    assert not window.stack.isVisible()
    assert not dialog.isVisible()  # other windows hidden too
    assert not window.menuBar().isEnabled()
    assert not window.action_verify_audit.isEnabled()
    assert "(locked)" in window.windowTitle()
    assert "Ada Admin" in window.lock_page.who_label.text()

    messages.show_error(window, "Search finished with 12 candidates.")  # held back while locked
    assert shown_messages.texts == []
    late = case_dialog(window)  # a window that opens while locked is hidden at once
    qtbot.waitUntil(lambda: not late.isVisible(), timeout=10000)

    window.lock_page.password_edit.setText("wrong password")
    window.lock_page.unlock_button.click()
    assert window.is_locked()
    assert window.lock_page.error_label.text() == "The user name or password is wrong."
    assert window.lock_page.password_edit.text() == ""

    window.lock_page.password_edit.setText(EXAMINER_PASSWORD)  # another user's password
    qtbot.keyClick(window.lock_page.password_edit, Qt.Key.Key_Return)
    assert window.is_locked() and not dialog.isVisible()

    window.lock_page.password_edit.setText(ADMIN_PASSWORD)
    with qtbot.waitSignal(window.lock_changed) as unlocked:
        window.lock_page.unlock_button.click()
    assert unlocked.args == [False]
    assert not window.is_locked()
    assert window.home_page.isVisible()
    assert dialog.isVisible() and late.isVisible()
    assert window.menuBar().isEnabled() and window.action_verify_audit.isEnabled()
    assert not any(a.isEnabled() for a in window.case_actions.values())  # states restored
    assert shown_messages.texts == ["Search finished with 12 candidates."]
    actions = [a for actor, a in audit_actions(ws) if actor == "ada"]
    assert actions[-4:] == ["session.locked", "session.unlock_failure",
                            "session.unlock_failure", "session.unlocked"]
    assert window.idle_lock.is_active()  # counting again


def test_ctrl_l_locks_at_once(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser, make_main_window: MakeWindow
) -> None:
    window = make_main_window(admin, idle_timeout_ms=0, ensure_model=False)  # no idle lock
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    assert not window.idle_lock.is_active()
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.is_locked()
    assert window.lock_page.password_edit.hasFocus()
    assert audit_actions(ws)[-1] == ("ada", "session.locked")


def test_another_user_can_only_sign_the_session_out(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser, make_main_window: MakeWindow,
    shown_messages: ShownMessages
) -> None:
    window = make_main_window(admin, ensure_model=False)
    window.show()
    dialog = case_dialog(window)
    window.lock_screen()
    shown_messages.answer = shown_messages.answer.No
    window.lock_page.sign_out_button.click()  # asked, answered No: still locked
    assert window.is_locked() and window.outcome is SessionEnd.NONE
    shown_messages.answer = shown_messages.answer.Yes
    with qtbot.waitSignal(window.signed_out):
        window.lock_page.sign_out_button.click()
    assert window.outcome is SessionEnd.SIGNED_OUT
    assert not window.isVisible() and not dialog.isVisible()
    assert shown_messages.texts[0].startswith("Sign out Ada Admin?")
    assert audit_actions(ws)[-1] == ("ada", "logout")


def test_input_anywhere_restarts_the_idle_time(qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QWidget

    widget = QWidget()
    qtbot.addWidget(widget)
    widget.show()
    lock = IdleLock(timeout_ms=60_000)
    fired: list[bool] = []
    lock.idle.connect(lambda: fired.append(True))
    lock.start()
    try:
        lock._last_activity -= 50  # as if nobody had touched anything for 50 s
        assert lock.idle_ms() >= 50_000
        qtbot.mouseMove(widget, QPoint(12, 14))  # real input through the application filter
        assert lock.idle_ms() < 5_000
        lock._last_activity -= 50
        qtbot.keyClick(widget, Qt.Key.Key_A)
        assert lock.idle_ms() < 5_000
        lock._check()  # the timer's check with recent input: counts on, does not fire
        assert fired == [] and lock.is_active()
        lock._last_activity -= 61  # a full timeout of quiet
        lock._check()
        assert fired == [True]
        assert not lock.is_active()  # stops until the unlock starts it again
    finally:
        lock.stop()


def test_idle_lock_fires_after_the_quiet_time_and_can_be_disabled(qtbot: QtBot) -> None:
    lock = IdleLock(timeout_ms=200)
    with qtbot.waitSignal(lock.idle, timeout=10000):
        lock.start()
    disabled = IdleLock(timeout_ms=0)
    disabled.start()
    assert not disabled.is_enabled() and not disabled.is_active()


def test_a_modal_dialog_is_closed_by_the_lock_and_stays_closed(
    qtbot: QtBot, admin: SignedInUser, make_main_window: MakeWindow
) -> None:
    window = make_main_window(admin, ensure_model=False)
    window.show()
    dialog = QDialog(window)
    dialog.setModal(True)
    QVBoxLayout(dialog).addWidget(QLabel("Disseminate report of case 2026-0042 to ..."))
    QTimer.singleShot(100, window.lock_screen)
    result = dialog.exec()  # the lock ends the modal loop as if cancelled
    assert result == QDialog.DialogCode.Rejected
    assert window.is_locked() and not dialog.isVisible()
    window.lock_page.password_edit.setText(ADMIN_PASSWORD)
    window.lock_page.unlock_button.click()
    assert not window.is_locked()
    assert not dialog.isVisible()  # nothing waits for it any more


def test_close_guards_can_keep_the_session_open_but_not_a_locked_one(
    qtbot: QtBot, admin: SignedInUser, make_main_window: MakeWindow,
    shown_messages: ShownMessages
) -> None:
    window = make_main_window(admin, ensure_model=False)
    window.show()
    answers = [False]
    window.add_close_guard(lambda: answers[-1])
    window.action_quit.trigger()
    assert window.isVisible() and window.outcome is SessionEnd.NONE
    window.close()  # the window's close button asks the same guards
    assert window.isVisible() and window.outcome is SessionEnd.NONE
    window.lock_screen()
    shown_messages.answer = shown_messages.answer.Yes
    window.lock_page.sign_out_button.click()  # the other user's way out ignores the guards
    assert window.outcome is SessionEnd.SIGNED_OUT and not window.isVisible()
