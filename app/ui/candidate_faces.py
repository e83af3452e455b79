"""CandidateFaces: the comparison screen's candidate faces, prepared on a worker and cached.

Decoding a gallery photo and finding its face takes a few hundred milliseconds, far too long for
the GUI thread when the examiner presses Page Down. This object keeps the prepared faces of one
candidate list (least recently used dropped first) and prepares the ones it is asked for, one at
a time on :func:`app.ui.workers.run_in_background`, most wanted first: :meth:`want` replaces the
waiting list, so faces the examiner has already moved past are never started. A face that failed
is not tried again until :meth:`forget_error`. A result always arrives through :attr:`ready` (or
:attr:`failed`) on the GUI thread; one that belongs to an earlier list (:meth:`reset` was called
since) is dropped.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from app.ui.comparison.model import FaceSide
from app.ui.workers import BackgroundTask, run_in_background

log = logging.getLogger(__name__)

CACHE_SIZE = 12
"""Prepared faces kept; a neighbour prefetched but never shown still counts."""

FaceLoad = Callable[[int], FaceSide]
"""Prepares the face of the candidate at a list position (runs on a worker thread)."""


class CandidateFaces(QObject):
    """Prepared faces by list position, loaded in the background one at a time."""

    ready = Signal(int, object)  # position, FaceSide
    failed = Signal(int, object)  # position, the exception

    def __init__(self, owner: QWidget, *, capacity: int = CACHE_SIZE) -> None:
        super().__init__(owner)
        self._owner = owner
        self._capacity = max(1, capacity)
        self._load: FaceLoad | None = None
        self._count = 0
        self._generation = 0
        self._faces: OrderedDict[int, FaceSide] = OrderedDict()
        self._errors: dict[int, BaseException] = {}
        self._queue: list[int] = []
        self._running: tuple[int, BackgroundTask] | None = None

    # -- the list ---------------------------------------------------------------------------
    def reset(self, load: FaceLoad | None, count: int) -> None:
        """A new candidate list: forget every face; results still under way are dropped."""
        self._generation += 1
        self._load = load
        self._count = max(0, count)
        self._faces.clear()
        self._errors.clear()
        self._queue.clear()
        if self._running is not None:
            self._running[1].cancel()
            self._running = None

    def put(self, index: int, face: FaceSide) -> None:
        """A face prepared elsewhere (e.g. with the probe when the screen opened)."""
        self._store(index, face)

    # -- asking -----------------------------------------------------------------------------
    def get(self, index: int) -> FaceSide | None:
        face = self._faces.get(index)
        if face is not None:
            self._faces.move_to_end(index)
        return face

    def error(self, index: int) -> BaseException | None:
        return self._errors.get(index)

    def forget_error(self, index: int) -> None:
        """Let a face that failed be tried again (when the examiner comes back to it)."""
        self._errors.pop(index, None)

    def loading(self, index: int) -> bool:
        """Whether the face is being prepared or waits for its turn."""
        return index in self._queue or (self._running is not None and self._running[0] == index)

    def want(self, indices: Iterable[int]) -> None:
        """Prepare these positions, in this order; anything else still waiting is dropped."""
        queue: list[int] = []
        running = self._running[0] if self._running is not None else None
        for index in indices:
            if (0 <= index < self._count and index not in self._faces
                    and index not in self._errors and index != running and index not in queue):
                queue.append(index)
        self._queue = queue
        self._start_next()

    def queued(self) -> list[int]:
        return list(self._queue)

    # -- work -------------------------------------------------------------------------------
    def _start_next(self) -> None:
        if self._running is not None or not self._queue or self._load is None:
            return
        index = self._queue.pop(0)
        load, generation = self._load, self._generation

        def work(progress: Callable[[int, int, str], None], cancelled: Callable[[], bool]
                 ) -> FaceSide | None:
            return None if cancelled() else load(index)

        task = run_in_background(
            work,
            on_done=lambda face: self._finished(generation, index, face, None),
            on_error=lambda exc: self._finished(generation, index, None, exc),
            parent=self._owner, description="preparing a candidate's face",
        )
        self._running = (index, task)

    def _finished(self, generation: int, index: int, face: FaceSide | None,
                  error: BaseException | None) -> None:
        if generation != self._generation:
            return  # an earlier list: reset() already moved on (and cleared _running)
        self._running = None
        if face is not None:
            self._store(index, face)
            self.ready.emit(index, face)
        elif error is not None:
            log.info("The face of candidate position %s could not be prepared: %s", index, error)
            self._errors[index] = error
            self.failed.emit(index, error)
        self._start_next()

    def _store(self, index: int, face: FaceSide) -> None:
        self._errors.pop(index, None)
        self._faces[index] = face
        self._faces.move_to_end(index)
        while len(self._faces) > self._capacity:
            self._faces.popitem(last=False)


__all__ = ["CACHE_SIZE", "CandidateFaces", "FaceLoad"]
