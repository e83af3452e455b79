"""Casework for face embedding models: list, verify and install them in the data folder.

The CLI and the UI call these functions, never :mod:`app.engine.models` directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.engine import models as engine_models
from app.engine.model_manifest import MANIFEST_FILE, read_manifest
from app.errors import ModelError
from app.settings import Settings

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class ModelStatus:
    """One installed model as the examiner sees it."""

    name: str
    version: str
    dimension: int | None
    metric: str
    threshold: float | None
    verified: bool
    problem: str  # empty when verified
    is_configured: bool  # the model the settings select for searches
    score_meaning: str = ""
    sha256: str = ""


def _status(settings: Settings, name: str) -> ModelStatus:
    configured = name == settings.model_name
    try:
        manifest = read_manifest(settings.models_dir / name / MANIFEST_FILE)
    except ModelError as exc:
        return ModelStatus(name, "?", None, "?", None, False, str(exc), configured)
    try:
        engine_models.verify_model(settings.models_dir, name)
        problem = ""
    except ModelError as exc:
        problem = str(exc)
    return ModelStatus(
        name=manifest.name,
        version=manifest.version,
        dimension=manifest.output_dim,
        metric=manifest.metric,
        threshold=manifest.threshold,
        verified=not problem,
        problem=problem,
        is_configured=configured,
        score_meaning=manifest.score_meaning,
        sha256=manifest.sha256,
    )


def list_installed_models(settings: Settings) -> list[ModelStatus]:
    """Every model folder in the data folder, each verified (file digest, loadable, shapes)."""
    return [_status(settings, name) for name in engine_models.model_folders(settings.models_dir)]


def verify_installed_model(settings: Settings, *, name: str) -> ModelStatus:
    """Verify one model; ModelError (a plain sentence) when it is missing, damaged or wrong."""
    manifest = engine_models.verify_model(settings.models_dir, name)
    return ModelStatus(
        name=manifest.name,
        version=manifest.version,
        dimension=manifest.output_dim,
        metric=manifest.metric,
        threshold=manifest.threshold,
        verified=True,
        problem="",
        is_configured=name == settings.model_name,
        score_meaning=manifest.score_meaning,
        sha256=manifest.sha256,
    )


def install_default_model(settings: Settings, *, progress: Progress | None = None) -> ModelStatus:
    """Convert dlib's face descriptor from the installed package into the data folder."""
    engine_models.install_default_model(settings.models_dir, progress=progress)
    return verify_installed_model(settings, name=engine_models.DEFAULT_MODEL_NAME)


def model_not_installed(settings: Settings, name: str) -> ModelError:
    """The plain error for a model with no manifest in the data folder, saying what to do."""
    if name == engine_models.DEFAULT_MODEL_NAME:
        return ModelError(
            f"The face model '{name}' is not installed in {settings.models_dir} yet. Install it "
            "with 'frx model install-default' (the workstation also does this when someone "
            "signs in to it); nothing is downloaded."
        )
    return ModelError(
        f"The configured face model '{name}' is not installed in {settings.models_dir}. "
        "An administrator must install it, or choose the default model."
    )


def ensure_configured_model(
    settings: Settings, *, progress: Progress | None = None
) -> ModelStatus:
    """On start: the model the settings select, installed and verified.

    The default model is converted from the installed package when it is missing (first start,
    nothing downloaded); an agency's own model must have been installed by an administrator.
    """
    name = settings.model_name
    if not (settings.models_dir / name / MANIFEST_FILE).exists():
        if name != engine_models.DEFAULT_MODEL_NAME:
            raise model_not_installed(settings, name)
        return install_default_model(settings, progress=progress)
    return verify_installed_model(settings, name=name)


__all__ = [
    "ModelStatus",
    "ensure_configured_model",
    "install_default_model",
    "list_installed_models",
    "model_not_installed",
    "verify_installed_model",
]
