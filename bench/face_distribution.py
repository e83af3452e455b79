"""Synthetic face descriptors with dlib-like statistics, for index benchmarks at any size.

A gallery is many people with a few photos each. A photo's descriptor is

    mean + identity offset (person) + within-person offset (this photo)

with Gaussian offsets whose covariances are either

- fitted to real descriptors (``FaceDistribution.fit``: the default model on LFW photos; the
  sample covariances are shrunk towards the identity as far as makes the synthetic same- and
  different-person distance spreads match the real ones), or
- the built-in defaults (``FaceDistribution.default``): eigenvalue spectra decaying as
  j^-0.8 (between people) and j^-0.6 (within a person) in random orthonormal bases, traces
  0.24 and 0.094, mean vector length 1.31. They reproduce what this project measured with the
  default model (dlib ResNet, ONNX) on 1,153 LFW faces of 400 people (at most 4 photos each):
  same-person distance 0.444 +- 0.087, different-person 0.821 +- 0.088, descriptor length
  1.44 +- 0.07, participation ratio of the covariance spectrum about 31 (of 128 dimensions).

How hard these galleries are for an HNSW index, compared with real ones (measured once with
M 32, ef_construction 200 on all 9,525 LFW dev-train photos: 9,125 in the gallery, 400 held-out
photos of people with two or more photos as queries; recall@10 against exact search):

    ef                   16      32      48      64      96
    real LFW descriptors 0.955   0.988   0.995   0.997   0.999
    fitted synthetic     0.927   0.977   0.989   0.994   0.996
    built-in defaults    0.887   0.958   0.979   0.988   0.995

Synthetic galleries need roughly 1.5x (fitted) to 2x (defaults) the search breadth of real ones
for the same recall: Gaussian identities fill space more evenly than real faces, which cluster
(age, sex, ethnicity, lighting). Figures measured on them are therefore conservative.

Photo quality varies: each person's and each photo's within-person offset is scaled by a
log-normal factor (sigma 0.1 per person, 0.2 per photo), with the covariance divided by the
factors' mean square so the average spread stays as fitted.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

DIM = 128
PERSON_SPREAD_SIGMA = 0.1
PHOTO_SPREAD_SIGMA = 0.2
_SPREAD_MEAN_SQUARE = float(np.exp(2 * (PERSON_SPREAD_SIGMA**2 + PHOTO_SPREAD_SIGMA**2)))
DEFAULT_BETWEEN_TRACE = 0.24
DEFAULT_WITHIN_TRACE = 0.094
DEFAULT_MEAN_LENGTH = 1.31


SHRINKAGE_GRID = (0.0, 0.2, 0.4, 0.6, 0.8)


def _shrunk(covariance: npt.NDArray[np.float64], amount: float) -> npt.NDArray[np.float64]:
    """(1 - amount) covariance + amount (trace / d) I: same trace, flatter spectrum."""
    dim = covariance.shape[0]
    scaled_identity = np.eye(dim) * (np.trace(covariance) / dim)
    return np.asarray((1.0 - amount) * covariance + amount * scaled_identity, dtype=np.float64)


def _random_basis(rng: np.random.Generator, dim: int) -> npt.NDArray[np.float64]:
    q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q


def _factor(covariance: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """B with B B^T = covariance (eigenvalues clipped at a small floor: a rank-deficient fit)."""
    values, vectors = np.linalg.eigh((covariance + covariance.T) / 2)
    floor = 1e-4 * max(float(values.mean()), 1e-12)
    return np.asarray(vectors * np.sqrt(np.maximum(values, floor)), dtype=np.float64)


@dataclass
class FaceDistribution:
    """Where identities and their photos fall in descriptor space."""

    mean: npt.NDArray[np.float64]
    between: npt.NDArray[np.float64]  # B_b: identity offset = B_b z
    within: npt.NDArray[np.float64]  # B_w: photo offset = s * B_w z
    source: str

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    @classmethod
    def default(cls, seed: int = 0, dim: int = DIM) -> FaceDistribution:
        rng = np.random.default_rng(seed)
        ranks = np.arange(1, dim + 1, dtype=np.float64)
        between = ranks**-0.8
        between *= DEFAULT_BETWEEN_TRACE / between.sum()
        within = ranks**-0.6
        within *= DEFAULT_WITHIN_TRACE / within.sum() / _SPREAD_MEAN_SQUARE
        mean = rng.standard_normal(dim)
        mean *= DEFAULT_MEAN_LENGTH / np.linalg.norm(mean)
        return cls(
            mean=mean,
            between=_random_basis(rng, dim) * np.sqrt(between),
            within=_random_basis(rng, dim) * np.sqrt(within),
            source="built-in dlib-like defaults",
        )

    @classmethod
    def fit(
        cls, descriptors: npt.NDArray[np.floating], people: npt.NDArray[np.integer]
    ) -> FaceDistribution:
        """Fit mean, between- and within-person covariances to real descriptors."""
        x = np.asarray(descriptors, dtype=np.float64)
        labels = np.asarray(people)
        groups = [x[labels == person] for person in np.unique(labels)]
        repeated = [g for g in groups if len(g) >= 2]
        if len(repeated) < 10:
            raise ValueError("Fitting needs at least 10 people with two or more photos.")
        deviations = np.concatenate(
            [(g - g.mean(axis=0)) * np.sqrt(len(g) / (len(g) - 1)) for g in repeated]
        )
        within = deviations.T @ deviations / len(deviations)
        centroids = np.stack([g.mean(axis=0) for g in groups])
        # A centroid of n photos carries 1/n of the within-person covariance: take it out.
        carried = np.mean([1.0 / len(g) for g in groups])
        between = np.cov(centroids.T) - carried * within
        # A covariance estimated from a few hundred people spreads its eigenvalues (the largest
        # too large, the smallest too small), which makes distances vary more than they do.
        # Shrink each towards a multiple of the identity as far as the real distance spreads say.
        _, same_s, _, diff_s = real_distance_summary(x, labels)
        best: tuple[float, FaceDistribution] | None = None
        for shrink_between in SHRINKAGE_GRID:
            for shrink_within in SHRINKAGE_GRID:
                candidate = cls(
                    mean=x.mean(axis=0),
                    between=_factor(_shrunk(between, shrink_between)),
                    within=_factor(_shrunk(within, shrink_within) / _SPREAD_MEAN_SQUARE),
                    source=(
                        f"fitted to {len(x)} real descriptors of {len(groups)} people, "
                        f"shrinkage {shrink_between:.1f} between / {shrink_within:.1f} within"
                    ),
                )
                stats = distance_summary(candidate, np.random.default_rng(0), pairs=1000)
                error = abs(stats[1] - same_s) + abs(stats[3] - diff_s)
                if best is None or error < best[0]:
                    best = (error, candidate)
        assert best is not None
        return best[1]

    def identities(self, count: int, rng: np.random.Generator) -> Identities:
        centres = self.mean + rng.standard_normal((count, self.dim)) @ self.between.T
        spread = np.exp(rng.normal(0.0, PERSON_SPREAD_SIGMA, count))
        return Identities(self, centres.astype(np.float32), spread.astype(np.float32))


@dataclass
class Identities:
    """A set of people; draws photos of them."""

    distribution: FaceDistribution
    centres: npt.NDArray[np.float32]
    spread: npt.NDArray[np.float32]

    def photos(
        self, people: npt.NDArray[np.integer], rng: np.random.Generator, chunk: int = 100_000
    ) -> npt.NDArray[np.float32]:
        """One new photo descriptor per entry of ``people`` (float32 [len(people), dim])."""
        out = np.empty((len(people), self.distribution.dim), dtype=np.float32)
        within = self.distribution.within.T.astype(np.float32)
        for start in range(0, len(people), chunk):
            who = people[start : start + chunk]
            scale = self.spread[who] * np.exp(rng.normal(0.0, PHOTO_SPREAD_SIGMA, len(who)))
            noise = rng.standard_normal((len(who), self.distribution.dim), dtype=np.float32)
            out[start : start + len(who)] = self.centres[who] + scale[:, None] * (noise @ within)
        return out


def photos_per_person(total: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """Person number of each of ``total`` gallery photos: 1 + Poisson(1.5) photos per person."""
    counts = 1 + rng.poisson(1.5, size=total)  # more than enough people
    owners = np.repeat(np.arange(len(counts)), counts)[:total]
    return owners.astype(np.int64)


def distance_summary(
    distribution: FaceDistribution, rng: np.random.Generator, pairs: int = 2000
) -> tuple[float, float, float, float]:
    """(same mean, same std, different mean, different std) Euclidean distances of photo pairs."""
    people = distribution.identities(2 * pairs, rng)
    first = np.arange(pairs)
    a, b = people.photos(first, rng), people.photos(first, rng)
    c = people.photos(first + pairs, rng)
    same = np.linalg.norm(a - b, axis=1)
    different = np.linalg.norm(a - c, axis=1)
    return float(same.mean()), float(same.std()), float(different.mean()), float(different.std())


def real_distance_summary(
    descriptors: npt.NDArray[np.floating], people: npt.NDArray[np.integer]
) -> tuple[float, float, float, float]:
    """The same four figures for real descriptors (all pairs)."""
    x = np.asarray(descriptors, dtype=np.float64)
    labels = np.asarray(people)
    upper = np.triu_indices(len(x), 1)
    sq = np.einsum("ij,ij->i", x, x)
    distances = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0.0))[upper]
    same = (labels[:, None] == labels[None, :])[upper]
    return (
        float(distances[same].mean()),
        float(distances[same].std()),
        float(distances[~same].mean()),
        float(distances[~same].std()),
    )


def embed_lfw(
    images_dir: Path, count: int, *, per_person: int = 4
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]] | None:
    """Descriptors of up to ``count`` LFW faces (people with 2+ photos first) with the default
    model; None when the model or the face pipeline cannot be loaded."""
    try:
        from app.engine.images import load_image_file
        from app.engine.models import install_default_model, load_embedder
        from app.engine.pipeline import FacePipeline
    except ImportError as exc:
        log.warning("Face pipeline not importable (%s): using built-in statistics", exc)
        return None
    people = sorted(p for p in images_dir.iterdir() if p.is_dir())
    people.sort(key=lambda p: -min(per_person, len(list(p.glob("*.jpg")))))
    with tempfile.TemporaryDirectory(prefix="frx-bench-models-") as models:
        try:
            manifest = install_default_model(Path(models))
            embedder = load_embedder(Path(models), manifest.name)
        except Exception as exc:
            log.warning("Default model unavailable (%s): using built-in statistics", exc)
            return None
        pipeline = FacePipeline(embedder)
        rows: list[npt.NDArray[np.float32]] = []
        labels: list[int] = []
        for number, person in enumerate(people):
            for path in sorted(person.glob("*.jpg"))[:per_person]:
                _, image = load_image_file(path)
                found = pipeline.detect(image.rgb)
                if not found.faces:
                    continue
                described = pipeline.describe(image.rgb, found.faces[0], with_regions=False)
                if described.embedding is not None:
                    rows.append(np.asarray(described.embedding, dtype=np.float32))
                    labels.append(number)
            if len(rows) >= count:
                break
    if not rows:
        return None
    return np.stack(rows), np.asarray(labels, dtype=np.int64)
