"""The record of one bulk import run (:class:`ImportBatch`): opened with the manifest stored as
evidence, closed with the counts and the error report stored as evidence, each audited."""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.casework.account_rules import SignedInUser
from app.casework.gallery_manifest import ManifestInfo
from app.casework.workstation import Workstation
from app.errors import StorageError
from app.records.audit import append_event
from app.records.evidence import register_evidence
from app.records.gallery_models import ImportBatch


@dataclass(frozen=True)
class ImportCounts:
    processed: int
    enrolled: int
    already: int
    failed: int


def os_storage_error(exc: OSError, what: str) -> StorageError:
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return StorageError(f"The disk holding {what} is full.")
    return StorageError(f"{what[0].upper()}{what[1:]} cannot be written ({exc.strerror or exc}).")


INTERRUPTED_MESSAGE = (
    "The import ended without finishing (the program was closed or killed). "
    "Photos committed before that are kept; the import was run again on {when}."
)


def _close_interrupted_runs(
    ws: Workstation, session: Session, *, by: SignedInUser, info: ManifestInfo, folder: Path
) -> None:
    """An earlier run of this manifest still marked running was killed: record it as stopped.

    Only the same manifest over the same folder counts, so an import running on another
    workstation from another manifest is never touched.
    """
    stale = session.execute(
        select(ImportBatch).where(
            ImportBatch.status == "running",
            ImportBatch.manifest_sha256 == info.sha256,
            ImportBatch.folder == str(folder),
        )
    ).scalars()
    now = ws.now()
    for batch in stale:
        batch.status = "stopped"
        batch.finished_at = now
        batch.message = INTERRUPTED_MESSAGE.format(when=now.strftime("%Y-%m-%d %H:%M UTC"))
        append_event(
            session,
            actor=by.username,
            action="gallery.import_interrupted",
            object_type="gallery_import",
            object_id=batch.id,
            details={"manifest_sha256": info.sha256, "started_at": batch.started_at.isoformat()},
            occurred_at=now,
        )


def start_batch(
    ws: Workstation, *, by: SignedInUser, info: ManifestInfo, folder: Path, model_name: str
) -> int:
    data = info.path.read_bytes()
    with ws.database.session() as session:
        _close_interrupted_runs(session=session, ws=ws, by=by, info=info, folder=folder)
        register_evidence(
            session,
            ws.evidence,
            data=data,
            media_type="text/csv",
            original_name=info.path.name,
            actor=by.username,
        )
        batch = ImportBatch(
            manifest_sha256=info.sha256,
            manifest_name=info.path.name[-500:],
            folder=str(folder),
            model_name=model_name,
            started_at=ws.now(),
            started_by=by.username,
            status="running",
            rows_total=info.rows,
            enrolled=0,
            already_present=0,
            failed=0,
        )
        session.add(batch)
        session.flush()
        append_event(
            session,
            actor=by.username,
            action="gallery.import_started",
            object_type="gallery_import",
            object_id=batch.id,
            details={
                "manifest": info.path.name,
                "manifest_sha256": info.sha256,
                "encoding": info.encoding,
                "folder": str(folder),
                "rows": info.rows,
                "model": model_name,
                "descriptor_columns": list(info.extra_columns),
            },
            occurred_at=ws.now(),
        )
        return batch.id


def finish_batch(
    ws: Workstation,
    *,
    batch_id: int,
    by: SignedInUser,
    status: str,
    total: int,
    counts: ImportCounts,
    report: Path | None,
    message: str | None = None,
) -> str | None:
    report_sha: str | None = None
    with ws.database.session() as session:
        if report is not None:
            try:
                data = report.read_bytes()
            except OSError as exc:
                raise os_storage_error(exc, f"the error report {report}") from exc
            report_sha = register_evidence(
                session,
                ws.evidence,
                data=data,
                media_type="text/csv",
                original_name=report.name,
                actor=by.username,
            ).sha256
        batch = session.get(ImportBatch, batch_id)
        if batch is not None:
            batch.status = status
            batch.finished_at = ws.now()
            batch.enrolled = counts.enrolled
            batch.already_present = counts.already
            batch.failed = counts.failed
            batch.error_report_sha256 = report_sha
            batch.message = message
        append_event(
            session,
            actor=by.username,
            action=f"gallery.import_{status}",
            object_type="gallery_import",
            object_id=batch_id,
            details={
                "rows": total,
                "processed": counts.processed,
                "enrolled": counts.enrolled,
                "already_in_gallery": counts.already,
                "failed": counts.failed,
                "error_report_sha256": report_sha,
                "message": message,
            },
            occurred_at=ws.now(),
        )
    return report_sha


__all__ = ["ImportCounts", "finish_batch", "os_storage_error", "start_batch"]
