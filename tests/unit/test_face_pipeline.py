"""The face pipeline end to end: detect, describe, batch, fallbacks, the real default model."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from face_detection_support import lfw_image, lfw_sample_paths

from app.engine.align import ARCFACE_112_POINTS, ARCFACE_112_TEMPLATE, AlignmentSpec
from app.engine.embedder import Embedder
from app.engine.landmarks import FaceMesher
from app.engine.models import install_default_model, load_embedder
from app.engine.pipeline import MESH_FAILED_WARNING, FaceDescription, FacePipeline

ARCFACE = AlignmentSpec(
    points=ARCFACE_112_POINTS, template=ARCFACE_112_TEMPLATE, chip_size=(112, 112)
)


class _Manifest:
    alignment = ARCFACE
    l2_normalize = True


class CountingEmbedder:
    """A stand-in model: per-channel means of the chip's four quadrants, L2-normalised."""

    manifest = _Manifest()

    def __init__(self) -> None:
        self.calls: list[int] = []

    def embed(self, chips: np.ndarray) -> np.ndarray:
        self.calls.append(len(chips))
        h, w = chips.shape[1] // 2, chips.shape[2] // 2
        quads = [chips[:, :h, :w], chips[:, :h, w:], chips[:, h:, :w], chips[:, h:, w:]]
        features = np.concatenate([q.mean(axis=(1, 2)) for q in quads], axis=1)
        return (features / np.linalg.norm(features, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def default_embedder(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    models_dir = tmp_path_factory.mktemp("models")
    manifest = install_default_model(models_dir)
    return load_embedder(models_dir, manifest.name)


def _subject(pipeline: FacePipeline, rgb: np.ndarray) -> FaceDescription:
    result = pipeline.detect(rgb)
    assert result.found
    from app.engine.detect import face_nearest_center

    face = face_nearest_center(result)
    assert face is not None
    return pipeline.describe(rgb, face)


def test_describe_without_a_model(lfw_dir: Path) -> None:
    pipeline = FacePipeline()
    rgb = lfw_image(lfw_sample_paths(lfw_dir)[0])
    description = _subject(pipeline, rgb)
    assert description.mesh is not None and description.points_source == "mesh"
    assert description.chip is None and description.embedding is None
    assert len(description.regions) == 15
    assert description.quality.get("yaw") is not None
    assert set(description.warnings) == set(description.quality.warnings)
    summary = description.to_dict()
    assert summary["points_source"] == "mesh" and "right_eye" in summary["regions"]


def test_describe_with_the_default_model_separates_people(
    lfw_dir: Path, default_embedder: Embedder
) -> None:
    pipeline = FacePipeline(default_embedder)
    images = lfw_dir
    bush = [lfw_image(images / "George_W_Bush" / f"George_W_Bush_{i:04d}.jpg") for i in (1, 2)]
    other = lfw_image(lfw_sample_paths(lfw_dir)[10])
    a, b, c = (_subject(pipeline, rgb) for rgb in (*bush, other))
    for d in (a, b, c):
        assert d.chip is not None and d.chip.shape == (150, 150, 3)
        assert d.embedding is not None and d.embedding.shape == (128,)
    same = default_embedder.distance(a.embedding, b.embedding)
    different = default_embedder.distance(a.embedding, c.embedding)
    assert isinstance(same, float) and isinstance(different, float)
    assert same < default_embedder.manifest.threshold < different


def test_batch_embeds_once_and_matches_single_descriptions(lfw_dir: Path) -> None:
    embedder = CountingEmbedder()
    pipeline = FacePipeline(embedder)
    photos = [lfw_image(p) for p in lfw_sample_paths(lfw_dir)[:5]]
    faces = [pipeline.detect(p).faces[0] for p in photos]
    progress: list[tuple[int, int, str]] = []
    batch = pipeline.describe_batch(
        list(zip(photos, faces, strict=True)),
        with_regions=False,
        progress=lambda done, total, message: progress.append((done, total, message)),
    )
    assert embedder.calls == [5]
    assert [d.face for d in batch] == faces
    assert all(d.regions == {} for d in batch)
    assert progress[-1][:2] == (5, 5)
    single = pipeline.describe(photos[2], faces[2])
    assert batch[2].embedding is not None and single.embedding is not None
    assert np.allclose(batch[2].embedding, single.embedding, atol=1e-6)
    assert batch[2].chip is not None and batch[2].chip.shape == (112, 112, 3)


def test_mirror_average_and_cancel(lfw_dir: Path) -> None:
    embedder = CountingEmbedder()
    pipeline = FacePipeline(embedder)
    photo = lfw_image(lfw_sample_paths(lfw_dir)[3])
    face = pipeline.detect(photo).faces[0]
    plain = pipeline.describe(photo, face)
    averaged = pipeline.describe(photo, face, mirror_average=True)
    assert embedder.calls[-1] == 2  # the chip and its mirror image in one batch
    assert plain.chip is not None and averaged.embedding is not None
    mirrored = embedder.embed(plain.chip[None, :, ::-1])[0]
    expected = plain.embedding + mirrored
    assert np.allclose(averaged.embedding, expected / np.linalg.norm(expected), atol=1e-6)
    calls = iter([False, True])
    done = pipeline.describe_batch([(photo, face)] * 3, cancelled=lambda: next(calls))
    assert len(done) == 1 and done[0].embedding is not None


def test_a_face_without_mesh_is_aligned_from_the_detector(
    lfw_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = FacePipeline(alignment=ARCFACE)
    photo = lfw_image(lfw_sample_paths(lfw_dir)[1])
    face = pipeline.detect(photo).faces[0]
    with_mesh = pipeline.describe(photo, face)
    monkeypatch.setattr(FaceMesher, "mesh", lambda self, rgb, face: None)
    without = pipeline.describe(photo, face)
    assert without.mesh is None and without.points_source == "detector"
    assert without.warnings[0] == MESH_FAILED_WARNING
    assert without.regions == {}
    assert without.quality.get("pose") is not None
    assert without.chip is not None and with_mesh.chip is not None
    # The fallback chip shows the same face, only less exactly aligned.
    difference = np.abs(without.chip.astype(float) - with_mesh.chip.astype(float)).mean()
    assert difference < 40


def test_each_thread_gets_its_own_detector_and_mesher() -> None:
    pipeline = FacePipeline()
    seen = []

    def work() -> None:
        seen.append((pipeline.detector, pipeline.mesher))

    work()
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen[0][0] is not seen[1][0] and seen[0][1] is not seen[1][1]
    assert pipeline.detector is seen[0][0]
