"""Messages a new user meets when following the README headless: each says what to do next."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.casework.gallery_engine import model_manifest
from app.errors import ModelError, PolicyViolation
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
