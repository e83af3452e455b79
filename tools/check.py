"""Static checks run by `make test` before the suite: ruff, mypy, import-linter contracts."""

from __future__ import annotations

import subprocess
import sys

CHECKS = [
    ["ruff", "check", "app", "tests", "bench", "tools"],
    ["mypy", "app"],
    ["lint-imports"],
]


def main() -> int:
    bindir = sys.executable.rsplit("/", 1)[0]
    failed = []
    for cmd in CHECKS:
        tool = f"{bindir}/{cmd[0]}"
        result = subprocess.run([tool, *cmd[1:]], check=False)
        if result.returncode != 0:
            failed.append(cmd[0])
    if failed:
        sys.stderr.write(f"Static checks failed: {', '.join(failed)}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
