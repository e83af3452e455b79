"""Benchmark of the converted dlib face descriptor against dlib itself (run by hand).

    .venv/bin/python -m bench.bench_face_models [--faces 64] [--threads 2]

Prints: conversion time; faces per second of dlib (the reference) and of the ONNX embedder at
batch 1 and 32, as ratios to dlib; the peak resident memory of a process that only loads the
embedder and embeds (measured in a child process, so nothing else is counted).
Needs the test extras (dlib-bin) and ../shared/data (LFW photos for real chips).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from app.engine.align import align_chip, dlib_template
from app.engine.dlib_convert import convert_dlib_resnet
from app.engine.models import find_dlib_model_files, install_default_model, load_embedder

REPO = Path(__file__).resolve().parent.parent
LFW = Path(os.environ.get("FRX_SHARED_DATA", REPO.parent / "shared" / "data")) / "lfw-devtrain"


def _lfw_chips(count: int) -> np.ndarray:
    import dlib
    from PIL import Image

    _dat, shape5 = find_dlib_model_files()
    detector, predictor = dlib.get_frontal_face_detector(), dlib.shape_predictor(str(shape5))
    order = [2, 3, 1, 0, 4]  # dlib's parts -> dlib_template().points
    chips = []
    for person in sorted((LFW / "images").iterdir())[::7]:
        rgb = np.asarray(Image.open(person / f"{person.name}_0001.jpg").convert("RGB"))
        found = detector(rgb, 1)
        if not found:
            continue
        shape = predictor(rgb, found[0])
        points = np.array([(p.x, p.y) for p in shape.parts()], float)[order]
        chips.append(align_chip(rgb, points, dlib_template()))
        if len(chips) == count:
            break
    return np.stack(chips)


def _rate(fn: object, chips: np.ndarray, batch: int, repeat: int = 2) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for i in range(0, len(chips), batch):
            fn(chips[i : i + batch])  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return len(chips) / best


def _peak_kib() -> int:
    # VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork and exec.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child_peak_memory(models_dir: Path, threads: int, batch: int) -> None:
    if batch == 0:  # baseline: the interpreter and the imported libraries only
        sys.stdout.write(f"{_peak_kib()}\n")
        return
    embedder = load_embedder(models_dir, "dlib-resnet-v1", threads=threads, batch_size=batch)
    chips = np.random.default_rng(0).integers(0, 256, (256, 150, 150, 3), dtype=np.uint8)
    embedder.embed(chips)
    sys.stdout.write(f"{_peak_kib()}\n")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--faces", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child_peak_memory(Path(args.child[0]), int(args.child[1]), int(args.child[2]))
        return 0

    import dlib

    dat, _ = find_dlib_model_files()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        convert_dlib_resnet(dat, Path(tmp) / "m.onnx")
        convert_s = time.perf_counter() - start
        models_dir = Path(tmp) / "models"
        install_default_model(models_dir)
        print(f"conversion of the .dat to ONNX: {convert_s:.2f} s")

        chips = _lfw_chips(args.faces)
        recogniser = dlib.face_recognition_model_v1(str(dat))
        dlib_1 = _rate(lambda c: recogniser.compute_face_descriptor(c[0]), chips, 1, repeat=1)
        dlib_32 = _rate(lambda c: recogniser.compute_face_descriptor(list(c)), chips, 32, repeat=1)
        print(f"dlib (reference): {dlib_1:.1f} faces/s at batch 1, {dlib_32:.1f} at batch 32")
        for batch in (1, 32):
            embedder = load_embedder(
                models_dir, "dlib-resnet-v1", threads=args.threads, batch_size=batch
            )
            embedder.embed(chips[:batch])  # warm-up
            rate = _rate(embedder.embed, chips, batch)
            reference = dlib_1 if batch == 1 else dlib_32
            print(
                f"ONNX embedder, batch {batch}, {args.threads} threads: {rate:.1f} faces/s "
                f"= {rate / reference:.1f}x dlib"
            )
        for batch in (0, 1, 32):
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.bench_face_models",
                    "--child",
                    str(models_dir),
                    str(args.threads),
                    str(batch),
                ],
                capture_output=True,
                text=True,
                check=True,
                cwd=REPO,
            )
            what = f"embedding 256 chips at batch {batch}" if batch else "importing only"
            print(f"peak RSS of a process {what}: {int(out.stdout.strip()) / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
