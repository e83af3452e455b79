"""``frx``: the command-line tool (headless and administrative work, same casework as the GUI).

Sub-commands live in :mod:`app.commands`; each module has ``register(subparsers)``. Errors a user
can cause are shown as one plain line on stderr with exit code 2; nothing prints a traceback.

MediaPipe and TensorFlow Lite write their own log lines straight to the process's standard error
(file descriptor 2), which no environment variable of theirs silences. The installed ``frx``
command (:func:`console_main`) therefore points descriptor 2 at ``logs/native.log`` in the data
folder and keeps the terminal for the tool's own messages (``--verbose`` keeps everything on the
terminal).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

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


NATIVE_LOG = "native.log"


def divert_native_stderr(data_dir: Path) -> Path | None:
    """Send what native libraries write to descriptor 2 to ``logs/native.log`` in an existing
    data folder; Python's ``sys.stderr`` keeps writing where descriptor 2 pointed before.
    Returns the log file, or None when there is no data folder yet (nothing is diverted)."""
    if not data_dir.is_dir():
        return None
    logs = data_dir / "logs"
    try:
        logs.mkdir(exist_ok=True)
        target = os.open(logs / NATIVE_LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError:
        return None  # an unwritable data folder is reported by the command itself
    sys.stderr.flush()
    terminal = os.dup(2)
    sys.stderr = open(  # noqa: SIM115 - lives as long as the process
        terminal, "w", buffering=1, encoding=sys.stderr.encoding, errors="backslashreplace"
    )
    os.dup2(target, 2)
    os.close(target)
    return logs / NATIVE_LOG


def console_main() -> int:
    """The ``frx`` command: :func:`main` with native log lines kept off the terminal."""
    if not {"-v", "--verbose"} & set(sys.argv[1:]):
        from app.settings import default_data_dir

        divert_native_stderr(
            Path(os.environ.get("FRX_DATA_DIR") or default_data_dir()).expanduser()
        )
    return main()


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
    raise SystemExit(console_main())
