"""The face pipeline: detect faces, then describe the chosen one.

``describe`` fits the face mesh, names the landmarks, cuts the aligned chip the embedding model
wants, computes the embedding (when the pipeline has an embedder), measures quality and outlines
the worksheet's feature regions. When the mesh cannot be fitted the face is still aligned, from
the detector's keypoints, and the description says so in its warnings.

MediaPipe graphs are not shared between threads: each thread that uses a pipeline gets its own
detector and mesher, built on first use and kept for the thread's life.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from app.engine.align import AlignmentSpec, align_chip
from app.engine.detect import DetectedFace, DetectionResult, FaceDetector, as_rgb
from app.engine.landmarks import (
    FaceMesh,
    FaceMesher,
    five_points,
    named_points,
    points_from_detection,
)
from app.engine.quality import QualityReport, assess_quality
from app.engine.regions import FeatureRegion, feature_regions

log = logging.getLogger(__name__)

RGBArray = npt.NDArray[np.uint8]
Descriptor = npt.NDArray[np.float32]
Point = tuple[float, float]
Progress = Callable[[int, int, str], None]
Cancelled = Callable[[], bool]

MESH_FAILED_WARNING = (
    "The face mesh could not be fitted to this face: it was aligned from the detector's eye, "
    "nose and mouth points, which are less exact, and its feature regions are not outlined."
)


class ManifestLike(Protocol):
    @property
    def alignment(self) -> AlignmentSpec: ...


def _manifest_mirrors(manifest: ManifestLike) -> bool:
    """Whether the model's descriptors are mirror averages (manifest ``mirror_average``)."""
    return bool(getattr(manifest, "mirror_average", False))


class EmbedderLike(Protocol):
    """What the pipeline needs of :class:`app.engine.embedder.Embedder`."""

    @property
    def manifest(self) -> ManifestLike: ...

    def embed(self, chips: npt.NDArray[np.uint8]) -> Descriptor: ...


@dataclass(frozen=True, eq=False)
class FaceDescription:
    """Everything the workstation knows about one face in one picture."""

    face: DetectedFace
    mesh: FaceMesh | None
    points: dict[str, Point]  # named landmarks, image sides (see app.engine.landmarks)
    points_source: Literal["mesh", "detector"]
    chip: RGBArray | None  # aligned chip for the model; None without an alignment
    embedding: Descriptor | None  # None without an embedder
    quality: QualityReport
    regions: dict[str, FeatureRegion] = field(default_factory=dict)  # subject's sides
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary for records (no chip, embedding or mesh)."""
        return {
            "face": self.face.to_dict(),
            "points": {k: [round(v[0], 2), round(v[1], 2)] for k, v in self.points.items()},
            "points_source": self.points_source,
            "quality": self.quality.to_dict(),
            "regions": {
                name: {
                    "box": [round(v, 1) for v in region.box],
                    "estimated": region.estimated,
                }
                for name, region in self.regions.items()
            },
            "warnings": list(self.warnings),
        }


class FacePipeline:
    """Detect and describe faces; optionally with an embedding model.

    ``embedder``: an :class:`app.engine.embedder.Embedder` (or anything with ``.manifest.
    alignment`` and ``.embed(chips)``). ``alignment``: the chip alignment to use without an
    embedder (default: the embedder's; no chip when neither is given). ``detector_model``:
    "full" (stills, default) or "short" range BlazeFace for the whole-picture pass.
    """

    def __init__(
        self,
        embedder: EmbedderLike | None = None,
        *,
        alignment: AlignmentSpec | None = None,
        detector_model: Literal["full", "short"] = "full",
    ) -> None:
        self.embedder = embedder
        self.alignment = (
            alignment
            if alignment is not None
            else (embedder.manifest.alignment if embedder is not None else None)
        )
        self.detector_model: Literal["full", "short"] = detector_model
        self._local = threading.local()

    @property
    def mirror_average(self) -> bool:
        """True when descriptors are the mean of the chip's and its mirror image's.

        The model's manifest decides (``mirror_average``), so that every descriptor stored for a
        model is made the same way and all of them compare with each other.
        """
        return self.embedder is not None and _manifest_mirrors(self.embedder.manifest)

    # One detector and mesher per thread (MediaPipe graphs are not thread-safe).
    @property
    def detector(self) -> FaceDetector:
        detector: FaceDetector | None = getattr(self._local, "detector", None)
        if detector is None:
            detector = FaceDetector(model=self.detector_model)
            self._local.detector = detector
        return detector

    @property
    def mesher(self) -> FaceMesher:
        mesher: FaceMesher | None = getattr(self._local, "mesher", None)
        if mesher is None:
            mesher = FaceMesher()
            self._local.mesher = mesher
        return mesher

    def detect(self, rgb: npt.NDArray[Any], **options: Any) -> DetectionResult:
        """Every face in the picture, largest first (see FaceDetector.detect for options)."""
        return self.detector.detect(rgb, **options)

    def describe(
        self,
        rgb: npt.NDArray[Any],
        face: DetectedFace,
        *,
        mirror_average: bool | None = None,
        with_regions: bool = True,
    ) -> FaceDescription:
        """Mesh, landmarks, chip, embedding, quality, regions and warnings of one face.

        ``mirror_average``: the embedding is the mean of the chip's and its mirror image's;
        None (the default) does what the model's manifest says (see ``self.mirror_average``).
        ``with_regions=False`` skips the feature regions (bulk import; they can be computed
        later from the mesh with :func:`app.engine.regions.feature_regions`).
        """
        description = self._describe_without_embedding(rgb, face, with_regions=with_regions)
        if self.embedder is None or description.chip is None:
            return description
        mirror = self.mirror_average if mirror_average is None else mirror_average
        embedding = _embed(self.embedder, [description.chip], mirror_average=mirror)[0]
        return _with_embedding(description, embedding)

    def describe_batch(
        self,
        items: Sequence[tuple[npt.NDArray[Any], DetectedFace]],
        *,
        mirror_average: bool | None = None,
        with_regions: bool = True,
        progress: Progress | None = None,
        cancelled: Cancelled | None = None,
    ) -> list[FaceDescription]:
        """``describe`` for many (picture, face) pairs, embedding the chips in batches.

        When ``cancelled()`` turns true, the faces described so far are embedded and returned
        (the list is then shorter than ``items``).
        """
        total = len(items)
        described: list[FaceDescription] = []
        for done, (rgb, face) in enumerate(items):
            if cancelled is not None and cancelled():
                log.info("describe_batch cancelled after %d of %d faces", done, total)
                break
            described.append(self._describe_without_embedding(rgb, face, with_regions=with_regions))
            if progress is not None:
                progress(done + 1, total, "Finding landmarks")
        if self.embedder is None:
            return described
        chips = [d.chip for d in described if d.chip is not None]
        if not chips:
            return described
        mirror = self.mirror_average if mirror_average is None else mirror_average
        embeddings = iter(_embed(self.embedder, chips, mirror_average=mirror))
        if progress is not None:
            progress(total, total, "Computing face descriptors")
        return [
            _with_embedding(d, next(embeddings)) if d.chip is not None else d for d in described
        ]

    def _describe_without_embedding(
        self, rgb: npt.NDArray[Any], face: DetectedFace, *, with_regions: bool
    ) -> FaceDescription:
        image = as_rgb(rgb)
        height, width = image.shape[:2]
        warnings: list[str] = []
        mesh = self.mesher.mesh(image, face)
        points: dict[str, Point]
        if mesh is not None:
            points = named_points(mesh)
            source: Literal["mesh", "detector"] = "mesh"
        else:
            points = points_from_detection(face)
            source = "detector"
            warnings.append(MESH_FAILED_WARNING)
        chip = None
        if self.alignment is not None:
            chip = align_chip(image, five_points(points, self.alignment.points), self.alignment)
        quality = assess_quality(image, face, mesh, named=points)
        regions = (
            feature_regions(mesh, (width, height)) if mesh is not None and with_regions else {}
        )
        warnings.extend(quality.warnings)
        return FaceDescription(
            face=face,
            mesh=mesh,
            points=points,
            points_source=source,
            chip=chip,
            embedding=None,
            quality=quality,
            regions=regions,
            warnings=tuple(warnings),
        )


def _embed(
    embedder: EmbedderLike, chips: Sequence[RGBArray], *, mirror_average: bool
) -> Descriptor:
    stack = np.ascontiguousarray(np.stack(chips))
    if not mirror_average:
        return np.asarray(embedder.embed(stack), dtype=np.float32)
    both = embedder.embed(np.concatenate([stack, stack[:, :, ::-1]]))
    count = len(chips)
    mean = (both[:count] + both[count:]) / 2.0
    if _normalises(embedder.manifest):
        norms = np.linalg.norm(mean, axis=1, keepdims=True)
        mean = mean / np.maximum(norms, 1e-12)
    return np.asarray(mean, dtype=np.float32)


def _normalises(manifest: ManifestLike) -> bool:
    return bool(getattr(manifest, "l2_normalize", False))


def _with_embedding(description: FaceDescription, embedding: Descriptor) -> FaceDescription:
    return replace(description, embedding=np.asarray(embedding, dtype=np.float32))


__all__ = [
    "MESH_FAILED_WARNING",
    "EmbedderLike",
    "FaceDescription",
    "FacePipeline",
]
