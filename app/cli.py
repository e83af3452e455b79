"""``frx``: the command-line tool (headless and administrative work, same casework as the GUI).

Sub-commands live in :mod:`app.commands`; each module has ``register(subparsers)``. Errors a user
can cause are shown as one plain line on stderr with exit code 2; nothing prints a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from app import APP_NAME, __version__
from app.errors import FrxError

# Modules in app.commands that register sub-commands, in help order.
COMMAND_MODULES = (
    "accounts",
    "audit",
    "policy",
    "model",
    "gallery",
    "case",
    "report",
    "supervision",
    "admin",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="frx",
        description=f"{APP_NAME} command-line tool. Results are investigative leads only.",
    )
    parser.add_argument("--version", action="version", version=f"frx {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"app.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"app.commands.{name}":
                continue  # not built yet
            raise
        module.register(sub)
    return parser


# Exit code when the reader of standard output went away (``frx ... | head``): 128 + SIGPIPE.
EXIT_BROKEN_PIPE = 141


def main(argv: Sequence[str] | None = None) -> int:
    try:
        try:
            code = _run(argv)
        finally:
            sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
    except BrokenPipeError:
        # Quietly, as other tools do; the rest of the output goes nowhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE
    return code


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        return int(handler(args) or 0)
    except FrxError as exc:
        sys.stderr.write(f"frx: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("frx: interrupted\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
