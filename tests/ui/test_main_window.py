"""The main window: status bar facts, menus, pages, About, tools, remembered layout."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QSplitter, QWidget
from pytestqt.qtbot import QtBot
from shell_support import ADMIN_PASSWORD, ShownMessages, audit_actions

from app.casework.accounts import SignedInUser
from app.casework.workstation import Workstation
from app.policy.roles import Role
from app.ui.qt_about import QtAboutDialog, about_text
from app.ui.qt_change_password import QtChangePasswordDialog
from app.ui.qt_lead_banner import BANNER_TEXT, QtLeadBanner, set_default_banner_text
from app.ui.qt_main_window import HOME_PAGE, QtMainWindow

MakeWindow = Callable[..., QtMainWindow]


def test_status_bar_shows_user_roles_database_profile_and_model(
    qtbot: QtBot, ws: Workstation, examiner: SignedInUser, make_main_window: MakeWindow
) -> None:
    window = make_main_window(examiner, ensure_model=False)
    window.show()
    assert window.user_label.text() == "User: Eve Examiner"
    assert "eve" in window.user_label.toolTip()
    assert window.roles_label.text() == "Roles: Examiner, Supervisor"
    assert window.database_label.toolTip() == ws.database.display_url
    assert window.database_label.text().endswith(ws.database.display_url[-20:])
    assert len(window.database_label.text()) <= len("Database: ") + 44
    assert window.profile_label.text() == (
        "Policy: NYS MPTC Facial Recognition Model Policy (2019-12)"
    )
    qtbot.waitUntil(lambda: window.model_state is not None, timeout=5000)
    assert window.model_label.text() == "Model: dlib-resnet-v1 (not installed)"
    permanent = [w for w in window.statusBar().findChildren(QLabel) if w.isVisible()]
    assert {window.user_label, window.roles_label, window.database_label,
            window.profile_label, window.model_label} <= set(permanent)


def test_the_default_model_is_installed_on_first_start(
    qtbot: QtBot, admin: SignedInUser, make_main_window: MakeWindow
) -> None:
    window = make_main_window(admin)  # ensure_model=True: the application's default
    with qtbot.waitSignal(window.model_checked, timeout=30000) as checked:
        pass
    assert checked.args[0].installed and checked.args[0].verified
    assert window.model_label.text() == "Model: dlib-resnet-v1 (verified)"
    assert window.model_label.toolTip() == "dlib-resnet-v1 (installed version 1, verified)"


def test_menus_have_the_shell_actions_and_disabled_case_placeholders(
    admin: SignedInUser, make_main_window: MakeWindow
) -> None:
    window = make_main_window(admin, ensure_model=False)
    assert window.action_lock.shortcut().toString() == "Ctrl+L"
    file_texts = [a.text() for a in window.file_menu.actions() if a.text()]
    assert file_texts == ["&Lock screen", "Sign &out", "&Quit"]
    assert set(window.case_actions) >= {"new_request", "case_queue", "search", "compare",
                                        "second_review", "lead_report", "dissemination"}
    assert not any(a.isEnabled() for a in window.case_actions.values())
    assert window.action_verify_audit.isEnabled() and window.action_change_password.isEnabled()
    assert window.action_about.isEnabled()


def test_home_page_has_the_banner_and_pages_can_be_added(
    qtbot: QtBot, admin: SignedInUser, make_main_window: MakeWindow
) -> None:
    window = make_main_window(admin, ensure_model=False)
    window.show()
    banner = window.home_page.banner
    assert isinstance(banner, QtLeadBanner) and banner.text() == BANNER_TEXT
    assert banner.isVisible()
    assert "Welcome, Ada Admin" in window.home_page.greeting_label.text()
    home = window.home_page.body_label.text()
    assert "Tools menu: users, roles and training" in home and "policy profile" in home
    assert "will appear" not in home  # an administrator has no case queue: say so plainly

    queue = QWidget()
    window.add_page("queue", queue, title="Case queue")
    action = window.case_actions["case_queue"]
    action.setEnabled(True)
    action.triggered.connect(lambda: window.show_page("queue"))
    with qtbot.waitSignal(window.page_changed) as changed:
        action.trigger()
    assert changed.args == ["queue"]
    assert window.current_page_key() == "queue" and queue.isVisible()
    assert window.windowTitle().endswith("Case queue")
    window.action_home.trigger()
    assert window.current_page_key() == HOME_PAGE
    with qtbot.waitSignal(window.changes_made) as changes:
        window.announce_changes({"request": 7})
    assert changes.args == [{"request": 7}]


def test_banner_is_black_with_the_profile_words(qtbot: QtBot) -> None:
    set_default_banner_text("LEAD ONLY   per profile")
    try:
        banner = QtLeadBanner()
    finally:
        set_default_banner_text(BANNER_TEXT)
    qtbot.addWidget(banner)
    banner.resize(500, 40)
    banner.show()
    assert banner.text() == "LEAD ONLY per profile"
    image = banner.grab().toImage()
    pixels = np.array([[image.pixelColor(x, y).getRgb()[:3] for x in range(0, 500, 5)]
                       for y in range(0, image.height(), 3)])
    assert (pixels.reshape(-1, 3) == 0).all(axis=1).mean() > 0.6  # mostly black
    assert (pixels.reshape(-1, 3) > 200).all(axis=1).any()  # white letters
    assert QtLeadBanner("custom").text() == "custom"


def test_about_lists_every_component_and_the_installation(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser
) -> None:
    dialog = QtAboutDialog(ws, model_text="dlib-resnet-v1 (not installed)")
    qtbot.addWidget(dialog)
    text = dialog.text()
    for component in ("Python", "PySide6", "Qt", "numpy", "OpenCV", "MediaPipe", "onnxruntime",
                      "onnx", "hnswlib", "SQLAlchemy", "Alembic", "reportlab", "argon2-cffi"):
        line = next(line for line in text.splitlines() if line.strip().startswith(component + ":"))
        assert "not installed" not in line, line
        assert any(ch.isdigit() for ch in line), line
    assert "0.10.21" in text  # the pinned MediaPipe
    assert str(ws.settings.data_dir) in text
    assert ws.database.display_url in text
    assert "NYS MPTC Facial Recognition Model Policy (2019-12)" in text
    assert ws.profile.sha256 in text
    assert "dlib-resnet-v1 (not installed)" in text
    dialog.copy_button.click()
    assert QGuiApplication.clipboard().text() == text
    assert about_text(ws).count("\n") == text.count("\n")


def test_verify_audit_chain_reports_intact_log(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser, make_main_window: MakeWindow,
    shown_messages: ShownMessages
) -> None:
    window = make_main_window(admin, ensure_model=False)
    window.action_verify_audit.trigger()
    qtbot.waitUntil(lambda: bool(shown_messages.boxes), timeout=5000)
    title, text = shown_messages.boxes[0]
    assert title == "Audit log verified"
    assert text.startswith("The audit log is intact:")
    assert audit_actions(ws)[-1] == ("ada", "audit.verified")


def test_broken_audit_chain_is_reported_plainly(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser, make_main_window: MakeWindow,
    shown_messages: ShownMessages
) -> None:
    from sqlalchemy import update

    from app.records.models import AuditEvent

    with ws.database.session() as session:  # tamper with the first event
        session.execute(update(AuditEvent).where(AuditEvent.sequence == 1)
                        .values(actor="mallory"))
    window = make_main_window(admin, ensure_model=False)
    window.verify_audit_chain()
    qtbot.waitUntil(lambda: bool(shown_messages.boxes), timeout=5000)
    title, text = shown_messages.boxes[0]
    assert title == "Audit log NOT intact"
    assert "altered" in text and "number 1" in text


def test_change_password_dialog(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser
) -> None:
    from app.casework import accounts

    dialog = QtChangePasswordDialog(ws, admin)
    qtbot.addWidget(dialog)
    dialog.current_edit.setText(ADMIN_PASSWORD)
    dialog.new_fields.password_edit.setText("tiny")
    dialog.new_fields.repeat_edit.setText("tiny")
    dialog.try_change()
    assert "too short" in dialog.error_label.text()
    dialog.current_edit.setText("wrong current")
    dialog.new_fields.password_edit.setText("a brand new passphrase")
    dialog.new_fields.repeat_edit.setText("a brand new passphrase")
    dialog.try_change()
    assert dialog.error_label.text() == "The current password is wrong."
    dialog.current_edit.setText(ADMIN_PASSWORD)
    dialog.try_change()
    assert dialog.result() == dialog.DialogCode.Accepted
    assert accounts.sign_in(ws, username="ada", password="a brand new passphrase").username == "ada"


def test_window_layout_is_remembered_in_the_data_folder(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser, make_main_window: MakeWindow
) -> None:
    first = make_main_window(admin, ensure_model=False)
    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.addWidget(QWidget())
    splitter.addWidget(QWidget())
    first.add_page("split", splitter)
    first.show_page("split")
    first.show()
    first.resize(713, 577)
    splitter.setSizes([200, 600])
    qtbot.waitUntil(lambda: first.size() == QSize(713, 577))
    sizes = splitter.sizes()
    first.remember_splitter("demo", splitter)
    splitter.setSizes(sizes)
    first.quit()
    assert (ws.settings.data_dir / "ui-state.ini").is_file()

    second = make_main_window(admin, ensure_model=False)
    assert second.size() == QSize(713, 577)
    other = QSplitter(Qt.Orientation.Horizontal)
    other.addWidget(QWidget())
    other.addWidget(QWidget())
    second.add_page("split", other)
    second.remember_splitter("demo", other)
    second.show_page("split")
    second.show()
    qtbot.waitUntil(lambda: other.sizes() == sizes)


def test_home_page_words_for_each_role_without_case_work() -> None:
    from app.ui.qt_main_window import home_tools_text

    assert "audit log and the compliance figures" in home_tools_text([Role.LEGAL_ADVISOR])
    assert "no role yet" in home_tools_text([])
