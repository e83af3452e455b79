"""Export a filtered range of the audit log to a CSV or JSON file; the export is itself audited.

The file is written beside its destination under a temporary name, flushed to disk and then
renamed over the destination, so a reader never sees half a file. After the rename an
``audit.exported`` event records the filters, the number of events, the destination and the
SHA-256 of the file's bytes; if the event cannot be recorded the file is removed again, so no
export exists that the log does not know about.

Values are written exactly as stored (the details as their canonical JSON text in CSV) together
with each event's ``prev_hash`` and ``hash``, so the exported events can be checked against the
chain. Nothing is rewritten to defuse spreadsheet formulas: that would break the hashes.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from app.casework.account_rules import SignedInUser
from app.casework.audit_log import (
    AuditFilters,
    StoredEvent,
    current_roles,
    iter_stored,
    parse_details,
    refuse,
)
from app.casework.workstation import Workstation
from app.errors import ImportCancelled, InvalidInput, StorageError
from app.policy.supervision import evaluate_audit_export
from app.records.audit import append_event, format_timestamp

__all__ = ["EXPORT_FORMATS", "ExportResult", "export_audit_events", "export_filtered"]

log = logging.getLogger(__name__)

EXPORT_FORMATS = ("csv", "json")
CSV_COLUMNS = StoredEvent._fields  # as stored, in this order
Progress = Callable[[int, int, str], None]
Cancelled = Callable[[], bool]


@dataclass(frozen=True)
class ExportResult:
    """What was written: where, how many events, and the file's SHA-256 (as recorded)."""

    path: Path
    format: str
    events: int
    sha256: str
    size_bytes: int
    audit_sequence: int  # the sequence of the ``audit.exported`` event


class _HashingSink:
    """Text in, UTF-8 bytes out to the file, hashed and counted on the way."""

    def __init__(self, target: IO[bytes]) -> None:
        self._target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, text: str) -> int:
        data = text.encode("utf-8")
        self._target.write(data)
        self.digest.update(data)
        self.size += len(data)
        return len(text)


def _row_dict(row: StoredEvent) -> dict[str, Any]:
    return {
        "sequence": row.sequence,
        "occurred_at": row.occurred_at,
        "actor": row.actor,
        "action": row.action,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "details": dict(parse_details(row.details)),
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


def _write_csv(
    text: _HashingSink, rows: Iterator[StoredEvent], count: Callable[[], None]
) -> None:
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(row if row.object_id is not None else row._replace(object_id=""))
        count()


def _write_json(
    text: _HashingSink,
    rows: Iterator[StoredEvent],
    count: Callable[[], None],
    header: dict[str, Any],
) -> int:
    # Streamed by hand: the event list can be far larger than memory allows as one object.
    text.write("{\n")
    for key, value in header.items():
        text.write(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},\n")
    text.write('  "events": [')
    written = 0
    for row in rows:
        text.write("\n    " if written == 0 else ",\n    ")
        text.write(json.dumps(_row_dict(row), ensure_ascii=False, sort_keys=True))
        written += 1
        count()
    text.write("\n  ],\n" if written else "],\n")
    text.write(f'  "event_count": {written}\n}}\n')
    return written


def _check_destination(destination: Path, format: str) -> Path:
    if format not in EXPORT_FORMATS:
        raise InvalidInput("Choose CSV or JSON as the export format.")
    path = Path(destination).expanduser()
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder; choose a file name for the export.")
    if not path.parent.is_dir():
        raise InvalidInput(f"The folder {path.parent} does not exist.")
    return path.resolve()


def export_filtered(
    ws: Workstation,
    *,
    by: SignedInUser,
    filters: AuditFilters,
    format: str,
    destination: Path,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> ExportResult:
    """:func:`export_audit_events` with the filters in an :class:`AuditFilters`.

    ``progress(done, 0, message)`` reports the events written so far; ``cancelled()`` stops the
    export before anything is renamed or recorded (ImportCancelled; nothing is left behind).
    """
    path = _check_destination(destination, format)
    with ws.database.session(read_only=True) as session:
        decision = evaluate_audit_export(current_roles(session, by))
        if not decision.allowed:
            session.rollback()
            refuse(ws, by, decision, "export the audit log")
        exported_at = ws.now()
        written = 0

        def count() -> None:
            nonlocal written
            written += 1
            if cancelled is not None and written % 500 == 0 and cancelled():
                raise ImportCancelled("The export was cancelled; no file was written.")
            if progress is not None and written % 500 == 0:
                progress(written, 0, f"{written:,} events written")

        header = {
            "export_of": "audit log",
            "exported_at": format_timestamp(exported_at),
            "exported_by": by.username,
            "filters": filters.as_details(),
        }
        try:
            handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed in the finally below)
                mode="wb", dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False
            )
        except OSError as exc:
            raise StorageError(f"The export cannot be written in {path.parent}: {exc}.") from exc
        temp_path = Path(handle.name)
        renamed = False
        try:
            sink = _HashingSink(handle)
            rows = iter_stored(session, filters)
            if format == "csv":
                _write_csv(sink, rows, count)
            else:
                _write_json(sink, rows, count, header)
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            os.replace(temp_path, path)
            renamed = True
        except OSError as exc:
            raise StorageError(f"The export could not be written to {path}: {exc}.") from exc
        finally:
            handle.close()
            if not renamed:
                temp_path.unlink(missing_ok=True)
    sha256 = sink.digest.hexdigest()
    try:
        with ws.database.session() as session:
            event = append_event(
                session,
                actor=by.username,
                action="audit.exported",
                object_type="audit_log",
                object_id=None,
                details={
                    "format": format,
                    "filters": filters.as_details(),
                    "events": written,
                    "sha256": sha256,
                    "size_bytes": sink.size,
                    "destination": str(path),
                },
                occurred_at=exported_at,
            )
            sequence = event.sequence
    except BaseException:
        log.warning("the export to %s could not be recorded; the file is removed", path)
        path.unlink(missing_ok=True)
        raise
    if progress is not None:
        progress(written, written, f"{written:,} events exported")
    return ExportResult(
        path=path,
        format=format,
        events=written,
        sha256=sha256,
        size_bytes=sink.size,
        audit_sequence=sequence,
    )


def export_audit_events(
    ws: Workstation,
    *,
    by: SignedInUser,
    format: str,
    destination: Path,
    actor: str | None = None,
    action: str | None = None,
    action_prefix: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    case_number: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> ExportResult:
    """Write every event matching the filters (oldest first) to ``destination`` as CSV or JSON.

    Supervisors and administrators only (refusals audited). Records ``audit.exported``.
    """
    filters = AuditFilters(
        actor=actor,
        action=action,
        action_prefix=action_prefix,
        object_type=object_type,
        object_id=object_id,
        case_number=case_number,
        since=since,
        until=until,
    )
    return export_filtered(ws, by=by, filters=filters, format=format, destination=destination)
