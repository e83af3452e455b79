"""What the shell shows about the installation: data folder, database, profile, model, versions.

Plain functions (no widgets) shared by the first-run summary, the status bar and About. Each one
degrades to "unknown" / "not installed" instead of failing: these are facts to display, and a
missing piece is itself the fact the examiner needs to see.
"""

from __future__ import annotations

import logging
import platform
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata

from app import APP_NAME, __version__
from app.casework.workstation import Workstation
from app.errors import FrxError, ModelError

log = logging.getLogger(__name__)

# (shown name, distributions that provide it; the first one installed wins)
COMPONENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("numpy", ("numpy",)),
    ("OpenCV", ("opencv-contrib-python-headless", "opencv-python-headless",
                "opencv-contrib-python", "opencv-python")),
    ("MediaPipe", ("mediapipe",)),
    ("onnxruntime", ("onnxruntime", "onnxruntime-gpu")),
    ("onnx", ("onnx",)),
    ("hnswlib", ("hnswlib",)),
    ("SQLAlchemy", ("sqlalchemy",)),
    ("Alembic", ("alembic",)),
    ("reportlab", ("reportlab",)),
    ("argon2-cffi", ("argon2-cffi",)),
    ("Pillow", ("pillow",)),
)


def distribution_version(names: tuple[str, ...]) -> str:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def component_versions(qt_versions: tuple[str, str] | None = None) -> list[tuple[str, str]]:
    """(component, version) for the product, Python, the Qt binding and every library."""
    rows = [
        (APP_NAME, __version__),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
    ]
    if qt_versions is not None:
        rows.append(("PySide6", qt_versions[0]))
        rows.append(("Qt", qt_versions[1]))
    rows.extend((shown, distribution_version(dists)) for shown, dists in COMPONENTS)
    rows.append(("Operating system", platform.platform()))
    return rows


def profile_text(ws: Workstation) -> str:
    """The active policy profile as "title (version)", or what is known when it is unavailable."""
    profile = getattr(ws, "profile", None)
    title = getattr(profile, "title", None)
    if profile is None or title is None:
        return f"{ws.settings.policy_profile} (unknown)"
    return f"{title} ({getattr(profile, 'version', 'unknown version')})"


def banner_text(ws: Workstation) -> str | None:
    report = getattr(getattr(ws, "profile", None), "report", None)
    text = getattr(report, "banner", None)
    return text if isinstance(text, str) and text.strip() else None


def elide_middle(text: str, limit: int) -> str:
    """``text`` cut in the middle with "..." so it has at most ``limit`` characters."""
    if len(text) <= limit:
        return text
    keep = max(limit - 3, 2)
    head = keep // 3
    return f"{text[:head]}...{text[len(text) - (keep - head):]}"


def database_text(ws: Workstation) -> str:
    try:
        return str(ws.database.display_url)
    except AttributeError:
        return "unknown"


@dataclass(frozen=True)
class ModelState:
    """The configured model as the status bar shows it."""

    name: str
    installed: bool
    verified: bool
    detail: str  # "installed, verified", "not installed", "NOT VERIFIED: ..."

    @property
    def text(self) -> str:
        return f"{self.name} ({self.detail})"

    @property
    def short(self) -> str:
        """One or two words for the status bar; ``detail`` says the rest."""
        if self.verified:
            return "verified"
        if self.installed:
            return "NOT VERIFIED"
        return self.detail.split(":", 1)[0]


def model_state(
    ws: Workstation,
    *,
    install: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
) -> ModelState:
    """Whether the configured model is installed and verifies (reads and hashes the file: slow).

    ``install=True`` converts the default model first when it is missing (casework's
    ``ensure_configured_model``: nothing is downloaded).
    """
    name = ws.settings.model_name
    # Imported here: it loads onnxruntime, which the window should not wait for at start.
    from app.casework import models as casework_models

    try:
        if install:
            status = casework_models.ensure_configured_model(ws.settings, progress=progress)
            statuses = [status]
        else:
            statuses = casework_models.list_installed_models(ws.settings)
    except ModelError as exc:
        return ModelState(name, False, False, f"not installed: {exc}")
    except FrxError as exc:
        return ModelState(name, False, False, f"unavailable: {exc}")
    except Exception:  # a display fact: log the bug, do not stop the window from opening
        log.exception("Checking the installed models failed")
        return ModelState(name, False, False, "unknown")
    configured = next((s for s in statuses if s.is_configured), None)
    if configured is None:
        return ModelState(name, False, False, "not installed")
    if not configured.verified:
        return ModelState(name, True, False, f"NOT VERIFIED: {configured.problem}")
    version = f" version {configured.version}" if configured.version not in ("", "?") else ""
    return ModelState(name, True, True, f"installed{version}, verified")


__all__ = [
    "COMPONENTS",
    "ModelState",
    "banner_text",
    "component_versions",
    "database_text",
    "distribution_version",
    "elide_middle",
    "model_state",
    "profile_text",
]
