"""Shared helpers of the report, release and retention tests: a case with a reviewed lead, an
issued report (built once per test process and copied into each test's data folder), PDF text.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from case_support import SearchedCase, all_answers, candidate_id, install_model, load_case

from app.casework import comparisons, reports, reviews
from app.casework.report_views import ReportSummary
from app.casework.workstation import Workstation
from app.records.db import Database
from app.settings import Settings

LAW_ENFORCEMENT = {
    "recipient_agency": "Springfield Police Department",
    "official": "Det. Alex Moreno",
    "recipient_type": "law_enforcement_agency",
    "need_to_know": "Assigned investigator on this robbery case",
    "method": "PDF by secure email",
}
NOTE = "Small scar through the left eyebrow in both pictures"


@dataclass(frozen=True)
class ReportedCase:
    """The searched Yale case with YALE-03 compared as a possible lead, reviewed by a second
    examiner who concurred, and its lead report issued (version 1)."""

    case: SearchedCase
    comparison_id: int
    report: ReportSummary


def concluded(
    ws: Workstation,
    case: SearchedCase,
    *,
    conclusion: str = "possible_lead",
    reference: str = "YALE-03",
) -> int:
    examiner = case.people.examiner
    started = comparisons.start_comparison(
        ws, user=examiner, candidate_id=candidate_id(case, reference)
    )
    answers: dict[str, comparisons.AnswerInput] = dict(all_answers(ws))
    answers["eyebrows"] = ("similar", NOTE)
    comparisons.record_answers(
        ws, user=examiner, comparison_id=started.comparison_id, answers=answers
    )
    comparisons.conclude(
        ws, user=examiner, comparison_id=started.comparison_id, conclusion=conclusion
    )
    return started.comparison_id


def reviewed(
    ws: Workstation, case: SearchedCase, comparison_id: int, conclusion: str = "possible_lead"
) -> None:
    reviews.submit_for_review(ws, user=case.people.examiner, comparison_id=comparison_id)
    review = reviews.start_review(ws, user=case.people.reviewer, comparison_id=comparison_id)
    reviews.record_review(
        ws,
        user=case.people.reviewer,
        review_id=review.review_id,
        conclusion=conclusion,
        answers=all_answers(ws),
    )


def reported_case(ws: Workstation, yale_dir: Path) -> ReportedCase:
    case = load_case(ws, yale_dir)
    comparison_id = concluded(ws, case)
    reviewed(ws, case, comparison_id)
    report = reports.issue_lead_report(ws, user=case.people.examiner, comparison_id=comparison_id)
    return ReportedCase(case, comparison_id, report)


@functools.cache
def _snapshot(yale_dir: str) -> tuple[Path, ReportedCase]:
    folder = Path(tempfile.mkdtemp(prefix="frx-report-snapshot-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    settings = Settings(
        data_dir=folder,
        database_url=f"sqlite:///{folder / 'frx.sqlite3'}",
        evidence_dir=folder / "evidence",
    )
    with Workstation.open(settings) as ws:
        reported = reported_case(ws, Path(yale_dir))
    return folder, reported


def load_reported_case(ws: Workstation, yale_dir: Path) -> ReportedCase:
    """``reported_case`` in this test's workstation: on SQLite a copy of one built once per test
    process, on PostgreSQL built afresh."""
    target = ws.database.sqlite_path
    if target is None:
        return reported_case(ws, yale_dir)
    snapshot, reported = _snapshot(str(yale_dir))
    ws.database.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
        source = Path(f"{snapshot / 'frx.sqlite3'}{suffix}")
        if source.exists():
            shutil.copyfile(source, f"{target}{suffix}")
    shutil.copytree(snapshot / "evidence", ws.settings.evidence_dir, dirs_exist_ok=True)
    shutil.copytree(snapshot / "index", ws.settings.index_dir, dirs_exist_ok=True)
    install_model(ws)
    ws.database = Database.open(ws.settings)
    return reported


def pdf_pages(pdf: bytes, tmp_path: Path) -> list[str]:
    """The text of each page in reading order, as ``pdftotext`` extracts it (poppler-utils)."""
    source = tmp_path / "report-under-test.pdf"
    source.write_bytes(pdf)
    if shutil.which("pdftotext") is None:
        raise AssertionError("pdftotext (poppler-utils) is needed by the report tests")
    text = subprocess.run(
        ["pdftotext", str(source), "-"], check=True, capture_output=True, text=True
    ).stdout
    pages = text.split("\f")
    return [page for page in pages if page.strip()]


def one_line(text: str) -> str:
    """Text with every run of white space as one space (table cells wrap in the PDF)."""
    return " ".join(text.split())
