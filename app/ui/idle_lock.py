"""IdleLock: notices when nobody has touched mouse or keyboard for a while.

An event filter on the QApplication records the time of the last input event (any window, any
dialog); a single-shot timer checks it and emits :attr:`IdleLock.idle` once the quiet time reaches
the timeout. The main window then locks the screen (see ``QtMainWindow.lock_screen``). The
filter only reads the event type and never consumes an event, so it costs a comparison per event.

The timeout is in milliseconds so tests can inject a short one; 0 or less disables the lock.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer, Signal

ACTIVITY_EVENTS = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.KeyRelease,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonRelease,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TouchUpdate,
        QEvent.Type.TabletPress,
        QEvent.Type.TabletMove,
        QEvent.Type.InputMethod,
    }
)


def minutes_to_ms(minutes: float) -> int:
    return round(minutes * 60_000)


class IdleLock(QObject):
    """Emits ``idle`` after ``timeout_ms`` without input; ``start``/``stop`` around a lock."""

    idle = Signal()

    def __init__(self, *, timeout_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timeout_ms = int(timeout_ms)
        self._last_activity = time.monotonic()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._check)
        self._filtering = False

    @property
    def timeout_ms(self) -> int:
        return self._timeout_ms

    def set_timeout_ms(self, timeout_ms: int) -> None:
        self._timeout_ms = int(timeout_ms)
        if self.is_active():
            self.start()

    def is_enabled(self) -> bool:
        return self._timeout_ms > 0

    def is_active(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        """Count quiet time from now (after sign-in and after every unlock)."""
        if not self.is_enabled():
            self.stop()
            return
        app = QCoreApplication.instance()
        if app is not None and not self._filtering:
            app.installEventFilter(self)
            self._filtering = True
        self._last_activity = time.monotonic()
        self._timer.start(self._timeout_ms)

    def stop(self) -> None:
        """Stop counting (while locked, and when the session ends)."""
        self._timer.stop()
        app = QCoreApplication.instance()
        if app is not None and self._filtering:
            app.removeEventFilter(self)
            self._filtering = False

    def note_activity(self) -> None:
        self._last_activity = time.monotonic()

    def idle_ms(self) -> int:
        return int((time.monotonic() - self._last_activity) * 1000)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in ACTIVITY_EVENTS:
            self._last_activity = time.monotonic()
        return False

    def _check(self) -> None:
        # Restarting the timer on every mouse move would be costly: check the quiet time instead.
        remaining = self._timeout_ms - self.idle_ms()
        if remaining > 0:
            self._timer.start(remaining)
            return
        self.stop()
        self.idle.emit()


__all__ = ["ACTIVITY_EVENTS", "IdleLock", "minutes_to_ms"]
