"""Export a filtered range of the audit log to a CSV or JSON file; the export is itself audited.

The file is written beside its destination under a temporary name, flushed to disk and then
renamed over the destination, so a reader never sees half a file. After the rename an
``audit.exported`` event records the filters, the number of events, the destination and the
SHA-256 of the file's bytes; if the event cannot be recorded the file is removed again, so no
export exists that the log does not know about.

Values are written exactly as stored (the details as their canonical JSON text in CSV) together
with each event's ``prev_hash`` and ``hash``, so the exported events can be checked against the
chain. Nothing is rewritten to defuse spreadsheet formulas: that would break the hashes.

One exception, the blind second review (MPTC IV.E.2, :mod:`app.casework.audit_blind`): the
first examiner's answers and conclusion of a comparison whose second review is not finished are
exported only to those who may see them (that examiner; the reviewer once the review is
recorded). For any other exporter, who may be the pending reviewer, their values are replaced by
:data:`~app.casework.audit_blind.WITHHELD`, and the event is marked ``withheld`` (a ``withheld``
column in CSV, ``"withheld": true`` in JSON; every event carries the mark, true or false). Such
an event's hash cannot be recomputed from the exported details; all its other fields, including
``prev_hash`` and ``hash``, are as stored. The number of withheld events is in the result, in the
JSON file's ``withheld_count`` and in the ``audit.exported`` event (``withheld_events``). Once the
review is finished, the export carries the details in full.
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
from itertools import islice
from pathlib import Path
from typing import IO, Any, NamedTuple

from sqlalchemy.orm import Session

from app.casework.account_rules import SignedInUser
from app.casework.audit_blind import (
    FirstFindingsGuard,
    blind_comparison_id,
    may_carry_findings,
    withhold,
)
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
from app.records.audit import append_event, canonical_json, format_timestamp

__all__ = [
    "EXPORT_FORMATS",
    "WITHHELD_EXPLANATION",
    "ExportResult",
    "export_audit_events",
    "export_filtered",
    "withheld_sentence",
]

log = logging.getLogger(__name__)

EXPORT_FORMATS = ("csv", "json")
CSV_COLUMNS = (*StoredEvent._fields, "withheld")  # as stored, in this order, then the mark
GUARD_BATCH = 500  # events whose comparisons are looked up together
WITHHELD_EXPLANATION = (
    "the first examiner's findings are withheld until the second review is finished"
)
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
    withheld_events: int = 0  # events whose first findings were withheld from the exporter


def withheld_sentence(count: int) -> str:
    """Plain words for an export's withheld events ("" when none were withheld)."""
    if count == 0:
        return ""
    noun = "comparison event" if count == 1 else "comparison events"
    return f"{count:,} {noun}: {WITHHELD_EXPLANATION}."


class ExportRow(NamedTuple):
    """An event to export: as stored, or with its first findings withheld (``withheld``)."""

    event: StoredEvent
    withheld: bool


def _guarded(
    session: Session, by: SignedInUser, rows: Iterator[StoredEvent]
) -> Iterator[ExportRow]:
    """The rows with the first findings withheld where ``by`` may not see them yet; the
    comparisons of each batch of events are looked up together."""
    guard = FirstFindingsGuard(session, by)
    while chunk := list(islice(rows, GUARD_BATCH)):
        found: list[int | None] = []
        for row in chunk:
            number = None
            if may_carry_findings(row.object_type, row.object_id, row.details):
                details = parse_details(row.details)
                number = blind_comparison_id(row.object_type, row.object_id, details)
            found.append(number)
        guard.look_up(number for number in found if number is not None)
        for row, number in zip(chunk, found, strict=True):
            if number is not None and guard.hides(number):
                details_text = canonical_json(withhold(parse_details(row.details)))
                yield ExportRow(row._replace(details=details_text), withheld=True)
            else:
                yield ExportRow(row, withheld=False)


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


def _row_dict(item: ExportRow) -> dict[str, Any]:
    row = item.event
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
        "withheld": item.withheld,
    }


def _write_csv(
    text: _HashingSink, rows: Iterator[ExportRow], count: Callable[[bool], None]
) -> None:
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in rows:
        row = item.event
        row = row if row.object_id is not None else row._replace(object_id="")
        writer.writerow((*row, "true" if item.withheld else "false"))
        count(item.withheld)


def _write_json(
    text: _HashingSink,
    rows: Iterator[ExportRow],
    count: Callable[[bool], None],
    header: dict[str, Any],
) -> None:
    # Streamed by hand: the event list can be far larger than memory allows as one object.
    text.write("{\n")
    for key, value in header.items():
        text.write(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},\n")
    text.write('  "events": [')
    written = withheld = 0
    for item in rows:
        text.write("\n    " if written == 0 else ",\n    ")
        text.write(json.dumps(_row_dict(item), ensure_ascii=False, sort_keys=True))
        written += 1
        withheld += item.withheld
        count(item.withheld)
    text.write("\n  ],\n" if written else "],\n")
    text.write(f'  "event_count": {written},\n')
    text.write(f'  "withheld_count": {withheld}\n}}\n')


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
        written = withheld = 0

        def count(was_withheld: bool) -> None:
            nonlocal written, withheld
            written += 1
            withheld += was_withheld
            if cancelled is not None and written % 500 == 0 and cancelled():
                raise ImportCancelled("The export was cancelled; no file was written.")
            if progress is not None and written % 500 == 0:
                progress(written, 0, f"{written:,} events written")

        header = {
            "export_of": "audit log",
            "exported_at": format_timestamp(exported_at),
            "exported_by": by.username,
            "filters": filters.as_details(),
            "withheld_note": (
                'Events marked "withheld": true are about a comparison whose second review '
                "was not finished when exported: the first examiner's answers and conclusion "
                "are withheld from the exporter (blind review), so their hash cannot be "
                "recomputed from the exported details."
            ),
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
            rows = _guarded(session, by, iter_stored(session, filters))
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
                    "withheld_events": withheld,
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
        withheld_events=withheld,
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

    Supervisors and administrators only (refusals audited). Records ``audit.exported``. The
    first findings of a comparison still under blind review are withheld from an exporter who
    may not see them yet (see the module's description; counted in ``withheld_events``).
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
