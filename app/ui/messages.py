"""Plain message boxes: errors, information and questions, never a traceback.

Every box goes through :func:`present`, a module-level function tests replace to answer boxes
without a modal event loop (``monkeypatch.setattr(messages, "present", fake)``).

An error the user can cause (:class:`app.errors.FrxError`) is shown with its own sentence. Any
other exception is a bug: it is logged with its traceback and shown as "Unexpected error: ...".
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from app import APP_NAME
from app.errors import FrxError

log = logging.getLogger(__name__)

UNEXPECTED_PREFIX = "Unexpected error: "
SHOW_WHILE_LOCKED = "frxShowWhileLocked"  # property of a window the screen lock leaves visible
StandardButton = QMessageBox.StandardButton


def error_text(error: BaseException) -> str:
    """The sentence shown for an error: the FrxError's own, or "Unexpected error: ..." ."""
    if isinstance(error, FrxError):
        return str(error) or "The operation failed."
    detail = str(error).strip() or type(error).__name__
    return f"{UNEXPECTED_PREFIX}{detail}"


def log_unexpected(error: BaseException, *, context: str = "") -> None:
    """Log a bug with its traceback (FrxErrors are expected and logged in one line)."""
    where = f" ({context})" if context else ""
    if isinstance(error, FrxError):
        log.info("Refused%s: %s", where, error)
    else:
        log.error("Unexpected error%s", where, exc_info=(type(error), error, error.__traceback__))


# While the screen is locked no message may show case details: they wait until the unlock.
_deferred: list[tuple[QMessageBox.Icon, str, str]] = []


def _never_locked() -> bool:
    return False


_screen_locked: Callable[[], bool] = _never_locked


def set_lock_gate(is_locked: Callable[[], bool] | None) -> None:
    """Tell the messages how to know the screen is locked (the main window does this)."""
    global _screen_locked
    _screen_locked = is_locked or _never_locked


def screen_locked() -> bool:
    """True while the main window's screen is locked."""
    return _screen_locked()


def deferred_count() -> int:
    return len(_deferred)


def show_deferred(parent: QWidget | None) -> None:
    """Show the messages held back while the screen was locked (called after the unlock)."""
    while _deferred and not _screen_locked():
        icon, title, text = _deferred.pop(0)
        ok = StandardButton.Ok
        present(_box(parent, icon, title, text, ok, ok))


def present(box: QMessageBox) -> int:
    """Show a prepared box modally and return the clicked standard button (tests replace this)."""
    return int(box.exec())


def _box(
    parent: QWidget | None,
    icon: QMessageBox.Icon,
    title: str,
    text: str,
    buttons: QMessageBox.StandardButton,
    default: QMessageBox.StandardButton,
) -> QMessageBox:
    box = QMessageBox(icon, title or APP_NAME, text, buttons, parent)
    box.setDefaultButton(default)
    # Plain text only: a message never renders markup that came from data (file names, notes).
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return box


def show_error(
    parent: QWidget | None, error: BaseException | str, *, title: str = "", log_it: bool = True
) -> None:
    """Show an error plainly; a non-FrxError exception is logged with its traceback first."""
    if isinstance(error, BaseException):
        if log_it:
            log_unexpected(error)
        text = error_text(error)
    else:
        text = error
    _show(parent, QMessageBox.Icon.Warning, title, text)


def show_info(parent: QWidget | None, text: str, *, title: str = "") -> None:
    _show(parent, QMessageBox.Icon.Information, title, text)


def _show(parent: QWidget | None, icon: QMessageBox.Icon, title: str, text: str) -> None:
    if _screen_locked():
        _deferred.append((icon, title, text))
        return
    ok = StandardButton.Ok
    present(_box(parent, icon, title, text, ok, ok))


def ask_yes_no(
    parent: QWidget | None,
    text: str,
    *,
    title: str = "",
    default_yes: bool = False,
    even_when_locked: bool = False,
) -> bool:
    """A yes/no question; No is the default unless ``default_yes``.

    While the screen is locked a question is answered No without showing it, unless it belongs
    to the lock screen itself (``even_when_locked``; it must not show case details).
    """
    yes, no = StandardButton.Yes, StandardButton.No
    if _screen_locked() and not even_when_locked:
        log.info("Question not asked while the screen is locked: %s", text)
        return False
    box = _box(parent, QMessageBox.Icon.Question, title, text, yes | no, yes if default_yes else no)
    if even_when_locked:
        box.setProperty(SHOW_WHILE_LOCKED, True)
    return present(box) == int(yes)


__all__ = [
    "SHOW_WHILE_LOCKED",
    "UNEXPECTED_PREFIX",
    "ask_yes_no",
    "deferred_count",
    "error_text",
    "log_unexpected",
    "present",
    "screen_locked",
    "set_lock_gate",
    "show_deferred",
    "show_error",
    "show_info",
]
