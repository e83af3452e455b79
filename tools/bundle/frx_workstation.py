"""Entry script of the bundled ``frx-workstation`` (GUI); see pyinstaller.spec."""

from __future__ import annotations

import multiprocessing

if __name__ == "__main__":
    # A gallery import's worker processes start with "spawn": in a frozen program they run this
    # executable again, and freeze_support() turns that run into the worker.
    multiprocessing.freeze_support()
    from app.__main__ import main

    raise SystemExit(main())
