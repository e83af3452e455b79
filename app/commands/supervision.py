"""``frx supervision``: the compliance figures of a period and the yearly transparency figures.

    frx supervision compliance --since 2026-01-01 --until 2026-03-31 [--pdf FILE] --as USER
    frx supervision transparency --year 2026 --csv FILE --as USER

Dates are days in UTC; ``--until`` includes the whole day named. Reading the figures is recorded
in the audit log, and so is each file written. The password is asked for or read from stdin.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from app.casework import compliance, compliance_files
from app.casework.accounts import SignedInUser
from app.casework.workstation import Workstation
from app.commands._common import authenticate, open_workstation
from app.errors import InvalidInput
from app.reports.compliance_data import ComplianceOverview, CountLine


def write(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "supervision", help="compliance figures, PDF compliance report, transparency figures"
    )
    sub = parser.add_subparsers(dest="supervision_command", metavar="ACTION", required=True)

    overview = sub.add_parser("compliance", help="print the compliance counts of a period")
    overview.add_argument("--since", metavar="YYYY-MM-DD", help="first day (UTC) of the period")
    overview.add_argument(
        "--until", metavar="YYYY-MM-DD", help="last day (UTC) of the period, included"
    )
    overview.add_argument("--pdf", type=Path, metavar="FILE", help="also write the PDF report")
    _add_as(overview)
    overview.set_defaults(handler=_compliance)

    figures = sub.add_parser("transparency", help="write a year's transparency figures as CSV")
    figures.add_argument("--year", type=int, required=True, metavar="YYYY")
    figures.add_argument("--csv", type=Path, required=True, metavar="FILE")
    _add_as(figures)
    figures.set_defaults(handler=_transparency)


def _add_as(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as",
        dest="as_user",
        metavar="USER",
        required=True,
        help="act as this user; the password is asked for or read from stdin",
    )


def parse_day(value: str | None, *, option: str, end: bool = False) -> datetime | None:
    """``YYYY-MM-DD`` as midnight UTC (of the next day when ``end``: the day is included)."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{option} must be a day written YYYY-MM-DD, not {value!r}.") from None
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return moment + timedelta(days=1) if end else moment


def _signed_in(ws: Workstation, args: argparse.Namespace) -> SignedInUser:
    return authenticate(ws, args.as_user)


def _rows(title: str, rows: tuple[CountLine, ...]) -> None:
    write(f"{title}:")
    if not rows:
        write("  none")
    for row in rows:
        meaning = f"  ({row.label})" if row.label != row.key else ""
        write(f"  {row.key}: {row.count}{meaning}")


def print_overview(o: ComplianceOverview) -> None:
    c, r = o.counts, o.reviews
    since = o.since.date().isoformat() if o.since else "the first record"
    until = (o.until - timedelta(days=1)).date().isoformat() if o.until else "now"
    write(f"Compliance figures {since} to {until} (UTC), {o.unit}, profile {o.profile_name}")
    write(f"requests opened: {c.requests}")
    write(f"searches: {c.searches}")
    write(f"comparisons concluded: {c.comparisons_concluded}")
    write(f"possible leads: {c.possible_leads}")
    write(f"concluded not a lead or inconclusive: {c.no_lead_conclusions}")
    write(f"lead reports: {c.lead_reports}")
    write(f"no-lead reports: {c.no_lead_reports}")
    write(f"second reviews done: {r.done}")
    write(f"second reviews missing: {r.missing} (skipped {r.skipped}, awaiting {r.awaiting})")
    write(f"reviews disagreeing: {r.disagreements}")
    write(f"reports disseminated: {c.disseminations}")
    write(f"refused actions: {c.refused_actions}")
    if o.training_due is None:
        write("training due: not shown to this user")
    else:
        write(f"training due within {o.training_window_days} days: {len(o.training_due)}")
        for item in o.training_due:
            write(f"  {item.display_name} ({item.username}): {item.sentence}")
    s = o.sealed
    write(f"sealed now: {s.subjects_sealed_now} subjects, {s.photos_sealed_now} photos")
    write(f"sealed in period: {s.sealed_in_period}, unsealed in period: {s.unsealed_in_period}")
    _rows("searches per purpose", o.searches_per_purpose)
    _rows("searches per examiner", o.searches_per_examiner)
    _rows("reports disseminated per recipient", o.releases_per_recipient)
    _rows("refused actions per action", o.refusals_per_action)


def _compliance(args: argparse.Namespace) -> int:
    since = parse_day(args.since, option="--since")
    until = parse_day(args.until, option="--until", end=True)
    with open_workstation() as ws:
        user = _signed_in(ws, args)
        overview = compliance.compliance_overview(ws, user=user, since=since, until=until)
        print_overview(overview)
        if args.pdf is not None:
            written = compliance_files.write_compliance_report(
                ws, user=user, since=since, until=until, path=args.pdf
            )
            write(f"PDF compliance report written to {written.path} (SHA-256 {written.sha256})")
    return 0


def _transparency(args: argparse.Namespace) -> int:
    with open_workstation() as ws:
        user = _signed_in(ws, args)
        figures, written = compliance_files.export_transparency(
            ws, user=user, year=args.year, path=args.csv
        )
    write(
        f"Transparency figures {figures.year}: {figures.searches} searches, "
        f"{figures.requests} requests, {figures.possible_leads} possible leads"
    )
    write(f"written to {written.path} (SHA-256 {written.sha256})")
    return 0
