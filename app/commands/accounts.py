"""``frx init`` (first administrator, headless) and ``frx user ...`` (account administration).

Every ``frx user`` action runs as a signed-in user named with ``--as``; that user's password is
read first, then any new password (prompts on a terminal, one line each on standard input).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date

from app.casework import accounts
from app.casework.accounts import SignedInUser, UserSummary
from app.casework.workstation import Workstation
from app.commands._common import authenticate, open_workstation, read_password
from app.errors import PolicyViolation
from app.policy.roles import Role, parse_roles

Handler = Callable[[argparse.Namespace], int]


def _roles_arg(text: str) -> frozenset[Role]:
    try:
        roles = parse_roles(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not roles:
        raise argparse.ArgumentTypeError("name at least one role")
    return roles


def _date_arg(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date (YYYY-MM-DD)") from None


def _add_as(parser: argparse.ArgumentParser, *, what: str = "an administrator") -> None:
    parser.add_argument(
        "--as",
        dest="as_user",
        metavar="USER",
        required=True,
        help=f"act as this user ({what}); the password is asked for or read from stdin",
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    init = subparsers.add_parser(
        "init", help="create the first administrator of a new workstation (no GUI needed)"
    )
    init.add_argument("--admin", required=True, metavar="NAME", help="user name to create")
    init.add_argument("--display-name", default="", metavar="TEXT", help="full name to show")
    init.set_defaults(handler=_init)

    user = subparsers.add_parser("user", help="user accounts, roles, training, passwords")
    sub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)

    add = sub.add_parser("add", help="create an account (password asked for)")
    add.add_argument("name")
    add.add_argument("--roles", type=_roles_arg, required=True, help="e.g. examiner,supervisor")
    add.add_argument("--display-name", default="", metavar="TEXT")
    _add_as(add)
    add.set_defaults(handler=_as_admin(_add))

    listing = sub.add_parser("list", help="every account with roles, status and training")
    _add_as(listing)
    listing.set_defaults(handler=_as_admin(_list))

    roles = sub.add_parser("roles", help="replace a user's roles")
    roles.add_argument("name")
    roles.add_argument("roles", type=_roles_arg, help="e.g. examiner,supervisor")
    _add_as(roles)
    roles.set_defaults(handler=_as_admin(_set_roles))

    train = sub.add_parser("train", help="record a completed training course")
    train.add_argument("name")
    train.add_argument("--course", required=True, metavar="TEXT")
    train.add_argument("--completed", required=True, type=_date_arg, metavar="YYYY-MM-DD")
    train.add_argument("--expires", required=True, type=_date_arg, metavar="YYYY-MM-DD")
    _add_as(train)
    train.set_defaults(handler=_as_admin(_train))

    reset = sub.add_parser("reset-password", help="give a user a new password (lifts a lock)")
    reset.add_argument("name")
    _add_as(reset)
    reset.set_defaults(handler=_as_admin(_reset_password))

    unlock = sub.add_parser("unlock", help="lift a lockout after too many wrong passwords")
    unlock.add_argument("name")
    _add_as(unlock)
    unlock.set_defaults(handler=_as_admin(_unlock))

    for action, active in (("activate", True), ("deactivate", False)):
        toggle = sub.add_parser(action, help=f"{action} an account")
        toggle.add_argument("name")
        _add_as(toggle)
        toggle.set_defaults(handler=_as_admin(_set_active), active=active)

    passwd = sub.add_parser("passwd", help="change your own password")
    _add_as(passwd, what="yourself")
    passwd.set_defaults(handler=_passwd)


def _init(args: argparse.Namespace) -> int:
    with open_workstation() as ws:
        if not accounts.needs_first_admin(ws):
            raise PolicyViolation(
                "This workstation already has users; 'frx init' only creates the first "
                "administrator. Use 'frx user add ... --as ADMIN' instead."
            )
        password = read_password(f"New password for {args.admin}: ", confirm=True)
        admin = accounts.create_first_admin(
            ws, username=args.admin, display_name=args.display_name, password=password
        )
        sys.stdout.write(
            f"Created administrator '{admin.username}' ({admin.display_name}).\n"
            f"Database: {ws.database.display_url}\n"
        )
    return 0


def _as_admin(
    action: Callable[[Workstation, SignedInUser, argparse.Namespace], int],
) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        with open_workstation() as ws:
            by = authenticate(ws, args.as_user)
            return action(ws, by, args)

    return handler


def _target(ws: Workstation, by: SignedInUser, name: str) -> UserSummary:
    return accounts.user_by_name(ws, by=by, username=name)


def _add(ws: Workstation, by: SignedInUser, args: argparse.Namespace) -> int:
    # Check the caller's rights before asking for the new user's password.
    accounts.check_administrator(ws, by=by, attempted="create users")
    password = read_password(f"New password for {args.name}: ", confirm=True)
    user = accounts.create_user(
        ws,
        by=by,
        username=args.name,
        display_name=args.display_name,
        password=password,
        roles=args.roles,
    )
    sys.stdout.write(f"Created user '{user.username}' with roles {_roles_text(user.roles)}.\n")
    return 0


def _roles_text(roles: frozenset[Role]) -> str:
    return ",".join(sorted(r.value for r in roles)) or "-"


def _status_text(user: UserSummary) -> str:
    if not user.active:
        return "inactive"
    if user.locked_until is not None:
        return f"locked until {user.locked_until:%Y-%m-%d %H:%M} UTC"
    return "active"


def _training_text(user: UserSummary, today: date) -> str:
    if not user.training:
        return "-"
    parts = []
    for entry in user.training:
        state = "until" if entry.is_current(today) else "EXPIRED"
        parts.append(f"{entry.course} ({state} {entry.expires_on.isoformat()})")
    return "; ".join(parts)


def _list(ws: Workstation, by: SignedInUser, args: argparse.Namespace) -> int:
    today = ws.now().date()
    rows = [("USER", "NAME", "ROLES", "STATUS", "TRAINING")]
    for user in accounts.list_users(ws, by=by):
        rows.append(
            (
                user.username,
                user.display_name,
                _roles_text(user.roles),
                _status_text(user),
                _training_text(user, today),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        sys.stdout.write(line.rstrip() + "\n")
    return 0


def _set_roles(ws: Workstation, by: SignedInUser, args: argparse.Namespace) -> int:
    target = _target(ws, by, args.name)
    user = accounts.set_roles(ws, by=by, user_id=target.user_id, roles=args.roles)
    sys.stdout.write(f"User '{user.username}' now has roles {_roles_text(user.roles)}.\n")
    return 0


def _train(ws: Workstation, by: SignedInUser, args: argparse.Namespace) -> int:
    target = _target(ws, by, args.name)
    entry = accounts.add_training(
        ws,
        by=by,
        user_id=target.user_id,
        course=args.course,
        completed_on=args.completed,
        expires_on=args.expires,
    )
    sys.stdout.write(
        f"Recorded training '{entry.course}' for '{target.username}': completed "
        f"{entry.completed_on.isoformat()}, expires {entry.expires_on.isoformat()}.\n"
    )
    return 0


def _reset_password(ws: Workstation, by: SignedInUser, args: argparse.Namespace) -> int:
    target = _target(ws, by, args.name)
    password = read_password(f"New password for {target.username}: ", confirm=True)
    accounts.reset_password(ws, by=by, user_id=target.user_id, new_password=password)
    sys.stdout.write(f"The password of '{target.username}' has been reset.\n")
    return 0


def _unlock(ws: Workstation, by: SignedInUser, args: argparse.Namespace) -> int:
    target = _target(ws, by, args.name)
    accounts.unlock_account(ws, by=by, user_id=target.user_id)
    sys.stdout.write(f"The account '{target.username}' is unlocked.\n")
    return 0


def _set_active(ws: Workstation, by: SignedInUser, args: argparse.Namespace) -> int:
    target = _target(ws, by, args.name)
    user = accounts.set_active(ws, by=by, user_id=target.user_id, active=args.active)
    sys.stdout.write(f"The account '{user.username}' is {_status_text(user)}.\n")
    return 0


def _passwd(args: argparse.Namespace) -> int:
    with open_workstation() as ws:
        current = read_password(f"Current password for {args.as_user}: ", confirm=False)
        user = accounts.sign_in(ws, username=args.as_user, password=current)
        new = read_password("New password: ", confirm=True)
        accounts.change_password(ws, user=user, old_password=current, new_password=new)
        sys.stdout.write(f"The password of '{user.username}' has been changed.\n")
    return 0
