"""Time building a lead report with 2 candidates and a full worksheet (run by hand).

    .venv/bin/python -m bench.report_speed [--runs 5] [--synthetic]

Uses real LFW photos from ../shared/data (probe, two candidates, region crops cut with Pillow)
unless --synthetic or the folder is missing. Prints the median time per report, the file size,
and both as ratios against a reference measured in the same run: a one-page reportlab document
with one photograph. Targets: <= 1 s and <= 5 MB per report. The last line is `seconds <median>`.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

from PIL import Image
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.units import inch
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "unit"))

import report_samples as rs  # noqa: E402  (the tests' synthetic report data)

from app.reports.data import LeadReportData, ProbeInfo, sha256_hex  # noqa: E402
from app.reports.lead_report import build_lead_report  # noqa: E402

LFW = Path(os.environ.get("FRX_SHARED_DATA", REPO.parent / "shared" / "data")) / "lfw-devtrain"
TARGET_SECONDS = 1.0
TARGET_BYTES = 5 * 1024 * 1024


def _lfw_photos() -> list[bytes] | None:
    folder = LFW / "images"
    if not folder.is_dir():
        return None
    photos = sorted(folder.glob("*/*.jpg"))[:3]
    return [p.read_bytes() for p in photos] if len(photos) == 3 else None


def _report_data(photos: list[bytes] | None) -> tuple[LeadReportData, str]:
    data = rs.lead_data(candidates=2, interagency=True, released=True)
    if photos is None:
        return data, "synthetic faces"
    probe_bytes, first, second = photos
    probe = ProbeInfo(
        original_image=probe_bytes, original_sha256=sha256_hex(probe_bytes),
        edited_image=data.probe.edited_image, edited_sha256=data.probe.edited_sha256,
        edit_history=data.probe.edit_history, quality=data.probe.quality,
    )
    candidates = (
        replace(data.candidates[0], image=first),
        replace(data.candidates[1], image=second),
    )
    worksheet = rs.worksheet(probe_png=probe_bytes, candidate_png=first)
    return replace(data, probe=probe, candidates=candidates, worksheet=worksheet), "LFW photos"


def _as_jpeg(photo: bytes) -> bytes:
    """The photo as a JPEG (reportlab embeds JPEG as is), so the reference does no image work."""
    with Image.open(io.BytesIO(photo)) as picture:
        buffer = io.BytesIO()
        picture.convert("RGB").save(buffer, format="JPEG", quality=85)
        return buffer.getvalue()


def _reference(photo: bytes) -> bytes:
    """One page, one JPEG photograph, one line of text: a minimal reportlab document."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=LETTER, invariant=1)
    canvas.drawString(inch, 10 * inch, "Reference page")
    canvas.drawImage(ImageReader(io.BytesIO(photo)), inch, 6 * inch, 2 * inch, 2.5 * inch)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _median_seconds(build: object, runs: int) -> tuple[float, bytes]:
    assert callable(build)
    times, result = [], b""
    for _ in range(runs):
        start = time.perf_counter()
        result = build()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--synthetic", action="store_true", help="do not use LFW photos")
    args = parser.parse_args()
    photos = None if args.synthetic else _lfw_photos()
    data, source = _report_data(photos)
    build_lead_report(data)  # warm-up: fonts, imports
    reference_photo = _as_jpeg(data.candidates[0].image)
    reference_seconds, reference_pdf = _median_seconds(
        lambda: _reference(reference_photo), args.runs
    )
    seconds, pdf = _median_seconds(lambda: build_lead_report(data), args.runs)
    print(f"lead report: 2 candidates, {len(data.worksheet)} worksheet rows with crops, {source}")
    print(f"runs: {args.runs} (median)")
    print(f"reference (1 page, 1 JPEG photo): {reference_seconds * 1000:.1f} ms, "
          f"{len(reference_pdf) / 1e6:.3f} MB")
    print(f"lead report: {seconds * 1000:.0f} ms per report, {len(pdf) / 1e6:.3f} MB")
    print(f"ratio time to reference: {seconds / reference_seconds:.1f}x; "
          f"ratio size to reference: {len(pdf) / len(reference_pdf):.1f}x")
    time_verdict = "met" if seconds <= TARGET_SECONDS else "MISSED"
    size_verdict = "met" if len(pdf) <= TARGET_BYTES else "MISSED"
    print(f"targets: <= {TARGET_SECONDS:.0f} s ({time_verdict}), "
          f"<= {TARGET_BYTES / 1024 / 1024:.0f} MB ({size_verdict})")
    print(f"seconds {seconds:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
