"""The administrator's Policy profile page: list, select with a reason and a confirmation, the
audited change, and the acknowledgment the signed-in examiner is asked for at once."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot
from shell_support import ADMIN_PASSWORD, ShownMessages, audit_actions

from app.casework import accounts
from app.casework.accounts import SignedInUser
from app.casework.workstation import Workstation
from app.policy.roles import Role
from app.ui.admin.qt_policy_ack import has_acknowledged
from app.ui.admin.qt_policy_profile_page import QtPolicyProfilePage

REASON = "The department adopted the NYPD policy."


def make_page(qtbot: QtBot, ws: Workstation, user: SignedInUser) -> QtPolicyProfilePage:
    page = QtPolicyProfilePage(ws, user)
    qtbot.addWidget(page)
    page.resize(1000, 600)
    page.show()
    return page


def choose_nypd(qtbot: QtBot, page: QtPolicyProfilePage, reason: str = REASON) -> None:
    page.select_key("nypd-2020")
    assert page.select_button.isEnabled()
    qtbot.mouseClick(page.select_button, Qt.MouseButton.LeftButton)
    dialog = page.dialog
    assert dialog is not None
    assert not dialog.ok_button.isEnabled()  # no reason yet
    dialog.reason_edit.setPlainText(reason)
    assert dialog.ok_button.isEnabled()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)


def test_page_lists_the_profiles_and_the_one_in_force(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser
) -> None:
    page = make_page(qtbot, ws, admin)
    assert "NYS MPTC" in page.current_label.text() and "[mptc-2019]" in page.current_label.text()
    keys = [page.table.item(row, 0).text() for row in range(page.table.rowCount())]
    assert {"mptc-2019", "nypd-2020"} <= set(keys)
    assert page.selected_choice() is not None and page.selected_choice().key == "mptc-2019"
    assert not page.select_button.isEnabled()  # already in force
    assert "From the policy_profile setting" in page.selection_label.text()
    assert "Authorized purposes" in page.details.toPlainText()
    page.select_key("nypd-2020")
    assert "Not in force" in page.details.toPlainText()
    assert "New York City Police Department" in page.details.toPlainText()


def test_select_with_reason_and_confirmation_changes_and_audits(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser, shown_messages: ShownMessages
) -> None:
    page = make_page(qtbot, ws, admin)
    shown_messages.answer = QMessageBox.StandardButton.No
    choose_nypd(qtbot, page)
    assert ws.profile.name == "mptc-2019"  # declined at the confirmation
    assert "Make " in shown_messages.texts[-1]

    shown_messages.answer = QMessageBox.StandardButton.Yes
    with qtbot.waitSignal(page.profile_changed, timeout=5000):
        choose_nypd(qtbot, page)
    assert ws.profile.name == "nypd-2020"
    assert "[nypd-2020]" in page.current_label.text()
    assert page.selection_label.text().startswith("Selected by ada on ")
    assert page.problem_label.isHidden()
    assert ("ada", "policy.profile_changed") in audit_actions(ws)
    assert page.ack_dialog is None  # the administrator is not an examiner
    assert "must acknowledge it before their next search" in shown_messages.texts[-1]


def test_examiner_administrator_is_asked_to_acknowledge_at_once(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser, shown_messages: ShownMessages
) -> None:
    accounts.create_user(
        ws, by=admin, username="abe", display_name="Abe Both", password=ADMIN_PASSWORD,
        roles=[Role.ADMINISTRATOR, Role.EXAMINER],
    )
    both = accounts.sign_in(ws, username="abe", password=ADMIN_PASSWORD)
    page = make_page(qtbot, ws, both)
    shown_messages.answer = QMessageBox.StandardButton.Yes
    choose_nypd(qtbot, page)
    dialog = page.ack_dialog
    assert dialog is not None and dialog.isVisible()
    assert "version" in dialog.title_label.text() and ws.profile.title in dialog.title_label.text()
    assert not has_acknowledged(ws, both)
    dialog.confirm_box.setChecked(True)
    qtbot.mouseClick(dialog.acknowledge_button, Qt.MouseButton.LeftButton)
    assert has_acknowledged(ws, both)
    assert ("abe", "policy.acknowledged") in audit_actions(ws)


def test_refusal_for_a_non_administrator_is_shown_and_audited(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser, shown_messages: ShownMessages
) -> None:
    accounts.create_user(
        ws, by=admin, username="sue", display_name="Sue", password=ADMIN_PASSWORD,
        roles=[Role.SUPERVISOR],
    )
    sue = accounts.sign_in(ws, username="sue", password=ADMIN_PASSWORD)
    page = make_page(qtbot, ws, sue)
    shown_messages.answer = QMessageBox.StandardButton.Yes
    choose_nypd(qtbot, page)
    assert ws.profile.name == "mptc-2019"
    assert "Only an active administrator" in shown_messages.texts[-1]
    assert ("sue", "permission.denied") in audit_actions(ws)


def test_tools_menu_opens_the_page_for_administrators_only(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser, examiner: SignedInUser,
    make_main_window: Any, shown_messages: ShownMessages,
) -> None:
    from app.ui.admin.menu import POLICY_PAGE

    window = make_main_window(admin, ensure_model=False)
    action = window.tool_actions[POLICY_PAGE]
    assert action.isVisible() and action.isEnabled()
    action.trigger()
    page = window.stack.currentWidget()
    assert isinstance(page, QtPolicyProfilePage)
    assert "NYS MPTC" in window.profile_label.text()
    shown_messages.answer = QMessageBox.StandardButton.Yes
    choose_nypd(qtbot, page)
    assert window.profile_label.text() == "Policy: NYPD Facial Recognition Policy (" + (
        ws.profile.version + ")"
    )
    other = make_main_window(examiner, ensure_model=False)  # examiner and supervisor
    assert not other.tool_actions[POLICY_PAGE].isVisible()


def test_an_examiner_elsewhere_is_asked_after_the_change_at_the_next_check(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser, examiner: SignedInUser
) -> None:
    from app.casework.policy_choice import select_policy_profile
    from app.ui.admin.qt_policy_ack import needs_acknowledgment

    accounts.acknowledge_policy(
        ws, user=examiner, profile_name=ws.profile.name, profile_version=ws.profile.version,
        profile_sha256=ws.profile.sha256,
    )
    other = Workstation.open(ws.settings)  # the examiner's workstation, already open
    try:
        assert not needs_acknowledgment(other, examiner)
        select_policy_profile(ws, by=admin, name="nypd-2020", reason=REASON)
        assert needs_acknowledgment(other, examiner)
        assert other.profile.name == "nypd-2020"
    finally:
        other.close()
