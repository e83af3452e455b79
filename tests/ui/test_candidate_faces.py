"""Candidate switching never waits for a photo: the comparison screen shows the candidate at once
with a "loading" placeholder (worksheet locked) and its face when it arrives; a face that arrives
after the examiner moved on is kept but not shown; CandidateFaces prepares faces one at a time on
a worker, most wanted first, and drops results of an earlier list."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from case_ui_support import PROBE_PERSON, enrol_gallery, lfw_path, qualify
from comparison_faces import synthetic_face, worksheet_items
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot
from shell_support import ShownMessages

from app.casework.accounts import SignedInUser
from app.casework.index_sync import forget_open_indexes
from app.casework.workstation import Workstation
from app.errors import InvalidInput
from app.ui.candidate_faces import CandidateFaces
from app.ui.case_desk import CaseDesk, ProbeShown, SearchShown
from app.ui.case_views import CandidateRow, IntakeForm
from app.ui.comparison.model import Answer, CandidateView, FaceSide
from app.ui.comparison.qt_comparison_screen import LOADING_TEXT, QtComparisonScreen
from app.ui.qt_case_comparison import QtCaseComparison
from app.ui.workers import active_tasks

WAIT = 10_000


@pytest.fixture(scope="module")
def faces() -> list[FaceSide]:
    return [synthetic_face(angle_deg=n * 3 - 6, label=f"candidate {n}") for n in range(5)]


def candidates(count: int) -> list[CandidateView]:
    return [CandidateView(rank=n + 1, score_text=f"0.{70 - n}", score_tooltip="Similarity.",
                          subject_reference=f"SID-{n}", photo_date=date(2019, 1, 1),
                          most_recent_photo_date=date(2019, 1, 1), candidate_id=str(n))
            for n in range(count)]


def deferred_screen(qtbot: QtBot, ready: dict[int, FaceSide]) -> tuple[QtComparisonScreen,
                                                                          list[int]]:
    """A screen whose loader knows only ``ready``; every other face is 'being prepared'."""
    asked: list[int] = []

    def loader(candidate: CandidateView) -> FaceSide | None:
        index = int(candidate.candidate_id)
        asked.append(index)
        return ready.get(index)

    screen = QtComparisonScreen(face_loader=loader)
    qtbot.addWidget(screen)
    screen.resize(1300, 850)
    screen.load(probe=synthetic_face(label="probe"), items=worksheet_items(),
                candidates=candidates(5))
    screen.show()
    qtbot.waitExposed(screen)
    return screen, asked


def test_switching_shows_the_candidate_at_once_and_its_face_when_it_arrives(
        qtbot: QtBot, faces: list[FaceSide]) -> None:
    screen, asked = deferred_screen(qtbot, {0: faces[0]})
    assert not screen.face_pending()
    assert screen.view.candidate() is faces[0]
    screen.view.zoom_by(2.0)
    zoom = screen.view.view_state()[0]

    started = time.perf_counter()
    assert screen.next_candidate()
    assert time.perf_counter() - started < 1.0  # nothing decoded here (the target is 0.1 s)
    assert asked[-1] == 1
    assert screen.face_pending()
    assert screen.view.candidate() is None
    assert screen.view.candidate_pane.placeholder() == LOADING_TEXT
    assert "loading" in screen.view.candidate_caption.text()
    assert "SID-1" in screen.header.subject_label.text()  # the candidate itself is shown
    total = len(worksheet_items())
    screen.worksheet.answer_current(Answer.SIMILAR)  # no answer without the photo on screen
    assert screen.worksheet.progress_text() == f"0 of {total} answered"

    with qtbot.waitSignal(screen.candidate_face_shown, timeout=WAIT) as shown:
        screen.set_candidate_face(1, faces[1])
    assert shown.args == [1]
    assert not screen.face_pending()
    assert screen.view.candidate() is faces[1]
    assert screen.view.candidate_pane.placeholder() == ""
    assert "loading" not in screen.view.candidate_caption.text()
    assert screen.strip.pairs, "the feature strip shows the candidate's regions"
    assert screen.view.view_state()[0] == pytest.approx(zoom)  # zoom kept
    screen.worksheet.answer_current(Answer.SIMILAR)
    assert screen.worksheet.progress_text() == f"1 of {total} answered"


def test_a_face_arriving_after_the_examiner_moved_on_is_not_shown(
        qtbot: QtBot, faces: list[FaceSide]) -> None:
    screen, asked = deferred_screen(qtbot, {0: faces[0]})
    screen.next_candidate()
    screen.next_candidate()
    assert screen.current_index() == 2 and screen.face_pending()
    shown: list[int] = []
    screen.candidate_face_shown.connect(shown.append)
    screen.set_candidate_face(1, faces[1])  # stale: candidate 2 is on screen
    assert screen.face_pending() and screen.view.candidate() is None and not shown
    screen.set_candidate_face(2, faces[2])
    assert screen.view.candidate() is faces[2] and shown == [2]
    screen.set_candidate_face(2, faces[3])  # a second delivery changes nothing on screen
    assert screen.view.candidate() is faces[2]
    before = len(asked)
    screen.previous_candidate()  # kept from the stale delivery: shown at once, not asked again
    assert screen.view.candidate() is faces[1] and not screen.face_pending()
    assert len(asked) == before


def test_a_face_that_cannot_be_prepared_is_reported_and_keeps_the_worksheet_locked(
        qtbot: QtBot, faces: list[FaceSide]) -> None:
    screen, _asked = deferred_screen(qtbot, {0: faces[0]})
    screen.next_candidate()
    screen.set_candidate_face_error(1, "the stored photo is damaged")
    assert "the stored photo is damaged" in screen.view.candidate_pane.placeholder()
    assert screen.face_pending()
    screen.worksheet.answer_current(Answer.SIMILAR)
    assert screen.worksheet.progress_text().startswith("0 of")


# -- CandidateFaces ----------------------------------------------------------------------------
class GatedLoad:
    """A face load that waits until the test lets it finish; records the order of the calls."""

    def __init__(self, faces: list[FaceSide]) -> None:
        self.faces = faces
        self.calls: list[int] = []
        self.running = 0
        self.most_at_once = 0
        self.gate = threading.Semaphore(0)
        self._lock = threading.Lock()

    def __call__(self, index: int) -> FaceSide:
        with self._lock:
            self.calls.append(index)
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            if not self.gate.acquire(timeout=WAIT / 1000):
                raise TimeoutError("the test never released the load")
            if index == 4:
                raise ValueError("not a picture")
            return self.faces[index % len(self.faces)]
        finally:
            with self._lock:
                self.running -= 1


def test_candidate_faces_one_at_a_time_most_wanted_first_stale_waiting_dropped(
        qtbot: QtBot, faces: list[FaceSide]) -> None:
    owner = QWidget()
    qtbot.addWidget(owner)
    cache = CandidateFaces(owner, capacity=3)
    load = GatedLoad(faces)
    cache.reset(load, 6)
    cache.want([1, 2, 0])
    qtbot.waitUntil(lambda: load.calls == [1], timeout=WAIT)
    assert cache.loading(1) and cache.queued() == [2, 0]
    cache.want([3, 4, 2, 9, -1])  # moved on: 0 is no longer wanted, 9 and -1 do not exist
    assert cache.queued() == [3, 4, 2]
    assert cache.get(1) is None

    ready: list[int] = []
    failed: list[int] = []
    cache.ready.connect(lambda index, _face: ready.append(index))
    cache.failed.connect(lambda index, _exc: failed.append(index))
    for _ in range(4):
        load.gate.release()
    qtbot.waitUntil(lambda: len(ready) + len(failed) == 4, timeout=WAIT)
    assert load.calls == [1, 3, 4, 2]  # the running one finished, then the new order
    assert load.most_at_once == 1
    assert ready == [1, 3, 2] and failed == [4]
    assert isinstance(cache.error(4), ValueError)
    assert cache.get(3) is faces[3] and cache.get(2) is faces[2] and cache.get(1) is faces[1]
    cache.want([5, 4, 3])  # 4 failed: not retried in a loop; 3 is prepared already
    assert cache.queued() == [] and cache.loading(5)
    qtbot.waitUntil(lambda: load.calls[-1] == 5, timeout=WAIT)
    load.gate.release()
    qtbot.waitUntil(lambda: ready[-1] == 5, timeout=WAIT)
    assert cache.get(3) is None  # capacity 3: the least recently used one (3) went first
    assert cache.get(1) is faces[1] and cache.get(5) is faces[0]
    cache.forget_error(4)  # the examiner comes back to it: tried once more
    cache.want([4])
    assert cache.loading(4)
    load.gate.release()
    qtbot.waitUntil(lambda: failed == [4, 4], timeout=WAIT)
    assert load.calls.count(4) == 2


def test_candidate_faces_drop_the_results_of_an_earlier_list(
        qtbot: QtBot, faces: list[FaceSide]) -> None:
    owner = QWidget()
    qtbot.addWidget(owner)
    cache = CandidateFaces(owner)
    first = GatedLoad(faces)
    cache.reset(first, 3)
    cache.want([0])
    qtbot.waitUntil(lambda: first.calls == [0], timeout=WAIT)
    old_task = next(task for task in active_tasks() if task.description.startswith("preparing"))
    second = GatedLoad(faces[1:])
    cache.reset(second, 3)  # a new search opened while the old face is being prepared
    ready: list[tuple[int, FaceSide]] = []
    cache.ready.connect(lambda index, face: ready.append((index, face)))
    cache.want([0])
    qtbot.waitUntil(lambda: second.calls == [0], timeout=WAIT)
    first.gate.release()
    qtbot.waitUntil(lambda: not old_task.is_running(), timeout=WAIT)  # it has reported back
    assert ready == [] and cache.get(0) is None  # the old list's face is never shown
    second.gate.release()
    qtbot.waitUntil(lambda: bool(ready), timeout=WAIT)
    assert ready == [(0, faces[1])] and cache.get(0) is faces[1]


# -- the case's comparison screen, on real photographs -----------------------------------------
@pytest.fixture
def opened(qtbot: QtBot, ws: Workstation, admin: SignedInUser, examiner: SignedInUser,
           lfw_dir: Path) -> Iterator[tuple[QtCaseComparison, SearchShown, ProbeShown]]:
    forget_open_indexes()
    enrol_gallery(ws, admin, lfw_dir)
    qualify(ws, admin, examiner)
    desk = CaseDesk(ws, examiner)
    request_id = desk.create_request(IntakeForm(
        case_number="2026-CR-0077", requesting_officer="Det. Lee", requesting_agency="PD",
        purpose_code=ws.profile.purposes[0].code, offense="Robbery", narrative="Store camera.",
        probe_source="agency_personnel", probe_obtained_how="Exported by Det. Lee.",
        attests_lawful_source=True, attests_not_protected_basis=True,
        attests_actual_subject=True,
    ))
    shown = desk.add_probe_file(request_id, str(lfw_path(lfw_dir, *PROBE_PERSON)))
    search = desk.run_search(request_id, probe_version_id=None, face_index=None)
    assert len(search.rows) >= 5
    comparison = QtCaseComparison(desk, request_id)
    qtbot.addWidget(comparison)
    comparison.resize(1400, 900)
    comparison.show()
    with qtbot.waitSignal(comparison.loaded, timeout=60_000):
        comparison.open(search, shown, 0, read_only=False)
    yield comparison, search, shown
    forget_open_indexes()


def test_case_comparison_prepares_faces_on_a_worker_and_shows_the_current_one(
        qtbot: QtBot, opened: tuple[QtCaseComparison, SearchShown, ProbeShown],
        monkeypatch: pytest.MonkeyPatch) -> None:
    comparison = opened[0]
    screen = comparison.compare_screen
    faces = comparison.faces
    qtbot.waitUntil(lambda: not faces.queued() and not faces.loading(1)
                    and not faces.loading(2), timeout=60_000)
    assert faces.get(1) is not None and faces.get(2) is not None  # neighbours prefetched
    assert screen.next_candidate() and not screen.face_pending()  # prepared: shown at once

    desk = comparison.desk
    prepare = desk.candidate_face
    gate = threading.Event()
    on_gui_thread: list[bool] = []

    def slow_face(row: CandidateRow) -> FaceSide:
        on_gui_thread.append(threading.current_thread() is threading.main_thread())
        gate.wait(30)
        return prepare(row)

    monkeypatch.setattr(desk, "candidate_face", slow_face)
    screen.go_to_candidate(3)  # not prepared: shown at once, loading
    assert screen.face_pending() and screen.view.candidate() is None
    screen.go_to_candidate(4)  # the examiner moves on before 3 arrives
    assert screen.face_pending()
    total = len(screen.session().worksheet().items)
    screen.worksheet.answer_current("similar")  # locked while the photo loads
    assert screen.worksheet.progress_text() == f"0 of {total} answered"

    with qtbot.waitSignal(screen.candidate_face_shown, timeout=60_000):
        gate.set()
    assert screen.current_index() == 4
    face = screen.view.candidate()
    assert face is not None and comparison.rows[4].subject_reference in face.label
    assert on_gui_thread and not any(on_gui_thread)  # never prepared on the GUI thread
    screen.worksheet.answer_current("similar")
    qtbot.waitUntil(lambda: comparison.current_summary() is not None
                    and comparison.current_summary().progress.answered == 1,  # type: ignore[union-attr]
                    timeout=60_000)
    screen.go_to_candidate(3)  # its face arrived meanwhile (or arrives now): never the wrong one
    qtbot.waitUntil(lambda: not screen.face_pending(), timeout=60_000)
    face = screen.view.candidate()
    assert face is not None and comparison.rows[3].subject_reference in face.label


def test_opening_the_same_search_again_keeps_the_prepared_faces(
        qtbot: QtBot, opened: tuple[QtCaseComparison, SearchShown, ProbeShown],
        monkeypatch: pytest.MonkeyPatch) -> None:
    comparison, search, shown = opened
    faces = comparison.faces
    qtbot.waitUntil(lambda: faces.get(1) is not None and faces.get(2) is not None,
                    timeout=60_000)
    prepared = faces.get(1)
    desk = comparison.desk
    prepare = desk.candidate_face
    asked: list[str] = []

    def counted(row: CandidateRow) -> FaceSide:
        asked.append(row.subject_reference)
        return prepare(row)

    monkeypatch.setattr(desk, "candidate_face", counted)
    with qtbot.waitSignal(comparison.loaded, timeout=60_000):  # back to the case, candidate 2
        comparison.open(search, shown, 1, read_only=False)
    assert comparison.compare_screen.view.candidate() is prepared
    assert search.rows[1].subject_reference not in asked  # not prepared a second time


def test_a_photo_that_cannot_be_prepared_says_so_and_is_tried_again_on_return(
        qtbot: QtBot, opened: tuple[QtCaseComparison, SearchShown, ProbeShown],
        monkeypatch: pytest.MonkeyPatch, shown_messages: ShownMessages) -> None:
    comparison = opened[0]
    screen = comparison.compare_screen
    desk = comparison.desk
    prepare = desk.candidate_face
    broken = comparison.rows[4].subject_reference
    tries: list[str] = []

    def failing(row: CandidateRow) -> FaceSide:
        if row.subject_reference == broken:
            tries.append(broken)
            raise InvalidInput("The stored photo cannot be read.")
        return prepare(row)

    monkeypatch.setattr(desk, "candidate_face", failing)
    screen.go_to_candidate(4)
    pane = screen.view.candidate_pane
    qtbot.waitUntil(lambda: "cannot be read" in pane.placeholder(), timeout=60_000)
    assert screen.face_pending()  # the worksheet stays locked: no photo, no answers
    screen.worksheet.answer_current("similar")
    assert screen.worksheet.progress_text().startswith("0 of")
    assert shown_messages.texts == []  # said on the picture, no message box per candidate
    screen.go_to_candidate(3)
    qtbot.waitUntil(lambda: not screen.face_pending(), timeout=60_000)
    screen.go_to_candidate(4)
    assert pane.placeholder() == LOADING_TEXT
    qtbot.waitUntil(lambda: "cannot be read" in pane.placeholder(), timeout=60_000)
    assert tries.count(broken) >= 2  # tried again when the examiner came back
