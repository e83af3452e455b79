"""`python -m app` and `frx-workstation`: start the examiner workstation GUI."""

from __future__ import annotations

import sys


def main() -> int:
    from app.ui.application import run

    return int(run(sys.argv))


if __name__ == "__main__":
    raise SystemExit(main())
