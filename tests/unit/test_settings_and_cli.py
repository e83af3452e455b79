"""Settings resolution and the frx entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app import __version__
from app.cli import main
from app.errors import ConfigurationError
from app.settings import load_settings


def test_defaults_live_in_the_data_folder(fresh_data_dir: Path) -> None:
    settings = load_settings()
    assert settings.data_dir == fresh_data_dir
    assert settings.database_url == f"sqlite:///{fresh_data_dir / 'frx.sqlite3'}"
    assert settings.evidence_dir == fresh_data_dir / "evidence"
    assert settings.idle_lock_minutes == 15
    assert settings.is_sqlite


def test_environment_overrides_file(fresh_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh_data_dir.mkdir(parents=True)
    (fresh_data_dir / "settings.toml").write_text(
        'policy_profile = "nypd-2020"\nidle_lock_minutes = 5\n', encoding="utf-8"
    )
    assert load_settings().policy_profile == "nypd-2020"
    assert load_settings().idle_lock_minutes == 5
    monkeypatch.setenv("FRX_POLICY_PROFILE", "mptc-2019")
    monkeypatch.setenv("FRX_DATABASE_URL", "postgresql+psycopg://u@localhost/frx")
    settings = load_settings()
    assert settings.policy_profile == "mptc-2019"
    assert not settings.is_sqlite


def test_bad_settings_file_is_a_plain_error(fresh_data_dir: Path) -> None:
    fresh_data_dir.mkdir(parents=True)
    (fresh_data_dir / "settings.toml").write_text("idle_lock_minutes = [", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="settings file"):
        load_settings()
    (fresh_data_dir / "settings.toml").write_text('paper_size = "legal"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="paper_size"):
        load_settings()


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert __version__ in capsys.readouterr().out
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "investigative leads only" in " ".join(result.stdout.split())
