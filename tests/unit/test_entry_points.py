"""The two programs as a new user first meets them: ``frx`` piped into ``head`` and
``frx-workstation --help`` / ``--version`` / no display, each a plain answer and never a
traceback or a Qt abort."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import __version__
from app.__main__ import display_problem
from app.cli import EXIT_BROKEN_PIPE
from app.commands._common import ProgressBar

REPO_ROOT = Path(__file__).resolve().parents[2]


def _env(data_dir: Path, *, drop: tuple[str, ...] = ()) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRX_") and k not in drop}
    env.update({"FRX_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO_ROOT)})
    return env


def test_frx_stops_quietly_when_the_reader_of_its_output_goes_away(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `frx model list | head -0`: nobody reads
    try:
        result = subprocess.run(
            [sys.executable, "-m", "app.cli", "model", "list"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(tmp_path / "data"),
            cwd=REPO_ROOT,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert "BrokenPipeError" not in result.stderr
    assert "Traceback" not in result.stderr
    assert result.returncode == EXIT_BROKEN_PIPE


def _gui(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
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


NATIVE_SCRIPT = """
import sys
from pathlib import Path
from app.cli import divert_native_stderr
if sys.argv[1] == "divert":
    divert_native_stderr(Path(sys.argv[2]))
from app.engine.detect import FaceDetector
FaceDetector().close()
sys.stderr.write("frx: our own message\\n")
"""


def test_native_log_lines_go_to_the_data_folder_not_the_terminal(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()

    def run(mode: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", NATIVE_SCRIPT, mode, str(data)],
            env=_env(data),
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            timeout=120,
            check=False,
        )

    plain = run("keep")  # MediaPipe's own lines reach the terminal unless diverted
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert "XNNPACK" in plain.stderr
    diverted = run("divert")
    assert diverted.returncode == 0, diverted.stderr[-2000:]
    assert "XNNPACK" not in diverted.stderr
    assert diverted.stderr.strip() == "frx: our own message"
    assert "XNNPACK" in (data / "logs" / "native.log").read_text(encoding="utf-8")


def _frx(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )


def test_frx_keeps_native_lines_on_the_terminal_only_when_verbose(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    native_log = data / "logs" / "native.log"
    quiet = _frx(["model", "list"], _env(data))
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert native_log.exists()
    native_log.unlink()
    verbose = _frx(["-v", "model", "list"], _env(data))
    assert verbose.returncode == 0, verbose.stderr[-2000:]
    assert not native_log.exists()
    # No data folder yet (before `frx init`): nothing is created, nothing diverted.
    fresh = tmp_path / "fresh"
    assert _frx(["--version"], _env(fresh)).returncode == 0
    assert not fresh.exists()


def test_progress_is_a_redrawn_bar_on_a_terminal_and_few_lines_in_a_log(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = iter(float(t) for t in range(1000))
    monkeypatch.setattr("app.commands._common.time.monotonic", lambda: next(clock))
    terminal = ProgressBar("Importing", interactive=True)
    for done in range(1, 6):
        terminal(done, 5, f"row {done}")
    terminal.close()
    drawn = capsys.readouterr().err
    assert drawn.count("\r") == 5 and drawn.endswith("\n") and drawn.count("\n") == 1
    # Under cron or into a file: a line at most every LOG_INTERVAL seconds, and the last one.
    log = ProgressBar("Importing", interactive=False)
    for done in range(1, 31):  # one call a second
        log(done, 30, f"row {done}")
    log(30, 30, "row 30")  # repeated: not written again
    log.close()
    lines = capsys.readouterr().err.splitlines()
    assert "\r" not in "".join(lines)
    assert [line.split("] ")[1] for line in lines] == [
        "1/30 row 1",
        "11/30 row 11",
        "21/30 row 21",
        "30/30 row 30",
    ]
    assert lines[-1].startswith("Importing [" + "#" * ProgressBar.WIDTH + "]")
