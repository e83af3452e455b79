"""QtMainWindow: menus, a stack of pages, the status bar and the screen lock of one session.

Later screens are pages of the central stack::

    window.add_page("queue", QtCaseQueue(...), title="Case queue")
    window.case_actions["case_queue"].setEnabled(True)
    window.case_actions["case_queue"].triggered.connect(lambda: window.show_page("queue"))

Each page puts a :class:`QtLeadBanner` at its own top (the home page does). After a casework
call that changed records, a screen calls ``window.announce_changes(result)``; every page that
listens to :attr:`QtMainWindow.changes_made` decides whether to refresh (Anki's OpChanges idea).

The screen lock (idle time, Ctrl+L, File > Lock screen) swaps the whole central area for
:class:`QtLockPage`, hides every other top-level window, disables every action and holds back
messages until the SAME user types their password (``accounts.unlock_session``). Lock and unlock
are audited by casework. Window geometry, tool bar/dock state and registered splitters are kept
in ``ui-state.ini`` inside the data folder (never in the user's own configuration).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from enum import StrEnum
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app import APP_NAME
from app.casework import accounts, audit_log
from app.casework.accounts import SignedInUser
from app.casework.workstation import Workstation
from app.errors import FrxError
from app.policy.roles import Role
from app.ui import facts, messages
from app.ui.admin.menu import install_admin_pages
from app.ui.admin.qt_policy_ack import install_policy_entry
from app.ui.idle_lock import IdleLock, minutes_to_ms
from app.ui.qt_about import QtAboutDialog
from app.ui.qt_change_password import QtChangePasswordDialog
from app.ui.qt_lead_banner import QtLeadBanner
from app.ui.qt_lock_page import QtLockPage
from app.ui.screen_lock import ScreenLock, alive
from app.ui.workers import run_in_background, run_with_progress

log = logging.getLogger(__name__)

UI_STATE_FILE = "ui-state.ini"
HOME_PAGE = "home"
_STATE_VERSION = 1

# Case menu placeholders: later screens enable them and connect ``triggered``.
CASE_ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("new_request", "&New request...", "Ctrl+N"),
    ("case_queue", "Case &queue", "Ctrl+1"),
    ("open_case", "&Open case...", "Ctrl+O"),
    ("", "", ""),
    ("search", "&Search with a probe...", ""),
    ("compare", "&Compare candidates", ""),
    ("second_review", "Second &review", ""),
    ("", "", ""),
    ("lead_report", "Lead &report...", ""),
    ("dissemination", "Record &dissemination...", ""),
)
# Tools menu placeholders for later administration screens.
TOOL_PLACEHOLDERS: tuple[tuple[str, str], ...] = (
    ("users", "&Users, roles and training..."),
    ("import_gallery", "&Import gallery photographs..."),
    ("audit_log", "Audit &log..."),
)


class SessionEnd(StrEnum):
    NONE = "none"
    SIGNED_OUT = "signed_out"
    QUIT = "quit"


def ui_state_settings(data_dir: Path) -> QSettings:
    """The window-state store: an INI file in the data folder."""
    return QSettings(str(Path(data_dir) / UI_STATE_FILE), QSettings.Format.IniFormat)


def home_tools_text(roles: Iterable[Role]) -> str:
    """What a user without case work finds in the Tools menu, in words."""
    held = set(roles)
    if Role.ADMINISTRATOR in held:
        return (
            "Your work is in the Tools menu: users, roles and training; the gallery; face "
            "models and data; the policy profile; the audit log, compliance figures and random "
            "audits; the workstation health check."
        )
    if Role.LEGAL_ADVISOR in held:
        return "Your work is in the Tools menu: the audit log and the compliance figures."
    return "Your account has no role yet: ask an administrator to give you one."


class QtHomePage(QWidget):
    """The start page until the case queue arrives: banner, greeting, what this session is."""

    def __init__(self, ws: Workstation, user: SignedInUser, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.banner = QtLeadBanner()
        roles = ", ".join(sorted(r.label for r in user.roles)) or "no role"
        greeting = QLabel(f"Welcome, {user.display_name}")
        font = greeting.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        greeting.setFont(font)
        self.greeting_label = greeting
        body = QLabel(
            f"Signed in as {user.username} ({roles}).\n\n"
            "Requests, searches, comparisons and second reviews are the work of examiners and "
            "supervisors: for them the case queue opens here. "
            f"{home_tools_text(user.roles)}\n\n"
            f"Policy profile in force: {facts.profile_text(ws)}."
        )
        body.setWordWrap(True)
        body.setTextFormat(Qt.TextFormat.PlainText)
        body.setMaximumWidth(720)
        self.body_label = body
        inner = QVBoxLayout()
        inner.setContentsMargins(32, 28, 32, 28)
        inner.setSpacing(14)
        inner.addWidget(greeting)
        inner.addWidget(body)
        inner.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addLayout(inner, 1)


class QtMainWindow(QMainWindow):
    """The workstation window of one signed-in user."""

    closed = Signal()  # the session is over; ``outcome`` says how
    signed_out = Signal()
    lock_changed = Signal(bool)
    changes_made = Signal(object)  # whatever a casework call returned that changed records
    page_changed = Signal(str)
    model_checked = Signal(object)  # facts.ModelState

    def __init__(
        self,
        ws: Workstation,
        user: SignedInUser,
        *,
        idle_timeout_ms: int | None = None,
        ensure_model: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ws = ws
        self.user = user
        self.outcome = SessionEnd.NONE
        self.model_state: facts.ModelState | None = None
        self._locked = False
        self._closed_emitted = False
        self._close_guards: list[Callable[[], bool]] = []
        self._splitters: dict[str, QSplitter] = {}
        self._pages: dict[str, QWidget] = {}
        self._page_titles: dict[str, str] = {}
        self.setObjectName("frxMainWindow")
        self.setWindowTitle(APP_NAME)

        self.stack = QStackedWidget()
        self.stack.setObjectName("pages")
        self.lock_page = QtLockPage(user)
        self._outer = QStackedWidget()
        self._outer.addWidget(self.stack)
        self._outer.addWidget(self.lock_page)
        self.setCentralWidget(self._outer)
        self.home_page = QtHomePage(ws, user)
        self.add_page(HOME_PAGE, self.home_page, title="")

        self._build_menus()
        install_admin_pages(self)
        self.action_policy = install_policy_entry(self)
        self._build_status_bar()
        self.screen_lock = ScreenLock(self)
        self.lock_page.unlock_requested.connect(self._try_unlock)
        self.lock_page.sign_out_requested.connect(self._sign_out_from_lock)
        self.stack.currentChanged.connect(self._page_switched)

        minutes = ws.settings.idle_lock_minutes
        timeout = minutes_to_ms(minutes) if idle_timeout_ms is None else idle_timeout_ms
        self.idle_lock = IdleLock(timeout_ms=timeout, parent=self)
        self.idle_lock.idle.connect(self._idle_timeout)
        self.idle_lock.start()
        messages.set_lock_gate(self.is_locked)

        self.resize(1280, 800)
        self._restore_window_state()
        self._check_model(install=ensure_model)

    # ------------------------------------------------------------------------------ menus
    def _action(self, text: str, slot: Callable[[], object] | None = None, shortcut: str = "",
                *, enabled: bool = True) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        if slot is not None:
            action.triggered.connect(lambda _checked=False: slot())
        action.setEnabled(enabled)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.file_menu = bar.addMenu("&File")
        self.action_lock = self._action("&Lock screen", self.lock_screen, "Ctrl+L")
        self.action_sign_out = self._action("Sign &out", self.sign_out)
        self.action_quit = self._action("&Quit", self.quit, "Ctrl+Q")
        self.action_quit.setMenuRole(QAction.MenuRole.QuitRole)
        self.file_menu.addAction(self.action_lock)
        self.file_menu.addAction(self.action_sign_out)
        self.file_menu.addSeparator()
        self.file_menu.addAction(self.action_quit)

        self.case_menu = bar.addMenu("&Case")
        self.case_actions: dict[str, QAction] = {}
        for key, text, shortcut in CASE_ACTIONS:
            if not key:
                self.case_menu.addSeparator()
                continue
            action = self._action(text, None, shortcut, enabled=False)
            action.setObjectName(f"case_{key}")
            action.setStatusTip("Not available yet in this version.")
            self.case_actions[key] = action
            self.case_menu.addAction(action)
        self.action_home = self._action("&Home", lambda: self.show_page(HOME_PAGE), "Ctrl+Home")
        self.case_menu.addSeparator()
        self.case_menu.addAction(self.action_home)

        self.tools_menu = bar.addMenu("&Tools")
        self.action_verify_audit = self._action("&Verify audit chain", self.verify_audit_chain)
        self.action_change_password = self._action("Change &password...", self.change_password)
        self.tools_menu.addAction(self.action_verify_audit)
        self.tools_menu.addAction(self.action_change_password)
        self.tools_menu.addSeparator()
        self.tool_actions: dict[str, QAction] = {}
        for key, text in TOOL_PLACEHOLDERS:
            action = self._action(text, None, enabled=False)
            action.setObjectName(f"tool_{key}")
            self.tool_actions[key] = action
            self.tools_menu.addAction(action)

        self.help_menu = bar.addMenu("&Help")
        self.action_about = self._action(f"&About {APP_NAME}", self.show_about, "F1")
        self.action_about.setMenuRole(QAction.MenuRole.AboutRole)
        self.help_menu.addAction(self.action_about)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        user = self.user
        roles = ", ".join(sorted(r.label for r in user.roles)) or "no role"
        database = facts.database_text(self.ws)
        self.user_label = QLabel(f"User: {user.display_name}")
        self.user_label.setToolTip(f"Signed in as {user.username}")
        self.roles_label = QLabel(f"Roles: {roles}")
        self.database_label = QLabel(f"Database: {facts.elide_middle(database, 44)}")
        self.database_label.setToolTip(database)
        self.profile_label = QLabel(f"Policy: {facts.profile_text(self.ws)}")
        self.profile_label.setToolTip(str(self.ws.settings.policy_profile))
        self.model_label = QLabel(f"Model: {self.ws.settings.model_name} (checking...)")
        labels = (
            ("statusUser", self.user_label),
            ("statusRoles", self.roles_label),
            ("statusDatabase", self.database_label),
            ("statusProfile", self.profile_label),
            ("statusModel", self.model_label),
        )
        for number, (name, label) in enumerate(labels):
            if number:
                separator = QFrame()
                separator.setFrameShape(QFrame.Shape.VLine)
                separator.setFrameShadow(QFrame.Shadow.Sunken)
                status.addPermanentWidget(separator)
            label.setObjectName(name)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setContentsMargins(4, 0, 4, 0)
            status.addPermanentWidget(label)

    def _check_model(self, *, install: bool) -> None:
        name = self.ws.settings.model_name

        def progress(done: int, total: int, message: str) -> None:
            self.model_label.setText(f"Model: {name} (installing, step {done} of {total})")
            self.model_label.setToolTip(message)

        run_in_background(
            lambda progress, cancelled: facts.model_state(
                self.ws, install=install, progress=progress
            ),
            on_done=self._model_checked,
            on_error=lambda exc: self.model_label.setText(f"Model: {name} (unknown)"),
            on_progress=progress,
            parent=self,
            description="checking the face model",
        )

    def _model_checked(self, state: facts.ModelState) -> None:
        self.model_state = state
        self.model_label.setText(f"Model: {state.name} ({state.short})")
        self.model_label.setToolTip(state.text)
        self.model_checked.emit(state)

    # ------------------------------------------------------------------------------ pages
    def add_page(self, key: str, widget: QWidget, *, title: str = "") -> QWidget:
        """Add (or replace) a page of the central stack under ``key``."""
        if key in self._pages:
            self.remove_page(key)
        self._pages[key] = widget
        self._page_titles[key] = title
        self.stack.addWidget(widget)
        return widget

    def remove_page(self, key: str) -> None:
        if key == HOME_PAGE:
            raise ValueError("The home page cannot be removed.")
        widget = self._pages.pop(key)
        self._page_titles.pop(key, None)
        self.stack.removeWidget(widget)
        widget.deleteLater()

    def page(self, key: str) -> QWidget:
        return self._pages[key]

    def has_page(self, key: str) -> bool:
        return key in self._pages

    def show_page(self, key: str) -> None:
        self.stack.setCurrentWidget(self._pages[key])

    def current_page_key(self) -> str:
        current = self.stack.currentWidget()
        return next((k for k, w in self._pages.items() if w is current), HOME_PAGE)

    def _page_switched(self, _index: int) -> None:
        key = self.current_page_key()
        title = self._page_titles.get(key, "")
        self.setWindowTitle(f"{APP_NAME} - {title}" if title else APP_NAME)
        self.page_changed.emit(key)

    def announce_changes(self, changes: object) -> None:
        """Tell every listening page that a casework call changed records."""
        self.changes_made.emit(changes)

    def add_close_guard(self, guard: Callable[[], bool]) -> None:
        """``guard()`` returns False to keep the session open (e.g. after asking to save)."""
        self._close_guards.append(guard)

    # ------------------------------------------------------------------------------ state
    def ui_settings(self) -> QSettings:
        return ui_state_settings(self.ws.settings.data_dir)

    def remember_splitter(self, key: str, splitter: QSplitter) -> None:
        """Restore a splitter's sizes now and save them when the session ends."""
        self._splitters[key] = splitter
        value = self.ui_settings().value(f"splitters/{key}")
        if isinstance(value, QByteArray) and not value.isEmpty():
            splitter.restoreState(value)

    def _restore_window_state(self) -> None:
        settings = self.ui_settings()
        geometry = settings.value("main_window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        state = settings.value("main_window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state, _STATE_VERSION)

    def save_window_state(self) -> None:
        try:
            settings = self.ui_settings()
            settings.setValue("main_window/geometry", self.saveGeometry())
            settings.setValue("main_window/state", self.saveState(_STATE_VERSION))
            for key, splitter in self._splitters.items():
                if alive(splitter):
                    settings.setValue(f"splitters/{key}", splitter.saveState())
            settings.sync()
        except Exception:  # never let a full disk stop the window from closing
            log.exception("Saving the window layout failed")

    # ------------------------------------------------------------------------------ tools
    def verify_audit_chain(self) -> None:
        run_with_progress(
            lambda **_: audit_log.verify_audit_chain(self.ws, by=self.user),
            parent=self,
            title="Verifying the audit log",
            message="Checking every event of the audit log against the one before it...",
            on_done=self._show_chain_report,
            cancellable=False,
            serial=True,
        )

    def _show_chain_report(self, report: audit_log.ChainReport) -> None:
        if report.ok:
            messages.show_info(
                self,
                f"The audit log is intact: {report.events_checked} events checked, each "
                "linked to the one before it.",
                title="Audit log verified",
            )
            return
        where = (
            f" The first altered event is number {report.first_bad_sequence}."
            if report.first_bad_sequence is not None
            else ""
        )
        messages.show_error(
            self,
            f"The audit log has been altered: {report.problem or 'a link is broken'}.{where} "
            "Tell your supervisor; the log cannot be trusted from that event on.",
            title="Audit log NOT intact",
        )

    def change_password(self) -> None:
        QtChangePasswordDialog(self.ws, self.user, self).exec()

    def show_about(self) -> None:
        model_text = self.model_state.text if self.model_state is not None else None
        QtAboutDialog(self.ws, self, model_text=model_text).exec()

    # ------------------------------------------------------------------------------ lock
    def is_locked(self) -> bool:
        return self._locked

    def _idle_timeout(self) -> None:
        self.lock_screen(reason="idle")

    def lock_screen(self, *, reason: str = "by hand") -> None:
        """Hide all case content now; only the same user's password brings it back."""
        if self._locked or self.outcome is not SessionEnd.NONE:
            return
        self._locked = True
        self.idle_lock.stop()
        self._outer.setCurrentWidget(self.lock_page)
        self.screen_lock.engage()
        self.setWindowTitle(f"{APP_NAME} (locked)")
        self.lock_page.prepare()
        log.info("Screen locked (%s) for %s", reason, self.user.username)
        try:
            accounts.lock_session(self.ws, user=self.user)
        except Exception as exc:  # the lock holds even when the audit cannot be written
            messages.log_unexpected(exc, context="recording the screen lock")
        self.lock_changed.emit(True)

    def _try_unlock(self, password: str) -> None:
        if not self._locked:
            return
        try:
            accounts.unlock_session(self.ws, user=self.user, password=password)
        except FrxError as exc:
            self.lock_page.show_refusal(str(exc))
            return
        except Exception as exc:  # a bug: logged, shown in one line; the screen stays locked
            messages.log_unexpected(exc, context="unlocking the screen")
            self.lock_page.show_refusal(messages.error_text(exc))
            return
        self._unlock()

    def _unlock(self) -> None:
        self._locked = False
        self._outer.setCurrentWidget(self.stack)
        self._page_switched(self.stack.currentIndex())
        self.screen_lock.release()
        self.idle_lock.start()
        self.lock_changed.emit(False)
        messages.show_deferred(self)

    def _sign_out_from_lock(self) -> None:
        if messages.ask_yes_no(
            self,
            f"Sign out {self.user.display_name}? Work that was not saved is discarded.",
            title="Sign out",
            even_when_locked=True,
        ):
            self.sign_out()

    # ------------------------------------------------------------------------------ session end
    def sign_out(self) -> None:
        """End the session (audited); the application then shows the sign-in again."""
        if self._end_session(SessionEnd.SIGNED_OUT, run_guards=not self._locked):
            self.close()
            self.signed_out.emit()

    def quit(self) -> None:
        if self._end_session(SessionEnd.QUIT, run_guards=not self._locked):
            self.close()

    def shutdown_quietly(self) -> None:
        """End without asking anyone (tests, application exit); the logout is still audited."""
        self._end_session(SessionEnd.QUIT, run_guards=False)
        self.close()

    def _end_session(self, outcome: SessionEnd, *, run_guards: bool) -> bool:
        if self.outcome is not SessionEnd.NONE:
            return True
        if run_guards:
            for guard in self._close_guards:
                if not guard():
                    return False
        self.outcome = outcome
        self.idle_lock.stop()
        self.save_window_state()
        if self._locked:
            self.screen_lock.release(reshow=False)  # nothing of the session stays behind
            self._locked = False
        messages.set_lock_gate(None)
        try:
            accounts.sign_out(self.ws, user=self.user)
        except Exception as exc:  # the session ends even when the audit cannot be written
            messages.log_unexpected(exc, context="recording the sign-out")
        log.info("Session of %s ended (%s)", self.user.username, outcome.value)
        return True

    def closeEvent(self, event: QCloseEvent) -> None:
        # The window's close button: ends the session like Quit (after the close guards).
        if not self._end_session(SessionEnd.QUIT, run_guards=not self._locked):
            event.ignore()
            return
        event.accept()
        super().closeEvent(event)
        if not self._closed_emitted:
            self._closed_emitted = True
            self.closed.emit()


__all__ = ["HOME_PAGE", "QtHomePage", "QtMainWindow", "SessionEnd", "ui_state_settings"]
