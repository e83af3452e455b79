"""Photo analysis for a bulk import, in worker processes or on one local thread.

Decoding, face finding and mesh fitting take most of an import's time, and MediaPipe's Python
calls hold the interpreter lock, so threads do not run them side by side: two threads were
measured slower than one. Large imports therefore analyse photos in worker processes (started
with "spawn", which is safe with the parent's threads); each worker builds its own detection
pipeline once and also writes the photo's bytes to the content-addressed evidence store, so the
disk writes run in parallel too. Small imports analyse on one local thread (no start-up cost).
"""

from __future__ import annotations

import multiprocessing
import signal
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

from app.casework.gallery_engine import PhotoAnalysis, PhotoRejection, analyse_photo
from app.engine.model_manifest import MANIFEST_FILE, read_manifest
from app.engine.pipeline import FacePipeline
from app.errors import StorageError
from app.records.evidence import EvidenceStore

Analysis = PhotoAnalysis | PhotoRejection | StorageError

# Below this many manifest rows the worker processes' start-up (seconds) is not worth it.
PROCESS_POOL_MIN_ROWS = 200

_worker_pipeline: FacePipeline | None = None


def _start_worker(models_dir: str, model_name: str) -> None:
    """In a worker process: the detection/alignment pipeline for the model's chips."""
    global _worker_pipeline
    # Ctrl-C reaches the whole process group; the parent decides how to stop, the workers must
    # not die half-way through a photo (that would look like a crash).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    manifest = read_manifest(Path(models_dir) / model_name / MANIFEST_FILE)
    _worker_pipeline = FacePipeline(None, alignment=manifest.alignment)


def analyse_and_store(
    pipeline: FacePipeline, data: bytes, name: str, max_pixels: int, evidence_root: str
) -> Analysis:
    """Analyse one photo; when it is usable, write its bytes to the evidence store."""
    result = analyse_photo(pipeline, data, name=name, max_pixels=max_pixels)
    if isinstance(result, PhotoAnalysis):
        try:
            EvidenceStore(Path(evidence_root)).put(data)
        except StorageError as exc:
            return exc
    return result


def _analyse_in_worker(data: bytes, name: str, max_pixels: int, evidence_root: str) -> Analysis:
    if _worker_pipeline is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("the gallery worker was not started")
    return analyse_and_store(_worker_pipeline, data, name, max_pixels, evidence_root)


class PhotoAnalyser:
    """Submits photos for analysis to worker processes (``processes`` > 0) or to one thread
    using ``local_pipeline``. The processes start on the first photo, so a re-run that finds
    every photo already in the gallery starts none."""

    def __init__(
        self,
        *,
        local_pipeline: FacePipeline,
        models_dir: Path,
        model_name: str,
        evidence_root: Path,
        max_pixels: int,
        processes: int,
    ) -> None:
        self._local = local_pipeline
        self._models_dir = str(models_dir)
        self._model_name = model_name
        self._evidence_root = str(evidence_root)
        self._max_pixels = max_pixels
        self._processes = processes
        self._executor: Executor | None = None

    @property
    def uses_processes(self) -> bool:
        return self._processes > 0

    def _ensure_executor(self) -> Executor:
        if self._executor is None:
            if self._processes > 0:
                self._executor = ProcessPoolExecutor(
                    max_workers=self._processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_worker,
                    initargs=(self._models_dir, self._model_name),
                )
            else:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="gallery-analysis")
        return self._executor

    def submit(self, data: bytes, name: str) -> Future[Analysis]:
        executor = self._ensure_executor()
        if self._processes > 0:
            return executor.submit(
                _analyse_in_worker, data, name, self._max_pixels, self._evidence_root
            )
        return executor.submit(
            analyse_and_store, self._local, data, name, self._max_pixels, self._evidence_root
        )

    def shutdown(self, *, cancel: bool = False) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=cancel)
            self._executor = None


__all__ = ["PROCESS_POOL_MIN_ROWS", "Analysis", "PhotoAnalyser", "analyse_and_store"]
