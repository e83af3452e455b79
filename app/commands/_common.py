"""Helpers shared by ``frx`` sub-commands: open the workstation, read passwords, sign in, show
progress on stderr and stop cleanly on Ctrl-C.

Passwords never come from command-line arguments (they would show in the process list and the
shell history): from a hidden prompt when standard input is a terminal, otherwise one line each
from standard input (for scripts), in the order the command asks for them.
"""

from __future__ import annotations

import argparse
import getpass
import math
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from types import FrameType

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


Action = Callable[[Workstation, SignedInUser, argparse.Namespace], int]


def signed_in(action: Action) -> Callable[[argparse.Namespace], int]:
    """An argparse handler that opens the workstation and signs in ``--as`` before ``action``."""

    def handler(args: argparse.Namespace) -> int:
        with open_workstation() as ws:
            user = authenticate(ws, args.as_user)
            return action(ws, user, args)

    return handler


def add_as_user(parser: argparse.ArgumentParser) -> None:
    """The ``--as USER`` option every signed-in command takes."""
    parser.add_argument(
        "--as",
        dest="as_user",
        metavar="USER",
        required=True,
        help="act as this user; the password is asked for or read from stdin",
    )


def iso_moment(text: str) -> datetime:
    """An argparse type: an ISO 8601 date and time with its time zone."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date and time (ISO 8601)") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("give the time zone, e.g. 2026-03-01T10:00+00:00")
    return value


# ------------------------------------------------------------------------------ progress
class ProgressBar:
    """Progress on stderr: on a terminal one bar redrawn at most ten times a second; otherwise
    (cron, a redirected log) a plain line at most every ``LOG_INTERVAL`` seconds and at the end,
    so that a log file gets a few readable lines instead of thousands of redraws."""

    WIDTH = 30
    LOG_INTERVAL = 10.0

    def __init__(self, label: str, *, interactive: bool | None = None) -> None:
        self.label = label
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self._last = -math.inf
        self._shown = False
        self._written: tuple[int, int, str] | None = None

    def __call__(self, done: int, total: int, message: str) -> None:
        now = time.monotonic()
        interval = 0.1 if self.interactive else self.LOG_INTERVAL
        if (done < total and now - self._last < interval) or self._written == (
            done,
            total,
            message,
        ):
            return
        self._last = now
        self._written = (done, total, message)
        share = done / total if total > 0 else 1.0
        filled = min(self.WIDTH, round(share * self.WIDTH))
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        if self.interactive:
            sys.stderr.write(f"\r{self.label} [{bar}] {done}/{total} {message[:60]:<60}")
            self._shown = True
        else:
            sys.stderr.write(f"{self.label} [{bar}] {done}/{total} {message}\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self._shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


@contextmanager
def cancel_on_interrupt() -> Iterator[Callable[[], bool]]:
    """The first Ctrl-C asks the work to stop after its current step; the second interrupts."""
    requested = False
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        nonlocal requested
        if requested:
            raise KeyboardInterrupt
        requested = True
        sys.stderr.write("\nStopping after the current step (Ctrl-C again to interrupt)...\n")

    try:
        signal.signal(signal.SIGINT, on_interrupt)
    except ValueError:  # not the main thread: no signal handling
        yield lambda: requested
        return
    try:
        yield lambda: requested
    finally:
        signal.signal(signal.SIGINT, previous)
