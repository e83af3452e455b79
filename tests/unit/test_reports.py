"""Lead and no-lead PDF reports: every page's banner, footer and page numbers, every printed field,
paper sizes, file size, determinism, metadata, data round trip and refusals.

The PDFs are read back with poppler-utils (pdftotext, pdfinfo, pdfimages, pdftoppm), which the
tests require: they fail with an install hint, never skip, when poppler is missing.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tempfile
import weakref
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import report_samples as rs
from PIL import Image
from reportlab.lib.units import inch
from reportlab.platypus import Paragraph, Spacer

from app.errors import ConfigurationError, ImageError, IntegrityError, PolicyViolation
from app.reports.data import (
    CandidateInfo,
    LeadReportData,
    NoLeadReportData,
    ProbeInfo,
    content_fingerprint,
    sha256_hex,
)
from app.reports.frame import build_pdf, geometry, styles
from app.reports.images import PRINT_DPI, PrintedImage, prepare_image
from app.reports.lead_report import build_lead_report
from app.reports.no_lead_report import build_no_lead_report

POPPLER_TOOLS = ("pdftotext", "pdfinfo", "pdfimages", "pdftoppm")
MAX_REPORT_BYTES = 5 * 1024 * 1024


# --------------------------------------------------------------------------------------------
# Reading PDFs back


@pytest.fixture(scope="session", autouse=True)
def poppler() -> None:
    missing = [tool for tool in POPPLER_TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"The report tests need poppler-utils ({', '.join(missing)} not found): "
            "run `apt-get install -y poppler-utils`.",
            pytrace=False,
        )


class Pdf:
    """A built PDF and what poppler reads from it (computed once, on demand)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._folder = Path(tempfile.mkdtemp(prefix="frx-report-test-"))
        weakref.finalize(self, shutil.rmtree, self._folder, True)
        self.path = self._folder / "report.pdf"
        self.path.write_bytes(data)
        self._pages: list[str] | None = None
        self._layout_pages: list[str] | None = None
        self._info: dict[str, str] | None = None

    def _run(self, *arguments: str) -> str:
        result = subprocess.run(
            [*arguments], capture_output=True, text=True, check=True, timeout=60
        )
        return result.stdout

    def _split(self, output: str) -> list[str]:
        pages = output.split("\f")
        assert pages[-1].strip() == ""
        return pages[:-1]

    @property
    def pages(self) -> list[str]:
        """Text of each page (reading order)."""
        if self._pages is None:
            self._pages = self._split(self._run("pdftotext", str(self.path), "-"))
        return self._pages

    @property
    def layout_pages(self) -> list[str]:
        """Text of each page with the physical layout kept (table rows on one line)."""
        if self._layout_pages is None:
            self._layout_pages = self._split(
                self._run("pdftotext", "-layout", str(self.path), "-")
            )
        return self._layout_pages

    def band(self, top: float, height: float) -> list[str]:
        """Text of a horizontal band of every page, ``top`` points below the top edge."""
        width = int(self.info["Page size"].split()[0].split(".")[0]) + 1
        output = self._run(
            "pdftotext", "-x", "0", "-y", str(int(top)), "-W", str(width), "-H",
            str(int(height)), str(self.path), "-",
        )
        return self._split(output)

    @property
    def info(self) -> dict[str, str]:
        if self._info is None:
            lines = self._run("pdfinfo", str(self.path)).splitlines()
            pairs = (line.split(":", 1) for line in lines)
            self._info = {key.strip(): value.strip() for key, value in pairs}
        return self._info

    @property
    def page_count(self) -> int:
        return int(self.info["Pages"])

    def page_sizes(self) -> list[tuple[float, float]]:
        output = self._run("pdfinfo", "-f", "1", "-l", str(self.page_count), str(self.path))
        sizes = re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", output)
        return [(float(w), float(h)) for w, h in sizes]

    def images(self) -> list[dict[str, str]]:
        """pdfimages -list rows: one per image drawn (page, width, height, enc, x-ppi...)."""
        lines = self._run("pdfimages", "-list", str(self.path)).splitlines()
        header = lines[0].split()
        return [dict(zip(header, line.split(), strict=False)) for line in lines[2:]]

    def render(self, page: int, dpi: int) -> np.ndarray:
        out = self._folder / f"page-{page}-{dpi}"
        self._run(
            "pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png",
            "-singlefile", str(self.path), str(out),
        )
        with Image.open(f"{out}.png") as picture:
            return np.asarray(picture.convert("RGB"))

    @property
    def text(self) -> str:
        return "\n".join(self.pages)


def squash(value: str) -> str:
    """Without any whitespace: table cells and wrapped lines compare regardless of layout."""
    return re.sub(r"\s+", "", value)


def assert_printed(pdf: Pdf, *values: object) -> None:
    text = squash(pdf.text)
    missing = [str(v) for v in values if squash(str(v)) not in text]
    assert not missing, f"not printed: {missing}"


# --------------------------------------------------------------------------------------------
# Reports built once per session


@pytest.fixture(scope="session")
def lead_two_candidates_data() -> LeadReportData:
    return rs.lead_data(candidates=2, interagency=True, released=True)


@pytest.fixture(scope="session")
def lead_two_candidates(lead_two_candidates_data: LeadReportData) -> Pdf:
    return Pdf(build_lead_report(lead_two_candidates_data))


@pytest.fixture(scope="session")
def short_lead() -> Pdf:
    return Pdf(build_lead_report(rs.lead_data(rows=3, crops=False, edits=0)))


@pytest.fixture(scope="session")
def long_lead_data() -> LeadReportData:
    narrative = "\n".join(
        f"Paragraph {i}: the witness described the events near the entrance in detail, "
        "including the clothing, the direction of travel and the vehicle that was used."
        for i in range(1, 80)
    )
    return rs.lead_data(rows=63, edits=40, narrative=narrative)


@pytest.fixture(scope="session")
def long_lead(long_lead_data: LeadReportData) -> Pdf:
    return Pdf(build_lead_report(long_lead_data))


@pytest.fixture(scope="session")
def no_lead_data() -> NoLeadReportData:
    return rs.no_lead_data(reviewed=5, skipped=True)


@pytest.fixture(scope="session")
def no_lead(no_lead_data: NoLeadReportData) -> Pdf:
    return Pdf(build_no_lead_report(no_lead_data))


@pytest.fixture(scope="session")
def one_page() -> Pdf:
    """The page furniture on a document of one page (every real report is longer)."""
    frame = rs.frame()
    story = [Paragraph("A short document.", styles().body)]
    return Pdf(build_pdf(frame, fingerprint="ab" * 32, document_title="Test", pdf_title="Test",
                         story=story))


# --------------------------------------------------------------------------------------------
# Every page


@pytest.mark.parametrize(
    ("report", "expected_pages"),
    [("one_page", 1), ("short_lead", 2), ("no_lead", 2), ("long_lead", 10)],
)
def test_banner_page_numbers_and_integrity_line_on_every_page(
    report: str, expected_pages: int, request: pytest.FixtureRequest
) -> None:
    pdf: Pdf = request.getfixturevalue(report)
    count = pdf.page_count
    if expected_pages == 10:
        assert count >= 10, f"the long report has only {count} pages"
    else:
        assert count == expected_pages
    assert len(pdf.pages) == count
    # The banner is in the band at the top of every page and nothing else is.
    banner_band = pdf.band(top=24, height=30)
    assert [b.strip() for b in banner_band] == [rs.BANNER] * count
    fingerprint_start = re.search(r"content fingerprint ([0-9a-f]{64})", pdf.info["Keywords"])
    assert fingerprint_start is not None
    short = fingerprint_start.group(1)[:16]
    for number, page in enumerate(pdf.layout_pages, start=1):
        assert f"Page {number} of {count}" in page
        assert len(re.findall(r"Page \d+ of \d+", page)) == 1
        assert f"Content fingerprint {short}" in page
        assert "frx report verify" in page
        assert "Report FRX-2026-000123 · version 1" in page or report == "no_lead"


def test_footer_fingerprint_is_the_content_fingerprint(
    lead_two_candidates: Pdf, lead_two_candidates_data: LeadReportData
) -> None:
    fingerprint = content_fingerprint(lead_two_candidates_data)
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint)
    for page in lead_two_candidates.pages:
        assert f"Content fingerprint {fingerprint[:16]}" in page
    assert_printed(lead_two_candidates, fingerprint)  # in full, in the Document section


def test_banner_is_white_on_black_and_watermark_lies_under_photos() -> None:
    """A solid photo across the page centre stays solid: the diagonal watermark is beneath it."""
    blue = (20, 60, 200)
    photo = Image.new("RGB", (400, 400), blue)
    buffer = io.BytesIO()
    photo.save(buffer, format="PNG")
    side = 4.5 * inch
    image = PrintedImage(
        prepare_image(buffer.getvalue(), box_width_pt=side, box_height_pt=side), side, side
    )
    image.hAlign = "CENTER"
    frame = rs.frame()
    page = geometry(frame.paper)
    top_gap = (page.height - side) / 2 - page.top
    pdf = Pdf(build_pdf(frame, fingerprint="cd" * 32, document_title="Test", pdf_title="Test",
                        story=[Spacer(1, top_gap), image]))
    dpi = 36
    pixels = pdf.render(1, dpi).astype(int)
    scale = dpi / 72
    # Inside the photo (a margin in from its edges): every pixel is the photo's colour.
    x0, x1 = (page.width - side) / 2 + 6, (page.width + side) / 2 - 6
    y0, y1 = (page.height - side) / 2 + 6, (page.height + side) / 2 - 6
    inside = pixels[int(y0 * scale): int(y1 * scale), int(x0 * scale): int(x1 * scale)]
    assert np.abs(inside - np.array(blue)).max() <= 12
    # Outside the photo the watermark shows: light grey pixels on the page margins' diagonal.
    outside = pixels.copy()
    top, bottom = int(y0 * scale) - 4, int(y1 * scale) + 4
    outside[top:bottom, int(x0 * scale) - 4: int(x1 * scale) + 4] = 255
    grey = (outside.min(axis=2) > 180) & (outside.max(axis=2) < 245)
    body = grey[int(page.top * scale): int((page.height - page.bottom) * scale)]
    assert body.sum() > 200, "no watermark visible outside the photo"
    # The banner: a black box across the content width, white text in it.
    band = pixels[int(31 * scale): int(46 * scale), int((page.left + 4) * scale):
                  int((page.width - page.right - 4) * scale)]
    dark = band.max(axis=2) < 60
    light = band.min(axis=2) > 200
    assert dark.mean() > 0.6
    assert light.sum() > 20


# --------------------------------------------------------------------------------------------
# Content


def test_lead_report_prints_every_field(
    lead_two_candidates: Pdf, lead_two_candidates_data: LeadReportData
) -> None:
    d = lead_two_candidates_data
    f, r, p, s = d.frame, d.request, d.probe, d.search
    assert_printed(
        lead_two_candidates,
        f.agency, f.unit, f.report_number, f"version {f.version}", f.issued_by,
        "2026-03-14 18:09:27 UTC", f.installation_id, f.profile_name, f.profile_version,
        f.profile_sha256, f.advisory_text, f.dissemination_restriction,
        r.case_number, r.requesting_officer, r.requesting_agency, r.purpose_code,
        r.purpose_wording, r.offense, r.narrative,
        p.original_sha256, p.edited_sha256,
        s.model_name, f"version {s.model_version}", s.model_sha256, "Index generation",
        str(s.index_generation), "k = 50", "ef = 200", "threshold = 0.6", s.searched_by,
        "2026-03-14 15:09:27 UTC", s.score_meaning, "not a probability",
        "Candidates returned",
    )
    for step in p.edit_history:
        assert_printed(lead_two_candidates, step.operation, step.parameters)
    for measure in p.quality:
        assert_printed(lead_two_candidates, measure.name, measure.value, measure.message)
    for candidate in d.candidates:
        assert_printed(
            lead_two_candidates,
            candidate.subject_reference, candidate.photo_date, candidate.source_type_label,
            candidate.source_reference, candidate.most_recent_photo_date,
            f"Rank {candidate.rank} · score {candidate.score:.3f}",
        )
    for row in d.worksheet:
        assert_printed(lead_two_candidates, row.item_label, row.answer_label, row.note)
    assert_printed(
        lead_two_candidates,
        d.examiner.name, d.examiner.conclusion_label, "2026-03-14 16:09:27 UTC",
        "Time spent: 33 min 05 s",
    )
    assert d.review is not None
    assert_printed(
        lead_two_candidates,
        d.review.reviewer_name, "Second examiner (independent review)",
        "2026-03-14 17:09:27 UTC", "Agrees with the examiner",
    )
    entry = d.dissemination[0]
    assert_printed(lead_two_candidates, entry.recipient_agency, entry.need_to_know, entry.method)
    # Signature lines for both, with the printed names.
    layout = "\n".join(lead_two_candidates.layout_pages)
    assert re.search(r"Examiner\s+Reviewer \(second examiner\)", layout)
    assert len(re.findall(r"\bSignature\b", layout)) >= 2
    assert len(re.findall(r"^\s*Date\b.*\bDate\b", layout, re.MULTILINE)) == 1
    assert re.search(r"Name\s+Det\. Maria Okonkwo-Hale\s+Name\s+Sgt\. Thomas Lindqvist", layout)


def test_interagency_acknowledgment_is_printed_only_for_another_agency(
    lead_two_candidates: Pdf, short_lead: Pdf
) -> None:
    assert_printed(
        lead_two_candidates, "Submitting agency", "Schenectady Police Department",
        rs.ACKNOWLEDGMENT, "recorded 2026-03-13 15:09:27 UTC",
    )
    text = squash(short_lead.text)
    for absent in ("Submitting agency", "Schenectady", rs.ACKNOWLEDGMENT, "acknowledgment"):
        assert squash(absent) not in text


def test_skipped_review_prints_the_reason_instead_of_a_reviewer() -> None:
    pdf = Pdf(build_lead_report(rs.lead_data(rows=3, crops=False, skipped=True)))
    assert_printed(
        pdf, "No second-examiner review: not practicable because the only other trained "
        "examiner is on leave until 2026-04-01",
    )
    assert "Lindqvist" not in pdf.text
    assert "Agrees with the examiner" not in pdf.text


def test_no_lead_report_content(no_lead: Pdf, no_lead_data: NoLeadReportData) -> None:
    assert_printed(
        no_lead, "No-Lead Report", "Result: no investigative lead.",
        "The examiner reviewed 5 candidates and reported none as a lead.",
        "Number of candidates reviewed: 5", no_lead_data.request.case_number,
        no_lead_data.request.purpose_wording, no_lead_data.search.model_sha256,
        no_lead_data.frame.advisory_text, no_lead_data.frame.dissemination_restriction,
        "not practicable because no second examiner on duty this week",
        no_lead_data.examiner.name, "No lead", "Report FRX-2026-000124",
    )
    for summary in no_lead_data.summaries:
        assert_printed(no_lead, summary.subject_reference)
    assert squash(no_lead.text).count("Notalead") == 5
    assert "Investigative Lead Report" not in no_lead.text
    # Only the probe is pictured: candidates who are not leads are not reproduced.
    assert len(no_lead.images()) == 1


def test_long_tables_repeat_their_header_on_each_page(long_lead: Pdf) -> None:
    pages = long_lead.layout_pages
    worksheet_pages = [
        i for i, page in enumerate(pages) if re.search(r"^\s*Nose \(2\)", page, re.MULTILINE)
        or re.search(r"^\s*Lips \([23]\)", page, re.MULTILINE)
    ]
    assert worksheet_pages
    for index in worksheet_pages:
        assert re.search(r"Item\s+Answer\s+Note\s+Probe\s+Candidate", pages[index])
    edit_pages = [i for i, page in enumerate(pages) if "Sharpen" in page]
    assert len(edit_pages) >= 2, "the long edit history should cross a page"
    for index in edit_pages:
        assert re.search(r"#\s+Operation\s+Parameters\s+By\s+At", pages[index])
    assert_printed(long_lead, "Paragraph 79: the witness", "Other (3)")


LONG_TEXT = " ".join(f"word{i}" for i in range(2500))


@pytest.mark.parametrize(
    "where", ["worksheet note", "advisory", "acknowledgment", "score meaning", "offense"]
)
def test_text_longer_than_a_page_flows_onto_more_pages(where: str) -> None:
    """A cell taller than a page is split across pages instead of failing to lay out."""
    d = rs.lead_data(rows=4, crops=False, edits=0)
    changed = {
        "worksheet note": lambda: replace(
            d, worksheet=(replace(d.worksheet[0], note=LONG_TEXT), *d.worksheet[1:])
        ),
        "advisory": lambda: replace(d, frame=replace(d.frame, advisory_text=LONG_TEXT)),
        "acknowledgment": lambda: replace(
            d, request=replace(rs.request(interagency=True), acknowledgment_text=LONG_TEXT)
        ),
        "score meaning": lambda: replace(d, search=replace(d.search, score_meaning=LONG_TEXT)),
        "offense": lambda: replace(d, request=replace(d.request, offense=LONG_TEXT)),
    }[where]()
    pdf = Pdf(build_lead_report(changed))
    assert pdf.page_count >= 4
    assert_printed(pdf, "word0 word1", "word2499")
    assert [b.strip() for b in pdf.band(top=24, height=30)] == [rs.BANNER] * pdf.page_count


def test_markup_characters_print_as_typed() -> None:
    d = rs.lead_data(rows=3, crops=False, edits=0)
    offense = "<b>Assault & battery</b> <unclosed"
    pdf = Pdf(build_lead_report(replace(d, request=replace(d.request, offense=offense))))
    assert_printed(pdf, offense)


def test_names_in_other_scripts_print() -> None:
    data = rs.lead_data(rows=3, crops=False)
    data = replace(
        data,
        examiner=replace(data.examiner, name="Łukasz Żółkiewski-Ødegård"),
        request=replace(data.request, requesting_officer="Ирина Соколова"),
    )
    pdf = Pdf(build_lead_report(data))
    assert_printed(pdf, "Łukasz Żółkiewski-Ødegård", "Ирина Соколова")


# --------------------------------------------------------------------------------------------
# Paper, size, determinism, metadata


@pytest.mark.parametrize(
    ("paper", "size"), [("letter", (612.0, 792.0)), ("a4", (595.28, 841.89))]
)
def test_paper_size_on_every_page(paper: str, size: tuple[float, float]) -> None:
    lead = Pdf(build_lead_report(rs.lead_data(paper=paper, rows=8)))
    no_lead = Pdf(build_no_lead_report(rs.no_lead_data(paper=paper)))
    for pdf in (lead, no_lead):
        sizes = pdf.page_sizes()
        assert len(sizes) == pdf.page_count >= 2
        for width, height in sizes:
            assert width == pytest.approx(size[0], abs=0.5)
            assert height == pytest.approx(size[1], abs=0.5)


def test_two_candidates_and_full_worksheet_stay_small() -> None:
    """Worst case for JPEG (noise pictures, large originals): still far below 5 MB."""
    data = rs.lead_data(candidates=2, noise=True)
    big = rs.synthetic_face(7, (1600, 2000), noise=True)
    data = replace(
        data,
        candidates=(replace(data.candidates[0], image=big), data.candidates[1]),
    )
    pdf = Pdf(build_lead_report(data))
    assert len(pdf.data) <= MAX_REPORT_BYTES
    assert len(pdf.data) < 2 * 1024 * 1024
    images = pdf.images()
    assert len(images) >= 2 + 2 * 15  # probes, candidates, crops
    for image in images:
        assert image["enc"] == "jpeg"
        assert int(image["x-ppi"]) <= PRINT_DPI + 5
    # The 1600x2000 photo was downscaled to print resolution (1.45 in wide box).
    assert max(int(image["width"]) for image in images) <= int(1.45 * PRINT_DPI) + 2


def test_same_data_gives_identical_bytes(lead_two_candidates_data: LeadReportData) -> None:
    first = build_lead_report(lead_two_candidates_data)
    second = build_lead_report(lead_two_candidates_data)
    assert first == second
    changed = replace(
        lead_two_candidates_data,
        request=replace(lead_two_candidates_data.request, offense="Burglary"),
    )
    assert build_lead_report(changed) != first
    assert content_fingerprint(changed) != content_fingerprint(lead_two_candidates_data)


def test_fingerprint_follows_image_content(lead_two_candidates_data: LeadReportData) -> None:
    d = lead_two_candidates_data
    pixels = np.asarray(Image.open(io.BytesIO(d.candidates[0].image))).copy()
    pixels[0, 0, 0] ^= 1
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    other = replace(d, candidates=(replace(d.candidates[0], image=buffer.getvalue()),
                                   *d.candidates[1:]))
    assert content_fingerprint(other) != content_fingerprint(d)
    assert content_fingerprint(replace(d)) == content_fingerprint(d)


def test_pdf_metadata(lead_two_candidates: Pdf, lead_two_candidates_data: LeadReportData) -> None:
    info = lead_two_candidates.info
    fingerprint = content_fingerprint(lead_two_candidates_data)
    assert "FRX-2026-000123" in info["Title"]
    assert info["Subject"] == "Investigative lead only"
    assert info["Creator"] == "FRX Examiner Workstation"
    assert "FRX-2026-000123" in info["Keywords"]
    assert fingerprint in info["Keywords"]
    assert info["CreationDate"].startswith("Sat Mar 14 18:09:27 2026")


# --------------------------------------------------------------------------------------------
# Data: round trip and refusals


def test_data_round_trips_through_json(
    lead_two_candidates_data: LeadReportData, no_lead_data: NoLeadReportData
) -> None:
    for data in (lead_two_candidates_data, no_lead_data):
        text = json.dumps(data.to_dict())
        again = type(data).from_dict(json.loads(text))
        assert again == data
        assert content_fingerprint(again) == content_fingerprint(data)
    with pytest.raises(ValueError, match="Unknown fields"):
        LeadReportData.from_dict({**lead_two_candidates_data.to_dict(), "extra": 1})


def test_refusals(lead_two_candidates_data: LeadReportData) -> None:
    d = lead_two_candidates_data
    with pytest.raises(PolicyViolation, match="second examiner"):
        build_lead_report(replace(d, review=None, review_skipped_reason=None))
    with pytest.raises(PolicyViolation, match="both"):
        build_lead_report(replace(d, review_skipped_reason="no one else on duty"))
    incomplete = (*d.worksheet[:-1], replace(d.worksheet[-1], answer_label=" "))
    with pytest.raises(PolicyViolation, match="worksheet is complete; unanswered: Other"):
        build_lead_report(replace(d, worksheet=incomplete))
    with pytest.raises(PolicyViolation, match="worksheet"):
        build_lead_report(replace(d, worksheet=()))
    with pytest.raises(PolicyViolation, match="at least one candidate"):
        build_lead_report(replace(d, candidates=()))
    with pytest.raises(PolicyViolation, match="rank 9"):
        build_lead_report(replace(d, compared_rank=9))
    with pytest.raises(IntegrityError, match="original probe"):
        build_lead_report(replace(d, probe=replace(d.probe, original_sha256="0" * 64)))
    with pytest.raises(PolicyViolation, match="time zone"):
        build_lead_report(replace(d, frame=replace(d.frame, issued_at=datetime(2026, 1, 1))))
    with pytest.raises(IntegrityError, match="case 2026-CR-004417 but the request is for case X"):
        build_lead_report(replace(d, request=replace(d.request, case_number="X")))
    with pytest.raises(ConfigurationError, match="paper"):
        build_lead_report(replace(d, frame=replace(d.frame, paper="legal")))  # type: ignore[arg-type]
    damaged = replace(d.candidates[0], image=b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    with pytest.raises(ImageError):
        build_lead_report(replace(d, candidates=(damaged,)))


def test_compared_rank_names_the_worksheet_candidate(
    lead_two_candidates_data: LeadReportData,
) -> None:
    data = replace(lead_two_candidates_data, compared_rank=2)
    pdf = Pdf(build_lead_report(data))
    assert_printed(
        pdf, "Candidate rank 2 (subject reference SUBJ-880034) compared feature by feature",
        "Result: Possible lead — candidate rank 2, subject reference SUBJ-880034",
    )


def test_prepare_image_downscales_to_print_resolution() -> None:
    big = Image.new("L", (3000, 4000), 128)
    buffer = io.BytesIO()
    big.save(buffer, format="PNG")
    prepared = prepare_image(buffer.getvalue(), box_width_pt=1.5 * inch, box_height_pt=2 * inch)
    assert (prepared.pixel_width, prepared.pixel_height) == (300, 400)
    assert prepared.width_pt == pytest.approx(1.5 * inch)
    with Image.open(io.BytesIO(prepared.jpeg)) as jpeg:
        assert jpeg.format == "JPEG"
        assert jpeg.mode == "L"  # greyscale stays one channel
    small = rs.synthetic_face(3, (60, 80))
    kept = prepare_image(small, box_width_pt=3 * inch, box_height_pt=4 * inch)
    assert (kept.pixel_width, kept.pixel_height) == (60, 80)  # never upscaled


# --------------------------------------------------------------------------------------------
# A real face


def test_report_with_a_real_lfw_face(lfw_dir: Path) -> None:
    photos = sorted(lfw_dir.glob("*/*.jpg"))[:2]
    assert len(photos) == 2, f"no LFW photos under {lfw_dir}"
    probe_bytes, candidate_bytes = (p.read_bytes() for p in photos)
    data = rs.lead_data(edits=0)
    probe = ProbeInfo(
        original_image=probe_bytes, original_sha256=sha256_hex(probe_bytes),
        quality=data.probe.quality,
    )
    candidate: CandidateInfo = replace(data.candidates[0], image=candidate_bytes)
    worksheet = rs.worksheet(probe_png=probe_bytes, candidate_png=candidate_bytes)
    data = replace(data, probe=probe, candidates=(candidate,), worksheet=worksheet)
    pdf = Pdf(build_lead_report(data))
    assert pdf.page_count >= 2
    assert_printed(pdf, probe.original_sha256, "None: the search used the original image.")
    pixels = pdf.render(2, 30)
    assert pixels.std() > 10  # something was drawn
    assert len(pdf.data) < 1024 * 1024


def test_exact_search_without_threshold_prints_no_invented_parameters(
    lead_two_candidates_data: LeadReportData,
) -> None:
    search = replace(lead_two_candidates_data.search, ef=None, threshold=None)
    data = replace(lead_two_candidates_data, search=search)
    pdf = Pdf(build_lead_report(data))
    assert_printed(pdf, "k = 50", "exact search (no ef)", "threshold = none")
    assert "ef = 0" not in squash(pdf.text) and "threshold = 0" not in squash(pdf.text)
    assert LeadReportData.from_dict(json.loads(json.dumps(data.to_dict()))) == data
