"""Entry script of the bundled ``frx`` command-line tool; see pyinstaller.spec."""

from __future__ import annotations

import multiprocessing

if __name__ == "__main__":
    # Gallery imports of many photos analyse them in "spawn" worker processes (see
    # app.casework.gallery_workers); frozen, those run this executable again.
    multiprocessing.freeze_support()
    from app.cli import console_main

    raise SystemExit(console_main())
