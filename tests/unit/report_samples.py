"""Synthetic report data for the report tests and bench/report_speed.py (no real photos here).

Faces are drawn with numpy (an oval, eyes, brows, nose, mouth on a gradient background) so they
look like portraits on the rendered pages; ``noise=True`` gives worst-case pictures for JPEG size.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import numpy as np
from PIL import Image

from app.reports.data import (
    CandidateInfo,
    CandidateSummary,
    DisseminationEntry,
    EditStep,
    ExaminerConclusion,
    LeadReportData,
    NoLeadReportData,
    ProbeInfo,
    QualityMeasure,
    ReportFrame,
    RequestInfo,
    ReviewInfo,
    SearchInfo,
    WorksheetRow,
    sha256_hex,
)

BANNER = "INVESTIGATIVE LEAD ONLY - NOT PROBABLE CAUSE TO ARREST"
ADVISORY = (
    "The result of a facial recognition search is an investigative lead only. It is not a "
    "positive identification, it is not probable cause to arrest and it may not be the sole "
    "basis for a warrant. Further investigation is required to corroborate any lead."
)
RESTRICTION = (
    "LAW ENFORCEMENT SENSITIVE: release only to law enforcement personnel with a need to know, "
    "for an authorized purpose. Every release must be recorded."
)
ACKNOWLEDGMENT = (
    "The submitting agency acknowledges in writing that any result is an investigative lead only."
)
SCORE_MEANING = (
    "The score is the cosine similarity of the two face descriptors (higher means more alike); "
    "this model calls scores at or above 0.60 a match candidate."
)
# The FISWG components with the MPTC IV.E.1 features as items of their own.
WORKSHEET_ITEMS = (
    "Skin", "Face/head outline", "Face/head composition", "Hair / hairline", "Forehead",
    "Eyebrows", "Eyes", "Cheeks", "Nose", "Ears", "Mouth", "Lips", "Chin / jawline", "Neck",
    "Facial hair", "Facial lines", "Scars", "Facial marks", "Tattoos", "Alterations", "Other",
)
ANSWERS = ("Similar", "Not similar", "Not visible / undetermined")
T0 = datetime(2026, 3, 14, 15, 9, 27, tzinfo=UTC)


def synthetic_face(seed: int, size: tuple[int, int] = (480, 600), *, noise: bool = False) -> bytes:
    """A PNG portrait (width, height) drawn from ``seed``; ``noise`` makes it incompressible."""
    rng = np.random.default_rng(seed)
    width, height = size
    if noise:
        pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
        return _png(pixels)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    background = rng.uniform(120, 200, 3)
    image = np.ones((height, width, 3), np.float32) * background
    image *= (0.85 + 0.15 * yy / height)[..., None]
    cx, cy = width / 2 + rng.uniform(-10, 10), height * 0.5
    skin = rng.uniform([150, 110, 90], [230, 190, 160])
    face = ((xx - cx) / (width * 0.3)) ** 2 + ((yy - cy) / (height * 0.36)) ** 2 <= 1
    image[face] = skin
    hair = face & (yy < cy - height * 0.22) | (
        (((xx - cx) / (width * 0.33)) ** 2 + ((yy - cy + height * 0.05) / (height * 0.4)) ** 2 <= 1)
        & (yy < cy - height * 0.2)
    )
    image[hair] = rng.uniform(20, 90, 3)
    for side in (-1, 1):
        ex, ey = cx + side * width * 0.12, cy - height * 0.06
        eye = ((xx - ex) / (width * 0.05)) ** 2 + ((yy - ey) / (height * 0.022)) ** 2 <= 1
        image[eye] = (245, 245, 245)
        iris = (xx - ex) ** 2 + (yy - ey) ** 2 <= (width * 0.022) ** 2
        image[iris] = rng.uniform(30, 110, 3)
        brow = (np.abs(yy - (ey - height * 0.05)) < height * 0.009) & (
            np.abs(xx - ex) < width * 0.07
        )
        image[brow] = (50, 40, 35)
    nose = (np.abs(xx - cx) < width * 0.018) & (yy > cy - height * 0.03) & (yy < cy + height * 0.1)
    image[nose] = skin * 0.8
    mouth = ((xx - cx) / (width * 0.1)) ** 2 + ((yy - cy - height * 0.18) / (height * 0.02)) ** 2
    image[mouth <= 1] = (150, 60, 60)
    image += rng.normal(0, 4, image.shape)
    return _png(np.clip(image, 0, 255).astype(np.uint8))


def crop(png: bytes, box: tuple[float, float, float, float]) -> bytes:
    """A PNG crop of ``png``; ``box`` is (left, top, right, bottom) as fractions of the size."""
    with Image.open(io.BytesIO(png)) as picture:
        w, h = picture.size
        region = picture.crop(
            (round(box[0] * w), round(box[1] * h), round(box[2] * w), round(box[3] * h))
        )
        return _png(np.asarray(region.convert("RGB")))


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def frame(paper: str = "letter", **changes: object) -> ReportFrame:
    base = ReportFrame(
        agency="Albany County Sheriff's Office",
        unit="Real Time Crime Center \u2014 Facial Recognition Unit",
        report_number="FRX-2026-000123",
        version=1,
        case_number="2026-CR-004417",
        issued_at=T0 + timedelta(hours=3),
        issued_by="Det. Maria Okonkwo-Hale",
        installation_id="frx-ws-07 (a1b2c3d4)",
        banner_text=BANNER,
        advisory_text=ADVISORY,
        dissemination_restriction=RESTRICTION,
        paper=paper,  # type: ignore[arg-type]
        profile_name="MPTC model policy",
        profile_version="2019-12",
        profile_sha256=sha256_hex(b"profile"),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def request(*, interagency: bool = False, narrative: str | None = None) -> RequestInfo:
    return RequestInfo(
        case_number="2026-CR-004417",
        requesting_officer="Investigator Daniel Brzezinski",
        requesting_agency="Colonie Police Department",
        submitting_agency="Schenectady Police Department" if interagency else None,
        acknowledgment_text=ACKNOWLEDGMENT if interagency else None,
        acknowledgment_recorded_at=T0 - timedelta(days=1) if interagency else None,
        purpose_code="IV.B.1a",
        purpose_wording="Identify a person who has committed a criminal offense",
        offense="Robbery in the second degree (PL 160.10)",
        narrative=narrative
        or (
            "Suspect entered the store at 21:40 and displayed a knife. Still image taken from "
            "the store's CCTV camera 3 (aisle facing the entrance); provided by the store owner."
        ),
    )


def probe(*, edits: int = 2, seed: int = 1, noise: bool = False) -> ProbeInfo:
    original = synthetic_face(seed, noise=noise)
    edited = synthetic_face(seed + 1000, noise=noise) if edits else None
    history = tuple(
        EditStep(
            operation=("Rotate", "Brightness/contrast", "Crop", "Sharpen")[i % 4],
            parameters=("angle = 4.5\u00b0", "brightness +12, contrast +8", "x=40 y=30 w=400 h=520",
                        "radius 1.2, amount 60 %")[i % 4],
            by="Det. Maria Okonkwo-Hale",
            at=T0 - timedelta(minutes=30 - i % 30),
        )
        for i in range(edits)
    )
    return ProbeInfo(
        original_image=original,
        original_sha256=sha256_hex(original),
        edited_image=edited,
        edited_sha256=sha256_hex(edited) if edited else None,
        edit_history=history,
        quality=(
            QualityMeasure("Inter-eye distance", "58 px", "warning",
                           "Below 60 px: fine detail may not be visible."),
            QualityMeasure("Blur (sharpness)", "0.71", "ok", "Sharp enough."),
            QualityMeasure("Pose (yaw / pitch / roll)", "12\u00b0 / -4\u00b0 / 2\u00b0", "ok",
                           "Near frontal."),
            QualityMeasure("Exposure", "0.48", "ok", "Well exposed."),
        ),
    )


def search() -> SearchInfo:
    return SearchInfo(
        model_name="dlib ResNet face descriptor (ONNX)",
        model_version="1.0.0",
        model_sha256=sha256_hex(b"model"),
        index_generation=42,
        k=50,
        ef=200,
        threshold=0.6,
        searched_at=T0,
        searched_by="Det. Maria Okonkwo-Hale",
        candidates_returned=50,
        score_meaning=SCORE_MEANING,
    )


def candidate(rank: int, *, noise: bool = False) -> CandidateInfo:
    return CandidateInfo(
        rank=rank,
        score=round(0.83 - 0.04 * rank, 3),
        subject_reference=f"SUBJ-{880000 + 17 * rank}",
        photo_date=date(2023, 5, rank),
        source_type_label="Arrest photograph",
        source_reference=f"ARR-2023-{51200 + rank}",
        most_recent_photo_date=date(2025, 1, 10 + rank),
        image=synthetic_face(100 + rank, noise=noise),
    )


_REGIONS = (
    (0.2, 0.1, 0.8, 0.5), (0.15, 0.15, 0.85, 0.9), (0.1, 0.1, 0.9, 0.9), (0.2, 0.05, 0.8, 0.35),
    (0.25, 0.15, 0.75, 0.35), (0.25, 0.32, 0.75, 0.45), (0.25, 0.38, 0.75, 0.5),
    (0.15, 0.45, 0.45, 0.7), (0.38, 0.42, 0.62, 0.65), (0.05, 0.35, 0.25, 0.65),
    (0.35, 0.62, 0.65, 0.75), (0.38, 0.64, 0.62, 0.73), (0.25, 0.7, 0.75, 0.9),
)


def worksheet(
    rows: int = len(WORKSHEET_ITEMS), *, crops: bool = True, probe_png: bytes | None = None,
    candidate_png: bytes | None = None, note: str = "",
) -> tuple[WorksheetRow, ...]:
    probe_png = probe_png or synthetic_face(1)
    candidate_png = candidate_png or synthetic_face(101)
    result = []
    for i in range(rows):
        label = WORKSHEET_ITEMS[i % len(WORKSHEET_ITEMS)]
        if i >= len(WORKSHEET_ITEMS):
            label = f"{label} ({i // len(WORKSHEET_ITEMS) + 1})"
        region = _REGIONS[i % len(_REGIONS)]
        result.append(
            WorksheetRow(
                item_label=label,
                answer_label=ANSWERS[i % 3],
                note=note or (f"Observation on {label.lower()}." if i % 2 == 0 else ""),
                probe_crop=crop(probe_png, region) if crops and i % 7 != 6 else None,
                candidate_crop=crop(candidate_png, region) if crops and i % 7 != 6 else None,
            )
        )
    return tuple(result)


def examiner() -> ExaminerConclusion:
    return ExaminerConclusion(
        name="Det. Maria Okonkwo-Hale", conclusion_label="Possible lead",
        at=T0 + timedelta(hours=1), time_spent_seconds=1985,
    )


def review() -> ReviewInfo:
    return ReviewInfo(
        reviewer_name="Sgt. Thomas Lindqvist", conclusion_label="Possible lead",
        at=T0 + timedelta(hours=2), agrees=True,
    )


def dissemination() -> tuple[DisseminationEntry, ...]:
    return (
        DisseminationEntry(
            recipient_agency="Colonie Police Department", official="Investigator Daniel Brzezinski",
            need_to_know="Assigned investigator of case 2026-CR-004417", method="Secure e-mail",
            at=T0 + timedelta(hours=4), by="Det. Maria Okonkwo-Hale",
        ),
    )


def lead_data(
    *, paper: str = "letter", candidates: int = 1, rows: int = len(WORKSHEET_ITEMS),
    crops: bool = True, edits: int = 2, interagency: bool = False, skipped: bool = False,
    narrative: str | None = None, noise: bool = False, released: bool = False,
) -> LeadReportData:
    the_probe = probe(edits=edits, noise=noise)
    shown = tuple(candidate(rank, noise=noise) for rank in range(1, candidates + 1))
    return LeadReportData(
        frame=frame(paper),
        request=request(interagency=interagency, narrative=narrative),
        probe=the_probe,
        search=search(),
        candidates=shown,
        worksheet=worksheet(
            rows, crops=crops, probe_png=the_probe.original_image, candidate_png=shown[0].image
        ),
        examiner=examiner(),
        review=None if skipped else review(),
        review_skipped_reason=(
            "the only other trained examiner is on leave until 2026-04-01" if skipped else None
        ),
        dissemination=dissemination() if released else (),
    )


def no_lead_data(
    *, paper: str = "letter", reviewed: int = 5, skipped: bool = False, edits: int = 0
) -> NoLeadReportData:
    return NoLeadReportData(
        frame=frame(paper, report_number="FRX-2026-000124"),
        request=request(),
        probe=probe(edits=edits),
        search=search(),
        candidates_reviewed=reviewed,
        summaries=tuple(
            CandidateSummary(rank, f"SUBJ-{880000 + 17 * rank}", "Not a lead")
            for rank in range(1, reviewed + 1)
        ),
        examiner=replace(examiner(), conclusion_label="No lead"),
        review=None if skipped else replace(review(), conclusion_label="No lead"),
        review_skipped_reason="no second examiner on duty this week" if skipped else None,
    )
