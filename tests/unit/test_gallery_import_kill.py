"""A gallery import killed mid-run (SIGKILL, no chance to clean up) loses nothing, leaves nothing
half-written, and the same import run again finishes the job and records the killed run."""

# ruff: noqa: F811 (the fixtures imported from gallery_support are used as arguments)

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from gallery_support import (  # noqa: F401 (fixtures)
    ADMIN_PASSWORD,
    admin,
    gallery_ws,
    installed_models,
)
from sqlalchemy import func, select

from app.casework.accounts import SignedInUser
from app.casework.gallery_import import import_gallery
from app.casework.index_sync import synced_index
from app.casework.workstation import Workstation
from app.records.audit import iter_events
from app.records.gallery_models import GalleryPhoto, ImportBatch

HEADER = "file,subject_reference,name,photo_date,source_type,source_reference"
ROWS = 150  # more than two chunks of CHUNK_ROWS, fewer than the process-pool threshold


def _photo_count(ws: Workstation) -> int:
    with ws.database.session(read_only=True) as session:
        return int(session.execute(select(func.count(GalleryPhoto.id))).scalar_one())


def _manifest(tmp_path: Path, lfw_dir: Path) -> tuple[Path, Path]:
    """One photo each of ROWS people (copied to a temporary folder) and a manifest of them."""
    folder = tmp_path / "photos"
    folder.mkdir()
    lines = [HEADER]
    for person in sorted(p for p in lfw_dir.iterdir() if p.is_dir())[:ROWS]:
        photo = sorted(person.glob("*.jpg"))[0]
        shutil.copy(photo, folder / photo.name)
        lines.append(f"{photo.name},SID-{person.name},{person.name},2019-03-04,arrest_photograph,B-1")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder, manifest


def test_killed_import_resumes_and_records_the_interrupted_run(
    gallery_ws: Workstation, admin: SignedInUser, lfw_dir: Path, tmp_path: Path
) -> None:
    ws = gallery_ws
    folder, manifest = _manifest(tmp_path, lfw_dir)
    env = dict(os.environ, FRX_DATA_DIR=str(ws.settings.data_dir))
    command = [sys.executable, "-m", "app.cli", "gallery", "import", "--folder", str(folder),
               "--manifest", str(manifest), "--as", "boss"]
    process = subprocess.Popen(command, env=env, stdin=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert process.stdin is not None
    process.stdin.write(f"{ADMIN_PASSWORD}\n".encode())
    process.stdin.close()
    deadline = time.monotonic() + 240
    try:
        while _photo_count(ws) == 0:  # wait for the first committed chunk
            assert process.poll() is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline, "the import committed nothing in 240 s"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(30)
    killed_at = _photo_count(ws)
    assert 0 < killed_at < ROWS, "the kill must land in the middle of the import"
    with ws.database.session(read_only=True) as session:
        batch = session.execute(select(ImportBatch)).scalar_one()
        assert batch.status == "running"  # nobody could record the end
        # Nothing half-written: every committed photo has its embedding and its file.
        for photo in session.execute(select(GalleryPhoto)).scalars():
            assert photo.embeddings and ws.evidence.verify(photo.evidence_sha256)

    again = import_gallery(ws, by=admin, folder=folder, manifest_csv=manifest)
    assert again.status == "finished"
    assert again.already_in_gallery == killed_at
    assert again.enrolled + again.failed == ROWS - killed_at
    assert _photo_count(ws) == again.enrolled + killed_at
    live, _ = synced_index(ws)
    assert len(live.index) == _photo_count(ws)
    with ws.database.session(read_only=True) as session:
        killed = session.get(ImportBatch, batch.id)
        assert killed is not None and killed.status == "stopped"
        assert "killed" in (killed.message or "")
        actions = [event.action for event in iter_events(session)]
    assert actions.count("gallery.import_interrupted") == 1
