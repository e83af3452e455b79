"""``frx admin check [--quick] [--json FILE] --as USER``: the workstation health check.

Supervisors and administrators only (a refusal is audited). Prints a line per section (OK,
PROBLEM or SKIPPED), then the problems and warnings of each section (at most 20 each, then
"and N more"; ``--json`` writes all of them), then one verdict line. Exit 0 when every section
is OK, 1 when any section has a PROBLEM, 2 on refusal or unusable input. Progress goes to
stderr; Ctrl-C stops cleanly. Meant to be scheduled (cron, Task Scheduler).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.casework.accounts import SignedInUser
from app.casework.health_check import (
    HealthReport,
    check_report_destination,
    run_health_check,
    write_report_json,
)
from app.casework.workstation import Workstation
from app.commands._common import ProgressBar, add_as_user, cancel_on_interrupt, signed_in

LISTED = 20  # problems (and warnings) printed per section before "and N more"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``check`` to ``frx admin``."""
    check = sub.add_parser(
        "check",
        help="check database, audit chain, evidence, search index and face models "
        "(exit 1 when a problem is found)",
    )
    check.add_argument(
        "--quick",
        action="store_true",
        help="SQLite quick_check, and evidence files checked by size without hashing",
    )
    check.add_argument(
        "--json",
        dest="json_file",
        type=Path,
        metavar="FILE",
        help="also write the full report (every problem) as JSON for monitoring tools",
    )
    add_as_user(check)
    check.set_defaults(handler=signed_in(_check))


def _lines(label: str, items: list[str]) -> list[str]:
    if not items:
        return []
    lines = [f"{label} ({len(items)}):"]
    lines.extend(f"  {item}" for item in items[:LISTED])
    if len(items) > LISTED:
        lines.append(f"  and {len(items) - LISTED} more")
    return lines


def render(report: HealthReport) -> str:
    """The short text report: a line per section, the problems and warnings, the verdict."""
    lines = [f"{s.title}: {s.status} - {s.summary}" for s in report.sections]
    for s in report.sections:
        lines.extend(_lines(f"{s.title} problems", s.problems))
        lines.extend(_lines(f"{s.title} warnings (not problems)", s.warnings))
    if report.ok:
        lines.append("Verdict: ALL OK.")
    else:
        failing = ", ".join(s.title.lower() for s in report.sections if s.status == "PROBLEM")
        lines.append(f"Verdict: PROBLEMS FOUND ({failing}).")
    return "\n".join(lines) + "\n"


def _check(ws: Workstation, by: SignedInUser, args: argparse.Namespace) -> int:
    destination = None if args.json_file is None else check_report_destination(args.json_file)
    bar = ProgressBar("Checking")
    try:
        with cancel_on_interrupt() as cancelled:
            report = run_health_check(
                ws, by=by, quick=args.quick, progress=bar, cancelled=cancelled
            )
    finally:
        bar.close()
    sys.stdout.write(render(report))
    if destination is not None:
        written = write_report_json(report, destination)
        sys.stdout.write(f"Full report written to {written}.\n")
    return 0 if report.ok else 1
