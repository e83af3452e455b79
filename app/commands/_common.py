"""Helpers shared by ``frx`` sub-commands: open the workstation, read passwords, sign in.

Passwords never come from command-line arguments (they would show in the process list and the
shell history): from a hidden prompt when standard input is a terminal, otherwise one line each
from standard input (for scripts), in the order the command asks for them.
"""

from __future__ import annotations

import getpass
import sys

from app.casework.accounts import SignedInUser, sign_in
from app.casework.workstation import Workstation
from app.errors import AuthenticationError, PolicyViolation


def open_workstation() -> Workstation:
    """Open the workstation of the configured data folder (creating or upgrading the database)."""
    return Workstation.open()


def read_password(prompt: str, *, confirm: bool) -> str:
    """A password from a hidden prompt (asked twice when ``confirm``) or one line of stdin."""
    if sys.stdin is not None and sys.stdin.isatty():
        password = getpass.getpass(prompt)
        if confirm and getpass.getpass("Type it again: ") != password:
            raise PolicyViolation("The two passwords are not the same; nothing was changed.")
        return password
    line = sys.stdin.readline() if sys.stdin is not None else ""
    if not line:
        raise AuthenticationError(
            f"No password was given: standard input ended before '{prompt.strip()}'."
        )
    return line.rstrip("\r\n")


def authenticate(ws: Workstation, username: str) -> SignedInUser:
    """Ask for ``username``'s password and sign in (audited like a sign-in in the GUI)."""
    password = read_password(f"Password for {username}: ", confirm=False)
    return sign_in(ws, username=username, password=password)
