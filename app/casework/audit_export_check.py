"""Check an audit export file on its own, without the database (an outside auditor's check).

:func:`check_export` reads a CSV or JSON export (:mod:`app.casework.audit_export`; the format is
decided by the content), streamed, and for every event:

* recomputes its hash from its exported fields exactly as :func:`app.records.audit.event_hash`
  does, unless the event is marked ``withheld`` (the first examiner's findings were withheld
  from the exporter under the blind second review, so its hash cannot be recomputed from the
  file; such events are listed by sequence, and do not make the file fail);
* checks that its ``prev_hash`` is the previous exported event's ``hash`` when their sequences
  are consecutive, and that sequences only go up.

Gaps and deletions. A filtered export leaves gaps in the sequences; a gap is reported (which
events are not in the file), not treated as a break. So deleting a row from the middle of a CSV
export shows as a gap, not as a break: the CSV file does not say which filters it was made with.
It is a break when the file is known to hold the whole log: a JSON export made without filters
(its ``filters`` are empty), or when the caller says so (``whole_log=True``); then the export
must also start at event 1. A JSON export also states its ``event_count`` and
``withheld_count``; a file holding other counts is broken (rows deleted or added). Whatever the
format, the file's SHA-256 is reported so it can be compared with the ``sha256`` the
``audit.exported`` event recorded, which settles whether this is the file as written (a CSV
cut off at the end of a row, or with rows deleted, is otherwise only visible that way and by
its event count). The header of a JSON export (who exported it, when, the note) and its
layout (spaces, indentation) are covered by no event's hash, only by the file's SHA-256.

The first broken event stops the check (the rest of the file is still hashed). A file that is
no audit export at all, or cannot be read, raises :class:`~app.errors.InvalidInput` or
:class:`~app.errors.StorageError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.casework.audit_export_read import ExportDamaged, ExportedEvent, ExportReader
from app.records.audit import GENESIS_HASH, event_hash

__all__ = ["MAX_LISTED", "ExportCheck", "Gap", "check_export"]

MAX_LISTED = 1000  # withheld sequences and gaps kept in the result (all are counted)


@dataclass(frozen=True)
class Gap:
    """Events ``after`` + 1 to ``before`` - 1 are not in the file."""

    after: int
    before: int

    @property
    def missing(self) -> int:
        return self.before - self.after - 1

    def __str__(self) -> str:
        first, last = self.after + 1, self.before - 1
        return str(first) if first == last else f"{first}-{last}"


@dataclass(frozen=True)
class ExportCheck:
    """What :func:`check_export` found. ``problem`` is a plain sentence when the file is broken."""

    path: Path
    format: str  # "csv" or "json"
    sha256: str
    size_bytes: int
    events_checked: int  # events read and found sound (all of them when intact)
    hashes_verified: int
    first_sequence: int | None
    last_sequence: int | None
    withheld_count: int
    withheld: tuple[int, ...]  # their sequences (the first MAX_LISTED)
    gap_count: int
    missing_events: int  # sequences not in the file, between the first and the last
    gaps: tuple[Gap, ...]  # the first MAX_LISTED
    whole_log: bool  # gaps count as deletions (an export of the whole log)
    problem: str | None = None
    broken_sequence: int | None = None
    header: Mapping[str, Any] = field(default_factory=dict)  # JSON: exported_at, filters, ...

    @property
    def intact(self) -> bool:
        return self.problem is None


def _recomputed(event: ExportedEvent, object_id: str | None) -> str | None:
    if event.details is None:
        return None
    return event_hash(
        sequence=event.sequence,
        occurred_at=event.occurred_at,
        actor=event.actor,
        action=event.action,
        object_type=event.object_type,
        object_id=object_id,
        details=event.details,
        prev_hash=event.prev_hash,
    )


def hash_matches(event: ExportedEvent) -> bool:
    """Whether the event's exported fields give its hash (CSV writes no object id as "", so
    an empty one is tried as both)."""
    if _recomputed(event, event.object_id) == event.hash:
        return True
    return event.object_id is None and _recomputed(event, "") == event.hash


class _Chain:
    """The running check over the events in file order."""

    def __init__(self, whole_log: bool) -> None:
        self.whole_log = whole_log
        self.checked = 0
        self.verified = 0
        self.first: int | None = None
        self.previous: ExportedEvent | None = None
        self.withheld: list[int] = []
        self.withheld_count = 0
        self.gaps: list[Gap] = []
        self.gap_count = 0
        self.missing = 0
        # A deletion from an export of the whole log, raised at the next event unless that one
        # shows the rows were moved instead (1, 2, 4, 3 is a swap, not a deletion of 3).
        self.pending: tuple[ExportDamaged, int] | None = None

    def add(self, event: ExportedEvent) -> None:
        seq, previous = event.sequence, self.previous
        if previous is not None and seq > previous.sequence:
            self.finish()
        if previous is None:
            if self.whole_log and seq != 1:
                raise ExportDamaged(
                    _missing(1, seq - 1, "at the start of an export of the whole log"), seq
                )
        elif seq <= previous.sequence:
            raise ExportDamaged(
                f"Event {seq} ({event.where}) comes after event {previous.sequence}: rows have "
                "been moved or repeated.",
                seq,
            )
        if event.withheld:
            self.withheld_count += 1
            if len(self.withheld) < MAX_LISTED:
                self.withheld.append(seq)
        elif not hash_matches(event):
            raise ExportDamaged(
                f"Event {seq} ({event.where}) has been altered: its exported fields no longer "
                "match its hash.",
                seq,
            )
        else:
            self.verified += 1
        if previous is None:
            if seq == 1 and event.prev_hash != GENESIS_HASH:
                raise ExportDamaged(
                    f"Event 1 ({event.where}) does not start the chain: its prev_hash is not "
                    "64 zeros.",
                    seq,
                )
        elif seq == previous.sequence + 1:
            if event.prev_hash != previous.hash:
                raise ExportDamaged(
                    f"Event {seq} ({event.where}) does not follow event {previous.sequence}: "
                    "its prev_hash is not that event's hash (an event has been altered or "
                    "replaced).",
                    seq,
                )
        elif self.whole_log:
            where = "from an export of the whole log"
            damage = ExportDamaged(_missing(previous.sequence + 1, seq - 1, where), seq)
            self.pending = (damage, self.checked)
        else:
            self.gap_count += 1
            self.missing += seq - previous.sequence - 1
            if len(self.gaps) < MAX_LISTED:
                self.gaps.append(Gap(previous.sequence, seq))
        if self.first is None:
            self.first = seq
        self.previous = event
        self.checked += 1

    def finish(self) -> None:
        """Raise the deletion found last, once no moved row explains it."""
        if self.pending is not None:
            damage, self.checked = self.pending
            raise damage


def _missing(first: int, last: int, where: str) -> str:
    if first == last:
        return f"Event {first} is missing {where}: it has been deleted from the file."
    return f"Events {first} to {last} are missing {where}: they have been deleted from the file."


def _whole_after_all(chain: _Chain) -> None:
    """The first missing events of a file found, after its events, to hold the whole log."""
    chain.whole_log = True
    if chain.first is not None and chain.first != 1:
        where = "at the start of an export of the whole log"
        raise ExportDamaged(_missing(1, chain.first - 1, where), chain.first)
    if chain.gaps:
        gap = chain.gaps[0]
        where = "from an export of the whole log"
        raise ExportDamaged(_missing(gap.after + 1, gap.before - 1, where), gap.before)


def _counts(header: Mapping[str, Any], chain: _Chain) -> None:
    """A JSON export's own counts against what it holds."""
    for key, counted, what in (
        ("event_count", chain.checked, "events"),
        ("withheld_count", chain.withheld_count, "withheld events"),
    ):
        if key not in header:
            raise ExportDamaged(
                f"The file does not say how many {what} it holds ({key} is missing): its end "
                "has been cut off or edited."
            )
        stated = header[key]
        if stated != counted or isinstance(stated, bool):
            raise ExportDamaged(
                f"The file says it holds {stated} {what} but holds {counted:,}: events have "
                "been deleted, added or re-marked."
            )


def check_export(path: Path, *, whole_log: bool | None = None) -> ExportCheck:
    """Check the export at ``path`` (see the module's description).

    ``whole_log``: whether the file must hold the whole log (gaps are deletions); None decides
    from the file (a JSON export made without filters).
    """
    path = Path(path).expanduser()
    with ExportReader(path) as reader:
        chain = _Chain(whole_log=bool(whole_log))
        problem: str | None = None
        broken: int | None = None
        events: Iterable[ExportedEvent] = reader.events()
        try:
            for event in events:
                if chain.previous is None and whole_log is None:
                    chain.whole_log = reader.header.get("filters") == {}
                chain.add(event)
            chain.finish()
            if reader.format == "json":
                if whole_log is None and reader.header.get("filters") == {}:
                    _whole_after_all(chain)  # the filters came after the events
                _counts(reader.header, chain)
        except ExportDamaged as damage:
            problem = damage.reason
            broken = damage.sequence
        sha256, size = reader.finish()
    return ExportCheck(
        path=path,
        format=reader.format,
        sha256=sha256,
        size_bytes=size,
        events_checked=chain.checked,
        hashes_verified=chain.verified,
        first_sequence=chain.first,
        last_sequence=chain.previous.sequence if chain.previous is not None else None,
        withheld_count=chain.withheld_count,
        withheld=tuple(chain.withheld),
        gap_count=chain.gap_count,
        missing_events=chain.missing,
        gaps=tuple(chain.gaps),
        whole_log=chain.whole_log,
        problem=problem,
        broken_sequence=broken,
        header=dict(reader.header),
    )
