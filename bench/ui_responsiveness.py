"""How fluid the comparison screen is (run by hand, offscreen).

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m bench.ui_responsiveness [--frames 120]

Prints:
- zoom/pan frames per second of the synchronised side-by-side view (both panes repainted per
  frame) with a 4000x3000 probe, and as a ratio against the same run with a 640x480 probe
  (the reference, measured in the same process). Target: >= 30 fps.
- switching candidate on a screen with 50 candidates (median and worst, ms). Target: <= 100 ms.
- building the screen with 50 candidates until its first paint (ms).
The last line is `fps <value>` (the 4000x3000 figure). Uses LFW photos from ../shared/data when
present, else synthetic faces.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PIL import Image
from PySide6.QtWidgets import QApplication

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "ui"))  # the tests' synthetic and LFW face helpers

from comparison_faces import lfw_face, synthetic_face, worksheet_items  # noqa: E402

from app.ui.comparison.model import CandidateView, FaceSide  # noqa: E402
from app.ui.comparison.qt_comparison_screen import QtComparisonScreen  # noqa: E402
from app.ui.comparison.qt_comparison_view import QtComparisonView  # noqa: E402

LFW = Path(os.environ.get("FRX_SHARED_DATA", REPO.parent / "shared" / "data")) / "lfw-devtrain"


def scaled_face(face: FaceSide, width: int, height: int, label: str) -> FaceSide:
    """The face resized to width x height (markup scaled with it)."""
    sx, sy = width / face.width, height / face.height
    image = np.asarray(Image.fromarray(face.image).resize((width, height), Image.BICUBIC))
    (x1, y1), (x2, y2) = face.eye_points or ((0, 0), (1, 0))
    regions = {
        name: type(region)(region.polygon * (sx, sy),
                           (region.box[0] * sx, region.box[1] * sy, region.box[2] * sx,
                            region.box[3] * sy), region.estimated)
        for name, region in face.regions.items()
    }
    landmarks = None if face.landmarks is None else face.landmarks * (sx, sy)
    return FaceSide(image.copy(), label, ((x1 * sx, y1 * sy), (x2 * sx, y2 * sy)), landmarks,
                    regions)


def source_faces(count: int) -> list[FaceSide]:
    folder = LFW / "images"
    if folder.is_dir():
        paths = sorted(folder.glob("*/*_0001.jpg"))[:count]
        if len(paths) == count:
            return [lfw_face(p) for p in paths]
    return [synthetic_face(angle_deg=(i % 9) - 4, label=f"syn{i}") for i in range(count)]


def candidates(faces: list[FaceSide]) -> list[CandidateView]:
    return [CandidateView(i + 1, f"0.{80 - i // 2:02d}", "similarity", f"REF-{i}",
                          date(2015, 1, 1), date(2020, 1, 1), face=face)
            for i, face in enumerate(faces)]


def zoom_pan_fps(app: QApplication, probe: FaceSide, candidate: FaceSide, frames: int) -> float:
    view = QtComparisonView()
    view.resize(1400, 800)
    view.set_probe(probe)
    view.set_candidate(candidate)
    view.show()
    app.processEvents()
    view.fit_face()
    panes = (view.probe_pane, view.candidate_pane)
    for pane in panes:  # warm up: pyramid levels, glyph caches
        pane.viewport().repaint()
    # From the fitted face to ~30x and back (every pyramid level, then full resolution magnified),
    # with pans in between.
    steps = []
    for i in range(frames):
        phase = i % 60
        if phase < 25:
            steps.append(lambda: view.probe_pane.zoom_by(1.15))
        elif phase < 30:
            steps.append(lambda: view.probe_pane.pan_by(9, 5))
        elif phase < 55:
            steps.append(lambda: view.probe_pane.zoom_by(1 / 1.15))
        else:
            steps.append(lambda: view.probe_pane.pan_by(-9, -5))
    start = time.perf_counter()
    for step in steps:
        step()
        for pane in panes:
            pane.viewport().repaint()
    elapsed = time.perf_counter() - start
    view.close()
    view.deleteLater()
    app.processEvents()
    return frames / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=120)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)

    faces = source_faces(50)
    base = faces[0]
    big = scaled_face(base, 4000, 3000, "probe 4000x3000")
    small = scaled_face(base, 640, 480, "probe 640x480")
    candidate = scaled_face(faces[1], 480, 600, "candidate 480x600")

    reference = zoom_pan_fps(app, small, candidate, args.frames)
    fps = zoom_pan_fps(app, big, candidate, args.frames)
    print(f"zoom/pan, 2 panes 700x770 each: 640x480 probe {reference:.1f} fps (reference), "
          f"4000x3000 probe {fps:.1f} fps = {fps / reference:.2f} x reference (target >= 30 fps)")

    items = worksheet_items()
    start = time.perf_counter()
    screen = QtComparisonScreen()
    screen.resize(1600, 1000)
    screen.load(probe=big, items=items, candidates=candidates(faces))
    screen.show()
    app.processEvents()
    screen.repaint()
    build = time.perf_counter() - start
    print(f"build screen with 50 candidates (4000x3000 probe) until first paint: "
          f"{build * 1000:.0f} ms")

    screen.view.probe_pane.zoom_by(2.0)
    times = []
    for i in range(1, 50):
        t0 = time.perf_counter()
        screen.go_to_candidate(i)
        app.processEvents()
        screen.repaint()
        times.append(time.perf_counter() - t0)
    median, worst = statistics.median(times), max(times)
    print(f"switch candidate (zoom kept, strip and worksheet rebuilt, repainted): median "
          f"{median * 1000:.1f} ms, worst {worst * 1000:.1f} ms (target <= 100 ms); "
          f"median = {median * fps:.2f} zoom/pan frames")
    print(f"fps {fps:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
