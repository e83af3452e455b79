"""Helpers of the case screen tests: qualified examiners, a small LFW gallery, a two-face probe.

The default face model is converted once per test process and copied into each test's data
folder. Photographs come from ../shared/data through the conftest fixtures; the two-face probe is
built in the test from two real photographs placed side by side (nothing is stored in the repo).
"""

from __future__ import annotations

import functools
import io
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path

from PIL import Image

from app.casework import accounts, gallery
from app.casework.accounts import SignedInUser
from app.casework.workstation import Workstation
from app.engine.models import DEFAULT_MODEL_NAME, install_default_model
from app.policy.roles import Role

REVIEWER_PASSWORD = "reviewer staple 42"
# (LFW person, picture number) enrolled as the gallery, one subject each.
GALLERY = (
    ("George_W_Bush", 1),
    ("Colin_Powell", 1),
    ("Tony_Blair", 1),
    ("Hugo_Chavez", 1),
    ("Junichiro_Koizumi", 1),
    ("Ariel_Sharon", 1),
)
PROBE_PERSON = ("George_W_Bush", 2)
OTHER_FACE = ("Colin_Powell", 2)


def lfw_path(lfw_dir: Path, person: str, number: int) -> Path:
    return lfw_dir / person / f"{person}_{number:04d}.jpg"


@functools.cache
def _models_once() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="frx-ui-models-"))
    install_default_model(folder)
    return folder


def install_model(ws: Workstation) -> None:
    target = ws.settings.models_dir / DEFAULT_MODEL_NAME
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(_models_once() / DEFAULT_MODEL_NAME, target)


def qualify(ws: Workstation, admin: SignedInUser, user: SignedInUser) -> None:
    """Training on record and the active policy acknowledged: the user may search."""
    today = ws.now().date()
    accounts.add_training(
        ws, by=admin, user_id=user.user_id, course="Facial recognition examiner course",
        completed_on=today - timedelta(days=10), expires_on=today + timedelta(days=300),
    )
    accounts.acknowledge_policy(
        ws, user=user, profile_name=ws.profile.name, profile_version=ws.profile.version,
        profile_sha256=ws.profile.sha256,
    )


def second_examiner(ws: Workstation, admin: SignedInUser) -> SignedInUser:
    accounts.create_user(
        ws, by=admin, username="rex", display_name="Rex Reviewer", password=REVIEWER_PASSWORD,
        roles=[Role.EXAMINER],
    )
    rex = accounts.sign_in(ws, username="rex", password=REVIEWER_PASSWORD)
    qualify(ws, admin, rex)
    return rex


def enrol_gallery(ws: Workstation, admin: SignedInUser, lfw_dir: Path) -> dict[str, int]:
    """Subject reference -> photo id of the small LFW gallery."""
    install_model(ws)
    photos = {}
    for number, (person, picture) in enumerate(GALLERY, start=1):
        reference = f"SID-{number:04d}"
        result = gallery.enrol_photo(
            ws, by=admin, subject_reference=reference, name=person.replace("_", " "),
            image_bytes=lfw_path(lfw_dir, person, picture).read_bytes(),
            photo_date=date(2019, 1, number), source_type="arrest_photograph",
            source_reference=f"ARR-{number:05d}", lawful_basis="Arrest record, not sealed",
            file_name=f"{person}_{picture:04d}.jpg",
        )
        photos[reference] = result.photo_id
    return photos


def two_face_probe(lfw_dir: Path) -> bytes:
    """Another person on the left, the probe person on the right, as one JPEG."""
    left = Image.open(lfw_path(lfw_dir, *OTHER_FACE)).convert("RGB")
    right = Image.open(lfw_path(lfw_dir, *PROBE_PERSON)).convert("RGB")
    canvas = Image.new("RGB", (left.width + right.width, max(left.height, right.height)))
    canvas.paste(left, (0, 0))
    canvas.paste(right, (left.width, 0))
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=92)
    return out.getvalue()
