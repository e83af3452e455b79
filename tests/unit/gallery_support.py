"""Shared fixtures and helpers for the gallery tests (import them into a test module).

The default model is converted once per test process into a temporary models folder and copied
into each test's data folder. LFW photos that show exactly one face are found once per process.
"""

from __future__ import annotations

import functools
import io
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from app.casework import accounts
from app.casework.accounts import SignedInUser
from app.casework.gallery_engine import (
    analyse_photo,
    embed_chips,
    gallery_embedder,
    gallery_pipeline,
)
from app.casework.index_sync import forget_open_indexes
from app.casework.workstation import Workstation
from app.engine.models import install_default_model
from app.engine.pipeline import FacePipeline
from app.policy.roles import Role

ADMIN_PASSWORD = "admin password 1"
OTHER_PASSWORD = "other password 1"
PHOTO_DATE = "2021-06-01"


@pytest.fixture(scope="session")
def installed_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("frx-models")
    install_default_model(folder)
    return folder


@pytest.fixture
def gallery_ws(ws: Workstation, installed_models: Path, fake_clock: Any) -> Iterator[Workstation]:
    """The test's workstation with the default model installed and a fixed clock."""
    shutil.copytree(installed_models, ws.settings.models_dir, dirs_exist_ok=True)
    ws.clock = fake_clock
    forget_open_indexes()
    yield ws
    forget_open_indexes()


@pytest.fixture
def admin(gallery_ws: Workstation) -> SignedInUser:
    return accounts.create_first_admin(
        gallery_ws, username="boss", display_name="Chief Admin", password=ADMIN_PASSWORD
    )


def make_user(ws: Workstation, admin: SignedInUser, name: str, role: Role) -> SignedInUser:
    accounts.create_user(
        ws,
        by=admin,
        username=name,
        display_name=name.title(),
        password=OTHER_PASSWORD,
        roles=[role],
    )
    return accounts.sign_in(ws, username=name, password=OTHER_PASSWORD)


@pytest.fixture
def supervisor(gallery_ws: Workstation, admin: SignedInUser) -> SignedInUser:
    return make_user(gallery_ws, admin, "sup", Role.SUPERVISOR)


@pytest.fixture
def examiner(gallery_ws: Workstation, admin: SignedInUser) -> SignedInUser:
    return make_user(gallery_ws, admin, "exa", Role.EXAMINER)


# ------------------------------------------------------------------------------ photos
@functools.cache
def _detector() -> FacePipeline:
    return FacePipeline(None)


def _one_face(path: Path) -> bool:
    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"))
    return len(_detector().detect(rgb).faces) == 1


@functools.cache
def lfw_people(
    lfw_dir: Path, people: int = 6, photos: int = 3
) -> tuple[tuple[str, tuple[Path, ...]], ...]:
    """``people`` LFW people with at least two one-face photos each (up to ``photos`` each)."""
    counts = (lfw_dir.parent / "peopleDevTrain.txt").read_text(encoding="utf-8").splitlines()[1:]
    chosen: list[tuple[str, tuple[Path, ...]]] = []
    for line in counts:
        name, count = line.split("\t")
        if int(count) < 2 or int(count) > 40:
            continue
        paths = [lfw_dir / name / f"{name}_{i:04d}.jpg" for i in range(1, min(int(count), 6) + 1)]
        good = tuple(p for p in paths if _one_face(p))[:photos]
        if len(good) >= 2:
            chosen.append((name, good))
        if len(chosen) == people:
            break
    assert len(chosen) == people, "not enough LFW people with one-face photos"
    return tuple(chosen)


def descriptor_of(ws: Workstation, data: bytes) -> np.ndarray:
    """The probe-side descriptor of a photo (same engine path as the gallery's)."""
    embedder = gallery_embedder(ws.settings, ws.settings.model_name)
    analysis = analyse_photo(gallery_pipeline(embedder), data, name="probe", max_pixels=10**8)
    assert not hasattr(analysis, "reason"), getattr(analysis, "reason", "")
    return embed_chips(embedder, [analysis.chip])[0]  # type: ignore[union-attr]


def png_bytes(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def no_face_png() -> bytes:
    """A smooth gradient: decodes fine, shows nobody."""
    ramp = np.linspace(0, 255, 240, dtype=np.uint8)
    rgb = np.stack([np.tile(ramp, (200, 1))] * 3, axis=2)
    return png_bytes(np.ascontiguousarray(rgb))


def two_faces_jpeg(first: Path, second: Path) -> bytes:
    """Two LFW photos side by side (built in the test, never stored in the repository)."""
    with Image.open(first) as a, Image.open(second) as b:
        canvas = Image.new("RGB", (a.width + b.width, max(a.height, b.height)))
        canvas.paste(a.convert("RGB"), (0, 0))
        canvas.paste(b.convert("RGB"), (a.width, 0))
    buffer = io.BytesIO()
    canvas.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def now() -> datetime:
    return datetime.now(UTC)
