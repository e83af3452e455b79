"""Start the workstation GUI: environment guard, QApplication, error handler, session flow.

``run(argv)`` opens the workstation (a plain message and exit code 2 when the data folder,
database or policy profile cannot be used), then :class:`SessionFlow` leads through the first-run
wizard (no user yet) or the sign-in, the main window, and back to the sign-in after Sign out.

OpenCV's GUI wheels point ``QT_QPA_PLATFORM_PLUGIN_PATH`` / ``QT_PLUGIN_PATH`` at their own Qt
plugins when ``cv2`` is imported, which breaks PySide6 under a real display. The project installs
the headless OpenCV, but :func:`drop_cv2_qt_plugin_paths` removes such entries anyway before the
QApplication exists.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading
from collections.abc import Callable, MutableMapping, Sequence
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QDialog, QWidget

from app import APP_NAME, __version__
from app.casework import accounts
from app.casework.accounts import SignedInUser
from app.casework.workstation import Workstation
from app.errors import FrxError
from app.settings import RESOURCES_DIR, Settings, load_settings
from app.ui import facts, messages
from app.ui.admin.qt_policy_ack import ask_for_acknowledgment
from app.ui.qt_first_run import QtFirstRunWizard
from app.ui.qt_lead_banner import set_default_banner_text
from app.ui.qt_login import QtLoginDialog
from app.ui.qt_main_window import QtMainWindow, SessionEnd
from app.ui.screen_lock import alive
from app.ui.workers import cancel_all_and_wait

log = logging.getLogger(__name__)

ORGANIZATION_NAME = "FRX"
ICON_PATH = RESOURCES_DIR / "icons" / "frx.svg"
EXIT_OK = 0
EXIT_CANNOT_OPEN = 2
QT_PATH_VARIABLES = ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_PLUGIN_PATH")
# Set to 1 (tools/bundle-smoke.sh does), the GUI quits with 0 once its first window (first-run
# wizard or sign-in) is on screen, or with EXIT_SMOKE_FAILED if none is within the limit.
SMOKE_TEST_VARIABLE = "FRX_SMOKE_TEST"
SMOKE_TEST_LIMIT_MS = 60_000
EXIT_SMOKE_FAILED = 3


# ------------------------------------------------------------------------------ environment
def _inside_cv2(path: str) -> bool:
    return "cv2" in Path(path).parts


def drop_cv2_qt_plugin_paths(environ: MutableMapping[str, str]) -> list[str]:
    """Remove Qt plugin paths that point inside a ``cv2`` package; returns the variables changed."""
    changed = []
    for name in QT_PATH_VARIABLES:
        value = environ.get(name)
        if not value:
            continue
        entries = value.split(os.pathsep)
        kept = [entry for entry in entries if entry and not _inside_cv2(entry)]
        if len(kept) == len([e for e in entries if e]):
            continue
        changed.append(name)
        if kept:
            environ[name] = os.pathsep.join(kept)
        else:
            del environ[name]
    return changed


def configure_logging(settings: Settings) -> None:
    """Log to stderr and to ``logs/workstation.log`` in the data folder (unless already set up)."""
    root = logging.getLogger()
    if root.handlers:
        return
    root.setLevel(logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    stream = logging.StreamHandler()
    stream.setFormatter(fmt)
    root.addHandler(stream)
    try:
        folder = settings.data_dir / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            folder / "workstation.log", maxBytes=2_000_000, backupCount=5, encoding="utf-8"
        )
        file_handler.setFormatter(fmt)
        root.addHandler(file_handler)
    except OSError as exc:
        log.warning("No log file in the data folder: %s", exc)


# ------------------------------------------------------------------------------ errors
ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], object]


class UncaughtExceptionHandler:
    """``sys.excepthook`` for the GUI: log the traceback, show one plain sentence."""

    def __init__(self, parent: Callable[[], QWidget | None] = lambda: None) -> None:
        self._parent = parent
        self._showing = False

    def __call__(
        self,
        exc_type: type[BaseException],
        exc: BaseException,
        tb: TracebackType | None,
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.error("Uncaught exception", exc_info=(exc_type, exc, tb))
        if self._showing or QApplication.instance() is None:
            return  # an error while showing an error: the log has it
        self._showing = True
        try:
            messages.show_error(self._parent(), exc, log_it=False)
        except Exception:
            log.exception("Showing an error message failed")
        finally:
            self._showing = False


def _log_thread_exception(args: threading.ExceptHookArgs) -> None:
    log.error(
        "Uncaught exception in thread %s",
        getattr(args.thread, "name", "?"),
        exc_info=(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback),
    )


def install_exception_handler(
    parent: Callable[[], QWidget | None] = lambda: None,
) -> Callable[[], None]:
    """Install the GUI's exception hooks; returns a function that puts the old ones back."""
    previous_hook, previous_thread_hook = sys.excepthook, threading.excepthook
    sys.excepthook = UncaughtExceptionHandler(parent)
    threading.excepthook = _log_thread_exception

    def restore() -> None:
        sys.excepthook = previous_hook
        threading.excepthook = previous_thread_hook

    return restore


# ------------------------------------------------------------------------------ start
def configure_application(app: QApplication) -> None:
    app.setOrganizationName(ORGANIZATION_NAME)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setQuitOnLastWindowClosed(False)  # SessionFlow decides when the program ends
    if ICON_PATH.is_file():
        app.setWindowIcon(QIcon(str(ICON_PATH)))


def open_workstation(settings: Settings | None = None) -> Workstation | None:
    """Open the workstation, or show why not (plain message) and return None."""
    try:
        settings = settings or load_settings()
        configure_logging(settings)
        ws = Workstation.open(settings)
    except Exception as exc:
        messages.show_error(None, exc, title=f"{APP_NAME} cannot start")
        return None
    banner = facts.banner_text(ws)
    if banner:
        set_default_banner_text(banner)
    return ws


class SessionFlow(QObject):
    """First-run wizard or sign-in, then the main window; back to sign-in after Sign out."""

    finished = Signal(int)  # exit code
    window_opened = Signal(object)  # QtMainWindow

    def __init__(
        self,
        ws: Workstation,
        *,
        idle_timeout_ms: int | None = None,
        ensure_model: bool = True,
    ) -> None:
        super().__init__()
        self.ws = ws
        self.dialog: QDialog | None = None
        self.main_window: QtMainWindow | None = None
        self.policy_dialog: QDialog | None = None  # the acknowledgment asked for at sign-in
        self._idle_timeout_ms = idle_timeout_ms
        self._ensure_model = ensure_model

    def start(self) -> None:
        try:
            first_start = accounts.needs_first_admin(self.ws)
        except Exception as exc:
            messages.show_error(None, exc, title=f"{APP_NAME} cannot start")
            self.finished.emit(EXIT_CANNOT_OPEN)
            return
        if first_start:
            wizard = QtFirstRunWizard(self.ws)
            wizard.finished.connect(lambda _result: self._wizard_done(wizard))
            self._show_dialog(wizard)
        else:
            self._show_login()

    def _show_dialog(self, dialog: QDialog) -> None:
        self.dialog = dialog
        dialog.open()
        dialog.raise_()
        dialog.activateWindow()

    def _show_login(self) -> None:
        login = QtLoginDialog(self.ws)
        login.finished.connect(lambda result: self._login_done(login, result))
        self._show_dialog(login)

    def _wizard_done(self, wizard: QtFirstRunWizard) -> None:
        # The administrator may exist even when the last page was closed instead of finished.
        user = wizard.user
        self._forget_dialog(wizard)
        if user is None:
            self.finished.emit(EXIT_OK)
        else:
            self._open_window(user)

    def _login_done(self, login: QtLoginDialog, result: int) -> None:
        user = login.user if result == QDialog.DialogCode.Accepted else None
        self._forget_dialog(login)
        if user is None:
            self.finished.emit(EXIT_OK)
        else:
            self._open_window(user)

    def _forget_dialog(self, dialog: QDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()

    def _open_window(self, user: SignedInUser) -> None:
        window = QtMainWindow(
            self.ws, user, idle_timeout_ms=self._idle_timeout_ms, ensure_model=self._ensure_model
        )
        window.closed.connect(lambda: self._window_closed(window))
        # Imported here: the case screens load the face engine, which sign-in must not wait for.
        from app.ui.case_screens import install_case_screens
        from app.ui.qt_report_view import install_report_actions

        install_case_screens(window)
        install_report_actions(window)  # Tools > Verify a report file, Case > dissemination
        self.main_window = window
        window.show()
        # An examiner who has not acknowledged the policy in force is asked now (searches stay
        # refused by casework until they do).
        self.policy_dialog = ask_for_acknowledgment(self.ws, user, window)
        self.window_opened.emit(window)

    def _window_closed(self, window: QtMainWindow) -> None:
        if self.main_window is window:
            self.main_window = None
        if self.policy_dialog is not None and alive(self.policy_dialog):
            self.policy_dialog.reject()
        self.policy_dialog = None
        window.deleteLater()
        if window.outcome is SessionEnd.SIGNED_OUT:
            self._show_login()
        else:
            self.finished.emit(EXIT_OK)

    def shutdown(self) -> None:
        """End whatever is open (the application is quitting)."""
        if self.main_window is not None:
            self.main_window.shutdown_quietly()
        if self.dialog is not None:
            self.dialog.reject()


def watch_for_smoke_test(flow: SessionFlow, finish: Callable[[int], None]) -> None:
    """Quit with 0 as soon as the flow's first window is visible (the bundle's smoke test)."""
    waited_ms = 0
    step_ms = 100

    def check() -> None:
        nonlocal waited_ms
        shown = flow.dialog if flow.dialog is not None else flow.main_window
        if shown is not None and shown.isVisible():
            log.info("Smoke test: %s is shown; quitting.", type(shown).__name__)
            flow.shutdown()
            finish(EXIT_OK)
            return
        waited_ms += step_ms
        if waited_ms >= SMOKE_TEST_LIMIT_MS:
            log.error("Smoke test: no window within %d s.", SMOKE_TEST_LIMIT_MS // 1000)
            finish(EXIT_SMOKE_FAILED)
            return
        QTimer.singleShot(step_ms, check)

    QTimer.singleShot(step_ms, check)


def run(argv: Sequence[str]) -> int:
    """The GUI's entry point; returns the process exit code."""
    drop_cv2_qt_plugin_paths(os.environ)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(list(argv))
    configure_application(app)
    flow: SessionFlow | None = None

    def current_parent() -> QWidget | None:
        return flow.main_window if flow is not None else None

    restore_hooks = install_exception_handler(current_parent)
    ws = open_workstation()
    if ws is None:
        restore_hooks()
        return EXIT_CANNOT_OPEN
    exit_code = EXIT_OK
    try:
        flow = SessionFlow(ws)

        def finish(code: int) -> None:
            nonlocal exit_code
            exit_code = code
            app.exit(code)

        flow.finished.connect(finish)
        app.aboutToQuit.connect(flow.shutdown)
        QTimer.singleShot(0, flow.start)  # once the event loop runs, so an early exit() counts
        if os.environ.get(SMOKE_TEST_VARIABLE) == "1":
            watch_for_smoke_test(flow, finish)
        app.exec()
        return exit_code
    except FrxError as exc:
        messages.show_error(None, exc)
        return EXIT_CANNOT_OPEN
    finally:
        cancel_all_and_wait()
        ws.close()
        restore_hooks()


__all__ = [
    "SessionFlow",
    "UncaughtExceptionHandler",
    "configure_application",
    "configure_logging",
    "drop_cv2_qt_plugin_paths",
    "install_exception_handler",
    "open_workstation",
    "run",
]
