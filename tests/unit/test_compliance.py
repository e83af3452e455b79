"""The compliance overview of a period, the PDF compliance report, the yearly transparency
figures and their CSV, and ``frx supervision`` over a worked case."""

from __future__ import annotations

import csv
import hashlib
import io
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from case_support import PASSWORD, add_user, events, make_people
from compliance_support import SKIP, worked_case
from pypdf import PdfReader

from app import cli
from app.casework import compliance, compliance_files
from app.casework.workstation import Workstation
from app.errors import InvalidInput, PermissionDenied, StorageError
from app.policy.roles import Role


def test_overview_counts_the_worked_case_and_is_audited(ws: Workstation, yale_dir: Path) -> None:
    worked = worked_case(ws, yale_dir)
    people = worked.case.people
    overview = compliance.compliance_overview(ws, user=people.supervisor)

    c = overview.counts
    assert (c.requests, c.searches, c.comparisons_concluded, c.possible_leads) == (1, 1, 2, 2)
    assert (c.lead_reports, c.no_lead_reports, c.disseminations, c.refused_actions) == (1, 0, 1, 1)
    assert c.no_lead_conclusions == 0
    r = overview.reviews
    assert (r.done, r.skipped, r.awaiting, r.disagreements, r.missing) == (1, 1, 0, 1, 1)
    assert [(p.key, p.count) for p in overview.searches_per_purpose] == [("IV.B.1a", 1)]
    assert overview.searches_per_purpose[0].label == ws.profile.purpose("IV.B.1a").text
    assert [(e.key, e.count) for e in overview.searches_per_examiner] == [("erin", 1)]
    assert [(u.subject_reference, u.skip_reason) for u in overview.unreviewed_leads] == [
        ("YALE-03", SKIP)
    ]
    assert [(d.reviewer, d.reviewer_conclusion) for d in overview.disagreements] == [
        ("rita", "not_a_lead")
    ]
    assert [(x.report_number, x.official) for x in overview.releases] == [
        (worked.report_number, "Det. Alex Moreno")
    ]
    assert [(x.key, x.count) for x in overview.releases_per_recipient] == [
        ("Springfield Police Department", 1)
    ]
    assert [x.action for x in overview.refusals] == ["dissemination.refused"]
    assert [(x.key, x.count) for x in overview.refusals_per_action] == [
        ("dissemination.refused", 1)
    ]
    assert overview.refusals[0].reason
    assert overview.training_due is not None
    assert [(t.username, t.state, t.days_left) for t in overview.training_due] == [
        ("tess", "expiring", 10)
    ]
    sealed = overview.sealed
    assert (sealed.subjects_sealed_now, sealed.sealed_in_period, sealed.unsealed_in_period) == (
        1,
        1,
        0,
    )
    assert sealed.photos_sealed_now == 0  # the subject is sealed, not each photo
    assert overview.generated_by == "Sam (sam)" and overview.profile_name == ws.profile.name
    viewed = events(ws, "compliance.viewed")
    assert [e.actor for e in viewed] == ["sam"]
    assert viewed[0].details_dict == {"since": None, "until": None}

    # A period before any of it counts nothing, and is recorded with its bounds.
    since, until = ws.now() - timedelta(days=30), ws.now() - timedelta(days=20)
    before = compliance.compliance_overview(ws, user=people.supervisor, since=since, until=until)
    assert (before.counts.searches, before.counts.possible_leads, before.reviews.done) == (0, 0, 0)
    assert (before.searches_per_purpose, before.releases, before.refusals) == ((), (), ())
    assert before.sealed.sealed_in_period == 0 and before.sealed.subjects_sealed_now == 1
    assert events(ws, "compliance.viewed")[-1].details_dict["since"] is not None
    with pytest.raises(InvalidInput, match="before its end"):
        compliance.compliance_overview(ws, user=people.supervisor, since=until, until=since)

    # A legal advisor reads the overview but not the training list; an examiner is refused.
    counsel = add_user(ws, people.admin, "lena", frozenset({Role.LEGAL_ADVISOR}), trained=False)
    assert compliance.compliance_overview(ws, user=counsel).training_due is None
    with pytest.raises(PermissionDenied, match="may see the compliance overview"):
        compliance.compliance_overview(ws, user=people.examiner)
    assert events(ws, "permission.denied")[-1].details_dict["attempted"] == (
        "see the compliance overview"
    )
    again = compliance.compliance_overview(ws, user=people.supervisor)
    assert again.counts.refused_actions == 2
    assert {(x.key, x.count) for x in again.refusals_per_action} == {
        ("dissemination.refused", 1),
        ("permission.denied", 1),
    }
    assert [x.action for x in again.refusals] == ["permission.denied", "dissemination.refused"]


def test_pdf_report_and_transparency_csv_are_written_and_recorded(
    ws: Workstation, yale_dir: Path, tmp_path: Path
) -> None:
    worked = worked_case(ws, yale_dir)
    people = worked.case.people
    since, until = ws.now() - timedelta(days=7), ws.now() + timedelta(days=1)
    target = tmp_path / "compliance.pdf"
    written = compliance_files.write_compliance_report(
        ws, user=people.supervisor, since=since, until=until, path=target
    )
    data = target.read_bytes()
    assert written.sha256 == hashlib.sha256(data).hexdigest() and written.size_bytes == len(data)
    reader = PdfReader(io.BytesIO(data))
    pages = [page.extract_text() for page in reader.pages]
    whole = " ".join(" ".join(pages).split())
    for expected in (
        "Facial recognition compliance report",
        "Summary of the period",
        "Searches per purpose",
        "Searches per examiner",
        "Leads and second reviews",
        "Possible leads without a second review",
        "Reviews that disagreed with the examiner",
        "Reports released and to whom",
        "Refused actions",
        "Sealed gallery records",
        ws.profile.name,
        "Sam (sam)",
        "IV.B.1a",
        "YALE-03",
        worked.report_number,
        "Det. Alex Moreno",
        "dissemination.refused",
        "Tess (tess)",
        f"Page 1 of {len(pages)}",
        f"Page {len(pages)} of {len(pages)}",
    ):
        assert expected in whole, expected
    assert "Searches run 1" in whole and "Second reviews missing 1" in whole
    chart_images = sum(len(page.images) for page in reader.pages)
    assert chart_images >= 3  # purpose, examiner, reviews
    recorded = events(ws, "compliance.report_written")[-1].details_dict
    assert recorded["sha256"] == written.sha256 and recorded["destination"] == str(target)
    assert not list(tmp_path.glob(".*.part"))
    with pytest.raises(InvalidInput, match=r"\.pdf"):
        compliance_files.write_compliance_report(
            ws, user=people.supervisor, since=None, until=None, path=tmp_path / "report.txt"
        )

    year = ws.now().year
    figures = compliance.transparency_figures(ws, user=people.supervisor, year=year)
    assert (figures.requests, figures.searches, figures.possible_leads) == (1, 1, 2)
    assert (figures.lead_reports, figures.no_lead_reports, figures.reports_disseminated) == (
        1,
        0,
        1,
    )
    assert [(o.label, o.count) for o in figures.searches_per_offense] == [
        ("Robbery in the second degree", 1)
    ]
    last_year = compliance.transparency_figures(ws, user=people.supervisor, year=year - 1)
    assert (last_year.searches, last_year.searches_per_purpose) == (0, ())
    with pytest.raises(InvalidInput, match="year"):
        compliance.transparency_figures(ws, user=people.supervisor, year=1066)

    out = tmp_path / "figures.csv"
    _, csv_file = compliance_files.export_transparency(
        ws, user=people.supervisor, year=year, path=out
    )
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    by_figure = {(r["figure"], r["category"]): r for r in rows}
    assert by_figure[("searches", "")]["count"] == "1"
    assert by_figure[("possible_leads", "")]["count"] == "2"
    assert by_figure[("searches_by_purpose", "IV.B.1a")]["count"] == "1"
    assert by_figure[("searches_by_offense", "Robbery in the second degree")]["count"] == "1"
    assert {r["year"] for r in rows} == {str(year)}
    exported = events(ws, "compliance.transparency_exported")[-1].details_dict
    assert exported["year"] == year and exported["sha256"] == csv_file.sha256
    assert csv_file.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()

    # Publication is for supervisors and administrators; legal advisors may read the PDF.
    counsel = add_user(ws, people.admin, "lena", frozenset({Role.LEGAL_ADVISOR}), trained=False)
    with pytest.raises(PermissionDenied, match="supervisor or administrator"):
        compliance_files.export_transparency(
            ws, user=counsel, year=year, path=tmp_path / "other.csv"
        )
    assert not (tmp_path / "other.csv").exists()
    compliance_files.write_compliance_report(
        ws, user=counsel, since=None, until=None, path=tmp_path / "counsel.pdf"
    )
    assert "Training records are shown to supervisors" in " ".join(
        p.extract_text() for p in PdfReader(tmp_path / "counsel.pdf").pages
    )


def test_frx_supervision_prints_counts_and_writes_files(
    ws: Workstation,
    yale_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    worked_case(ws, yale_dir)

    def frx(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(f"{PASSWORD}\n"))
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    today = ws.now().date()
    pdf = tmp_path / "period.pdf"
    code, out, err = frx(
        "supervision",
        "compliance",
        "--since",
        (today - timedelta(days=3)).isoformat(),
        "--until",
        today.isoformat(),
        "--pdf",
        str(pdf),
        "--as",
        "sam",
    )
    assert code == 0, err
    assert "searches: 1\n" in out and "possible leads: 2\n" in out
    assert "second reviews missing: 1 (skipped 1, awaiting 0)" in out
    assert "reviews disagreeing: 1" in out and "refused actions: 1" in out
    assert "Tess (tess): Training expires on" in out
    assert "sealed now: 1 subjects" in out and "  erin: 1" in out
    assert pdf.read_bytes().startswith(b"%PDF") and "PDF compliance report written" in out
    # --until includes the day named: the same day as --since and --until counts today.
    code, out, _ = frx(
        "supervision",
        "compliance",
        "--since",
        today.isoformat(),
        "--until",
        today.isoformat(),
        "--as",
        "sam",
    )
    assert code == 0 and "searches: 1\n" in out
    code, _, err = frx("supervision", "compliance", "--since", "31/12/2025", "--as", "sam")
    assert code == 2 and err.startswith("frx: --since must be a day written YYYY-MM-DD")

    figures = tmp_path / "figures.csv"
    code, out, err = frx(
        "supervision",
        "transparency",
        "--year",
        str(today.year),
        "--csv",
        str(figures),
        "--as",
        "sam",
    )
    assert code == 0, err
    assert f"Transparency figures {today.year}: 1 searches" in out
    assert figures.read_text(encoding="utf-8").startswith("year,figure,category,description")
    code, _, err = frx(
        "supervision",
        "transparency",
        "--year",
        str(today.year),
        "--csv",
        str(figures),
        "--as",
        "erin",
    )
    assert code == 2 and "supervisor or administrator" in err


def test_files_are_whole_or_absent(
    ws: Workstation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = make_people(ws)
    supervisor = people.supervisor
    with pytest.raises(InvalidInput, match="is a folder"):
        compliance_files.write_compliance_report(
            ws, user=supervisor, since=None, until=None, path=tmp_path
        )
    with pytest.raises(InvalidInput, match="does not exist"):
        compliance_files.export_transparency(
            ws, user=supervisor, year=2026, path=tmp_path / "missing" / "figures.csv"
        )
    out = tmp_path / "out"
    out.mkdir()
    target = out / "empty.pdf"
    with pytest.raises(PermissionDenied):
        compliance_files.write_compliance_report(
            ws, user=people.examiner, since=None, until=None, path=target
        )
    assert not target.exists()

    def no_audit(*args: object, **kwargs: object) -> None:
        raise StorageError("The database is read-only.")

    monkeypatch.setattr(compliance_files, "audit", no_audit)
    with pytest.raises(StorageError, match="read-only"):
        compliance_files.write_compliance_report(
            ws, user=supervisor, since=None, until=None, path=target
        )
    assert list(out.iterdir()) == []  # neither the file nor a temporary part is left
    monkeypatch.undo()
    written = compliance_files.write_compliance_report(
        ws, user=supervisor, since=None, until=None, path=target
    )
    text = " ".join(p.extract_text() for p in PdfReader(written.path).pages)
    assert "No searches in this period." in " ".join(text.split())
