"""Would an 8-bit copy of the default model be faster and as accurate? (run by hand)

    .venv/bin/python bench/int8_embedding.py [--images DIR] [--pairs FILE] [--limit N]
        [--calibration 200]

An experiment, not a feature: the workstation uses the float32 model. This quantizes the installed
default model with onnxruntime's static quantizer (QDQ format, int8 weights per output channel,
uint8 activations whose ranges are measured on ``--calibration`` face chips of LFW people who are
NOT in the pairs file), then in the same run measures

* chips/s at batch 32 with 1 and 2 threads, float32 and int8, and the speed-up;
* on the pairs (``--limit N`` same and N different; chips cut by the engine's pipeline once,
  both models embed the same chips, mirror averaging as the model's manifest says): accuracy at
  0.6, 10-fold accuracy, TAR at FAR 1% and 0.1%, and the distance between the two models'
  descriptors of the same face.

Last line: ``speedup <int8 chips/s / float32 chips/s at batch 32, 2 threads>``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.lfw_common import (
    LFW_IMAGES,
    LFW_PAIRS,
    image_path,
    limit_pairs,
    quiet_native_logs,
    read_pairs,
    tar_at_far,
)
from bench.lfw_verify import cross_validation_folds, figures

BATCH = 32


def _chips(pipeline: object, paths: list[Path]) -> tuple[np.ndarray, list[bool]]:
    from app.engine.detect import face_nearest_center
    from app.engine.images import load_image_file

    chips, found = [], []
    for path in paths:
        rgb = load_image_file(path)[1].rgb
        face = face_nearest_center(pipeline.detect(rgb))  # type: ignore[attr-defined]
        chip = None
        if face is not None:
            chip = pipeline.describe(rgb, face, with_regions=False).chip  # type: ignore[attr-defined]
        found.append(chip is not None)
        if chip is not None:
            chips.append(chip)
    return np.stack(chips), found


def _session(path: Path, threads: int) -> object:
    from app.engine.embedder import create_session

    return create_session(path, threads=threads)


def _embed(session: object, chips: np.ndarray, mirror: bool) -> np.ndarray:
    name = session.get_inputs()[0].name  # type: ignore[attr-defined]

    def run(x: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [
                session.run(None, {name: x[i : i + BATCH]})[0]  # type: ignore[attr-defined]
                for i in range(0, len(x), BATCH)
            ]
        )

    out = run(chips)
    return (out + run(np.ascontiguousarray(chips[:, :, ::-1]))) / 2 if mirror else out


def _rate(session: object, chips: np.ndarray) -> float:
    _embed(session, chips[:BATCH], False)
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        _embed(session, chips, False)
        best = min(best, time.perf_counter() - start)
    return len(chips) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=LFW_IMAGES)
    parser.add_argument("--pairs", type=Path, default=LFW_PAIRS)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--calibration", type=int, default=200)
    args = parser.parse_args()
    quiet_native_logs()

    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from app.engine.models import install_default_model, load_embedder
    from app.engine.pipeline import FacePipeline

    pairs, folds = read_pairs(args.pairs)
    pairs = limit_pairs(pairs, args.limit)
    every_pair_person = {
        name for p in read_pairs(args.pairs)[0] for name in (p.first[0], p.second[0])
    }
    others = [
        p for p in sorted(args.images.glob("*/*.jpg")) if p.parent.name not in every_pair_person
    ]
    out = sys.stdout
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        manifest = install_default_model(folder / "models")
        fp32_path = folder / "models" / manifest.name / manifest.file_name
        pipeline = FacePipeline(load_embedder(folder / "models", manifest.name, threads=2))
        calibration, _ = _chips(pipeline, others[: args.calibration])

        class Reader(CalibrationDataReader):  # type: ignore[misc]
            def __init__(self) -> None:
                self.start = 0

            def get_next(self) -> dict[str, np.ndarray] | None:
                if self.start >= len(calibration):
                    return None
                batch = calibration[self.start : self.start + 8]
                self.start += 8
                return {manifest.input_name: batch}

        prepared, int8_path = folder / "prepared.onnx", folder / "int8.onnx"
        start = time.perf_counter()
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(int8_path),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
        out.write(
            f"quantized on {len(calibration)} chips of people not in {args.pairs.name} "
            f"in {time.perf_counter() - start:.0f} s; {int8_path.stat().st_size / 1e6:.1f} MB "
            f"(float32 {fp32_path.stat().st_size / 1e6:.1f} MB)\n"
        )

        rates = {}
        bench_chips = np.concatenate([calibration] * 2)[:256]
        for threads in (1, 2):
            for label, path in (("float32", fp32_path), ("int8", int8_path)):
                rates[(label, threads)] = _rate(_session(path, threads), bench_chips)
        out.write("chips/s at batch 32:\n")
        for threads in (1, 2):
            f, q = rates[("float32", threads)], rates[("int8", threads)]
            out.write(f"  {threads} thread(s): float32 {f:.0f}, int8 {q:.0f} ({q / f:.2f}x)\n")
        per_face = 2 if manifest.mirror_average else 1
        out.write(
            f"faces/s at batch 32, 2 threads ({per_face} chip(s) per face): float32 "
            f"{rates[('float32', 2)] / per_face:.0f}, int8 {rates[('int8', 2)] / per_face:.0f}\n"
        )

        keys = sorted({k for p in pairs for k in (p.first, p.second)})
        chips, found = _chips(pipeline, [image_path(args.images, k) for k in keys])
        found_keys = [k for k, f in zip(keys, found, strict=True) if f]
        same = np.array([p.same for p in pairs])
        folds_of = cross_validation_folds(pairs, folds)
        descriptors = {}
        for label, path in (("float32", fp32_path), ("int8", int8_path)):
            embedded = _embed(_session(path, 2), chips, manifest.mirror_average)
            descriptors[label] = dict(zip(found_keys, embedded, strict=True))
        gap = [
            float(np.linalg.norm(descriptors["float32"][k] - descriptors["int8"][k]))
            for k in found_keys
        ]
        out.write(
            f"\n{len(pairs)} pairs ({len(found_keys)} of {len(keys)} photos with a face); "
            f"int8 vs float32 descriptor distance: median {np.median(gap):.3f}, "
            f"max {np.max(gap):.3f}\n"
        )
        out.write(
            f"{'model':<10}{'acc@0.6':>9}{'10-fold':>9}{'TAR@FAR1%':>11}{'TAR@FAR0.1%':>13}\n"
        )
        for label, table in descriptors.items():
            distances = np.array(
                [
                    float(np.linalg.norm(table[p.first] - table[p.second]))
                    if p.first in table and p.second in table
                    else np.inf
                    for p in pairs
                ]
            )
            f = figures(distances, same, folds_of)
            tar = tar_at_far(distances[same], distances[~same], 0.001)[0]
            out.write(
                f"{label:<10}{f['default']:>9.4f}{f['tenfold']:>9.4f}{f['tar@0.01']:>11.4f}"
                f"{tar:>13.4f}\n"
            )
    out.write(f"speedup {rates[('int8', 2)] / rates[('float32', 2)]:.2f}\n")


if __name__ == "__main__":
    main()
