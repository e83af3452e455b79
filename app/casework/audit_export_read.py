"""Read an audit export file (:mod:`app.casework.audit_export`) event by event, streamed.

The format is decided by the file's content, not its name: JSON when it starts with ``{``, CSV
when its first line is the header the workstation writes (``sequence,occurred_at,...``). The
bytes are hashed (SHA-256) as they are read, so the file is read once; :meth:`ExportReader.finish`
hashes whatever was not read. Nothing here needs the database.

Damage is reported as :class:`ExportDamaged` with a plain reason (the file is an export but has
been changed or cut off); a file that is no export at all, or cannot be read, raises the
project's :class:`~app.errors.InvalidInput` or :class:`~app.errors.StorageError`. A single event
or field longer than :data:`MAX_EVENT_CHARS` is damage, so a damaged file cannot make the reader
hold it whole in memory.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

from app.casework.audit_export import CSV_COLUMNS
from app.errors import InvalidInput, StorageError
from app.records.audit import canonical_json

__all__ = [
    "CSV_COLUMNS",
    "MAX_EVENT_CHARS",
    "ExportDamaged",
    "ExportReader",
    "ExportedEvent",
]

MAX_EVENT_CHARS = 16 * 1024 * 1024  # one event (JSON) or one line/field (CSV), in characters
CHUNK = 1 << 16
HEX = frozenset("0123456789abcdef")
_DECODER = json.JSONDecoder()
_NEAR_END = 16  # a JSON error this close to the end of the buffer may only need more text


class ExportDamaged(Exception):
    """The export has been changed or cut off; ``reason`` is a plain sentence."""

    def __init__(self, reason: str, sequence: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sequence = sequence


class ExportedEvent(NamedTuple):
    """One exported event. ``details`` is the stored text (CSV) or the exported details encoded
    as the workstation stores them (JSON); None when they cannot be encoded (damaged)."""

    sequence: int
    occurred_at: str
    actor: str
    action: str
    object_type: str
    object_id: str | None
    details: str | None
    prev_hash: str
    hash: str
    withheld: bool
    where: str  # "line 12" or "event 11 of the list", for messages


class _HashingRaw(io.RawIOBase):
    """A binary file whose bytes are hashed and counted as they are read."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._handle.read(len(buffer))
        count = len(data)
        buffer[:count] = data
        self.digest.update(data)
        self.size += count
        return count

    def drain(self) -> None:
        while data := self._handle.read(CHUNK):
            self.digest.update(data)
            self.size += len(data)


def _sniff(head: bytes, name: str) -> str:
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not text:
        raise InvalidInput(f"{name} is empty: it is not an audit export.")
    if text.startswith(b"{"):
        return "json"
    if text.startswith((b"sequence,", b'"sequence",')):
        return "csv"
    raise InvalidInput(
        f"{name} is not an audit export: it is neither the CSV nor the JSON file the "
        "workstation writes."
    )


def _hash_text(value: Any, field: str, where: str) -> str:
    if not isinstance(value, str) or len(value) != 64 or not HEX.issuperset(value):
        raise ExportDamaged(f"At {where}, {field} is not a SHA-256 hash (64 hex digits).")
    return value


class ExportReader:
    """An open export: its ``format``, its events (:meth:`events`), JSON header and trailer."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            handle = path.open("rb")
        except IsADirectoryError:
            raise InvalidInput(f"{path} is a folder, not an audit export file.") from None
        except OSError as exc:
            raise StorageError(f"{path} cannot be read: {exc.strerror or exc}.") from exc
        try:
            self.format = _sniff(handle.read(4096), path.name)
            handle.seek(0)
        except BaseException:
            handle.close()
            raise
        self._handle = handle
        self._raw = _HashingRaw(handle)
        self._text = io.TextIOWrapper(
            io.BufferedReader(self._raw, CHUNK), encoding="utf-8-sig", newline=""
        )
        self.header: dict[str, Any] = {}  # JSON: every top-level key but the events
        self.line = 0  # CSV: lines read so far

    def __enter__(self) -> ExportReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()

    @property
    def bytes_read(self) -> int:
        return self._raw.size

    def finish(self) -> tuple[str, int]:
        """Hash the rest of the file; its SHA-256 and size."""
        try:
            self._raw.drain()
        except OSError as exc:
            raise StorageError(f"{self.path} cannot be read: {exc.strerror or exc}.") from exc
        return self._raw.digest.hexdigest(), self._raw.size

    def events(self) -> Iterator[ExportedEvent]:
        """The events in file order (ExportDamaged at the first damage that stops reading)."""
        try:
            if self.format == "csv":
                yield from self._csv_events()
            else:
                yield from _JsonEvents(self._text, self.header).events()
        except UnicodeDecodeError:
            raise ExportDamaged(
                f"The file is not UTF-8 text near byte {self._raw.size:,}: it has been re-saved "
                "in another encoding (e.g. Latin-1) or damaged."
            ) from None
        except OSError as exc:
            raise StorageError(f"{self.path} cannot be read: {exc.strerror or exc}.") from exc

    # -- CSV ------------------------------------------------------------------------------
    def _lines(self) -> Iterator[str]:
        while line := self._text.readline(MAX_EVENT_CHARS + 1):
            self.line += 1
            if len(line) > MAX_EVENT_CHARS:
                raise ExportDamaged(
                    f"Line {self.line} is longer than {MAX_EVENT_CHARS:,} characters: the "
                    "workstation writes no such line."
                )
            if not line.endswith("\n"):
                raise ExportDamaged(
                    f"The file ends in the middle of line {self.line}: it has been truncated."
                )
            yield line

    def _csv_events(self) -> Iterator[ExportedEvent]:
        previous = csv.field_size_limit(MAX_EVENT_CHARS)
        try:
            rows = csv.reader(self._lines(), strict=True)
            try:
                header = next(rows)
            except StopIteration:
                return
            columns = {name: index for index, name in enumerate(header)}
            missing = [name for name in CSV_COLUMNS if name not in columns]
            if missing:
                raise ExportDamaged(
                    f"The column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                    f"{'are' if len(missing) > 1 else 'is'} missing from the header, so no "
                    "event can be checked."
                )
            if len(columns) != len(header):
                raise ExportDamaged("A column appears twice in the header.")
            while True:
                try:
                    row = next(rows)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise ExportDamaged(
                        f"Line {self.line} is not a well-formed CSV row ({exc})."
                    ) from None
                yield _csv_event(row, columns, len(header), f"line {rows.line_num}")
        finally:
            csv.field_size_limit(previous)


def _csv_event(row: list[str], columns: dict[str, int], width: int, where: str) -> ExportedEvent:
    if not row:
        raise ExportDamaged(f"The file has an empty {where}: the workstation writes none.")
    if len(row) != width:
        raise ExportDamaged(f"The row at {where} has {len(row)} fields instead of {width}.")
    value = {name: row[index] for name, index in columns.items()}
    number = value["sequence"]
    if not (number.isascii() and number.isdigit()):
        raise ExportDamaged(f"At {where}, the sequence {number[:20]!r} is not a number.")
    sequence = int(number)
    withheld = value["withheld"]
    if withheld not in ("true", "false"):
        raise ExportDamaged(f"At {where}, withheld is {withheld[:20]!r}, not true or false.")
    return ExportedEvent(
        sequence=sequence,
        occurred_at=value["occurred_at"],
        actor=value["actor"],
        action=value["action"],
        object_type=value["object_type"],
        object_id=value["object_id"] or None,
        details=value["details"],
        prev_hash=_hash_text(value["prev_hash"], "prev_hash", where),
        hash=_hash_text(value["hash"], "hash", where),
        withheld=withheld == "true",
        where=where,
    )


# -- JSON ---------------------------------------------------------------------------------
class _JsonEvents:
    """The top-level object parsed piece by piece; the events list streamed one at a time."""

    def __init__(self, text: IO[str], header: dict[str, Any]) -> None:
        self._text = text
        self._header = header
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._count = 0
        self._last: int | None = None  # last sequence read

    def _after(self) -> str:
        return "before the first event" if self._last is None else f"after event {self._last}"

    def _fill(self) -> None:
        if self._pos > CHUNK:
            self._buf = self._buf[self._pos :]
            self._pos = 0
        text = self._text.read(max(CHUNK, len(self._buf) - self._pos))
        if text:
            self._buf += text
        else:
            self._eof = True

    def _peek(self) -> str:
        """The next character that is not white space ("" at the end of the file)."""
        while True:
            while self._pos < len(self._buf) and self._buf[self._pos] in " \t\r\n":
                self._pos += 1
            if self._pos < len(self._buf) or self._eof:
                return self._buf[self._pos : self._pos + 1]
            self._fill()

    def _take(self, expected: str, what: str) -> str:
        found = self._peek()
        if found == "":
            raise ExportDamaged(
                f"The file ends {self._after()} where {what} was expected: it has been truncated."
            )
        if found not in expected:
            raise ExportDamaged(
                f"The JSON is malformed {self._after()}: {what} was expected, not {found!r}."
            )
        self._pos += 1
        return found

    def _value(self, what: str) -> Any:
        """The next JSON value, reading more of the file while it is incomplete."""
        self._peek()
        while True:
            try:
                value, self._pos = _DECODER.raw_decode(self._buf, self._pos)
                return value
            except json.JSONDecodeError as exc:
                # An unterminated string, or an error at the very end, may be a value cut
                # off by the end of the buffer; anything else is malformed whatever follows.
                incomplete = exc.msg.startswith("Unterminated string") or (
                    exc.pos + _NEAR_END >= len(self._buf)
                )
                if incomplete and self._eof:
                    raise ExportDamaged(
                        f"The file ends in the middle of {what} {self._after()}: it has been "
                        "truncated."
                    ) from None
                if not incomplete:
                    raise ExportDamaged(
                        f"The JSON of {what} {self._after()} is malformed ({exc.msg})."
                    ) from None
            except (ValueError, RecursionError) as exc:
                raise ExportDamaged(
                    f"The JSON of {what} {self._after()} cannot be read ({exc})."
                ) from None
            if len(self._buf) - self._pos > MAX_EVENT_CHARS:
                raise ExportDamaged(
                    f"{what[0].upper()}{what[1:]} {self._after()} is longer than "
                    f"{MAX_EVENT_CHARS:,} characters: the workstation writes no such event."
                )
            self._fill()

    def events(self) -> Iterator[ExportedEvent]:
        self._take("{", "the start of the export")
        seen_events = False
        if self._peek() == "}":
            self._pos += 1
        else:
            while True:
                key = self._value("a key")
                if not isinstance(key, str):
                    raise ExportDamaged(f"The JSON is malformed {self._after()}: a key is no text.")
                self._take(":", "':'")
                if key == "events":
                    seen_events = True
                    yield from self._events()
                else:
                    self._header[key] = self._value(f"the value of {key!r}")
                if self._take(",}", "',' or '}'") == "}":
                    break
        if self._peek() != "":
            raise ExportDamaged("The file goes on after the end of the export's JSON.")
        if not seen_events:
            raise InvalidInput("The file is not an audit export: its JSON has no list of events.")

    def _events(self) -> Iterator[ExportedEvent]:
        self._take("[", "the list of events")
        if self._peek() == "]":
            self._pos += 1
            return
        while True:
            self._count += 1
            where = f"event {self._count} of the list"
            item = self._value("an event")
            event = _json_event(item, where)
            self._last = event.sequence
            yield event
            if self._take(",]", "',' or ']' after an event") == "]":
                return


_JSON_TEXT_FIELDS = ("occurred_at", "actor", "action", "object_type")


def _json_event(item: Any, where: str) -> ExportedEvent:
    if not isinstance(item, dict):
        raise ExportDamaged(f"The {where} is not an event (a JSON object).")
    missing = [name for name in CSV_COLUMNS if name not in item]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise ExportDamaged(f"The {where} lacks the field{plural} {', '.join(missing)}.")
    sequence = item["sequence"]
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 0:
        raise ExportDamaged(f"The sequence of the {where} is not a number.")
    place = f"event {sequence} ({where})"
    for name in _JSON_TEXT_FIELDS:
        if not isinstance(item[name], str):
            raise ExportDamaged(f"The {name} of {place} is not text.")
    object_id = item["object_id"]
    if object_id is not None and not isinstance(object_id, str):
        raise ExportDamaged(f"The object_id of {place} is neither text nor null.")
    if not isinstance(item["withheld"], bool):
        raise ExportDamaged(f"The withheld mark of {place} is not true or false.")
    details: str | None
    try:
        details = canonical_json(item["details"]) if isinstance(item["details"], dict) else None
    except (ValueError, TypeError, RecursionError):
        details = None
    return ExportedEvent(
        sequence=sequence,
        occurred_at=item["occurred_at"],
        actor=item["actor"],
        action=item["action"],
        object_type=item["object_type"],
        object_id=object_id,
        details=details,
        prev_hash=_hash_text(item["prev_hash"], "prev_hash", place),
        hash=_hash_text(item["hash"], "hash", place),
        withheld=item["withheld"],
        where=where,
    )
