"""The persistent HNSW face index against exact numpy search: results, recall, growth, deletions,
persistence, damaged files, cosine metric, rebuild with progress and cancel."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from app.engine import exact_search as exact_module
from app.engine.index import (
    META_FILE,
    FaceIndex,
    exact_search,
    exact_search_batch,
    recall_at,
)
from app.engine.index_files import FORMAT_VERSION, VECTORS_FILE, IndexMeta, part_file
from app.errors import ImportCancelled, IndexCorruptError, IndexFormatError, StorageError

DIM = 128
INDEX_FILE = part_file(0)


class FaceLike:
    """Seeded 128-d descriptors shaped like a face gallery: identities with dlib-like distances
    (same person about 0.4 apart, different people about 0.8), photos drawn on demand."""

    def __init__(self, people: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        ranks = np.arange(1, DIM + 1, dtype=np.float64)
        between = ranks**-0.8 * (0.24 / (ranks**-0.8).sum())
        within = ranks**-0.6 * (0.08 / (ranks**-0.6).sum())
        self.between = self._basis() * np.sqrt(between)
        self.within = self._basis() * np.sqrt(within)
        self.centres = self.rng.standard_normal((people, DIM)) @ self.between.T + 0.1

    def _basis(self) -> np.ndarray:
        basis, _ = np.linalg.qr(self.rng.standard_normal((DIM, DIM)))
        return basis

    def photos(self, people: np.ndarray) -> np.ndarray:
        noise = self.rng.standard_normal((len(people), DIM)) @ self.within.T
        return (self.centres[people] + noise).astype(np.float32)


@pytest.fixture(scope="module")
def small() -> tuple[np.ndarray, np.ndarray]:
    gallery = FaceLike(100, seed=1).photos(np.repeat(np.arange(100), 3))
    return gallery, np.arange(1000, 1000 + len(gallery), dtype=np.int64) * 7


@pytest.fixture(scope="module")
def large(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[FaceIndex, np.ndarray, np.ndarray, np.ndarray]:
    """20,000 faces (5,000 people x 4) in an index with default parameters, plus 200 queries:
    new photos of gallery people."""
    faces = FaceLike(5000, seed=2)
    gallery = faces.photos(np.repeat(np.arange(5000), 4))
    ids = np.arange(len(gallery), dtype=np.int64)
    folder = tmp_path_factory.mktemp("large")
    index = FaceIndex.create(folder, dim=DIM, metric="euclidean", capacity=len(ids))
    index.add(ids, gallery)
    queries = faces.photos(faces.rng.integers(0, 5000, 200))
    return index, gallery, ids, queries


def built(folder: Path, vectors: np.ndarray, ids: np.ndarray, **options: object) -> FaceIndex:
    index = FaceIndex.create(folder, dim=vectors.shape[1], metric="euclidean", **options)  # type: ignore[arg-type]
    index.add(ids, vectors)
    return index


def test_small_gallery_results_equal_exact_search(tmp_path: Path, small) -> None:
    gallery, ids = small
    index = built(tmp_path / "idx", gallery, ids)
    queries = gallery[::17] + 0.01
    found = index.search(queries, 10)
    truth = exact_search_batch(gallery, ids, queries, 10, metric="euclidean")
    assert [[i for i, _ in row] for row in found] == [[i for i, _ in row] for row in truth]
    for row, exact_row in zip(found, truth, strict=True):
        np.testing.assert_allclose([d for _, d in row], [d for _, d in exact_row], atol=1e-4)
    # The distance of a photo to itself is 0, and it is found first.
    self_hits = index.search(gallery[:5], 1)
    assert [row[0][0] for row in self_hits] == list(ids[:5])
    assert all(row[0][1] < 1e-3 for row in self_hits)


def test_euclidean_distances_are_numpys(tmp_path: Path, small) -> None:
    gallery, ids = small
    index = built(tmp_path / "idx", gallery, ids)
    query = gallery[3] * 0.9 + 0.02
    row = index.search(query, 25)[0]
    positions = {int(i): n for n, i in enumerate(ids)}
    reference = np.linalg.norm(gallery.astype(np.float64) - query, axis=1)
    for label, distance in row:
        assert distance == pytest.approx(reference[positions[label]], abs=1e-4)
    assert [d for _, d in row] == sorted(d for _, d in row)
    # exact_search gives the same units; the nearest of all is numpy's minimum.
    exact = exact_search(gallery, ids, query, 3, metric="euclidean")
    assert exact[0][1] == pytest.approx(reference.min(), abs=1e-6)
    assert exact[0][0] == int(ids[int(np.argmin(reference))])


def test_recall_at_10_on_20k_faces_with_default_parameters(large) -> None:
    index, gallery, ids, queries = large
    found = index.search(queries, 10)
    truth = exact_search_batch(gallery, ids, queries, 10, metric="euclidean")
    assert recall_at(found, truth, 10) >= 0.99
    assert len(index) == 20_000


def test_exact_search_chunks_agree_with_one_pass(monkeypatch: pytest.MonkeyPatch, small) -> None:
    gallery, ids = small
    queries = gallery[:7] + 0.05
    whole = exact_search_batch(gallery, ids, queries, 12, metric="euclidean")
    monkeypatch.setattr(exact_module, "_CHUNK_CELLS", 7 * 29)  # 29 rows per chunk
    chunked = exact_search_batch(gallery, ids, queries, 12, metric="euclidean")
    assert chunked == whole
    reference = np.linalg.norm(gallery[None, :, :] - queries[:, None, :], axis=2)
    expected = [list(ids[np.argsort(r, kind="stable")[:12]]) for r in reference]
    assert [[i for i, _ in row] for row in chunked] == expected


def test_growth_beyond_capacity_without_rebuild(tmp_path: Path, small) -> None:
    gallery, ids = small
    index = FaceIndex.create(tmp_path / "idx", dim=DIM, metric="euclidean", capacity=16)
    graphs = list(index._parts)  # the same hnswlib objects must survive every growth
    for start in range(0, len(ids), 50):
        index.add(ids[start : start + 50], gallery[start : start + 50])
    assert index._parts == graphs and all(a is b for a, b in zip(index._parts, graphs, strict=True))
    assert index.capacity == 512  # 16 doubled five times
    assert len(index) == len(ids)
    found = index.search(gallery[::30], 5)
    truth = exact_search_batch(gallery, ids, gallery[::30], 5, metric="euclidean")
    assert [[i for i, _ in r] for r in found] == [[i for i, _ in r] for r in truth]
    # Re-adding existing ids needs no room: the capacity stays.
    index.add(ids[:100], gallery[:100])
    assert index.capacity == 512 and len(index) == len(ids)


def test_adding_an_existing_id_replaces_its_vector(tmp_path: Path, small) -> None:
    gallery, ids = small
    index = built(tmp_path / "idx", gallery, ids)
    moved = gallery[200] + 0.3
    index.add(ids[:1], moved[None, :])
    assert len(index) == len(ids)
    assert index.search(moved, 1)[0][0] == (int(ids[0]), pytest.approx(0.0, abs=1e-3))
    assert int(ids[0]) not in [i for i, _ in index.search(gallery[0], 3)[0]]
    # Within one call the last vector of a repeated id wins.
    index.add(np.array([ids[1], ids[1]]), np.stack([gallery[5], gallery[7]]))
    np.testing.assert_allclose(index.vectors([ids[1]])[0], gallery[7])


def test_mark_deleted_hides_at_once_and_unmark_restores(tmp_path: Path, small) -> None:
    gallery, ids = small
    index = built(tmp_path / "idx", gallery, ids)
    target = int(ids[42])
    assert index.search(gallery[42], 1)[0][0][0] == target
    assert target in index and not index.is_deleted(target)

    assert index.mark_deleted(target) is True
    assert target not in [i for i, _ in index.search(gallery[42], 50)[0]]
    assert target not in index and index.is_deleted(target)
    assert len(index) == len(ids) - 1 and target not in index.ids()
    assert index.mark_deleted(target) is False  # already deleted
    assert index.mark_deleted(999_999_999) is False  # never stored

    assert index.unmark_deleted(target) is True
    assert index.search(gallery[42], 1)[0][0][0] == target
    assert len(index) == len(ids) and target in index
    assert index.unmark_deleted(target) is False
    assert index.unmark_deleted(999_999_999) is False

    # Re-adding a deleted id makes it live again with the new vector (last change wins).
    index.mark_deleted(target)
    index.add(np.array([target]), gallery[42:43])
    assert target in index and index.search(gallery[42], 1)[0][0][0] == target


def test_search_when_most_items_are_deleted(tmp_path: Path, small) -> None:
    gallery, ids = small
    index = built(tmp_path / "idx", gallery, ids)
    keep = np.arange(len(ids)) % 25 == 0
    for label in ids[~keep]:
        index.mark_deleted(int(label))
    queries = gallery[:4]
    found = index.search(queries, 10)
    truth = exact_search_batch(gallery[keep], ids[keep], queries, 10, metric="euclidean")
    assert [[i for i, _ in r] for r in found] == [[i for i, _ in r] for r in truth]
    assert all(len(row) == 10 for row in found)


def test_k_larger_than_the_index(tmp_path: Path, small) -> None:
    gallery, ids = small
    empty = FaceIndex.create(tmp_path / "empty", dim=DIM, metric="euclidean")
    assert empty.search(gallery[0], 5) == [[]]
    assert empty.search(gallery[:3], 5) == [[], [], []]
    index = built(tmp_path / "idx", gallery[:7], ids[:7])
    index.mark_deleted(int(ids[0]))
    rows = index.search(gallery[:2], 50)
    assert [len(r) for r in rows] == [6, 6]
    assert sorted(i for i, _ in rows[0]) == sorted(int(i) for i in ids[1:7])
    assert len(exact_search(gallery[:7], ids[:7], gallery[0], 50, metric="euclidean")) == 7


def test_cosine_metric_semantics(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    base = rng.standard_normal((50, 16)).astype(np.float32)
    index = FaceIndex.create(tmp_path / "cos", dim=16, metric="cosine")
    index.add(np.arange(50), base)
    probe = base[3] * 7.5  # same direction, other length: distance 0
    assert index.search(probe, 1)[0][0] == (3, pytest.approx(0.0, abs=1e-5))
    opposite = index.search(-base[3], 50)[0][-1]
    assert opposite == (3, pytest.approx(2.0, abs=1e-5))
    row = index.search(probe, 50)[0]
    unit = base / np.linalg.norm(base, axis=1, keepdims=True)
    expected = 1.0 - unit @ (probe / np.linalg.norm(probe))
    for label, distance in row:
        assert distance == pytest.approx(expected[label], abs=1e-5)
    exact = exact_search(base, np.arange(50), probe, 50, metric="cosine")
    assert [i for i, _ in exact] == [i for i, _ in row]
    orthogonal = FaceIndex.create(tmp_path / "o", dim=2, metric="cosine")
    orthogonal.add(np.array([1]), np.array([[0.0, 3.0]], dtype=np.float32))
    assert orthogonal.search(np.array([2.0, 0.0]), 1)[0][0][1] == pytest.approx(1.0, abs=1e-6)


def test_save_and_open_keep_generation_deletions_and_results(tmp_path: Path, small) -> None:
    gallery, ids = small
    folder = tmp_path / "idx"
    index = built(folder, gallery, ids, m=12, ef_construction=100)
    index.mark_deleted(int(ids[10]))
    assert not FaceIndex.exists(folder)  # nothing is written before save
    index.save(41)
    assert index.generation == 41 and FaceIndex.exists(folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [part_file(0), part_file(1), VECTORS_FILE, META_FILE]
    )

    reopened = FaceIndex.open(folder, threads=1)
    assert reopened.generation == 41
    assert (reopened.m, reopened.ef_construction, reopened.metric) == (12, 100, "euclidean")
    assert len(reopened) == len(ids) - 1 and reopened.is_deleted(int(ids[10]))
    np.testing.assert_array_equal(reopened.ids(), index.ids())
    queries = gallery[::11]
    assert reopened.search(queries, 10) == index.search(queries, 10)
    meta = json.loads((folder / META_FILE).read_text())
    assert meta["generation"] == 41 and meta["count"] == len(ids) - 1 and meta["deleted"] == 1
    info = reopened.info()
    assert (info["count"], info["deleted"], info["generation"], info["m"]) == (299, 1, 41, 12)
    assert info["size_bytes"] == sum(
        p.stat().st_size for p in folder.iterdir() if p.name != META_FILE
    )
    assert (info["parts"], info["graph_dim"]) == (2, DIM)

    # Reopened, it keeps growing and saving.
    reopened.add(np.array([5]), gallery[:1] + 1.0)
    reopened.save(42)
    again = FaceIndex.open(folder)
    assert again.generation == 42 and 5 in again and len(again) == len(ids)


def test_open_checks_expected_dimension_metric_and_model(tmp_path: Path, small) -> None:
    gallery, ids = small
    folder = tmp_path / "idx"
    index = FaceIndex.create(folder, dim=DIM, metric="euclidean", model_sha256="ab" * 32)
    index.add(ids, gallery)
    index.save(1)
    assert len(FaceIndex.open(folder, dim=DIM, metric="euclidean", model_sha256="ab" * 32)) == 300
    for wrong in ({"dim": 512}, {"metric": "cosine"}, {"model_sha256": "cd" * 32}):
        with pytest.raises(IndexCorruptError, match="rebuilt"):
            FaceIndex.open(folder, **wrong)  # type: ignore[arg-type]


def _saved(tmp_path: Path, small) -> Path:
    gallery, ids = small
    folder = tmp_path / "idx"
    built(folder, gallery, ids).save(3)
    return folder


def _rewrite_meta(folder: Path, **changes: object) -> None:
    """Change fields of the meta file and re-seal it, as a consistent but wrong writer would."""
    body = json.loads((folder / META_FILE).read_text())
    body.pop("meta_sha256")
    body.update(changes)
    (folder / META_FILE).write_bytes(IndexMeta(**body).to_json_bytes())


def _fake_binary(folder: Path, data: bytes) -> None:
    """Put ``data`` in place of the binary with a meta file that vouches for it."""
    import hashlib

    (folder / INDEX_FILE).write_bytes(data)
    files = json.loads((folder / META_FILE).read_text())["files"]
    files[INDEX_FILE] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    _rewrite_meta(folder, files=files)


@pytest.mark.parametrize(
    "damage",
    [
        "truncated",
        "flipped byte",
        "missing meta",
        "missing index",
        "meta edited",
        "meta not json",
        "meta dim",
        "meta count",
        "meta format",
        "garbage vouched for",
        "empty vouched for",
        "other dimension vouched for",
    ],
)
def test_damaged_files_raise_index_corrupt(tmp_path: Path, small, damage: str) -> None:
    folder = _saved(tmp_path, small)
    binary, meta = folder / INDEX_FILE, folder / META_FILE
    data = binary.read_bytes()
    if damage == "truncated":
        binary.write_bytes(data[: len(data) // 2])
    elif damage == "flipped byte":
        flipped = bytearray(data)
        flipped[len(data) // 3] ^= 0x40
        binary.write_bytes(bytes(flipped))
    elif damage == "missing meta":
        meta.unlink()
    elif damage == "missing index":
        binary.unlink()
    elif damage == "meta edited":
        meta.write_text(meta.read_text().replace('"generation": 3', '"generation": 4'))
    elif damage == "meta not json":
        meta.write_bytes(b"\x00\xff not json")
    elif damage == "meta dim":
        _rewrite_meta(folder, dim=64)
    elif damage == "meta count":
        _rewrite_meta(folder, count=299)
    elif damage == "meta format":
        _rewrite_meta(folder, format_version=FORMAT_VERSION + 1)
    elif damage == "garbage vouched for":
        _fake_binary(folder, np.random.default_rng(9).bytes(len(data)))
    elif damage == "empty vouched for":
        _fake_binary(folder, b"")
    elif damage == "other dimension vouched for":
        other = FaceIndex.create(tmp_path / "other", dim=64, metric="euclidean")
        other.add(np.arange(300), np.zeros((300, 64), dtype=np.float32) + np.arange(300)[:, None])
        other.save(3)
        _fake_binary(folder, (tmp_path / "other" / INDEX_FILE).read_bytes())
    with pytest.raises(IndexCorruptError) as caught:
        FaceIndex.open(folder)
    assert "rebuilt from the gallery" in str(caught.value)
    assert str(folder) in str(caught.value)


def test_open_missing_folder_is_corrupt_not_crash(tmp_path: Path) -> None:
    with pytest.raises(IndexCorruptError, match="missing"):
        FaceIndex.open(tmp_path / "never-built")


def test_failed_save_keeps_the_previous_files(
    tmp_path: Path, small, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _saved(tmp_path, small)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    gallery, _ = small
    index = FaceIndex.open(folder)
    index.add(np.array([1]), gallery[:1])

    def full_disk(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(StorageError, match="No space left"):
        index.save(4)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert FaceIndex.open(folder).generation == 3


def test_rebuild_reports_progress_and_saves(tmp_path: Path, small) -> None:
    gallery, ids = small
    folder = tmp_path / "idx"
    calls: list[tuple[int, int, str]] = []
    index = FaceIndex.rebuild(
        folder,
        ids,
        gallery,
        metric="euclidean",
        generation=9,
        progress=lambda done, total, message: calls.append((done, total, message)),
        batch_size=64,
    )
    dones = [done for done, _, _ in calls]
    assert dones == sorted(dones) and dones[0] == 0 and dones[-1] == len(ids)
    assert {total for _, total, _ in calls} == {len(ids)}
    assert [d for d, _, m in calls if "Building" in m][1:] == [64, 128, 192, 256, 300]
    assert all(isinstance(m, str) and m for _, _, m in calls)
    reopened = FaceIndex.open(folder)
    assert reopened.generation == 9 == index.generation and len(reopened) == len(ids)
    truth = exact_search_batch(gallery, ids, gallery[:3], 5, metric="euclidean")
    assert [[i for i, _ in r] for r in reopened.search(gallery[:3], 5)] == [
        [i for i, _ in r] for r in truth
    ]


def test_rebuild_cancel_leaves_previous_files_byte_identical(tmp_path: Path, small) -> None:
    gallery, ids = small
    folder = _saved(tmp_path, small)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}
    batches: list[int] = []

    def cancelled() -> bool:
        return len(batches) >= 2

    with pytest.raises(ImportCancelled, match="unchanged"):
        FaceIndex.rebuild(
            folder,
            ids[::-1],
            gallery[::-1],
            metric="euclidean",
            generation=10,
            progress=lambda done, total, message: batches.append(done),
            cancelled=cancelled,
            batch_size=50,
        )
    assert 0 < batches[-1] < len(ids)
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}
    assert after == before
    assert FaceIndex.open(folder).generation == 3


def test_input_checks(tmp_path: Path) -> None:
    index = FaceIndex.create(tmp_path / "idx", dim=4, metric="euclidean")
    vectors = np.ones((2, 4), dtype=np.float32)
    with pytest.raises(ValueError, match="shape"):
        index.add(np.array([1, 2]), np.ones((2, 5), dtype=np.float32))
    with pytest.raises(ValueError, match="non-negative"):
        index.add(np.array([-1, 2]), vectors)
    with pytest.raises(ValueError, match="integer"):
        index.add(np.array([1.5, 2.0]), vectors)
    with pytest.raises(ValueError, match="NaN"):
        index.add(np.array([1, 2]), vectors * np.nan)
    with pytest.raises(ValueError, match="shape"):
        index.search(np.ones(3), 1)
    with pytest.raises(ValueError, match="metric"):
        FaceIndex.create(tmp_path / "x", dim=4, metric="manhattan")  # type: ignore[arg-type]
    assert len(index) == 0


def test_threads_and_explicit_ef(large) -> None:
    index, gallery, ids, queries = large
    index.set_num_threads(1)
    assert index.threads == 1
    narrow = recall_at(
        index.search(queries, 10, ef=10),
        exact_search_batch(gallery, ids, queries, 10, metric="euclidean"),
        10,
    )
    wide = recall_at(
        index.search(queries, 10, ef=400),
        exact_search_batch(gallery, ids, queries, 10, metric="euclidean"),
        10,
    )
    index.set_num_threads(2)
    assert wide >= 0.995 and wide > narrow


def test_empty_index_saves_opens_and_grows(tmp_path: Path) -> None:
    FaceIndex.rebuild(
        tmp_path / "idx",
        np.zeros(0, np.int64),
        np.zeros((0, 8), np.float32),
        metric="cosine",
        generation=2,
    )
    index = FaceIndex.open(tmp_path / "idx")
    assert (len(index), index.generation, index.metric) == (0, 2, "cosine")
    assert index.search(np.ones(8), 3) == [[]] and len(index.ids()) == 0
    index.add(np.array([3]), np.full((1, 8), 2.0))
    assert index.search(np.ones(8), 3)[0][0] == (3, pytest.approx(0.0, abs=1e-6))


def test_recall_at_counts_each_querys_exact_neighbours_found() -> None:
    exact = [[(1, 0.1), (2, 0.2)], [(5, 0.1), (6, 0.3)]]
    assert recall_at([[(1, 0.1), (3, 0.4)], [(6, 0.3), (5, 0.1)]], exact, 2) == 0.75
    assert recall_at([[(2, 0.2), (9, 0.9)], [(7, 0.2), (8, 0.3)]], exact, 1) == 0.0


# ------------------------------------------------------------------ projected graphs and parts


@pytest.fixture(scope="module")
def projected(
    tmp_path_factory: pytest.TempPathFactory, large
) -> tuple[FaceIndex, np.ndarray, np.ndarray, np.ndarray]:
    """The 20,000 faces of ``large`` rebuilt as a large gallery is: graphs on the leading
    principal axes, re-ranked on the full descriptors."""
    _, gallery, ids, queries = large
    folder = tmp_path_factory.mktemp("projected")
    index = FaceIndex.rebuild(
        folder, ids, gallery, metric="euclidean", generation=1, project_from=0
    )
    return index, gallery, ids, queries


def test_a_rebuilt_large_gallery_gets_projected_graphs_and_exact_distances(projected) -> None:
    index, gallery, ids, queries = projected
    assert (index.graph_dim, index.parts, index.dim) == (DIM // 2, 2, DIM)
    found = index.search(queries, 10)
    truth = exact_search_batch(gallery, ids, queries, 10, metric="euclidean")
    assert recall_at(found, truth, 10) >= 0.99
    # Ranked and scored on the full descriptors, never on the projected ones.
    for row, query in zip(found[:20], queries[:20], strict=True):
        reference = np.linalg.norm(gallery[[i for i, _ in row]] - query, axis=1)
        np.testing.assert_allclose([d for _, d in row], reference, atol=1e-4)
    assert index.search(gallery[7], 1)[0][0] == (7, pytest.approx(0.0, abs=1e-3))
    # The graphs hold half the numbers per face, the full descriptors are kept beside them.
    np.testing.assert_allclose(index.vectors([5, 9]), gallery[[5, 9]])


def test_projected_index_saves_opens_and_is_checked(projected, tmp_path: Path) -> None:
    from app.engine.index_files import PROJECTION_FILE

    index, _, ids, queries = projected
    folder = index.path
    assert (folder / PROJECTION_FILE).is_file()
    reopened = FaceIndex.open(folder, threads=1)
    assert reopened.graph_dim == DIM // 2 and len(reopened) == len(ids)
    assert reopened.search(queries[:20], 10) == index.search(queries[:20], 10)
    # A damaged projection is refused like any other damaged file.
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in folder.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    data = bytearray((copy / PROJECTION_FILE).read_bytes())
    data[100] ^= 0x10
    (copy / PROJECTION_FILE).write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match=r"faces\.projection is damaged"):
        FaceIndex.open(copy)


def test_one_query_searches_the_graphs_at_once_with_the_same_answer(large) -> None:
    index, _, _, queries = large
    index.set_num_threads(2)
    together = [index.search(query, 10)[0] for query in queries[:30]]  # graphs on two threads
    index.set_num_threads(1)
    one_by_one = [index.search(query, 10)[0] for query in queries[:30]]
    index.set_num_threads(2)
    assert together == one_by_one == index.search(queries[:30], 10)


def test_growth_past_the_projection_threshold_asks_for_a_rebuild(
    tmp_path: Path, small, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.engine import index as index_module

    gallery, ids = small
    index = built(tmp_path / "idx", gallery, ids)
    assert not index.wants_rebuild
    monkeypatch.setattr(index_module, "PROJECT_FROM", len(ids))
    assert index.wants_rebuild
    index.mark_deleted(int(ids[0]))
    assert not index.wants_rebuild  # counts live faces only
    rebuilt = FaceIndex.rebuild(
        tmp_path / "idx",
        index.ids(),
        index.vectors(index.ids()),
        metric="euclidean",
        generation=2,
        project_from=len(ids) - 1,
    )
    monkeypatch.setattr(index_module, "PROJECT_FROM", 1)
    assert rebuilt.graph_dim == DIM // 2 and not rebuilt.wants_rebuild


def test_an_index_of_the_earlier_format_is_refused_and_replaced(tmp_path: Path, small) -> None:
    folder = _saved(tmp_path, small)
    (folder / "faces.hnsw").write_bytes(b"format 1 graph")
    _rewrite_meta(folder, format_version=1)
    with pytest.raises(IndexFormatError, match="format 1 by another version"):
        FaceIndex.open(folder)
    gallery, ids = small
    FaceIndex.rebuild(folder, ids, gallery, metric="euclidean", generation=4)
    assert not (folder / "faces.hnsw").exists()  # the old graph is cleared away
    assert FaceIndex.open(folder).generation == 4


def test_damaged_descriptor_store_is_refused(tmp_path: Path, small) -> None:
    import hashlib

    folder = _saved(tmp_path, small)
    raw = bytearray((folder / VECTORS_FILE).read_bytes())
    raw[0:8] = raw[8:16]  # the first two rows now claim the same face id
    (folder / VECTORS_FILE).write_bytes(bytes(raw))
    files = json.loads((folder / META_FILE).read_text())["files"]
    files[VECTORS_FILE] = {"size": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
    _rewrite_meta(folder, files=files)
    with pytest.raises(IndexCorruptError, match="repeated"):
        FaceIndex.open(folder)
    _rewrite_meta(folder, parts=3)
    with pytest.raises(IndexCorruptError, match="invalid fields"):
        FaceIndex.open(folder)


def test_cosine_index_with_projected_graphs(tmp_path: Path) -> None:
    faces = FaceLike(300, seed=4)
    gallery = faces.photos(np.repeat(np.arange(300), 4)) - 0.1
    ids = np.arange(len(gallery), dtype=np.int64) + 10
    index = FaceIndex.rebuild(
        tmp_path / "cos", ids, gallery, metric="cosine", generation=1, project_from=0
    )
    queries = faces.photos(np.arange(0, 300, 10)) - 0.1
    found = index.search(queries, 5, ef=200)
    truth = exact_search_batch(gallery, ids, queries, 5, metric="cosine")
    assert [[i for i, _ in r] for r in found] == [[i for i, _ in r] for r in truth]
    for row, exact_row in zip(found, truth, strict=True):
        np.testing.assert_allclose([d for _, d in row], [d for _, d in exact_row], atol=1e-5)
