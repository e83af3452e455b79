"""The administration pages: users, roles, unlock and training through the dialogs; the audit log
viewer's filters, paging, verification (intact, then tampered) and export."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget
from pytestqt.qtbot import QtBot
from shell_support import ShownMessages
from sqlalchemy import text

from app.casework import accounts, audit_export
from app.casework.accounts import SignedInUser
from app.casework.workstation import Workstation
from app.errors import AuthenticationError
from app.policy.roles import Role
from app.records.audit import append_event, iter_events
from app.ui.admin.qt_audit_log_page import QtAuditLogPage
from app.ui.admin.qt_user_admin_page import QtUserAdminPage
from app.ui.admin.qt_user_dialogs import (
    QtAddUserDialog,
    QtResetPasswordDialog,
    QtRolesDialog,
    QtTrainingDialog,
    qdate,
)

PASSWORD = "staple battery horse"
START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
CASE_EVENTS = 36


def last_event(ws: Workstation) -> Any:
    with ws.database.session(read_only=True) as session:
        return next(iter_events(session, newest_first=True, limit=1))


@pytest.fixture
def clocked(ws: Workstation, fake_clock: Any) -> Any:
    ws.clock = fake_clock
    return fake_clock


@pytest.fixture
def user_page(
    qtbot: QtBot, ws: Workstation, clocked: Any, admin: SignedInUser,
    shown_messages: ShownMessages,
) -> QtUserAdminPage:
    page = QtUserAdminPage(ws, admin)
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    return page


def add_examiner(ws: Workstation, admin: SignedInUser, name: str = "ivy") -> SignedInUser:
    accounts.create_user(
        ws, by=admin, username=name, display_name=f"{name.title()} Examiner",
        password=PASSWORD, roles=[Role.EXAMINER],
    )
    return accounts.sign_in(ws, username=name, password=PASSWORD)


# ------------------------------------------------------------------------------ user admin
def test_add_user_through_the_dialog(
    qtbot: QtBot, ws: Workstation, user_page: QtUserAdminPage, shown_messages: ShownMessages
) -> None:
    qtbot.mouseClick(user_page.add_button, Qt.MouseButton.LeftButton)
    dialog = user_page.dialog
    assert isinstance(dialog, QtAddUserDialog) and dialog.isVisible()
    qtbot.keyClicks(dialog.username_edit, "Zoe")
    qtbot.keyClicks(dialog.display_edit, "Zoe Zeta")
    dialog.role_boxes[Role.EXAMINER].setChecked(False)
    dialog.role_boxes[Role.SUPERVISOR].setChecked(True)
    qtbot.keyClicks(dialog.password_fields.password_edit, PASSWORD)
    qtbot.keyClicks(dialog.password_fields.repeat_edit, PASSWORD + "x")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and "differ" in dialog.error_text  # refused before casework
    dialog.password_fields.repeat_edit.setText(PASSWORD)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert user_page.dialog is None
    created = user_page.selected_user()
    assert created is not None and created.username == "zoe"
    assert created.roles == frozenset({Role.SUPERVISOR})
    row = user_page.model.row_of(created.user_id)
    assert user_page.model.index(row, 2).data() == "Supervisor"
    event = last_event(ws)
    assert (event.action, event.actor) == ("user.created", "ada")
    assert accounts.sign_in(ws, username="zoe", password=PASSWORD).username == "zoe"
    # Casework's refusal stays in the dialog, as a plain sentence.
    dialog2 = user_page.add_user()
    assert isinstance(dialog2, QtAddUserDialog)
    dialog2.username_edit.setText("zoe")
    dialog2.password_fields.set_both(PASSWORD)
    assert dialog2.try_submit() is False
    assert dialog2.error_text == "A user named 'zoe' already exists."
    dialog2.reject()
    assert shown_messages.boxes == []


def test_change_roles_and_the_last_administrator_rule(
    qtbot: QtBot, ws: Workstation, user_page: QtUserAdminPage, admin: SignedInUser
) -> None:
    ivy = add_examiner(ws, admin)
    user_page.refresh()
    assert user_page.select_user(ivy.user_id)
    dialog = user_page.edit_roles()
    assert isinstance(dialog, QtRolesDialog)
    assert dialog.role_boxes[Role.EXAMINER].isChecked()
    dialog.role_boxes[Role.SUPERVISOR].setChecked(True)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    shown = user_page.selected_user()
    assert shown is not None and shown.roles == {Role.EXAMINER, Role.SUPERVISOR}
    assert last_event(ws).details_dict["after"] == ["examiner", "supervisor"]
    # The only administrator cannot lose the role: the dialog shows why and stays open.
    user_page.select_user(admin.user_id)
    dialog = user_page.edit_roles()
    assert isinstance(dialog, QtRolesDialog)
    dialog.role_boxes[Role.ADMINISTRATOR].setChecked(False)
    dialog.role_boxes[Role.EXAMINER].setChecked(True)
    assert dialog.try_submit() is False
    assert "last active administrator" in dialog.error_text
    assert dialog.isVisible()
    dialog.reject()


def test_unlock_a_locked_account(
    qtbot: QtBot, ws: Workstation, user_page: QtUserAdminPage, admin: SignedInUser,
    shown_messages: ShownMessages,
) -> None:
    ivy = add_examiner(ws, admin)
    for _ in range(ws.settings.lockout_failures):
        with pytest.raises(AuthenticationError):
            accounts.sign_in(ws, username="ivy", password="not the password")
    user_page.refresh(select_user_id=ivy.user_id)
    row = user_page.model.row_of(ivy.user_id)
    assert user_page.model.index(row, 4).data() == "2026-03-02 09:45"
    assert user_page.unlock_button.isEnabled()
    qtbot.mouseClick(user_page.unlock_button, Qt.MouseButton.LeftButton)
    assert shown_messages.texts == ["Ivy Examiner (ivy) can sign in again."]
    assert user_page.model.index(row, 4).data() == ""
    assert not user_page.unlock_button.isEnabled()
    assert last_event(ws).action == "account.unlocked"
    assert accounts.sign_in(ws, username="ivy", password=PASSWORD).user_id == ivy.user_id


def test_add_training_updates_the_table_and_the_reminders(
    qtbot: QtBot, ws: Workstation, user_page: QtUserAdminPage, admin: SignedInUser,
    clocked: Any,
) -> None:
    ivy = add_examiner(ws, admin)
    user_page.refresh(select_user_id=ivy.user_id)
    reminders = [user_page.reminder_list.item(i).text()
                 for i in range(user_page.reminder_list.count())]
    assert reminders == ["Ivy Examiner (ivy): No training record: the examiner cannot search "
                         "until trained."]
    assert "1 cannot search now" in user_page.reminder_label.text()
    today = clocked().date()
    dialog = user_page.add_training()
    assert isinstance(dialog, QtTrainingDialog)
    dialog.course_combo.setCurrentText("Facial comparison")
    dialog.completed_edit.setDate(qdate(today - timedelta(days=100)))
    dialog.expires_edit.setDate(qdate(today - timedelta(days=101)))
    assert dialog.try_submit() is False
    assert dialog.error_text == "The expiry date cannot be before the completion date."
    dialog.expires_edit.setDate(qdate(today + timedelta(days=10)))
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    row = user_page.model.row_of(ivy.user_id)
    expected_day = (today + timedelta(days=10)).isoformat()
    assert user_page.model.index(row, 5).data() == f"{expected_day} (10 days left)"
    assert user_page.reminder_list.item(0).text() == (
        f"Ivy Examiner (ivy): Training expires on {expected_day} (in 10 days)."
    )
    assert "Facial comparison: completed" in user_page.details.toPlainText()
    assert last_event(ws).action == "training.recorded"
    # Moving the completion date keeps the validity period.
    again = user_page.add_training()
    assert isinstance(again, QtTrainingDialog)
    assert again.course_combo.currentText() == "Facial comparison"
    before = again.expires_edit.date()
    again.completed_edit.setDate(again.completed_edit.date().addDays(-7))
    assert again.expires_edit.date() == before.addDays(-7)
    again.reject()


def test_deactivate_asks_first_then_reset_password(
    qtbot: QtBot, ws: Workstation, user_page: QtUserAdminPage, admin: SignedInUser,
    shown_messages: ShownMessages,
) -> None:
    ivy = add_examiner(ws, admin)
    user_page.refresh(select_user_id=ivy.user_id)
    assert user_page.active_button.text() == "&Deactivate"
    user_page.toggle_active()  # the question is answered with Ok, i.e. not Yes: nothing happens
    assert "Deactivate Ivy Examiner (ivy)?" in shown_messages.texts[-1]
    assert user_page.selected_user().active  # type: ignore[union-attr]
    shown_messages.answer = QMessageBox.StandardButton.Yes
    user_page.toggle_active()
    assert not user_page.selected_user().active  # type: ignore[union-attr]
    assert user_page.active_button.text() == "&Activate"
    assert last_event(ws).action == "user.deactivated"
    user_page.toggle_active()
    assert user_page.selected_user().active  # type: ignore[union-attr]
    dialog = user_page.reset_password()
    assert isinstance(dialog, QtResetPasswordDialog)
    dialog.password_fields.set_both("short")
    assert dialog.try_submit() is False and "too short" in dialog.error_text
    dialog.password_fields.set_both("a brand new password")
    assert dialog.try_submit() is True
    assert shown_messages.texts[-1] == "The password of Ivy Examiner (ivy) has been reset."
    assert accounts.sign_in(ws, username="ivy", password="a brand new password")


def test_user_page_for_a_non_administrator_shows_the_refusal(
    qtbot: QtBot, ws: Workstation, examiner: SignedInUser, shown_messages: ShownMessages
) -> None:
    page = QtUserAdminPage(ws, examiner)
    qtbot.addWidget(page)
    assert shown_messages.texts == ["Only an active administrator can list users."]
    assert page.model.rowCount() == 0


# ------------------------------------------------------------------------------ audit log
@pytest.fixture
def case_log(ws: Workstation, clocked: Any, admin: SignedInUser, examiner: SignedInUser) -> None:
    with ws.database.session() as session:
        for i in range(CASE_EVENTS):
            append_event(
                session,
                actor="eve",
                action="request.searched" if i % 2 else "request.opened",
                object_type="request",
                object_id=str(i // 2),
                details={"case_number": f"2026-{i // 2:03d}"},
                occurred_at=START - timedelta(days=CASE_EVENTS - i),
            )


@pytest.fixture
def audit_page(
    qtbot: QtBot, ws: Workstation, examiner: SignedInUser, case_log: None, tmp_path: Path,
    shown_messages: ShownMessages,
) -> QtAuditLogPage:
    exports = tmp_path / "exports"
    exports.mkdir()
    page = QtAuditLogPage(
        ws, examiner, page_size=10,
        choose_export_path=lambda parent, fmt, name: exports / name,
    )
    qtbot.addWidget(page)
    page.resize(1200, 700)
    page.show()
    return page


def shown_actors(page: QtAuditLogPage) -> set[str]:
    return {page.model.index(r, 2).data() for r in range(page.model.rowCount())}


def test_audit_page_filters_and_pages(
    qtbot: QtBot, ws: Workstation, audit_page: QtAuditLogPage, shown_messages: ShownMessages
) -> None:
    bar = audit_page.filter_bar
    total = CASE_EVENTS + 3  # + ada created, eve created, eve signed in
    assert audit_page.model.page.total == total
    assert audit_page.page_label.text() == (
        f"Events 1-10 of {total} (page 1 of 4, newest first)"
    )
    assert not audit_page.previous_button.isEnabled() and audit_page.next_button.isEnabled()
    # The newest event is selected and shown as JSON.
    shown = json.loads(audit_page.details.toPlainText())
    assert shown["sequence"] == total and shown["action"] == "request.searched"
    qtbot.mouseClick(audit_page.last_button, Qt.MouseButton.LeftButton)
    assert audit_page.page_label.text().startswith(f"Events 31-{total} of {total} (page 4 of 4")
    assert audit_page.model.index(audit_page.model.rowCount() - 1, 0).data() == "1"
    qtbot.mouseClick(audit_page.previous_button, Qt.MouseButton.LeftButton)
    assert audit_page.model.page.page_number == 3
    # User filter from the list of actors in the log.
    assert [bar.user_combo.itemText(i) for i in range(bar.user_combo.count())] == [
        "Anyone", "ada", "eve",
    ]
    bar.select_user("ada")
    bar.apply_button.click()
    assert shown_actors(audit_page) == {"ada"} and audit_page.model.page.total == 2
    # A group of actions ("request.*"), one action, and the case number.
    bar.select_user(None)
    assert bar.action_combo.findText("request.* (all 2)") >= 0
    bar.select_action("request.", prefix=True)
    bar.apply_button.click()
    assert audit_page.model.page.total == CASE_EVENTS
    bar.select_action("request.opened")
    bar.apply_button.click()
    assert audit_page.model.page.total == CASE_EVENTS // 2
    bar.select_action(None)
    qtbot.keyClicks(bar.case_edit, "2026-004")
    qtbot.keyClick(bar.case_edit, Qt.Key.Key_Return)
    assert [audit_page.model.index(r, 4).data() for r in range(2)] == ["request 4"] * 2
    assert audit_page.model.page.total == 2
    # A date range: whole UTC days, both ends included.
    bar.case_edit.clear()
    first = (START - timedelta(days=10)).date()
    bar.set_date_range(first, first + timedelta(days=2))
    bar.apply_button.click()
    assert audit_page.model.page.total == 3
    bar.set_date_range(first, first - timedelta(days=1))
    bar.apply_button.click()  # refused plainly, the page stays as it was
    assert audit_page.model.page.total == 3
    assert shown_messages.texts == ["The start of the date range must be before its end."]
    bar.clear_button.click()
    assert audit_page.model.page.total == total
    assert audit_page.page_label.text().startswith("Events 1-10 of")


def test_verify_intact_then_tampered(
    qtbot: QtBot, ws: Workstation, audit_page: QtAuditLogPage
) -> None:
    with qtbot.waitSignal(audit_page.verified, timeout=10000):
        qtbot.mouseClick(audit_page.verify_button, Qt.MouseButton.LeftButton)
    total = CASE_EVENTS + 3
    assert audit_page.verify_label.text() == (
        f"Intact: {total} events checked, each linked to the one before."
    )
    assert not audit_page.show_broken_button.isVisible()
    # the verification is itself an event, and the page shows it at once
    assert audit_page.model.index(0, 3).data() == "audit.verified"
    tampered = 12
    with ws.database.session() as session:
        session.execute(
            text("UPDATE audit_events SET details = :d WHERE sequence = :s"),
            {"d": '{"case_number":"2026-999"}', "s": tampered},
        )
    with qtbot.waitSignal(audit_page.verified, timeout=10000):
        audit_page.verify_chain()
    assert audit_page.verify_label.text() == (
        f"Chain broken at event {tampered}. Event {tampered} has been altered: its contents no "
        "longer match its hash."
    )
    assert audit_page.show_broken_button.isVisible()
    qtbot.mouseClick(audit_page.show_broken_button, Qt.MouseButton.LeftButton)
    index = audit_page.selected_row_index()
    assert audit_page.model.index(index.row(), 0).data() == str(tampered)
    assert audit_page.model.index(index.row(), 0).data(Qt.ItemDataRole.BackgroundRole) is not None
    assert json.loads(audit_page.details.toPlainText())["details"] == {"case_number": "2026-999"}


def test_export_writes_the_filtered_range(
    qtbot: QtBot, ws: Workstation, audit_page: QtAuditLogPage, shown_messages: ShownMessages
) -> None:
    audit_page.filter_bar.select_action("request.opened")
    audit_page.filter_bar.apply_button.click()
    with qtbot.waitSignal(audit_page.exported, timeout=10000) as done:
        qtbot.mouseClick(audit_page.export_json_button, Qt.MouseButton.LeftButton)
    result = done.args[0]
    document = json.loads(result.path.read_text(encoding="utf-8"))
    assert document["filters"] == {"action": "request.opened"}
    assert document["event_count"] == CASE_EVENTS // 2 == result.events
    digest = hashlib.sha256(result.path.read_bytes()).hexdigest()
    assert last_event(ws).details_dict["sha256"] == digest
    assert f"SHA-256 of the file: {digest}" in shown_messages.texts[-1]
    assert audit_page.model.index(0, 3).data() == "request.opened"  # the filter stays
    with qtbot.waitSignal(audit_page.exported, timeout=10000) as done:
        audit_page.export("csv")
    assert done.args[0].path.suffix == ".csv"
    assert done.args[0].path.read_text(encoding="utf-8").count("request.opened") == 18
    assert "withheld" not in shown_messages.texts[-1]  # nothing under blind review here


def test_export_message_says_why_first_findings_were_withheld(
    qtbot: QtBot,
    audit_page: QtAuditLogPage,
    shown_messages: ShownMessages,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The count of withheld events comes from the casework (tested there with a real blind
    review); the page must say it in plain words."""
    real = audit_export.export_filtered

    def with_two_withheld(*args: Any, **kwargs: Any) -> audit_export.ExportResult:
        return dataclasses.replace(real(*args, **kwargs), withheld_events=2)

    monkeypatch.setattr(audit_export, "export_filtered", with_two_withheld)
    with qtbot.waitSignal(audit_page.exported, timeout=10000) as done:
        audit_page.export("json")
    assert done.args[0].withheld_events == 2
    assert (
        "2 comparison events: the first examiner's findings are withheld until the second "
        "review is finished." in shown_messages.texts[-1]
    )
    assert "marked withheld" in shown_messages.texts[-1]


def test_legal_advisor_reads_but_cannot_export_and_an_examiner_is_refused(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser, case_log: None,
    shown_messages: ShownMessages,
) -> None:
    accounts.create_user(ws, by=admin, username="lee", display_name="Lee Legal",
                         password=PASSWORD, roles=[Role.LEGAL_ADVISOR])
    lee = accounts.sign_in(ws, username="lee", password=PASSWORD)
    page = QtAuditLogPage(ws, lee)
    qtbot.addWidget(page)
    assert page.model.page.total > CASE_EVENTS
    assert not page.export_csv_button.isEnabled() and not page.export_json_button.isEnabled()
    assert "export" in page.export_csv_button.toolTip()
    ivy = add_examiner(ws, admin)
    refused = QtAuditLogPage(ws, ivy)
    qtbot.addWidget(refused)
    assert shown_messages.texts[-1].startswith("Only an active")
    assert refused.model.rowCount() == 0


def test_pages_are_keyboard_reachable_with_tooltips(
    user_page: QtUserAdminPage, audit_page: QtAuditLogPage
) -> None:
    for page in (user_page, audit_page):
        buttons = page.findChildren(QPushButton)
        assert len(buttons) >= 7
        for button in buttons:
            assert button.toolTip(), button.text()
            assert "&" in button.text(), button.text()  # an Alt+letter mnemonic
            assert button.focusPolicy() in (Qt.FocusPolicy.StrongFocus, Qt.FocusPolicy.TabFocus)
        letters = [b.text()[b.text().index("&") + 1].lower() for b in buttons
                   if b.isVisibleTo(page)]
        assert len(letters) == len(set(letters)), letters
    # Tab goes from the filters to the table, the details, then the buttons below.
    stops = tab_stops(audit_page.filter_bar.clear_button, 6)
    assert stops[:3] == [
        audit_page.filter_bar.clear_button, audit_page.table, audit_page.details,
    ]
    assert audit_page.next_button in stops  # First/Previous are disabled on the first page
    user_page.select_user(user_page.model.users[0].user_id)
    stops = tab_stops(user_page.add_button, 10)
    assert stops[:3] == [user_page.add_button, user_page.roles_button, user_page.active_button]
    assert stops.index(user_page.table) < stops.index(user_page.details)
    assert stops.index(user_page.details) < stops.index(user_page.reminder_list)


def tab_stops(start: QWidget, count: int) -> list[QWidget]:
    """The widgets Tab visits from ``start`` (focusable by Tab, visible and enabled)."""
    stops = [start]
    widget = start.nextInFocusChain()
    while len(stops) < count and widget is not start:
        tabbable = widget.focusPolicy() in (Qt.FocusPolicy.StrongFocus, Qt.FocusPolicy.TabFocus,
                                            Qt.FocusPolicy.WheelFocus)
        if tabbable and widget.isVisible() and widget.isEnabled():
            stops.append(widget)
        widget = widget.nextInFocusChain()
    return stops


# ------------------------------------------------------------------------------ main window
def test_tools_menu_opens_the_pages_for_the_right_roles(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser, examiner: SignedInUser,
    make_main_window: Any,
) -> None:
    window = make_main_window(admin, ensure_model=False)
    users_action = window.tool_actions["users"]
    audit_action = window.tool_actions["audit_log"]
    assert users_action.isVisible() and users_action.isEnabled()
    assert audit_action.isVisible() and audit_action.isEnabled()
    users_action.trigger()
    assert isinstance(window.stack.currentWidget(), QtUserAdminPage)
    assert window.windowTitle().endswith("Users, roles and training")
    audit_action.trigger()
    page = window.stack.currentWidget()
    assert isinstance(page, QtAuditLogPage)
    before = page.model.page.total
    accounts.set_roles(ws, by=admin, user_id=examiner.user_id, roles=[Role.SUPERVISOR])
    users_action.trigger()
    audit_action.trigger()  # the same page, read again
    assert window.stack.currentWidget() is page
    assert page.model.page.total == before + 1
    # A supervisor sees the audit log only; an examiner neither page.
    supervisor_window = make_main_window(examiner, ensure_model=False)
    assert not supervisor_window.tool_actions["users"].isVisible()
    assert supervisor_window.tool_actions["audit_log"].isVisible()
    ivy = add_examiner(ws, admin)
    examiner_window = make_main_window(ivy, ensure_model=False)
    assert not examiner_window.tool_actions["users"].isVisible()
    assert not examiner_window.tool_actions["audit_log"].isVisible()
    assert not examiner_window.tool_actions["audit_log"].isEnabled()
