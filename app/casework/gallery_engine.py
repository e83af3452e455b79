"""The face engine as the gallery uses it: one cached embedder per model, photo analysis.

A gallery photo must show exactly one face. :func:`analyse_photo` decodes the bytes, finds the
faces, fits the mesh and cuts the aligned chip; it runs on worker threads during a bulk import
(MediaPipe graphs are per thread inside :class:`FacePipeline`). The embedding is computed
afterwards for many chips at once (:func:`embed_chips`), which is several times faster than one
by one. Failures come back as plain reasons, never as exceptions, so one bad photo never stops
an import.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.casework.models import model_not_installed
from app.engine.embedder import Embedder
from app.engine.images import decode_image
from app.engine.model_manifest import MANIFEST_FILE, ModelManifest, read_manifest
from app.engine.models import load_embedder
from app.engine.pipeline import FacePipeline
from app.errors import FrxError, ImageError
from app.settings import Settings

Vector = npt.NDArray[np.float32]

# Bytes per face descriptor value as stored (float32, little-endian).
VECTOR_DTYPE = np.dtype("<f4")


@dataclass(frozen=True, eq=False)
class PhotoAnalysis:
    """One photo that shows exactly one usable face, ready to be embedded."""

    chip: npt.NDArray[np.uint8]
    face_box: tuple[float, float, float, float]
    quality: dict[str, Any]
    width: int
    height: int
    media_type: str


@dataclass(frozen=True)
class PhotoRejection:
    """Why a photo cannot be enrolled (a plain sentence)."""

    reason: str


def descriptor_key(manifest: ModelManifest) -> str:
    """SHA-256 naming the descriptor function: the model file's hash and every manifest setting
    that changes the descriptors it gives (chip alignment, input normalisation, mirror average,
    L2 normalisation). Stored with each gallery embedding and each index, so that descriptors
    made before a manifest changed are never compared with descriptors made after it."""
    settings = {
        "sha256": manifest.sha256,
        "alignment": dataclasses.asdict(manifest.alignment),
        "input_size": manifest.input_size,
        "layout": manifest.layout,
        "dtype": manifest.dtype,
        "colour_order": manifest.colour_order,
        "mean": manifest.mean,
        "std": manifest.std,
        "normalization_in_graph": manifest.normalization_in_graph,
        "l2_normalize": manifest.l2_normalize,
        "mirror_average": bool(getattr(manifest, "mirror_average", False)),
    }
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=list)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def model_manifest(settings: Settings, model_name: str) -> ModelManifest:
    """The installed manifest of ``model_name`` (cheap: no model file is read; the parsed
    manifest is reused while the file is unchanged)."""
    path = settings.models_dir / model_name / MANIFEST_FILE
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise model_not_installed(settings, model_name) from None
    except OSError:
        return read_manifest(path)  # raises the plain ModelError
    return _cached_manifest(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _cached_manifest(path: str, mtime_ns: int, size: int) -> ModelManifest:
    del mtime_ns, size  # part of the key only
    return read_manifest(Path(path))


@functools.lru_cache(maxsize=4)
def _cached_embedder(models_dir: str, name: str, key: str, threads: int) -> Embedder:
    # ``key`` (descriptor_key) is part of the cache key: a reinstalled model or a changed
    # manifest is loaded afresh.
    del key
    return load_embedder(Path(models_dir), name, threads=threads, batch_size=32)


_embedder_lock = threading.Lock()


def gallery_embedder(
    settings: Settings, model_name: str, *, threads: int | None = None
) -> Embedder:
    """A verified embedder for ``model_name``, loaded once per process, model file and thread
    count (``threads`` defaults to ``settings.onnx_threads``)."""
    manifest = model_manifest(settings, model_name)
    count = max(1, threads if threads is not None else settings.onnx_threads)
    with _embedder_lock:
        return _cached_embedder(
            str(settings.models_dir), model_name, descriptor_key(manifest), count
        )


_pipelines: dict[tuple[str, str], FacePipeline] = {}


def gallery_pipeline(embedder: Embedder) -> FacePipeline:
    """A detection/alignment pipeline for ``embedder``'s chips, without embedding (chips are
    embedded in batches); one per model file and process, shared by threads."""
    manifest = embedder.manifest
    key = (manifest.name, descriptor_key(manifest))
    with _embedder_lock:
        pipeline = _pipelines.get(key)
        if pipeline is None:
            pipeline = FacePipeline(None, alignment=manifest.alignment)
            _pipelines[key] = pipeline
        return pipeline


def analyse_photo(
    pipeline: FacePipeline, data: bytes, *, name: str, max_pixels: int
) -> PhotoAnalysis | PhotoRejection:
    """Decode ``data``, require exactly one face, fit the mesh and cut the chip."""
    try:
        decoded = decode_image(data, max_pixels=max_pixels, name=name)
        detection = pipeline.detect(decoded.rgb)
        if not detection.found:
            return PhotoRejection("No face was found in the photo.")
        if len(detection.faces) > 1:
            return PhotoRejection(
                f"{len(detection.faces)} faces were found in the photo; a gallery photo must "
                "show one person only."
            )
        face = detection.faces[0]
        description = pipeline.describe(decoded.rgb, face, with_regions=False)
    except ImageError as exc:
        return PhotoRejection(str(exc))
    except FrxError as exc:
        return PhotoRejection(f"The photo could not be analysed: {exc}")
    if description.chip is None:  # pragma: no cover - the pipeline always has an alignment
        return PhotoRejection("The face in the photo could not be aligned.")
    return PhotoAnalysis(
        chip=description.chip,
        face_box=tuple(round(float(v), 2) for v in face.box),  # type: ignore[arg-type]
        quality=json_safe(description.quality.to_dict()),
        width=decoded.width,
        height=decoded.height,
        media_type=decoded.media_type,
    )


def embed_chips(embedder: Embedder, chips: list[npt.NDArray[np.uint8]]) -> Vector:
    """Descriptors [N, dim] for many chips at once, as the model's manifest defines them (with
    ``mirror_average`` the mean of each chip's and its mirror image's, as FacePipeline does)."""
    if not chips:
        return np.empty((0, embedder.dimension), dtype=np.float32)
    stack = np.ascontiguousarray(np.stack(chips))
    manifest = embedder.manifest
    if not getattr(manifest, "mirror_average", False):
        return np.asarray(embedder.embed(stack), dtype=np.float32)
    both = embedder.embed(np.ascontiguousarray(np.concatenate([stack, stack[:, :, ::-1]])))
    mean = (both[: len(chips)] + both[len(chips) :]) / 2.0
    if manifest.l2_normalize:
        mean = mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
    return np.asarray(mean, dtype=np.float32)


def vector_to_bytes(vector: npt.ArrayLike) -> bytes:
    return np.asarray(vector, dtype=VECTOR_DTYPE).reshape(-1).tobytes()


def vector_from_bytes(data: bytes, dim: int) -> Vector:
    vector = np.frombuffer(data, dtype=VECTOR_DTYPE)
    if vector.shape != (dim,):
        raise ValueError(f"a stored face descriptor has {vector.size} values, expected {dim}")
    return vector.astype(np.float32)


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None (PostgreSQL's JSON refuses them)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return json_safe(value.item())
    return value


__all__ = [
    "PhotoAnalysis",
    "PhotoRejection",
    "analyse_photo",
    "descriptor_key",
    "embed_chips",
    "gallery_embedder",
    "gallery_pipeline",
    "json_safe",
    "model_manifest",
    "vector_from_bytes",
    "vector_to_bytes",
]
