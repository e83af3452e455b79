"""ScreenLock: everything around the lock page that keeps case content out of sight.

While engaged it hides every other top-level window (and any that tries to appear later,
except a window marked with ``messages.SHOW_WHILE_LOCKED``), closes pop-ups and tool tips,
disables every action of the main window (menus and shortcuts) and disables the menu bar.
:meth:`ScreenLock.release` puts it all back: action states as they were, non-modal windows shown
again. A modal dialog hidden by the lock has had its ``exec()`` end as if cancelled, so it stays
closed; a window may decide for itself with a ``reshow_after_unlock()`` method.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QMainWindow, QMenu, QToolTip, QWidget

from app.ui import messages


def alive(obj: QObject) -> bool:
    """False once the C++ side of a Qt object has been deleted."""
    try:
        obj.objectName()
    except RuntimeError:
        return False
    return True


def reshow_after_unlock(widget: QWidget) -> bool:
    wants = getattr(widget, "reshow_after_unlock", None)
    if callable(wants):
        return bool(wants())
    if isinstance(widget, QMenu) or widget.windowType() in (
        Qt.WindowType.Popup, Qt.WindowType.ToolTip
    ):
        return False
    return widget.windowModality() == Qt.WindowModality.NonModal


class ScreenLock(QObject):
    """Hides and restores the surroundings of one main window's lock page."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self._window = window
        self._engaged = False
        self._hidden: list[QWidget] = []
        self._action_states: dict[QAction, bool] = {}

    def is_engaged(self) -> bool:
        return self._engaged

    def engage(self) -> None:
        if self._engaged:
            return
        self._engaged = True
        QToolTip.hideText()
        popup = QApplication.activePopupWidget()
        if popup is not None:
            popup.close()
        self._hidden = []
        for widget in QApplication.topLevelWidgets():
            if widget is not self._window and widget.isVisible():
                self._hide(widget)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        self._action_states = {}
        for action in self._window.findChildren(QAction):
            self._action_states[action] = action.isEnabled()
            action.setEnabled(False)
        self._window.menuBar().setEnabled(False)

    def release(self, *, reshow: bool = True) -> None:
        """Undo :meth:`engage`; ``reshow=False`` closes the hidden windows instead."""
        if not self._engaged:
            return
        self._engaged = False
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        for action, enabled in self._action_states.items():
            if alive(action):
                action.setEnabled(enabled)
        self._action_states = {}
        self._window.menuBar().setEnabled(True)
        hidden, self._hidden = self._hidden, []
        for widget in hidden:
            if not alive(widget):
                continue
            if reshow and reshow_after_unlock(widget):
                widget.show()
            elif not reshow:
                widget.close()

    def _hide(self, widget: QWidget) -> None:
        if widget not in self._hidden:
            self._hidden.append(widget)
        widget.hide()

        # Hiding inside the Show event itself is undone by Qt: hide once more right after it.
        def hide_again() -> None:
            if self._engaged and alive(widget):
                widget.hide()

        QTimer.singleShot(0, hide_again)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.Show
            and isinstance(watched, QWidget)
            and watched.isWindow()
            and watched is not self._window
            and not watched.property(messages.SHOW_WHILE_LOCKED)
        ):
            self._hide(watched)
        return False


__all__ = ["ScreenLock", "alive", "reshow_after_unlock"]
