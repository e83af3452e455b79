"""Messages a new user meets when following the README headless: each says what to do next."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.casework.gallery_engine import model_manifest
from app.errors import ConfigurationError, ModelError, PolicyViolation
from app.policy.worksheet import load_worksheet
from app.settings import load_settings


def test_missing_default_model_names_the_command_that_installs_it(fresh_data_dir: Path) -> None:
    settings = load_settings()
    with pytest.raises(ModelError) as raised:
        model_manifest(settings, "dlib-resnet-v1")
    message = str(raised.value)
    assert "frx model install-default" in message
    assert str(settings.models_dir) in message


def test_missing_other_model_is_for_an_administrator(fresh_data_dir: Path) -> None:
    with pytest.raises(ModelError, match="An administrator must install it"):
        model_manifest(load_settings(), "agency-model")


def test_unknown_worksheet_item_lists_the_item_names() -> None:
    sheet = load_worksheet("fiswg-mptc")
    with pytest.raises(PolicyViolation) as raised:
        sheet.item("face")
    message = str(raised.value)
    assert "has no item 'face'" in message
    for item_id in sheet.item_ids:
        assert item_id in message
    assert "face_outline, face_composition" in message


def test_misspelt_setting_is_refused_with_the_known_names(fresh_data_dir: Path) -> None:
    fresh_data_dir.mkdir(parents=True)
    (fresh_data_dir / "settings.toml").write_text(
        "lockout_failure = 3\nidle_lock_minutes = 5\n", encoding="utf-8"
    )
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    message = str(raised.value)
    assert "unknown settings: lockout_failure." in message
    assert "lockout_failures" in message and "agency_name" in message


def test_setting_of_the_wrong_kind_says_what_it_must_be(fresh_data_dir: Path) -> None:
    fresh_data_dir.mkdir(parents=True)
    settings_file = fresh_data_dir / "settings.toml"
    settings_file.write_text('lockout_failures = "many"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"'lockout_failures' .* must be a whole number"):
        load_settings()
    settings_file.write_text(
        'database_url = "sqlite:///x.sqlite3"\nunit_name = "RTCC"\nonnx_threads = 1\n',
        encoding="utf-8",
    )
    assert load_settings().unit_name == "RTCC"
