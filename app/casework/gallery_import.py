"""Bulk gallery import: a folder of photos and a CSV manifest (see :mod:`gallery_manifest`).

The manifest is streamed in chunks. For each chunk, two threads read and hash the files; rows
whose photo is already in the gallery (this run, an earlier run, or a run that was killed) are
counted as such without decoding anything. The new photos are decoded, searched for exactly one
face and aligned in worker processes (:mod:`gallery_workers`) while this process embeds and
commits the chunk before. The chunk's descriptors are computed together, and the whole chunk -
subjects, evidence rows, photos, embeddings, change-log entries and one audit event per photo -
is committed in one transaction. The photo files are written to the content-addressed evidence
store first (a file without a row is a harmless orphan), and the face index is updated after the
commit (it is derived data). So nothing is ever half-written, and running the same import again
continues where a killed or cancelled run stopped.

A row that cannot be imported is skipped and written to an error report (CSV: row, line, file,
subject reference, reason) in ``<data>/import-reports/``, which is also stored as evidence. A
full disk stops the import with a plain message; everything committed so far stays.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.casework.account_rules import SignedInUser
from app.casework.gallery_engine import (
    PhotoRejection,
    descriptor_key,
    embed_chips,
    gallery_embedder,
    gallery_pipeline,
)
from app.casework.gallery_import_batch import (
    ImportCounts,
    finish_batch,
    os_storage_error,
    start_batch,
)
from app.casework.gallery_import_rows import (
    ImportRow,
    already_owner_reason,
    check_row,
    file_size,
    read_and_hash,
    row_chunks,
)
from app.casework.gallery_manifest import inspect_manifest
from app.casework.gallery_records import (
    NewPhoto,
    add_photo,
    check_gallery_manager,
    gallery_generation,
    lock_gallery,
    require_permission,
)
from app.casework.gallery_workers import PROCESS_POOL_MIN_ROWS, Analysis, PhotoAnalyser
from app.casework.index_sync import refresh_indexes, synced_index
from app.casework.workstation import Workstation
from app.errors import FrxError, InvalidInput, ManifestError, StorageError
from app.records.gallery_models import GalleryPhoto, GallerySubject, ImportBatch

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
Cancelled = Callable[[], bool]

CHUNK_ROWS = 64
REPORTS_FOLDER = "import-reports"
REPORT_COLUMNS = ("row", "line", "file", "subject_reference", "reason")


@dataclass(frozen=True)
class ImportResult:
    """What an import did. ``status``: "finished" or "cancelled" (a full disk raises)."""

    batch_id: int
    status: str
    rows_total: int
    rows_processed: int
    enrolled: int
    already_in_gallery: int
    failed: int
    error_report_path: Path | None
    error_report_sha256: str | None
    manifest_sha256: str
    generation: int
    seconds: float

    @property
    def photos_per_second(self) -> float:
        return self.rows_processed / self.seconds if self.seconds > 0 else 0.0


# ------------------------------------------------------------------------------ the run


@dataclass
class _Chunk:
    rows: list[ImportRow]
    analyses: list[tuple[ImportRow, Future[Analysis]]]


class _Run:
    """The state of one import while it runs (counts, photos seen, the error report)."""

    def __init__(
        self,
        ws: Workstation,
        *,
        by: SignedInUser,
        folder: Path,
        batch_id: int,
        model_name: str,
        pool: ThreadPoolExecutor,
        processes: int,
        report_path: Path,
    ) -> None:
        self.ws = ws
        self.by = by
        self.folder = folder
        self.batch_id = batch_id
        self.model_name = model_name
        self.pool = pool
        self.report_path = report_path
        # With worker processes busy on the other cores, one embedding thread wastes least.
        self.embedder = gallery_embedder(
            ws.settings, model_name, threads=1 if processes > 0 else None
        )
        self.analyser = PhotoAnalyser(
            local_pipeline=gallery_pipeline(self.embedder),
            models_dir=ws.settings.models_dir,
            model_name=model_name,
            evidence_root=ws.evidence.root,
            max_pixels=ws.settings.max_image_pixels,
            processes=processes,
        )
        self.enrolled = self.already = self.failed = self.processed = 0
        # What is settled about each photo (by hash) met so far: ("owner", subject reference)
        # once it is in the gallery, or ("failed", reason) when it cannot be enrolled.
        self.known: dict[str, tuple[str, str]] = {}
        # The first row of each photo still being analysed; later copies wait for its outcome.
        self.firsts: dict[str, ImportRow] = {}
        self.hashes_by_path: dict[Path, str] = {}
        self.paths: dict[str, Path | str] = {}
        self.waiting: list[ImportRow] = []
        self._report: io.TextIOWrapper | None = None
        self._writer: Any = None

    # -------------------------------------------------------------------- counting, report
    def _record(self, row: ImportRow) -> None:
        self.processed += 1
        if row.outcome == "enrolled":
            self.enrolled += 1
        elif row.outcome == "already":
            self.already += 1
        else:
            self.failed += 1
            self._write_failure(row)

    def _write_failure(self, row: ImportRow) -> None:
        try:
            if self._report is None:
                self.report_path.parent.mkdir(parents=True, exist_ok=True)
                self._report = self.report_path.open("w", encoding="utf-8", newline="")
                self._writer = csv.writer(self._report)
                self._writer.writerow(REPORT_COLUMNS)
            subject = row.source.get("subject_reference").strip()
            self._writer.writerow(
                (row.source.number, row.source.line, row.file_text, subject, row.reason)
            )
        except OSError as exc:
            raise os_storage_error(exc, f"the error report {self.report_path}") from exc

    def close_report(self) -> Path | None:
        if self._report is None:
            return None
        try:
            self._report.close()
        except OSError as exc:
            raise os_storage_error(exc, f"the error report {self.report_path}") from exc
        return self.report_path

    # -------------------------------------------------------------------- stage 1: prepare
    def prepare(self, rows: list[ImportRow]) -> _Chunk:
        """Check and hash a chunk, classify its photos, and start analysing the new ones."""
        for row in rows:
            check_row(self.ws, self.folder, row, self.paths)
        to_read: list[ImportRow] = []
        for row in rows:
            if row.outcome or row.path is None:
                continue
            known = self.hashes_by_path.get(row.path)
            if known is None:
                to_read.append(row)
            else:
                row.sha256 = known
        for future in [self.pool.submit(read_and_hash, row) for row in to_read]:
            future.result()
        for row in to_read:
            if row.sha256 and row.path is not None:
                self.hashes_by_path[row.path] = row.sha256
        self._classify([r for r in rows if not r.outcome and r.sha256])
        analyses = [
            (row, self.analyser.submit(row.data, row.file_text))
            for row in rows
            if not row.outcome and not row.duplicate_of
        ]
        return _Chunk(rows=rows, analyses=analyses)

    def _classify(self, rows: list[ImportRow]) -> None:
        unknown = sorted(
            {r.sha256 for r in rows if r.sha256 not in self.known and r.sha256 not in self.firsts}
        )
        for sha, owner in self._owners(unknown).items():
            self.known[sha] = ("owner", owner)
        for row in rows:
            if self._decide_from_known(row):
                continue
            if row.sha256 in self.firsts:
                row.duplicate_of = row.sha256
                row.data = b""
                self.waiting.append(row)
                continue
            self.firsts[row.sha256] = row

    def _decide_from_known(self, row: ImportRow) -> bool:
        """Settle a row whose photo's fate is known already; False when it is not."""
        known = self.known.get(row.sha256)
        if known is None:
            return False
        kind, value = known
        row.data = b""
        if kind == "failed":
            row.outcome, row.reason = "failed", value
        elif row.subject is not None and value == row.subject.subject_reference:
            row.outcome = "already"
        else:
            row.outcome, row.reason = "failed", already_owner_reason(value)
        return True

    def _owners(self, shas: list[str]) -> dict[str, str]:
        """Subject reference of each of ``shas`` that is in the gallery."""
        owners: dict[str, str] = {}
        with self.ws.database.session(read_only=True) as session:
            for start in range(0, len(shas), 500):
                rows = session.execute(
                    select(GalleryPhoto.evidence_sha256, GallerySubject.subject_reference)
                    .join(GallerySubject, GallerySubject.id == GalleryPhoto.subject_id)
                    .where(GalleryPhoto.evidence_sha256.in_(shas[start : start + 500]))
                )
                owners.update({str(sha): str(ref) for sha, ref in rows})
        return owners

    # -------------------------------------------------------------------- stage 2: finish
    def finish(self, chunk: _Chunk) -> None:
        """Embed and commit the chunk's new photos, then count every decided row."""
        storage_error: StorageError | None = None
        ready: list[ImportRow] = []
        for row, future in chunk.analyses:
            try:
                result = future.result()
            except BrokenProcessPool as exc:
                raise StorageError(
                    "The photo analysis stopped unexpectedly (a worker process ended)."
                ) from exc
            row.data = b""
            if isinstance(result, StorageError):
                storage_error = storage_error or result
            elif isinstance(result, PhotoRejection):
                row.outcome, row.reason = "failed", result.reason
            else:
                row.analysis = result
                ready.append(row)
        if storage_error is not None:
            raise storage_error
        if ready:
            self._commit(ready)
        for row, _future in chunk.analyses:
            self._learn(row)
        self._settle_duplicates()
        # Finishing goes chunk by chunk, so every row's first copy is decided by now and the
        # counts and the error report follow the manifest's order.
        for row in chunk.rows:
            if not row.outcome:  # pragma: no cover - defensive
                row.outcome, row.reason = "failed", "The row could not be processed."
            self._record(row)

    def _commit(self, ready: list[ImportRow]) -> None:
        chips = [r.analysis.chip for r in ready if r.analysis is not None]
        vectors = embed_chips(self.embedder, chips)
        with self.ws.database.session() as session:
            lock_gallery(session)
            # Enrolled meanwhile by another workstation sharing the database?
            owners = {
                str(sha): str(ref)
                for sha, ref in session.execute(
                    select(GalleryPhoto.evidence_sha256, GallerySubject.subject_reference)
                    .join(GallerySubject, GallerySubject.id == GalleryPhoto.subject_id)
                    .where(GalleryPhoto.evidence_sha256.in_([r.sha256 for r in ready]))
                )
            }
            enrolled = 0
            for row, vector in zip(ready, vectors, strict=True):
                if row.subject is None or row.photo is None or row.analysis is None:
                    continue  # cannot happen: ready rows passed every check
                owner = owners.get(row.sha256)
                if owner is not None:
                    row.owner = owner
                    same = owner == row.subject.subject_reference
                    row.outcome = "already" if same else "failed"
                    row.reason = "" if same else already_owner_reason(owner)
                    continue
                try:
                    # A refusal (a name that contradicts the subject's record) is raised before
                    # anything of this photo is written, so the chunk's other photos stay.
                    add_photo(
                        self.ws,
                        session,
                        NewPhoto(
                            subject=row.subject,
                            photo=row.photo,
                            sha256=row.sha256,
                            size=file_size(row),
                            original_name=row.file_text,
                            analysis=row.analysis,
                            vector=vector,
                        ),
                        actor=self.by.username,
                        model_name=self.model_name,
                        model_sha256=descriptor_key(self.embedder.manifest),
                        import_batch_id=self.batch_id,
                        row_number=row.source.number,
                    )
                except InvalidInput as exc:
                    row.outcome, row.reason = "failed", str(exc)
                    continue
                row.outcome = "enrolled"
                enrolled += 1
            batch = session.get(ImportBatch, self.batch_id)
            if batch is not None:
                batch.enrolled += enrolled
        for row in ready:
            row.analysis = None  # let the chips go
        synced_index(self.ws, model_name=self.model_name, save=False)

    def _learn(self, row: ImportRow) -> None:
        """Remember what became of a photo's first row, for its later copies."""
        self.firsts.pop(row.sha256, None)
        if row.outcome == "enrolled" and row.subject is not None:
            self.known[row.sha256] = ("owner", row.subject.subject_reference)
        elif row.owner:
            self.known[row.sha256] = ("owner", row.owner)
        elif row.outcome == "failed":
            self.known[row.sha256] = ("failed", row.reason)

    def _settle_duplicates(self) -> None:
        self.waiting = [row for row in self.waiting if not self._decide_from_known(row)]

    def shutdown(self, *, cancel: bool) -> None:
        self.analyser.shutdown(cancel=cancel)
        self.pool.shutdown(wait=True, cancel_futures=cancel)

    def counts(self) -> ImportCounts:
        return ImportCounts(self.processed, self.enrolled, self.already, self.failed)

    def summary(self) -> str:
        return (
            f"{self.enrolled} enrolled, {self.already} already in the gallery, {self.failed} failed"
        )


# ------------------------------------------------------------------------------ entry point
def default_workers() -> int:
    """Worker processes for decoding and face finding: the machine's cores, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def import_gallery(
    ws: Workstation,
    *,
    by: SignedInUser,
    folder: Path,
    manifest_csv: Path,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
    model: str | None = None,
    workers: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> ImportResult:
    """Import the photos a manifest lists from ``folder`` (see the module docstring).

    ``workers``: processes analysing photos (default :func:`default_workers` for manifests of
    ``PROCESS_POOL_MIN_ROWS`` rows or more; 0 analyses on one thread of this process).
    ``progress(rows_done, rows_total, message)`` after each chunk; when ``cancelled()`` turns
    true the import stops after the chunk in hand (status "cancelled"; run it again to go on).
    Raises ManifestError for an unusable manifest (nothing imported), StorageError when the disk
    fills up (what was committed stays; run it again to go on).
    """
    started = time.perf_counter()
    model_name = model or ws.settings.model_name
    with ws.database.session() as session:
        require_permission(
            ws, session, by, check=check_gallery_manager, attempted="import gallery photos"
        )
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ManifestError(f"The import folder {root} does not exist or is not a folder.")
    root = root.resolve()
    info = inspect_manifest(Path(manifest_csv).expanduser())
    gallery_embedder(ws.settings, model_name)  # a missing or damaged model stops us here
    batch_id = start_batch(ws, by=by, info=info, folder=root, model_name=model_name)
    report_path = (
        ws.settings.data_dir / REPORTS_FOLDER / f"gallery-import-{batch_id:06d}-errors.csv"
    )
    total = info.rows
    if progress is not None:
        progress(0, total, f"Importing {total} rows")
    status = "finished"
    if workers is None:
        workers = default_workers() if total >= PROCESS_POOL_MIN_ROWS else 0
    # Reading and hashing files is I/O: two threads keep the disk busy.
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="gallery-import")
    run = _Run(
        ws,
        by=by,
        folder=root,
        batch_id=batch_id,
        model_name=model_name,
        pool=pool,
        processes=max(0, workers),
        report_path=report_path,
    )
    try:
        pending: _Chunk | None = None
        for rows in row_chunks(info, max(1, chunk_rows)):
            if cancelled is not None and cancelled():
                status = "cancelled"
                break
            prepared = run.prepare(rows)
            if pending is not None:
                run.finish(pending)
                if progress is not None:
                    progress(run.processed, total, run.summary())
            pending = prepared
        if pending is not None:
            run.finish(pending)
            if progress is not None:
                progress(run.processed, total, run.summary())
    except StorageError as exc:
        run.shutdown(cancel=True)
        _stop(ws, run, by=by, total=total, message=str(exc))
        raise StorageError(
            f"{exc} The import stopped after {run.processed} of {total} rows "
            f"({run.summary()}). Free some space and run the same import again: photos "
            "already enrolled are skipped."
        ) from exc
    except BaseException:
        run.shutdown(cancel=True)
        _stop(ws, run, by=by, total=total, message="The import stopped because of an error.")
        raise
    run.shutdown(cancel=False)
    report = run.close_report()
    report_sha = finish_batch(
        ws,
        batch_id=batch_id,
        by=by,
        status=status,
        total=total,
        counts=run.counts(),
        report=report,
    )
    refresh_indexes(ws, include=model_name, save=True)
    with ws.database.session(read_only=True) as session:
        generation = gallery_generation(session)
    return ImportResult(
        batch_id=batch_id,
        status=status,
        rows_total=total,
        rows_processed=run.processed,
        enrolled=run.enrolled,
        already_in_gallery=run.already,
        failed=run.failed,
        error_report_path=report,
        error_report_sha256=report_sha,
        manifest_sha256=info.sha256,
        generation=generation,
        seconds=time.perf_counter() - started,
    )


def _stop(ws: Workstation, run: _Run, *, by: SignedInUser, total: int, message: str) -> None:
    """Best effort after a failure: close the report, record the stop, save the index."""
    try:
        report = run.close_report()
        finish_batch(
            ws,
            batch_id=run.batch_id,
            by=by,
            status="stopped",
            total=total,
            counts=run.counts(),
            report=report,
            message=message,
        )
    except FrxError as exc:  # the disk may still be full: the batch then stays "running"
        log.warning("the stopped import could not be recorded: %s", exc)
    try:
        refresh_indexes(ws, include=run.model_name, save=True)
    except FrxError as exc:
        log.warning("the face index could not be saved after the stop: %s", exc)


__all__ = [
    "REPORT_COLUMNS",
    "ImportResult",
    "default_workers",
    "import_gallery",
]
