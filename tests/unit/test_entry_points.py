"""The two programs as a new user first meets them: ``frx`` piped into ``head`` and
``frx-workstation --help`` / ``--version`` / no display, each a plain answer and never a
traceback or a Qt abort."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app import __version__
from app.__main__ import display_problem
from app.cli import EXIT_BROKEN_PIPE

REPO_ROOT = Path(__file__).resolve().parents[2]


def _env(data_dir: Path, *, drop: tuple[str, ...] = ()) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("FRX_") and k not in drop
    }
    env.update({"FRX_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO_ROOT)})
    return env


def test_frx_stops_quietly_when_the_reader_of_its_output_goes_away(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `frx model list | head -0`: nobody reads
    try:
        result = subprocess.run(
            [sys.executable, "-m", "app.cli", "model", "list"],
            stdout=write_end, stderr=subprocess.PIPE, text=True, env=_env(tmp_path / "data"),
            cwd=REPO_ROOT, timeout=120, check=False,
        )
    finally:
        os.close(write_end)
    assert "BrokenPipeError" not in result.stderr
    assert "Traceback" not in result.stderr
    assert result.returncode == EXIT_BROKEN_PIPE


def _gui(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True,
        cwd=REPO_ROOT, timeout=120, check=False,
    )


NO_DISPLAY = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


def test_workstation_version_and_help_need_no_display(tmp_path: Path) -> None:
    env = _env(tmp_path / "data", drop=NO_DISPLAY)
    version = _gui(["--version"], env)
    assert version.returncode == 0, version.stderr[-2000:]
    assert version.stdout.strip() == f"frx-workstation {__version__}"
    shown = _gui(["--help"], env)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert shown.stdout.startswith("usage: frx-workstation")
    assert "frx --help" in shown.stdout
    assert not (tmp_path / "data").exists()  # nothing was opened


def test_workstation_without_a_display_says_so_in_one_sentence(tmp_path: Path) -> None:
    result = _gui([], _env(tmp_path / "data", drop=NO_DISPLAY))
    assert result.returncode == 2
    assert "no display" in result.stderr
    assert "Aborted" not in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_display_problem_only_when_qt_has_nowhere_to_draw() -> None:
    assert display_problem({}, [], "linux")
    assert not display_problem({"DISPLAY": ":0"}, [], "linux")
    assert not display_problem({"WAYLAND_DISPLAY": "wayland-0"}, [], "linux")
    assert not display_problem({"QT_QPA_PLATFORM": "offscreen"}, [], "linux")
    assert not display_problem({}, ["-platform", "offscreen"], "linux")
    assert not display_problem({}, [], "win32")
