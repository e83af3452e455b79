"""`python -m app` and `frx-workstation`: start the examiner workstation GUI.

``--help`` and ``--version`` are answered before Qt is loaded, and on Linux a missing display is
reported in one sentence instead of Qt aborting the process.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from app import APP_NAME, __version__

PROGRAM = "frx-workstation"
EXIT_NO_DISPLAY = 2
USAGE = f"""usage: {PROGRAM} [--help] [--version]

Start the {APP_NAME} (the GUI): the first-run wizard on an
empty data folder, otherwise the sign-in. Settings come from the FRX_*
environment variables and settings.toml in the data folder (see README.md).
For headless and administrative work use the command-line tool 'frx'
(frx --help).
"""


def display_problem(environ: Mapping[str, str], argv: Sequence[str], platform: str) -> str:
    """Why the GUI cannot be shown here (empty when it can, or when Qt is told where to draw)."""
    if not platform.startswith("linux"):
        return ""
    if environ.get("QT_QPA_PLATFORM") or "-platform" in argv:
        return ""
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return ""
    return (
        f"{PROGRAM}: there is no display to show the workstation on (neither DISPLAY nor "
        "WAYLAND_DISPLAY is set). Start it in a desktop session, or use 'frx' for headless work.\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv if argv is None else argv)
    options = args[1:]
    if "--version" in options:
        sys.stdout.write(f"{PROGRAM} {__version__}\n")
        return 0
    if "--help" in options or "-h" in options:
        sys.stdout.write(USAGE)
        return 0
    problem = display_problem(os.environ, options, sys.platform)
    if problem:
        sys.stderr.write(problem)
        return EXIT_NO_DISPLAY
    from app.ui.application import run

    return int(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
