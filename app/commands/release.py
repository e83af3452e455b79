"""``frx disclosure`` (MPTC VI.E) and ``frx retention`` (MPTC VI.A): registered by
:mod:`app.commands.report`.

    frx disclosure record --requester WHO --description WHAT [--request REQ] --as USER
    frx disclosure decide ID (--approve | --deny) --reason WHY --as LEGAL_ADVISOR
    frx disclosure release ID --description WHAT --method HOW [--report ID ...] --as USER
    frx disclosure list [--status STATUS] --as USER
    frx retention hold TYPE ID --reason WHY --as USER     (TYPE: request, report, ...)
    frx retention lift HOLD --reason WHY --as USER
    frx retention holds [--all] --as USER
    frx retention purge [--dry-run] --as USER
"""

from __future__ import annotations

import argparse
import sys

from app.casework import disclosure, retention
from app.casework.accounts import SignedInUser
from app.casework.disclosure import DisclosureSummary
from app.casework.workstation import Workstation
from app.commands._common import add_as_user as _as
from app.commands._common import iso_moment as _moment
from app.commands._common import signed_in as _signed_in
from app.records.report_models import DISCLOSURE_STATUSES, HOLD_RECORD_TYPES


def _write(text: str = "") -> None:
    sys.stdout.write(text + "\n")


# ----------------------------------------------------------------------------- disclosure
def register_disclosure(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "disclosure", help="disclosure (e.g. FOIL) requests and the legal advisor's decisions"
    )
    sub = parser.add_subparsers(dest="disclosure_command", metavar="ACTION", required=True)
    record = sub.add_parser("record", help="record a disclosure request as received")
    record.add_argument("--requester", required=True)
    record.add_argument("--description", required=True, help="what records are asked for")
    record.add_argument("--received", type=_moment, help="when it arrived (default: now)")
    record.add_argument("--request", metavar="REQ", help="the case's request, if one is named")
    _as(record)
    record.set_defaults(handler=_signed_in(_record))

    decide = sub.add_parser("decide", help="legal advisor: approve or deny, with the reason")
    decide.add_argument("disclosure_id", type=int, metavar="ID")
    choice = decide.add_mutually_exclusive_group(required=True)
    choice.add_argument("--approve", action="store_true")
    choice.add_argument("--deny", action="store_true")
    decide.add_argument("--reason", required=True)
    _as(decide)
    decide.set_defaults(handler=_signed_in(_decide))

    release = sub.add_parser("release", help="record a release on an approved request")
    release.add_argument("disclosure_id", type=int, metavar="ID")
    release.add_argument("--description", required=True, help="what is released")
    release.add_argument("--method", required=True, help="how it is released")
    release.add_argument(
        "--report",
        type=int,
        action="append",
        default=[],
        metavar="REPORT_ID",
        help="a report released (repeat for several); its SHA-256 is recorded",
    )
    _as(release)
    release.set_defaults(handler=_signed_in(_release))

    listing = sub.add_parser("list", help="disclosure requests, newest first")
    listing.add_argument("--status", choices=DISCLOSURE_STATUSES)
    _as(listing)
    listing.set_defaults(handler=_signed_in(_list))


def _disclosure_lines(item: DisclosureSummary) -> None:
    case = f" (case {item.case_number})" if item.case_number else ""
    _write(f"Disclosure request {item.disclosure_id}: {item.status}{case}")
    _write(f"  From:      {item.requester}, received {item.received_at:%Y-%m-%d %H:%M} UTC")
    _write(f"  Asks for:  {item.description}")
    for d in item.decisions:
        _write(
            f"  {d.decision.capitalize()} by {d.decided_by} on {d.decided_at:%Y-%m-%d}: {d.reason}"
        )
    for r in item.releases:
        _write(
            f"  Released by {r.released_by} on {r.released_at:%Y-%m-%d} ({r.method}): "
            f"{r.description}"
        )
        for entry in r.items:
            _write(
                f"    {entry.get('report_number')} v{entry.get('version')} "
                f"sha256 {entry.get('sha256')}"
            )


def _record(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    _disclosure_lines(
        disclosure.record_disclosure_request(
            ws,
            user=user,
            requester=args.requester,
            description=args.description,
            received_at=args.received,
            request_reference=args.request,
        )
    )
    return 0


def _decide(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    _disclosure_lines(
        disclosure.decide_disclosure(
            ws,
            user=user,
            disclosure_id=args.disclosure_id,
            approve=args.approve,
            reason=args.reason,
        )
    )
    return 0


def _release(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    _disclosure_lines(
        disclosure.release_disclosure(
            ws,
            user=user,
            disclosure_id=args.disclosure_id,
            description=args.description,
            method=args.method,
            report_ids=args.report,
        )
    )
    return 0


def _list(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    found = disclosure.list_disclosures(ws, user=user, status=args.status)
    if not found:
        _write("No disclosure requests.")
    for item in found:
        _disclosure_lines(item)
    return 0


# ----------------------------------------------------------------------------- retention
def register_retention(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("retention", help="legal holds and the retention purge")
    sub = parser.add_subparsers(dest="retention_command", metavar="ACTION", required=True)
    hold = sub.add_parser("hold", help="place a legal hold on a record and its case file")
    hold.add_argument("record_type", choices=HOLD_RECORD_TYPES, metavar="TYPE")
    hold.add_argument("record_id", type=int, metavar="ID")
    hold.add_argument("--reason", required=True)
    _as(hold)
    hold.set_defaults(handler=_signed_in(_hold))

    lift = sub.add_parser("lift", help="lift a legal hold")
    lift.add_argument("hold_id", type=int, metavar="HOLD")
    lift.add_argument("--reason", required=True)
    _as(lift)
    lift.set_defaults(handler=_signed_in(_lift))

    holds = sub.add_parser("holds", help="the legal holds in force (--all: lifted ones too)")
    holds.add_argument("--all", action="store_true")
    _as(holds)
    holds.set_defaults(handler=_signed_in(_holds))

    purge = sub.add_parser("purge", help="remove records past retention and not on hold")
    purge.add_argument("--dry-run", action="store_true", help="only list what is due")
    _as(purge)
    purge.set_defaults(handler=_signed_in(_purge))


def _hold_line(hold: retention.HoldSummary) -> str:
    state = "active" if hold.active else f"lifted {hold.lifted_at:%Y-%m-%d} by {hold.lifted_by}"
    case = f" case {hold.case_number}" if hold.case_number else ""
    return (
        f"Hold {hold.hold_id}: {hold.record_type} {hold.record_id}{case}, placed "
        f"{hold.placed_at:%Y-%m-%d} by {hold.placed_by} ({state}): {hold.reason}"
    )


def _hold(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    _write(
        _hold_line(
            retention.place_legal_hold(
                ws,
                user=user,
                record_type=args.record_type,
                record_id=args.record_id,
                reason=args.reason,
            )
        )
    )
    return 0


def _lift(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    _write(
        _hold_line(
            retention.lift_legal_hold(ws, user=user, hold_id=args.hold_id, reason=args.reason)
        )
    )
    return 0


def _holds(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    found = retention.list_legal_holds(ws, user=user, active_only=not args.all)
    if not found:
        _write("No legal holds.")
    for hold in found:
        _write(_hold_line(hold))
    return 0


def _purge(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    result = retention.purge_expired(ws, user=user, dry_run=args.dry_run)
    verb = "Due" if result.dry_run else "Removed"
    for item in result.purged:
        _write(
            f"{verb}: {item.record_type} {item.reference} (made {item.created_on}, kept through "
            f"{item.retained_until}; {sum(item.rows.values())} rows, "
            f"{len(item.files_removed)} evidence files)"
        )
    for held in result.held:
        holds = ", ".join(str(i) for i in held.hold_ids)
        _write(f"Kept under legal hold: {held.record_type} {held.reference} (holds {holds})")
    _write(result.summary)
    return 0
