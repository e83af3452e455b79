"""Background work for the screens: casework on a thread pool, answers on the GUI thread.

Long work (a search, a gallery import, an audit walk) takes ``progress(done, total, message)`` and
``cancelled()`` callables and knows nothing about Qt. :func:`run_in_background` calls
``fn(progress=..., cancelled=...)`` on a :class:`QThreadPool` thread; the result, the exception
and the progress come back ONLY through signals delivered on the GUI thread, where the callbacks
run. Widgets are therefore never touched from a worker thread.

Errors: an :class:`app.errors.FrxError` is shown with its own sentence; anything else is logged
with its traceback and shown as "Unexpected error: ..." (see :mod:`app.ui.messages`).

Database writes can go through one serial pool (``serial=True``, one thread) so two writes from
the GUI never race each other, the way Anki keeps collection access on one worker.

Example::

    run_with_progress(
        lambda progress, cancelled: casework.import_gallery(
            ws, by=user, folder=folder, progress=progress, cancelled=cancelled),
        parent=self, title="Importing gallery", on_done=self._show_import_result)
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QObject, QRunnable, Qt, QThread, QThreadPool, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.ui import messages

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
Cancelled = Callable[[], bool]
PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress signals a second; the last one always arrives


class Work(Protocol):
    """What runs in the background: keyword arguments ``progress`` and ``cancelled``."""

    def __call__(self, *, progress: Progress, cancelled: Cancelled) -> Any: ...


_ACTIVE: set[BackgroundTask] = set()  # keeps running tasks alive until they report back
_serial_pool: QThreadPool | None = None
_background_pool: QThreadPool | None = None
MIN_BACKGROUND_THREADS = 4  # a long import must not starve a quick query behind it


def background_pool() -> QThreadPool:
    """The pool for ordinary background work (at least four threads, more on bigger machines)."""
    global _background_pool
    if _background_pool is None:
        _background_pool = QThreadPool()
        _background_pool.setMaxThreadCount(max(MIN_BACKGROUND_THREADS, QThread.idealThreadCount()))
        _background_pool.setObjectName("frx-background")
    return _background_pool


def serial_pool() -> QThreadPool:
    """The one-thread pool for work that writes to the database (one writer at a time)."""
    global _serial_pool
    if _serial_pool is None:
        _serial_pool = QThreadPool()
        _serial_pool.setMaxThreadCount(1)
        _serial_pool.setObjectName("frx-serial-writer")
    return _serial_pool


class BackgroundTask(QObject):
    """One piece of background work. Lives on the GUI thread; its public signals fire there."""

    progressed = Signal(int, int, str)  # done, total, message
    succeeded = Signal(object)  # fn's return value
    failed = Signal(object)  # the exception fn raised
    finished = Signal()  # after succeeded or failed

    # Emitted from the worker thread; queued to this object's (the GUI) thread. The outcome itself
    # stays on the runnable: no Python object crosses threads in a signal, so the worker never
    # holds the last reference to anything (a closure can hold a widget; a widget destroyed on a
    # worker thread stops its timers from the wrong thread and crashes Qt).
    _worker_progress = Signal(int, int, str)
    _worker_done = Signal()

    def __init__(self, description: str = "") -> None:
        super().__init__()
        self.description = description
        self._cancel = threading.Event()
        self._running = False
        self._orphaned = False
        self._last_progress = 0.0
        self._runnable: _Runnable | None = None
        self._on_done: Callable[[Any], None] | None = None
        self._on_error: Callable[[BaseException], None] | None = None
        self._on_progress: Callable[[int, int, str], None] | None = None
        self._parent: QWidget | None = None
        queued = Qt.ConnectionType.QueuedConnection
        self._worker_progress.connect(self._deliver_progress, queued)
        self._worker_done.connect(self._deliver_outcome, queued)

    # -- asked from any thread ------------------------------------------------------------------
    def cancel(self) -> None:
        """Ask the work to stop; it sees ``cancelled()`` return True and decides how to end."""
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def is_running(self) -> bool:
        return self._running

    # -- worker thread side ---------------------------------------------------------------------
    def _report_progress(self, done: int, total: int, message: str = "") -> None:
        now = time.monotonic()
        final = total > 0 and done >= total
        if not final and now - self._last_progress < PROGRESS_INTERVAL_S:
            return
        self._last_progress = now
        self._emit_from_worker(self._worker_progress, int(done), int(total), str(message))

    def _emit_from_worker(self, signal: Any, *args: object) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the QObject was destroyed while the work ran (application exit)
            log.debug("Background task %r finished after its owner was gone", self.description)

    # -- GUI thread side ------------------------------------------------------------------------
    @Slot(int, int, str)
    def _deliver_progress(self, done: int, total: int, message: str) -> None:
        if not self._running:
            return
        if self._on_progress is not None and not self._orphaned:
            self._on_progress(done, total, message)
        self.progressed.emit(done, total, message)

    @Slot()
    def _deliver_outcome(self) -> None:
        runnable = self._runnable
        if runnable is None or not self._running:
            return
        if runnable.error is not None:
            self._deliver_error(runnable.error)
        else:
            self._deliver_result(runnable.result)

    def _deliver_result(self, result: object) -> None:
        self._running = False
        try:
            if self._on_done is not None and not self._orphaned:
                self._on_done(result)
            self.succeeded.emit(result)
        finally:
            self._finish()

    def _deliver_error(self, error: BaseException) -> None:
        self._running = False
        try:
            if self._on_error is None or self._orphaned:
                if self._orphaned:
                    messages.log_unexpected(error, context=self.description)
                else:
                    messages.show_error(_alive(self._parent), error)  # logs a bug itself
            else:
                messages.log_unexpected(error, context=self.description)
                self._on_error(error)
            self.failed.emit(error)
        finally:
            self._finish()

    def _finish(self) -> None:
        self.finished.emit()
        self._forget_owner()
        _ACTIVE.discard(self)
        _retire(self)

    def _forget_owner(self) -> None:
        """A finished task needs nothing of its owner: disconnect from its ``destroyed`` and drop
        the callbacks (bound methods of the owner). Otherwise a task released later could hold
        the last reference to a parentless owner, whose destruction would then signal the task
        while it is being freed (a crash)."""
        owner, self._parent = self._parent, None
        if owner is not None and _alive(owner) is not None:
            with contextlib.suppress(RuntimeError, TypeError):
                owner.destroyed.disconnect(self._owner_destroyed)
        self._on_done = self._on_error = self._on_progress = None
        # ``owner`` goes out of scope here; if it was the last reference, the widget is
        # destroyed now, with nothing connected to this task.

    @Slot()
    def _owner_destroyed(self) -> None:
        self._orphaned = True  # callbacks would touch deleted widgets: drop them
        self.cancel()


class _Runnable(QRunnable):
    """Runs the work; the GUI thread owns it (no auto-delete) and releases it after ``released``.

    ``run`` keeps no local references: the function, the task and the outcome live on ``self``
    so their last reference is always dropped on the GUI thread.
    """

    def __init__(self, task: BackgroundTask, fn: Work) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.task: BackgroundTask | None = task
        self.fn: Work | None = fn
        self.result: object = None
        self.error: BaseException | None = None
        self.released = threading.Event()

    def run(self) -> None:
        assert self.task is not None and self.fn is not None
        try:
            self.result = self.fn(
                progress=self.task._report_progress, cancelled=self.task.is_cancelled
            )
        except Exception as exc:  # every failure goes back to the GUI thread
            self.error = exc
        finally:
            self.task._emit_from_worker(self.task._worker_done)
            self.released.set()

    def drop_references(self) -> None:
        """On the GUI thread, once the worker is done with this runnable."""
        self.task = None
        self.fn = None
        self.result = None
        self.error = None


# Finished tasks wait here until their worker thread has let go of them; then the GUI thread
# drops the last references (see _Runnable).
_RETIRED: list[BackgroundTask] = []
_RETIRE_POLL_MS = 50


def _retire(task: BackgroundTask) -> None:
    if task not in _RETIRED:
        _RETIRED.append(task)
    _release_retired()


def _release_retired() -> None:
    still_held: list[BackgroundTask] = []
    for task in _RETIRED:
        runnable = task._runnable
        if runnable is not None and not runnable.released.is_set():
            still_held.append(task)
            continue
        if runnable is not None:
            runnable.drop_references()
        task._runnable = None
    _RETIRED[:] = still_held
    if still_held:
        QTimer.singleShot(_RETIRE_POLL_MS, _release_retired)


def run_in_background(
    fn: Work,
    *,
    on_done: Callable[[Any], None] | None,
    on_error: Callable[[BaseException], None] | None = None,
    on_progress: Callable[[int, int, str], None] | None = None,
    parent: QWidget | None = None,
    description: str = "",
    serial: bool = False,
    pool: QThreadPool | None = None,
) -> BackgroundTask:
    """Start ``fn(progress=..., cancelled=...)`` on a worker thread; callbacks run on the GUI one.

    The work runs on :func:`background_pool`; ``serial=True`` queues it on the one-thread
    :func:`serial_pool` (database writes), ``pool`` names another. ``on_error`` defaults to a
    plain message box over ``parent``. When ``parent`` is destroyed first, the work is asked to
    cancel and the callbacks are dropped.
    """
    task = BackgroundTask(description)
    task._on_done = on_done
    task._on_progress = on_progress
    task._on_error = on_error  # None: a plain message box over ``parent``
    task._parent = parent
    if parent is not None:
        parent.destroyed.connect(task._owner_destroyed)
    task._running = True
    _ACTIVE.add(task)
    task._runnable = _Runnable(task, fn)
    target = pool if pool is not None else serial_pool() if serial else background_pool()
    target.start(task._runnable)
    return task


def _alive(widget: QWidget | None) -> QWidget | None:
    """The widget if its C++ side still exists (a message box needs a live parent or none)."""
    if widget is None:
        return None
    try:
        widget.objectName()
    except RuntimeError:
        return None
    return widget


def active_tasks() -> list[BackgroundTask]:
    """Tasks that have not reported back yet."""
    return list(_ACTIVE)


def cancel_all_and_wait(timeout_ms: int = 5000) -> bool:
    """At exit: ask every task to stop and wait for the pools; True when all threads ended."""
    for task in list(_ACTIVE):
        task.cancel()
    done = True
    for pool in (_background_pool, _serial_pool):
        if pool is not None:
            done = pool.waitForDone(timeout_ms) and done
    _release_retired()
    return done


class QtProgressDialog(QDialog):
    """A small window-modal progress window for one task: message, bar, Cancel.

    It appears only when the work takes longer than ``delay_ms`` (no flicker for quick work),
    turns Cancel into "Cancelling..." when clicked, and closes itself when the task reports back.
    """

    def __init__(
        self,
        task: BackgroundTask,
        *,
        title: str,
        message: str = "",
        parent: QWidget | None = None,
        cancellable: bool = True,
        delay_ms: int = 400,
    ) -> None:
        super().__init__(parent)
        self.task = task
        self.setWindowTitle(title)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumWidth(420)
        self.message_label = QLabel(message or title)
        self.message_label.setWordWrap(True)
        self.message_label.setTextFormat(Qt.TextFormat.PlainText)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # busy until the first progress report gives a total
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(cancellable)
        self.cancel_button.setVisible(cancellable)
        self.cancel_button.clicked.connect(self.request_cancel)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message_label)
        layout.addWidget(self.bar)
        layout.addLayout(buttons)
        self._cancellable = cancellable
        self._done = False
        task.progressed.connect(self.set_progress)
        task.finished.connect(self._task_finished)
        self._show_timer = QTimer(self)
        self._show_timer.setSingleShot(True)
        self._show_timer.timeout.connect(self._show_if_still_running)
        self._show_timer.start(max(0, delay_ms))

    @Slot(int, int, str)
    def set_progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))
        if message and not self.task.is_cancelled():
            self.message_label.setText(message)

    @Slot()
    def request_cancel(self) -> None:
        if not self._cancellable or self.task.is_cancelled():
            return
        self.task.cancel()
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling...")
        self.message_label.setText("Cancelling: the work stops at the next safe point.")

    def _show_if_still_running(self) -> None:
        if self._done:
            return
        if messages.screen_locked():
            self._show_timer.start(500)  # never over the lock screen; try again after the unlock
            return
        self.show()

    def reshow_after_unlock(self) -> bool:
        """The screen lock hid this window: show it again only if the work still runs."""
        return not self._done

    @Slot()
    def _task_finished(self) -> None:
        self._done = True
        self._show_timer.stop()
        self.hide()
        self.deleteLater()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.request_cancel()  # Esc means Cancel; the window closes when the work stops
            event.accept()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._done:
            event.accept()
            return
        self.request_cancel()
        event.ignore()


def run_with_progress(
    fn: Work,
    *,
    parent: QWidget | None,
    title: str,
    on_done: Callable[[Any], None] | None,
    on_error: Callable[[BaseException], None] | None = None,
    message: str = "",
    cancellable: bool = True,
    serial: bool = False,
    delay_ms: int = 400,
) -> QtProgressDialog:
    """:func:`run_in_background` with a :class:`QtProgressDialog`; returns the dialog.

    The task is ``dialog.task``.
    """
    task = run_in_background(
        fn, on_done=on_done, on_error=on_error, parent=parent, description=title, serial=serial
    )
    return QtProgressDialog(
        task,
        title=title,
        message=message,
        parent=parent,
        cancellable=cancellable,
        delay_ms=delay_ms,
    )


__all__ = [
    "BackgroundTask",
    "Cancelled",
    "Progress",
    "QtProgressDialog",
    "Work",
    "active_tasks",
    "background_pool",
    "cancel_all_and_wait",
    "run_in_background",
    "run_with_progress",
    "serial_pool",
]
