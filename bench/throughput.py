"""Engine throughput per stage and end to end, against the face_recognition defaults, in one run.

    .venv/bin/python bench/throughput.py [--images DIR] [--count 128] [--workers 2]

Photos: the first ``--count`` LFW photos in name order, read into memory first (no disk in the
timings). Each figure is the best of two timed passes after a warm-up.

Stages, one process (onnxruntime with 2 threads): decode (bytes -> RGB), detect (MediaPipe, whole
picture and tiles), mesh (478 points around the face nearest the centre), align (five points ->
chip), embed at batch 1 and batch 32 (faces/s; with the pipeline's mirror averaging each face is
two chips), describe (mesh + align + quality + regions + embedding, as the workstation does).

End to end, photos/s: bytes -> decode -> detect -> describe the face nearest the centre (mesh,
align, quality, batched embedding; no feature regions, as in the bulk import) on ``--workers``
processes (onnxruntime 1 thread each), against the reference pipeline
on the same photos and the same number of processes: face_recognition's defaults via dlib-bin
(decode with Pillow, HOG detector upsampling once, 5-point landmarks, descriptor num_jitters=1).

Required stages: on one thread, per photo, wall and CPU time of only what the issue requires
(decode, MediaPipe's full-range detector on the whole picture, the face mesh, alignment, quality,
one chip through the default model at batch 32), without anything the product adds (short-range
pass, tiles, the mirror chip). The reference's CPU time per photo divided by their sum is the
most any pipeline made of these parts could reach against the reference.

Peak memory: resident high-water mark (VmHWM) of a fresh process that loads the engine with the
default model and describes 64 photos end to end (target < 1 GB).

Last line: ``ratio <ours end-to-end photos/s / reference photos/s>``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.lfw_common import LFW_IMAGES, peak_rss_mib, quiet_native_logs

BATCH = 32


def _best_rate(work: Callable[[], object], items: int, repeat: int = 2) -> float:
    work()  # warm-up
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return items / best


def _photos(images: Path, count: int) -> list[bytes]:
    return [p.read_bytes() for p in sorted(images.glob("*/*.jpg"))[:count]]


# ----------------------------------------------------------------------------- ours


class Ours:
    def __init__(self, models_dir: Path, threads: int) -> None:
        from app.engine.models import install_default_model, load_embedder
        from app.engine.pipeline import FacePipeline

        manifest = install_default_model(models_dir)
        self.embedder = load_embedder(models_dir, manifest.name, threads=threads, batch_size=BATCH)
        self.pipeline = FacePipeline(self.embedder)

    def end_to_end(self, photos: list[bytes]) -> int:
        """Describe the face nearest the centre of every photo; returns the faces described."""
        from app.engine.detect import face_nearest_center
        from app.engine.images import decode_image

        described = 0
        for start in range(0, len(photos), BATCH):
            items = []
            for data in photos[start : start + BATCH]:
                rgb = decode_image(data).rgb
                face = face_nearest_center(self.pipeline.detect(rgb))
                if face is not None:
                    items.append((rgb, face))
            # As the bulk import does: feature regions are outlined when a face is compared.
            descriptions = self.pipeline.describe_batch(items, with_regions=False)
            described += sum(d.embedding is not None for d in descriptions)
        return described


def _chips(meshed: list[tuple[Any, Any]], alignment: Any) -> list[Any]:
    """The aligned chip of each (photo, mesh), as the pipeline cuts it."""
    from app.engine.align import align_chip
    from app.engine.landmarks import five_points, named_points

    return [
        align_chip(rgb, five_points(named_points(mesh), alignment.points), alignment)
        for rgb, mesh in meshed
    ]


def stage_rates(photos: list[bytes], models_dir: Path) -> dict[str, float]:
    from app.engine.detect import face_nearest_center
    from app.engine.images import decode_image

    ours = Ours(models_dir, threads=2)
    pipeline, embedder = ours.pipeline, ours.embedder
    alignment = pipeline.alignment
    assert alignment is not None
    n = len(photos)
    rates: dict[str, float] = {}
    rates["decode"] = _best_rate(lambda: [decode_image(d) for d in photos], n)
    rgbs = [decode_image(d).rgb for d in photos]
    rates["detect"] = _best_rate(lambda: [pipeline.detect(rgb) for rgb in rgbs], n)
    pairs = [(rgb, face_nearest_center(pipeline.detect(rgb))) for rgb in rgbs]
    found = [(rgb, face) for rgb, face in pairs if face is not None]
    mesher = pipeline.mesher
    rates["mesh"] = _best_rate(lambda: [mesher.mesh(rgb, face) for rgb, face in found], len(found))
    meshed = [(rgb, mesh) for rgb, face in found if (mesh := mesher.mesh(rgb, face)) is not None]
    rates["align"] = _best_rate(lambda: _chips(meshed, alignment), len(meshed))
    chips = np.stack(_chips(meshed, alignment))
    chips = np.concatenate([chips] * max(1, -(-256 // len(chips))))[:256]
    per_face = 2 if pipeline.mirror_average else 1
    for batch in (1, BATCH):
        embedder.batch_size = batch
        rates[f"embed batch {batch} (chips/s)"] = _best_rate(
            lambda: embedder.embed(chips), len(chips)
        )
        rates[f"embed batch {batch} (faces/s)"] = rates[f"embed batch {batch} (chips/s)"] / per_face
    embedder.batch_size = BATCH
    rates["describe (one face at a time)"] = _best_rate(
        lambda: [pipeline.describe(rgb, face) for rgb, face in found], len(found)
    )
    rates["end to end (one process)"] = _best_rate(lambda: ours.end_to_end(photos), n)
    rates["faces found"] = len(found) / n
    rates["mirror"] = float(pipeline.mirror_average)
    return rates


def _cost_ms(work: Callable[[], object], items: int) -> tuple[float, float]:
    """Wall and CPU (all threads of this process) milliseconds per item, after a warm-up."""
    work()
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return (
        (time.perf_counter() - wall) / items * 1e3,
        (time.process_time() - cpu) / items * 1e3,
    )


def required_stage_costs(photos: list[bytes], models_dir: Path) -> dict[str, tuple[float, float]]:
    """Per photo, on one thread: only the stages the issue itself requires, nothing the product
    adds (no short-range pass, tiles, mirror chip). Their sum bounds how fast any
    pipeline built on these components can be on this machine."""
    from mediapipe.python.solutions import face_detection

    from app.engine.detect import face_nearest_center
    from app.engine.images import decode_image
    from app.engine.quality import assess_quality

    ours = Ours(models_dir, threads=1)
    pipeline, embedder = ours.pipeline, ours.embedder
    alignment = pipeline.alignment
    assert alignment is not None
    rgbs = [decode_image(d).rgb for d in photos]
    found = [(rgb, face_nearest_center(pipeline.detect(rgb))) for rgb in rgbs]
    faces = [(rgb, face) for rgb, face in found if face is not None]
    meshed = [
        (rgb, face, mesh)
        for rgb, face in faces
        if (mesh := pipeline.mesher.mesh(rgb, face)) is not None
    ]
    pairs = [(rgb, mesh) for rgb, _, mesh in meshed]
    chips = np.stack(_chips(pairs, alignment))
    costs: dict[str, tuple[float, float]] = {}
    costs["decode"] = _cost_ms(lambda: [decode_image(d) for d in photos], len(photos))
    with face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5) as full:
        costs["full-range detection"] = _cost_ms(
            lambda: [full.process(rgb) for rgb in rgbs], len(rgbs)
        )
    costs["face mesh"] = _cost_ms(
        lambda: [pipeline.mesher.mesh(rgb, face) for rgb, face in faces], len(faces)
    )
    costs["align"] = _cost_ms(lambda: _chips(pairs, alignment), len(pairs))
    costs["quality"] = _cost_ms(
        lambda: [assess_quality(rgb, face, mesh) for rgb, face, mesh in meshed], len(meshed)
    )
    embedder.batch_size = BATCH
    costs["one chip, default model"] = _cost_ms(lambda: embedder.embed(chips), len(chips))
    return costs


# ----------------------------------------------------------------------------- reference


class Reference:
    def __init__(self) -> None:
        from bench.lfw_common import ReferenceDescriber

        self.describer = ReferenceDescriber()

    def end_to_end(self, photos: list[bytes]) -> int:
        import io

        from PIL import Image

        described = 0
        for data in photos:
            # face_recognition.load_image_file: Pillow, converted to RGB, as an array
            rgb = np.array(Image.open(io.BytesIO(data)).convert("RGB"))
            described += self.describer(rgb).status == "ok"
        return described


# ----------------------------------------------------------------------------- workers

_WORKER: dict[str, Any] = {}


def _init(kind: str, models_dir: str) -> None:
    quiet_native_logs()
    _WORKER["engine"] = Ours(Path(models_dir), threads=1) if kind == "ours" else Reference()


def _work(photos: list[bytes]) -> int:
    engine: Ours | Reference = _WORKER["engine"]
    return engine.end_to_end(photos)


def parallel_rate(kind: str, photos: list[bytes], workers: int, models_dir: Path) -> float:
    """Photos/s of ``workers`` processes sharing the photos (after each has warmed up)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    chunks = [photos[i::workers] for i in range(workers)]
    with context.Pool(workers, _init, (kind, str(models_dir))) as pool:
        pool.map(_work, [c[:4] for c in chunks], chunksize=1)  # warm-up, one chunk per worker
        best = float("inf")
        for _ in range(2):
            start = time.perf_counter()
            pool.map(_work, chunks, chunksize=1)
            best = min(best, time.perf_counter() - start)
    return len(photos) / best


def memory_child(images: Path, models_dir: Path) -> None:
    ours = Ours(models_dir, threads=2)
    ours.end_to_end(_photos(images, 64))
    sys.stdout.write(f"{peak_rss_mib():.1f}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=LFW_IMAGES)
    parser.add_argument("--count", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child is not None:
        memory_child(args.images, args.memory_child)
        return

    out = sys.stdout
    photos = _photos(args.images, args.count)
    with tempfile.TemporaryDirectory() as scratch:
        models_dir = Path(scratch) / "models"
        from app.engine.models import install_default_model

        install_default_model(models_dir)
        out.write(f"{len(photos)} LFW photos; cores: {os.cpu_count()}\n")
        out.flush()
        rates = stage_rates(photos, models_dir)
        reference = Reference()
        ref_wall_ms, ref_cpu_ms = _cost_ms(lambda: reference.end_to_end(photos), len(photos))
        ref_one = 1e3 / ref_wall_ms
        required = required_stage_costs(photos, models_dir)
        ours_par = parallel_rate("ours", photos, args.workers, models_dir)
        ref_par = parallel_rate("reference", photos, args.workers, models_dir)
        memory = subprocess.run(
            [
                sys.executable,
                __file__,
                "--images",
                str(args.images),
                "--memory-child",
                str(models_dir),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[-1]

    out.write(
        f"faces found: {rates.pop('faces found'):.3f} of photos; mirror averaging: "
        f"{'on (two chips per face)' if rates.pop('mirror') else 'off'}\n\n"
    )
    out.write("stage rates, one process (photos/s unless stated):\n")
    for name, rate in rates.items():
        out.write(f"  {name:<32}{rate:>9.1f}\n")
    out.write(f"  {'reference end to end (one process)':<32}{ref_one:>9.1f}\n")
    one_ratio = rates["end to end (one process)"] / ref_one
    out.write(f"  end to end one process, ours / reference: {one_ratio:.2f}\n\n")
    out.write("required stages alone, one thread (ms a photo, wall / CPU):\n")
    for name, (wall_ms, cpu_ms) in required.items():
        out.write(f"  {name:<32}{wall_ms:>7.2f} / {cpu_ms:.2f}\n")
    floor_cpu = sum(cpu_ms for _, cpu_ms in required.values())
    out.write(
        f"  sum {floor_cpu:.2f} ms CPU; the reference takes {ref_cpu_ms:.2f} ms CPU a photo, so "
        f"no pipeline made of these stages can exceed {ref_cpu_ms / floor_cpu:.1f}x the "
        "reference on the same cores\n\n"
    )
    out.write(f"end to end on {args.workers} processes (photos/s):\n")
    out.write(f"  ours {ours_par:.1f}, reference {ref_par:.2f}\n")
    out.write(
        f"peak memory of the engine with the default model: {float(memory):.0f} MiB "
        f"(target < 1024)\n"
    )
    out.write(
        f"embedding at batch {BATCH}: {rates[f'embed batch {BATCH} (faces/s)']:.0f} faces/s "
        "(target >= 300)\n"
    )
    out.write(f"ratio {ours_par / ref_par:.2f}\n")


if __name__ == "__main__":
    main()
