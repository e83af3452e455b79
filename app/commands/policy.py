"""``frx policy list`` and ``frx policy select NAME --reason ...``: the unit's policy profile.

The administrator's choice is stored in the database and overrides the ``policy_profile``
setting (``FRX_POLICY_PROFILE``) on every workstation sharing the database. After a change every
examiner must acknowledge the new version before their next search.
"""

from __future__ import annotations

import argparse
import sys

from app.casework.policy_choice import (
    available_profiles,
    profile_selection,
    select_policy_profile,
)
from app.commands._common import authenticate, open_workstation


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("policy", help="list or select the unit's policy profile")
    sub = parser.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="the profiles available; '*' marks the one in force")
    listing.set_defaults(handler=_list)
    select = sub.add_parser(
        "select", help="make a profile the unit's policy (administrator; audited)"
    )
    select.add_argument("name", help="a name shown by 'frx policy list'")
    select.add_argument("--reason", required=True, metavar="TEXT", help="why it changes")
    select.add_argument(
        "--as",
        dest="as_user",
        metavar="USER",
        required=True,
        help="act as this administrator; the password is asked for or read from stdin",
    )
    select.set_defaults(handler=_select)


def _list(args: argparse.Namespace) -> int:
    with open_workstation() as ws:
        choices = available_profiles(ws)
        selection = profile_selection(ws)
    for choice in choices:
        mark = "*" if choice.active else " "
        sys.stdout.write(
            f"{mark} {choice.key}  {choice.label}  sha256 {choice.sha256[:12]}\n"
            f"    {choice.description}\n"
        )
    sys.stdout.write(f"{selection.text}\n")
    if selection.problem:
        sys.stderr.write(f"frx: {selection.problem}\n")
    return 0


def _select(args: argparse.Namespace) -> int:
    with open_workstation() as ws:
        user = authenticate(ws, args.as_user)
        old = ws.profile
        choice = select_policy_profile(ws, by=user, name=args.name, reason=args.reason)
    sys.stdout.write(
        f"Policy profile changed from {old.title} ({old.version}) to {choice.label}.\n"
        "Every examiner must acknowledge the new version before their next search.\n"
    )
    return 0
