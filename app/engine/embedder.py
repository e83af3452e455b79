"""Run a face embedding model (ONNX, onnxruntime on the CPU) on aligned face chips.

The embedder takes uint8 RGB chips ``[N, height, width, 3]`` at the manifest's chip size and does
what the manifest says the graph expects: colour order, normalisation (unless the graph does it
itself), dtype and layout; it runs them in batches and L2-normalises the output when the manifest
asks for it. Distances follow the manifest's metric: Euclidean, or cosine distance
(1 - cosine similarity).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from app.engine.model_manifest import ModelManifest
from app.errors import ImageError, ModelError

Descriptors = npt.NDArray[np.float32]


def create_session(model_path: Path, *, threads: int = 2) -> ort.InferenceSession:
    """An onnxruntime CPU session with a fixed number of threads (the machine is shared)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, int(threads))
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own untyped exceptions for bad files
        raise ModelError(f"The model file {model_path.name} cannot be loaded: {exc}") from exc


class Embedder:
    """Face descriptors from one verified model."""

    def __init__(
        self,
        manifest: ModelManifest,
        session: ort.InferenceSession,
        *,
        batch_size: int = 32,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.manifest = manifest
        self.batch_size = batch_size
        self._session = session
        self._output_name = session.get_outputs()[0].name
        mean = np.asarray(manifest.mean, dtype=np.float32)
        std = np.asarray(manifest.std, dtype=np.float32)
        self._mean = mean
        self._inv_std = (1.0 / std).astype(np.float32)

    @property
    def dimension(self) -> int:
        return self.manifest.output_dim

    def prepare(self, chips: npt.NDArray[np.uint8]) -> npt.NDArray[np.generic]:
        """Turn uint8 RGB NHWC chips into the tensor the graph takes (per the manifest)."""
        m = self.manifest
        x: npt.NDArray[np.generic] = chips
        if m.colour_order == "BGR":
            x = x[..., ::-1]
        if m.dtype == "float32":
            as_float = x.astype(np.float32)
            if not m.normalization_in_graph:
                as_float = (as_float - self._mean) * self._inv_std
            x = as_float
        if m.layout == "NCHW":
            x = x.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(x)

    def _check_chips(self, chips: npt.NDArray[np.uint8]) -> None:
        width, height = self.manifest.chip_size
        if not isinstance(chips, np.ndarray) or chips.dtype != np.uint8:
            raise ImageError("Face chips must be 8-bit RGB images.")
        if chips.ndim != 4 or chips.shape[1:] != (height, width, 3):
            raise ImageError(
                f"Face chips for model '{self.manifest.name}' must be {width}x{height} RGB; "
                f"got an array of shape {tuple(chips.shape)}."
            )

    def embed(
        self,
        chips: npt.NDArray[np.uint8],
        *,
        progress: Callable[[int, int, str], None] | None = None,
    ) -> Descriptors:
        """Descriptors ``[N, D]`` float32 for uint8 RGB chips ``[N, h, w, 3]``."""
        if isinstance(chips, np.ndarray) and chips.ndim == 3:
            chips = chips[None]
        self._check_chips(chips)
        total = chips.shape[0]
        out = np.empty((total, self.dimension), dtype=np.float32)
        for start in range(0, total, self.batch_size):
            batch = self.prepare(chips[start : start + self.batch_size])
            try:
                result = self._session.run([self._output_name], {self.manifest.input_name: batch})[
                    0
                ]
            except Exception as exc:  # onnxruntime's own exception types
                raise ModelError(
                    f"Model '{self.manifest.name}' failed on a batch of face chips: {exc}"
                ) from exc
            result = np.asarray(result, dtype=np.float32).reshape(len(batch), -1)
            if result.shape[1] != self.dimension:
                raise ModelError(
                    f"Model '{self.manifest.name}' returned {result.shape[1]} values per face, "
                    f"but its manifest says {self.dimension}."
                )
            out[start : start + len(batch)] = result
            if progress:
                progress(min(start + len(batch), total), total, "Computing face descriptors")
        if self.manifest.l2_normalize:
            out = _l2_normalize(out)
        return out

    def descriptor_with_mirror(self, chip: npt.NDArray[np.uint8]) -> Descriptors:
        """One descriptor ``[D]``: the mean of the chip's and its horizontal mirror's."""
        if not isinstance(chip, np.ndarray) or chip.ndim != 3:
            raise ImageError("descriptor_with_mirror takes one face chip (height, width, 3).")
        pair = np.stack([chip, chip[:, ::-1]])
        mean = self.embed(pair).mean(axis=0)
        if self.manifest.l2_normalize:
            mean = _l2_normalize(mean[None])[0]
        return np.asarray(mean, dtype=np.float32)

    def distance(self, a: npt.ArrayLike, b: npt.ArrayLike) -> float | npt.NDArray[np.float64]:
        """Distance per the manifest's metric; a float for two descriptors, else an array.

        Broadcasts: ``a`` [D] against ``b`` [N, D] gives N distances.
        """
        x = np.asarray(a, dtype=np.float64)
        y = np.asarray(b, dtype=np.float64)
        if x.shape[-1] != self.dimension or y.shape[-1] != self.dimension:
            raise ValueError(f"descriptors must have {self.dimension} values")
        if self.manifest.metric == "euclidean":
            result = np.linalg.norm(x - y, axis=-1)
        else:
            nx = np.linalg.norm(x, axis=-1)
            ny = np.linalg.norm(y, axis=-1)
            denominator = np.maximum(nx * ny, 1e-12)
            result = 1.0 - (x * y).sum(axis=-1) / denominator
        if np.ndim(result) == 0:
            return float(result)
        return np.asarray(result, dtype=np.float64)

    def is_below_threshold(self, distance: float) -> bool:
        """True when the model's authors would call the two faces likely the same person."""
        return distance < self.manifest.threshold


def _l2_normalize(x: Descriptors) -> Descriptors:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.asarray(x / np.maximum(norms, 1e-12), dtype=np.float32)


__all__ = ["Embedder", "create_session"]
