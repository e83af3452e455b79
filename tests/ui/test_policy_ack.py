"""Policy acknowledgment: an examiner who has not acknowledged the policy in force is asked at
sign-in and after unlocking; acknowledging records the exact file; the next sign-in does not ask;
declining keeps the session while searches stay refused; Help > Policy in force shows it."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pytestqt.qtbot import QtBot
from shell_support import ADMIN_PASSWORD, EXAMINER_PASSWORD, ShownMessages, audit_actions

from app.casework import accounts
from app.casework.accounts import SignedInUser
from app.casework.workstation import Workstation
from app.policy.gates import evaluate_can_search
from app.ui.admin.qt_policy_ack import (
    ACKNOWLEDGE_TEXT,
    QtPolicyAcknowledgmentDialog,
    has_acknowledged,
    needs_acknowledgment,
)
from app.ui.application import SessionFlow
from app.ui.qt_login import QtLoginDialog
from app.ui.qt_main_window import QtMainWindow


def sign_in(qtbot: QtBot, flow: SessionFlow, username: str, password: str) -> QtMainWindow:
    login = flow.dialog
    assert isinstance(login, QtLoginDialog)
    with qtbot.waitSignal(flow.window_opened) as opened:
        login.username_edit.setText(username)
        login.password_edit.setText(password)
        login.sign_in_button.click()
    window = opened.args[0]
    assert isinstance(window, QtMainWindow)
    return window


def ack_problems(ws: Workstation, user: SignedInUser) -> list[str]:
    facts = accounts.examiner_facts(ws, user_id=user.user_id)
    decision = evaluate_can_search(facts, ws.profile, ws.now().date())
    return [r for r in decision.reasons if "acknowledg" in r]


def test_examiner_is_asked_once_and_the_acknowledgment_is_recorded(
    qtbot: QtBot, ws: Workstation, examiner: SignedInUser, session_flow: SessionFlow
) -> None:
    flow = session_flow
    flow.start()
    window = sign_in(qtbot, flow, "eve", EXAMINER_PASSWORD)
    dialog = flow.policy_dialog
    assert isinstance(dialog, QtPolicyAcknowledgmentDialog)
    assert dialog.isVisible()
    profile = ws.profile
    text = dialog.text_view.toPlainText()
    assert profile.title in dialog.title_label.text()
    assert profile.version in dialog.title_label.text()
    assert profile.report.advisory in text
    assert all(p.text in text for p in profile.purposes)
    assert profile.sha256 in text
    assert dialog.confirm_box.text() == ACKNOWLEDGE_TEXT
    assert ack_problems(ws, examiner)  # not acknowledged yet: the gate says so

    assert not dialog.acknowledge_button.isEnabled()  # nothing recorded without the tick
    dialog.acknowledge_button.click()
    assert not has_acknowledged(ws, examiner)
    dialog.confirm_box.setChecked(True)
    assert dialog.acknowledge_button.isEnabled()
    dialog.acknowledge_button.click()
    assert dialog.acknowledged
    assert has_acknowledged(ws, examiner)
    assert ack_problems(ws, examiner) == []
    assert ("eve", "policy.acknowledged") in audit_actions(ws)

    window.action_sign_out.trigger()
    sign_in(qtbot, flow, "eve", EXAMINER_PASSWORD)
    assert flow.policy_dialog is None  # acknowledged already: not asked again


def test_declining_keeps_the_session_and_unlocking_asks_again(
    qtbot: QtBot, ws: Workstation, examiner: SignedInUser, session_flow: SessionFlow,
    shown_messages: ShownMessages,
) -> None:
    flow = session_flow
    flow.start()
    window = sign_in(qtbot, flow, "eve", EXAMINER_PASSWORD)
    dialog = flow.policy_dialog
    assert isinstance(dialog, QtPolicyAcknowledgmentDialog)
    dialog.close_button.click()
    assert not dialog.acknowledged
    assert window.isVisible()  # the session goes on
    assert needs_acknowledgment(ws, examiner)
    assert ack_problems(ws, examiner)  # searches stay refused

    window.lock_screen()
    window.lock_page.unlock_requested.emit(EXAMINER_PASSWORD)
    assert not window.is_locked()
    asked = [
        w for w in window.findChildren(QtPolicyAcknowledgmentDialog)
        if w.isVisible() and w is not dialog
    ]
    assert len(asked) == 1


def test_administrator_is_not_asked_and_help_menu_shows_the_policy(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser, session_flow: SessionFlow
) -> None:
    flow = session_flow
    flow.start()
    window = sign_in(qtbot, flow, "ada", ADMIN_PASSWORD)
    assert flow.policy_dialog is None
    assert window.action_policy in window.help_menu.actions()
    window.action_policy.trigger()
    shown = [w for w in window.findChildren(QtPolicyAcknowledgmentDialog) if w.isVisible()]
    assert len(shown) == 1
    assert ws.profile.title in shown[0].title_label.text()
    assert not shown[0].acknowledge_button.isVisible()  # nothing for a non-examiner to sign
    assert "Only examiners" in shown[0].state_label.text()
