"""Installation settings: data folder, database URL, policy profile, model, timeouts.

Resolution order for each value: environment variable, then ``settings.toml`` in the data folder,
then the default. Pure module (no Qt, no SQLAlchemy) so every layer may read it.

Environment variables:
``FRX_DATA_DIR`` data folder (default: the platform's user data folder),
``FRX_DATABASE_URL`` SQLAlchemy URL (default: SQLite ``frx.sqlite3`` in the data folder),
``FRX_EVIDENCE_DIR`` evidence folder (default ``<data>/evidence``; a shared folder for a unit),
``FRX_POLICY_PROFILE`` profile name (``mptc-2019``, ``nypd-2020``) or path to a profile TOML,
``FRX_MODEL`` model name (default ``dlib-resnet-v1``).
"""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from app.errors import ConfigurationError

APP_DIR_NAME = "frx-workstation"
SETTINGS_FILE = "settings.toml"
REPO_ROOT = Path(__file__).resolve().parent.parent


def resources_dir() -> Path:
    """The policy profiles, worksheets and icons: beside ``app`` in the source tree, or in the
    folder a PyInstaller bundle unpacks its data to (``sys._MEIPASS``, see pyinstaller.spec)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle) / "resources"
    return REPO_ROOT / "resources"


RESOURCES_DIR = resources_dir()


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False))


@dataclass(frozen=True)
class Settings:
    """Resolved settings of this installation."""

    data_dir: Path
    database_url: str
    evidence_dir: Path
    policy_profile: str = "mptc-2019"
    model_name: str = "dlib-resnet-v1"
    idle_lock_minutes: float = 15.0
    lockout_failures: int = 5
    lockout_minutes: float = 15.0
    agency_name: str = "Police Department"
    unit_name: str = "Facial Recognition Unit"
    paper_size: str = "letter"
    onnx_threads: int = 2
    max_image_pixels: int = 80_000_000
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def backups_dir(self) -> Path:
        return self.data_dir / "backups"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _read_file_settings(data_dir: Path) -> dict[str, object]:
    path = data_dir / SETTINGS_FILE
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"The settings file {path} cannot be read: {exc}") from exc


# settings.toml keys with an environment variable too (see load_settings).
FILE_KEYS = ("database_url", "evidence_dir", "policy_profile", "model")
KIND_NAMES: dict[type, str] = {int: "a whole number", float: "a number", str: "text"}


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Resolve the settings from the environment, the data folder's settings.toml and defaults."""
    env = dict(os.environ) if env is None else env
    data_dir = Path(env.get("FRX_DATA_DIR") or default_data_dir()).expanduser()
    values = _read_file_settings(data_dir)

    def pick(env_name: str, key: str, default: object) -> object:
        if env.get(env_name):
            return env[env_name]
        return values.get(key, default)

    database_url = str(
        pick("FRX_DATABASE_URL", "database_url", f"sqlite:///{data_dir / 'frx.sqlite3'}")
    )
    evidence_dir = Path(str(pick("FRX_EVIDENCE_DIR", "evidence_dir", data_dir / "evidence")))
    known = {
        "idle_lock_minutes": float,
        "lockout_failures": int,
        "lockout_minutes": float,
        "agency_name": str,
        "unit_name": str,
        "paper_size": str,
        "onnx_threads": int,
        "max_image_pixels": int,
    }
    path = data_dir / SETTINGS_FILE
    unknown = sorted(set(values) - set(known) - set(FILE_KEYS))
    if unknown:
        raise ConfigurationError(
            f"The settings file {path} names unknown settings: {', '.join(unknown)}. "
            f"Known settings: {', '.join(sorted((*FILE_KEYS, *known)))}."
        )
    kwargs: dict[str, object] = {}
    for key, kind in known.items():
        if key in values:
            try:
                kwargs[key] = kind(values[key])
            except (TypeError, ValueError) as exc:
                raise ConfigurationError(
                    f"Setting '{key}' in {path} must be {KIND_NAMES[kind]}, not {values[key]!r}."
                ) from exc
    if kwargs.get("paper_size", "letter") not in ("letter", "a4"):
        raise ConfigurationError("Setting 'paper_size' must be 'letter' or 'a4'.")
    extra = {k: v for k, v in values.items() if k not in known}
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        evidence_dir=evidence_dir,
        policy_profile=str(pick("FRX_POLICY_PROFILE", "policy_profile", "mptc-2019")),
        model_name=str(pick("FRX_MODEL", "model", "dlib-resnet-v1")),
        extra=extra,
        **kwargs,  # type: ignore[arg-type]
    )
