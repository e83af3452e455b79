"""``frx audit verify``: walk the hash-chained audit log and name the first broken event."""

from __future__ import annotations

import argparse
import sys

from app.casework.audit_log import verify_audit_chain
from app.commands._common import open_workstation


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("audit", help="check the tamper-evident audit log")
    sub = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = sub.add_parser(
        "verify", help="verify the whole hash chain (exit 1 when an event is broken)"
    )
    verify.set_defaults(handler=_verify)


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
