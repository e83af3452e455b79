"""First start installs the default model from the installed package; a missing agency model is
refused plainly; a damaged model is refused, never used."""

from __future__ import annotations

import dataclasses

import pytest

from app.casework.models import ensure_configured_model
from app.errors import ModelError
from app.settings import load_settings


def test_first_start_installs_default_then_verifies() -> None:
    settings = load_settings()
    assert not settings.models_dir.exists()
    status = ensure_configured_model(settings)
    assert status.verified and status.name == settings.model_name and status.dimension == 128
    again = ensure_configured_model(settings)
    assert again.sha256 == status.sha256
    onnx = next((settings.models_dir / settings.model_name).glob("*.onnx"))
    data = bytearray(onnx.read_bytes())
    data[len(data) // 2] ^= 0xFF
    onnx.write_bytes(bytes(data))
    with pytest.raises(ModelError):
        ensure_configured_model(settings)


def test_missing_agency_model_is_refused() -> None:
    settings = dataclasses.replace(load_settings(), model_name="agency-arcface")
    with pytest.raises(ModelError, match="not installed"):
        ensure_configured_model(settings)
