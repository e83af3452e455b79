"""``frx audit``: verify the hash-chained audit log, export part of it, check an export file.

``frx audit export`` writes the events matching the filters to a CSV or JSON file through the
same casework as the GUI's audit log page (supervisors and administrators only, recorded as
``audit.exported`` with the file's SHA-256). Dates are whole UTC days with both ends included
(``--from 2026-03-01 --to 2026-03-31`` is all of March), or exact moments with a time zone
(``--to`` then excludes that moment). ``--kind user.created`` selects one kind of event,
``--kind user.*`` every kind starting with ``user.``.

``frx audit check-export FILE`` needs no database (an auditor elsewhere runs it): it checks the
file's hashes and links (:mod:`app.casework.audit_export_check`) and prints the report; exit 0
when intact (withheld events and gaps are reported but do not fail it), 1 when broken, 2 when the
file cannot be read or is no audit export.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

from app.casework.accounts import SignedInUser
from app.casework.audit_export import EXPORT_FORMATS, export_filtered, withheld_sentence
from app.casework.audit_export_check import ExportCheck, check_export
from app.casework.audit_log import AuditFilters, verify_audit_chain
from app.casework.workstation import Workstation
from app.commands._common import add_as_user, open_workstation, signed_in
from app.errors import InvalidInput

LISTED = 20  # withheld sequences and gaps printed before "and N more"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "audit", help="verify, export and check exports of the tamper-evident audit log"
    )
    sub = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = sub.add_parser(
        "verify", help="verify the whole hash chain (exit 1 when an event is broken)"
    )
    verify.set_defaults(handler=_verify)

    export = sub.add_parser(
        "export", help="export events to a CSV or JSON file (supervisors, administrators)"
    )
    export.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    export.add_argument("--output", required=True, type=Path, metavar="FILE")
    export.add_argument("--from", dest="since", metavar="DATE", help="first day (UTC) or moment")
    export.add_argument("--to", dest="until", metavar="DATE", help="last day (UTC) or moment")
    export.add_argument(
        "--kind", metavar="EVENT_KIND", help="e.g. user.created, or user.* for all user events"
    )
    export.add_argument("--actor", metavar="USERNAME", help="events by this user")
    export.add_argument("--object-type", metavar="TYPE", help="e.g. comparison, report")
    export.add_argument("--object-id", metavar="ID", help="with --object-type: that record")
    export.add_argument("--case-number", metavar="NUMBER", help="the events of this case")
    add_as_user(export)
    export.set_defaults(handler=_export_handler)

    check = sub.add_parser(
        "check-export",
        help="check an export file's hashes (no database; exit 1 when broken, 2 unreadable)",
    )
    check.add_argument("file", type=Path, metavar="FILE")
    check.add_argument(
        "--whole-log",
        action="store_true",
        help="the file should hold the whole log: a missing event is a deletion, not a gap",
    )
    check.set_defaults(handler=_check_export)


def _verify(args: argparse.Namespace) -> int:
    with open_workstation() as ws:
        report = verify_audit_chain(ws)
    if report.ok:
        sys.stdout.write(f"audit chain intact: {report.events_checked} events\n")
        return 0
    where = f"at event {report.first_bad_sequence}" if report.first_bad_sequence is not None else ""
    sys.stdout.write(
        f"audit chain BROKEN {where}: {report.problem} "
        f"({report.events_checked} events before it verified)\n".replace("  ", " ")
    )
    return 1


# ------------------------------------------------------------------------------ export
def moment(text: str, *, end: bool) -> datetime:
    """``--from``/``--to``: a day (UTC; ``end`` includes the whole day) or an ISO moment with
    its time zone."""
    text = text.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        start = datetime.combine(day, clock_time.min, tzinfo=UTC)
        return start + timedelta(days=1) if end else start
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"'{text}' is not a date (2026-03-01) or a date and time with its time zone "
            "(2026-03-01T10:00+00:00)."
        ) from None
    if value.tzinfo is None:
        raise InvalidInput(f"Give the time zone of '{text}', e.g. 2026-03-01T10:00+00:00.")
    return value


def filters_of(args: argparse.Namespace) -> AuditFilters:
    """The export's filters from the command line (InvalidInput when they cannot be used)."""
    kind = (args.kind or "").strip()
    prefix = kind.endswith((".*", ".")) or kind == "*"
    if args.object_id and not args.object_type:
        raise InvalidInput("--object-id needs --object-type (e.g. --object-type comparison).")
    return AuditFilters(
        actor=args.actor,
        action=None if prefix else kind,
        action_prefix=kind.rstrip("*") if prefix else None,
        object_type=args.object_type,
        object_id=args.object_id,
        case_number=args.case_number,
        since=moment(args.since, end=False) if args.since else None,
        until=moment(args.until, end=True) if args.until else None,
    )


def _destination(path: Path) -> Path:
    path = path.expanduser()
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder; give a file name for the export.")
    if path.exists():
        raise InvalidInput(f"{path} already exists; choose another name (nothing is replaced).")
    if not path.parent.is_dir():
        raise InvalidInput(f"The folder {path.parent} does not exist.")
    return path


class ProgressLine:
    """Events written so far, redrawn on one stderr line at most ten times a second; shown
    only for exports long enough to report progress (every 500 events)."""

    def __init__(self) -> None:
        self._shown = False
        self._last = 0.0

    def __call__(self, done: int, total: int, message: str) -> None:
        now = time.monotonic()
        if (total and not self._shown) or (not total and now - self._last < 0.1):
            return
        self._last = now
        sys.stderr.write(f"\rExporting the audit log: {message:<40}")
        sys.stderr.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _export_handler(args: argparse.Namespace) -> int:
    filters = filters_of(args)  # every argument is checked before the password is asked
    args.output = _destination(args.output)
    return signed_in(lambda ws, user, a: _export(ws, user, a, filters))(args)


def _export(ws: Workstation, user: SignedInUser, args: argparse.Namespace, f: AuditFilters) -> int:
    progress = ProgressLine()
    try:
        result = export_filtered(
            ws, by=user, filters=f, format=args.format, destination=args.output, progress=progress
        )
    finally:
        progress.close()
    out = sys.stdout
    out.write(
        f"Exported {result.events:,} events to {result.path} "
        f"({result.format.upper()}, {result.size_bytes:,} bytes).\n"
    )
    out.write(f"SHA-256: {result.sha256}\n")
    out.write(f"Recorded in the audit log as event {result.audit_sequence} (audit.exported).\n")
    withheld = withheld_sentence(result.withheld_events)
    if withheld:
        out.write(
            f"Withheld: {withheld} Their hashes cannot be recomputed from the exported details.\n"
        )
    return 0


# ------------------------------------------------------------------------------ check
def _listed(items: tuple[object, ...], count: int) -> str:
    shown = ", ".join(str(item) for item in items[:LISTED])
    return shown + (f" and {count - min(len(items), LISTED):,} more" if count > LISTED else "")


def report_lines(check: ExportCheck) -> list[str]:
    """The check's report, line by line, in plain words."""
    lines = [
        f"File: {check.path} ({check.format.upper()}, {check.size_bytes:,} bytes)",
        f"SHA-256: {check.sha256} (compare with the sha256 of its audit.exported event)",
    ]
    header = check.header
    if header.get("exported_at") or header.get("exported_by"):
        filters = header.get("filters")
        shown = (
            ", ".join(f"{key}={value}" for key, value in filters.items())
            if isinstance(filters, dict) and filters
            else "none (the whole log)"
        )
        lines.append(
            f"Exported: {header.get('exported_at', '?')} by {header.get('exported_by', '?')}; "
            f"filters: {shown}"
        )
    span = (
        f" (events {check.first_sequence} to {check.last_sequence})"
        if check.first_sequence is not None
        else ""
    )
    lines.append(f"Events checked: {check.events_checked:,}{span}")
    lines.append(f"Hashes verified: {check.hashes_verified:,}")
    if check.withheld_count:
        lines.append(
            f"Withheld: {check.withheld_count:,} events, not verifiable from the file (the first "
            "examiner's findings were withheld from the exporter until the second review is "
            f"finished): {_listed(check.withheld, check.withheld_count)}"
        )
    if check.gap_count:
        lines.append(
            f"Gaps: {check.gap_count:,} ({check.missing_events:,} events not in the file): "
            f"{_listed(check.gaps, check.gap_count)}"
        )
        if check.format == "csv":
            lines.append(
                "  A CSV export does not record its filters: a gap is either events the "
                "filters left out or deleted rows; compare the event count and SHA-256 with "
                "the audit.exported event (or check again with --whole-log)."
            )
    if check.intact:
        lines.append("Result: INTACT")
    else:
        where = f" at event {check.broken_sequence}" if check.broken_sequence is not None else ""
        lines.append(f"Result: BROKEN{where}: {check.problem}")
    return lines


def _check_export(args: argparse.Namespace) -> int:
    check = check_export(args.file, whole_log=True if args.whole_log else None)
    sys.stdout.write("".join(f"{line}\n" for line in report_lines(check)))
    return 0 if check.intact else 1
