"""FRX_SMOKE_TEST=1 (used by tools/bundle-smoke.sh): the GUI quits with 0 once its first window
is shown; the same check the bundle's smoke test makes, run here from the source tree."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _run_gui(data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FRX_", "QT_"))}
    env.update({"FRX_DATA_DIR": str(data_dir), "QT_QPA_PLATFORM": "offscreen",
                "FRX_SMOKE_TEST": "1", "PYTHONPATH": str(REPO_ROOT)})
    return subprocess.run(
        [sys.executable, "-m", "app"], env=env, capture_output=True, text=True, timeout=120,
        cwd=REPO_ROOT, check=False,
    )


def test_smoke_mode_quits_once_the_first_run_wizard_is_shown(tmp_path: Path) -> None:
    result = _run_gui(tmp_path / "data")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Smoke test: QtFirstRunWizard is shown" in result.stderr
    assert (tmp_path / "data" / "frx.sqlite3").is_file()


def test_smoke_mode_shows_the_sign_in_once_an_administrator_exists(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRX_")}
    env.update({"FRX_DATA_DIR": str(data), "PYTHONPATH": str(REPO_ROOT)})
    init = subprocess.run(
        [sys.executable, "-m", "app.cli", "init", "--admin", "alice"], env=env,
        input="Smoke-test-password-42\n", capture_output=True, text=True, timeout=120,
        cwd=REPO_ROOT, check=False,
    )
    assert init.returncode == 0, init.stderr
    result = _run_gui(data)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Smoke test: QtLoginDialog is shown" in result.stderr
