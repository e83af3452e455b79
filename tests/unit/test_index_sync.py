"""The face index kept in step with the database: incremental catch-up after another
workstation's changes, rebuilds of damaged, truncated, foreign or inconsistent index files."""

# ruff: noqa: F811 (the fixtures imported from gallery_support are used as arguments)

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from gallery_support import admin, gallery_ws, installed_models  # noqa: F401 (fixtures)

from app.casework import gallery
from app.casework.accounts import SignedInUser
from app.casework.gallery_engine import PhotoAnalysis, descriptor_key, model_manifest
from app.casework.gallery_records import (
    NewPhoto,
    PhotoFields,
    SubjectFields,
    add_photo,
    lock_gallery,
)
from app.casework.gallery_search import search_gallery
from app.casework.index_sync import (
    ensure_index,
    forget_open_indexes,
    index_path,
    index_report,
    rebuild_index,
    synced_index,
)
from app.casework.workstation import Workstation
from app.engine import index as index_module
from app.engine.index import FaceIndex
from app.engine.index_files import META_FILE, part_file
from app.settings import Settings


def add_synthetic(
    ws: Workstation, by: SignedInUser, count: int, *, seed: int, prefix: str = "S"
) -> dict[int, np.ndarray]:
    """``count`` photos with random descriptors (two per subject), through the same records code
    as an enrolment; returns photo id -> descriptor."""
    manifest = model_manifest(ws.settings, ws.settings.model_name)
    rng = np.random.default_rng(seed)
    added: dict[int, np.ndarray] = {}
    with ws.database.session() as session:
        lock_gallery(session)
        for n in range(count):
            vector = rng.normal(0, 0.1, manifest.output_dim).astype(np.float32)
            photo, _ = add_photo(
                ws,
                session,
                NewPhoto(
                    subject=SubjectFields(f"{prefix}{seed}-{n // 2}", "", None, None, None),
                    photo=PhotoFields(date(2020, 1, 1 + n % 28), "arrest_photograph", f"A{n}", ""),
                    sha256=f"{seed:08x}{n:056x}",
                    size=1,
                    original_name="synthetic",
                    analysis=PhotoAnalysis(
                        chip=np.zeros((1, 1, 3), np.uint8),
                        face_box=(0.0, 0.0, 1.0, 1.0),
                        quality={},
                        width=1,
                        height=1,
                        media_type="image/jpeg",
                    ),
                    vector=vector,
                ),
                actor=by.username,
                model_name=manifest.name,
                model_sha256=descriptor_key(manifest),
            )
            added[photo.id] = vector
    return added


@pytest.fixture
def other_ws(gallery_ws: Workstation, tmp_path: Path) -> Workstation:
    """A second workstation: its own data folder and index, the same (shared) database."""
    folder = tmp_path / "second-workstation"
    settings = Settings(
        data_dir=folder,
        database_url=gallery_ws.settings.database_url,
        evidence_dir=gallery_ws.settings.evidence_dir,
    )
    shutil.copytree(gallery_ws.settings.models_dir, settings.models_dir)
    second = Workstation.open(settings)
    second.clock = gallery_ws.clock
    yield second  # type: ignore[misc]
    second.close()


def live_ids(ws: Workstation) -> list[int]:
    live, _ = synced_index(ws, save=False)
    return sorted(live.index.ids().tolist())


def test_index_catches_up_incrementally_after_another_workstation_changes_the_gallery(
    gallery_ws: Workstation, other_ws: Workstation, admin: SignedInUser
) -> None:
    ws = gallery_ws
    first = add_synthetic(ws, admin, 40, seed=1)
    status = ensure_index(ws)
    assert status.action == "created" and status.live_photos == 40 and status.saved
    # The other workstation enrols and seals; this one's open index learns of it at its next
    # sync, by applying only the newer changes.
    second = add_synthetic(other_ws, admin, 20, seed=2)
    sealed = gallery.seal_subject(other_ws, by=admin, subject_reference="S1-0", reason="Order 9")
    status = ensure_index(ws)
    assert status.action == "caught_up"
    assert status.applied_changes == 20 + len(sealed.photo_ids)
    assert status.generation == status.database_generation == gallery.gallery_stats(ws).generation
    assert live_ids(ws) == sorted(set(first) - set(sealed.photo_ids) | set(second))
    # A restarted program opens the saved index and finds it current.
    forget_open_indexes()
    assert ensure_index(ws).action == "current"
    # Changes made while this program was not running are caught up from the saved generation.
    forget_open_indexes()
    third = add_synthetic(other_ws, admin, 6, seed=3)
    status = ensure_index(ws)
    assert status.action == "caught_up" and status.applied_changes == 6
    assert set(third) <= set(live_ids(ws))
    probe = second[max(second)]
    outcome = search_gallery(ws, embedding=probe, top_k=1)
    assert outcome.candidates[0].photo_id == max(second)
    assert outcome.index_generation == gallery.gallery_stats(ws).generation


@pytest.mark.parametrize("damage", ["flipped", "truncated", "meta-missing-data"])
def test_a_damaged_index_is_rebuilt_never_used(
    gallery_ws: Workstation, admin: SignedInUser, damage: str
) -> None:
    ws = gallery_ws
    vectors = add_synthetic(ws, admin, 30, seed=4)
    ensure_index(ws)
    forget_open_indexes()
    data_file = index_path(ws, ws.settings.model_name) / part_file(0)
    raw = bytearray(data_file.read_bytes())
    if damage == "flipped":
        raw[len(raw) // 2] ^= 0xFF
        data_file.write_bytes(bytes(raw))
    elif damage == "truncated":
        data_file.write_bytes(bytes(raw[: len(raw) // 3]))
    else:
        data_file.unlink()
    report = index_report(ws)
    assert report.exists and report.problem and report.generation is None
    status = ensure_index(ws)
    assert status.action == "rebuilt" and status.reason
    assert status.live_photos == 30
    reopened = FaceIndex.open(index_path(ws, ws.settings.model_name), threads=1)
    assert sorted(reopened.ids().tolist()) == sorted(vectors)
    some_id = min(vectors)
    assert search_gallery(ws, embedding=vectors[some_id], top_k=1).candidates[0].photo_id == some_id


def test_missing_index_is_created_and_status_reports_it(
    gallery_ws: Workstation, admin: SignedInUser
) -> None:
    ws = gallery_ws
    add_synthetic(ws, admin, 8, seed=5)
    report = index_report(ws)
    assert not report.exists and report.live_photos_in_database == 8
    # Starting the workstation does not open the index: only a search (or a rebuild) builds it.
    assert report.problem == "There is no index yet; it is built at the next search."
    status = ensure_index(ws)
    assert status.action == "created"
    assert (index_path(ws, ws.settings.model_name) / META_FILE).exists()
    report = index_report(ws)
    assert (report.problem, report.generation, report.live_photos_in_index) == (
        "",
        report.database_generation,
        8,
    )


def test_index_ahead_of_the_database_or_holding_other_photos_is_rebuilt(
    gallery_ws: Workstation, admin: SignedInUser
) -> None:
    ws = gallery_ws
    vectors = add_synthetic(ws, admin, 12, seed=6)
    ensure_index(ws)
    folder = index_path(ws, ws.settings.model_name)
    generation = gallery.gallery_stats(ws).generation
    # Ahead: e.g. the database was restored from an older backup.
    index = FaceIndex.open(folder, threads=1)
    index.save(generation + 5)
    forget_open_indexes()
    status = ensure_index(ws)
    assert status.action == "rebuilt" and "generation" in status.reason
    assert status.generation == generation
    # Same generation, other photos: e.g. an index copied from another database.
    index = FaceIndex.open(folder, threads=1)
    index.add(np.array([99_999]), np.ones((1, 128), np.float32))
    index.save(generation)
    forget_open_indexes()
    status = ensure_index(ws)
    assert status.action == "rebuilt" and "same photos" in status.reason
    assert live_ids(ws) == sorted(vectors)


def test_index_built_from_another_model_file_is_rebuilt(
    gallery_ws: Workstation, admin: SignedInUser
) -> None:
    ws = gallery_ws
    add_synthetic(ws, admin, 6, seed=7)
    folder = index_path(ws, ws.settings.model_name)
    FaceIndex.create(folder, dim=128, metric="euclidean", model_sha256="0" * 64).save(
        gallery.gallery_stats(ws).generation
    )
    status = ensure_index(ws)
    assert status.action == "rebuilt" and status.live_photos == 6


def test_rebuild_leaves_sealed_photos_out_and_compacts(
    gallery_ws: Workstation, admin: SignedInUser
) -> None:
    ws = gallery_ws
    vectors = add_synthetic(ws, admin, 10, seed=8)
    ensure_index(ws)
    sealed = gallery.seal_subject(ws, by=admin, subject_reference="S8-1", reason="Order 3")
    live, _ = synced_index(ws)
    assert live.index.deleted_count == len(sealed.photo_ids) == 2
    status = rebuild_index(ws)
    assert status.action == "rebuilt" and status.live_photos == 8
    live, _ = synced_index(ws)
    assert live.index.deleted_count == 0
    assert sorted(live.index.ids().tolist()) == sorted(set(vectors) - set(sealed.photo_ids))


def test_a_gallery_grown_large_gets_projected_graphs_at_the_next_search_not_mid_change(
    gallery_ws: Workstation, admin: SignedInUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = gallery_ws
    vectors = add_synthetic(ws, admin, 40, seed=9)
    assert ensure_index(ws).action == "created"
    monkeypatch.setattr(index_module, "PROJECT_FROM", 50)
    more = add_synthetic(ws, admin, 20, seed=10)
    # A gallery change only catches the index up: no rebuild in the middle of an enrolment.
    live, status = synced_index(ws, save=False)
    assert status.action == "caught_up" and live.index.graph_dim == 128
    live.index.save(live.generation)
    report = index_report(ws)
    assert report.rebuild_due and report.layout == "2 graphs of the full 128-number descriptors"
    # At the next search (ensure_index, with progress shown) it is rebuilt on the principal axes.
    calls: list[str] = []
    status = ensure_index(ws, progress=lambda done, total, message: calls.append(message))
    assert status.action == "rebuilt" and "principal axes" in status.reason
    live, _ = synced_index(ws, save=False)
    assert live.index.graph_dim == 64 and len(live.index) == 60
    report = index_report(ws)
    assert not report.rebuild_due
    assert (
        report.layout
        == "2 graphs of the descriptors' 64 principal components, re-ranked on all 128"
    )
    assert any("Building" in message for message in calls)
    everyone = {**vectors, **more}
    some_id = max(everyone)
    assert (
        search_gallery(ws, embedding=everyone[some_id], top_k=1).candidates[0].photo_id == some_id
    )
    assert ensure_index(ws).action == "current"
