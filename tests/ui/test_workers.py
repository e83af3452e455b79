"""Background work: results, errors and progress come back through signals on the GUI thread;
Cancel stops the work; a destroyed owner drops the callbacks."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot
from shell_support import ShownMessages

from app.errors import ImportCancelled, StorageError
from app.ui import workers
from app.ui.workers import Cancelled, Progress, run_in_background, run_with_progress


def gui_thread() -> QThread:
    app = QApplication.instance()
    assert app is not None
    return app.thread()


def test_result_arrives_on_the_gui_thread(qtbot: QtBot) -> None:
    seen: dict[str, object] = {}

    def work(*, progress: Progress, cancelled: Cancelled) -> int:
        seen["worker_thread"] = threading.get_ident()
        return 6 * 7

    def done(value: object) -> None:
        seen["value"] = value
        seen["on_gui_thread"] = QThread.currentThread() is gui_thread()

    task = run_in_background(work, on_done=done)
    with qtbot.waitSignal(task.succeeded, timeout=10000) as signal:
        pass
    assert signal.args == [42]
    assert seen["value"] == 42
    assert seen["on_gui_thread"] is True
    assert seen["worker_thread"] != threading.get_ident()
    assert not task.is_running()
    qtbot.waitUntil(lambda: task not in workers.active_tasks(), timeout=1000)


def test_plain_error_goes_to_on_error_and_default_shows_it(
    qtbot: QtBot, shown_messages: ShownMessages
) -> None:
    def failing(*, progress: Progress, cancelled: Cancelled) -> None:
        raise StorageError("The disk holding the database is full.")

    errors: list[BaseException] = []
    task = run_in_background(
        failing, on_done=lambda _: pytest.fail("no result expected"), on_error=errors.append
    )
    with qtbot.waitSignal(task.failed, timeout=10000):
        pass
    assert isinstance(errors[0], StorageError)
    assert shown_messages.texts == []  # the custom handler took it

    task = run_in_background(failing, on_done=None)
    with qtbot.waitSignal(task.finished, timeout=10000):
        pass
    assert shown_messages.texts == ["The disk holding the database is full."]


def test_unexpected_error_is_logged_and_shown_without_traceback(
    qtbot: QtBot, shown_messages: ShownMessages, caplog: pytest.LogCaptureFixture
) -> None:
    def buggy(*, progress: Progress, cancelled: Cancelled) -> None:
        {}["missing"]

    with caplog.at_level(logging.ERROR):
        task = run_in_background(buggy, on_done=None, description="buggy work")
        with qtbot.waitSignal(task.failed, timeout=10000):
            pass
    assert shown_messages.texts == ["Unexpected error: 'missing'"]
    assert "Traceback" not in shown_messages.texts[0]
    assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)


def test_progress_is_delivered_and_the_last_report_arrives(qtbot: QtBot) -> None:
    reports: list[tuple[int, int, str, bool]] = []

    def counting(*, progress: Progress, cancelled: Cancelled) -> str:
        for n in range(1, 6):
            time.sleep(0.06)  # longer than the throttle: every report goes out
            progress(n, 5, f"item {n}")
        for n in range(1000):  # a burst: throttled, but the final one is never dropped
            progress(n, 1000, "burst")
        progress(1000, 1000, "burst done")
        return "ok"

    def on_progress(done: int, total: int, message: str) -> None:
        reports.append((done, total, message, QThread.currentThread() is gui_thread()))

    task = run_in_background(counting, on_done=None, on_progress=on_progress)
    with qtbot.waitSignal(task.succeeded, timeout=10000):
        pass
    assert [r[:3] for r in reports[:5]] == [(n, 5, f"item {n}") for n in range(1, 6)]
    assert reports[-1][:3] == (1000, 1000, "burst done")
    assert len(reports) < 100  # the burst was throttled
    assert all(r[3] for r in reports)


def test_cancel_button_stops_the_work(qtbot: QtBot, shown_messages: ShownMessages) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    started = threading.Event()
    outcome: list[BaseException] = []

    def endless(*, progress: Progress, cancelled: Cancelled) -> None:
        n = 0
        deadline = time.monotonic() + 30  # never occupy a pool thread beyond the test
        while not cancelled() and time.monotonic() < deadline:
            started.set()
            n += 1
            progress(n % 100, 100, f"step {n}")
            time.sleep(0.01)
        raise ImportCancelled(f"Cancelled after {n} steps; what was done is kept.")

    dialog = run_with_progress(
        endless, parent=parent, title="Long work", on_done=None, on_error=outcome.append, delay_ms=0
    )
    try:
        qtbot.waitUntil(dialog.isVisible, timeout=10000)
        assert started.wait(10)
        qtbot.waitUntil(lambda: dialog.bar.maximum() == 100, timeout=10000)
        with qtbot.waitSignal(dialog.task.finished, timeout=10000):
            dialog.cancel_button.click()
            assert dialog.cancel_button.text() == "Cancelling..."
    finally:
        dialog.task.cancel()
    assert dialog.task.is_cancelled()
    assert isinstance(outcome[0], ImportCancelled)
    assert not dialog.isVisible()


def test_quick_work_never_shows_the_progress_window(qtbot: QtBot) -> None:
    results: list[object] = []
    dialog = run_with_progress(
        lambda **_: "fast", parent=None, title="Quick", on_done=results.append, delay_ms=2000
    )
    task = dialog.task
    with qtbot.waitSignal(task.finished, timeout=10000):
        pass
    assert results == ["fast"]
    assert not dialog.isVisible()


def test_destroyed_owner_cancels_and_drops_callbacks(qtbot: QtBot) -> None:
    owner = QWidget()
    release = threading.Event()
    calls: list[object] = []

    def waiting(*, progress: Progress, cancelled: Cancelled) -> bool:
        release.wait(5)
        return cancelled()

    task = run_in_background(waiting, on_done=calls.append, parent=owner)
    try:
        owner.deleteLater()
        qtbot.waitUntil(task.is_cancelled, timeout=10000)
    finally:
        release.set()
    with qtbot.waitSignal(task.succeeded, timeout=10000) as signal:
        pass
    assert signal.args == [True]  # the work saw the cancel
    assert calls == []  # the owner's callback was not called


class _Page(QWidget):
    """A parentless widget whose callbacks are its own bound methods, as a page's are."""

    def __init__(self) -> None:
        super().__init__()
        self.results: list[object] = []

    def shown(self, result: object) -> None:
        self.results.append(result)


def test_a_finished_task_lets_go_of_its_owner(qtbot: QtBot) -> None:
    # The task's callbacks are the only reference to the owner once the caller drops it: the
    # owner must then be destroyed when the task finishes, with nothing connected to the task
    # (destroying it while the task itself was being freed crashed the process).
    page = _Page()
    destroyed: list[bool] = []
    page.destroyed.connect(lambda: destroyed.append(True))
    task = run_in_background(lambda progress, cancelled: 7, on_done=page.shown, parent=page)
    results = page.results
    del page
    qtbot.waitUntil(lambda: results == [7], timeout=10000)
    qtbot.waitUntil(lambda: bool(destroyed), timeout=10000)
    qtbot.waitUntil(lambda: task not in workers._RETIRED, timeout=10000)
    assert task._on_done is None and task._parent is None


def test_serial_work_runs_one_at_a_time(qtbot: QtBot) -> None:
    running = 0
    most = 0
    lock = threading.Lock()

    def write(*, progress: Progress, cancelled: Cancelled) -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.03)
        with lock:
            running -= 1

    tasks = [run_in_background(write, on_done=None, serial=True) for _ in range(4)]
    qtbot.waitUntil(lambda: not any(t.is_running() for t in tasks), timeout=10000)
    assert most == 1
    assert workers.background_pool() is not workers.serial_pool()
    assert workers.background_pool().maxThreadCount() >= 4
    assert workers.serial_pool().maxThreadCount() == 1
