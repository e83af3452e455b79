"""Releasing reports (MPTC IV.G): dissemination records; print and export only under one."""

from __future__ import annotations

from pathlib import Path

import pytest
from case_support import events
from report_support import LAW_ENFORCEMENT, load_reported_case

from app.casework import dissemination, reports
from app.casework.workstation import Workstation
from app.errors import InvalidInput, PermissionDenied, PolicyViolation
from app.reports.data import sha256_hex


def test_release_records_who_why_and_how_then_export_and_print(
    ws: Workstation, yale_dir: Path, tmp_path: Path
) -> None:
    reported = load_reported_case(ws, yale_dir)
    examiner, report_id = reported.case.people.examiner, reported.report.report_id
    release = dissemination.disseminate(ws, user=examiner, report_id=report_id, **LAW_ENFORCEMENT)
    assert release.official == "Det. Alex Moreno" and release.released_by == "erin"
    assert release.recipient_type_label == "Law enforcement agency"
    assert release.need_to_know == LAW_ENFORCEMENT["need_to_know"]
    assert reports.get_report(ws, user=examiner, report_id=report_id).disseminations == (release,)
    event = events(ws, "report.disseminated")[0]
    assert event.details_dict["dissemination_id"] == release.dissemination_id
    assert event.details_dict["case_number"] == "2026-CR-0042"

    target = tmp_path / "for-detective.pdf"
    exported = dissemination.export_report(
        ws,
        user=examiner,
        report_id=report_id,
        destination=target,
        dissemination_id=release.dissemination_id,
    )
    assert sha256_hex(target.read_bytes()) == reported.report.pdf_sha256 == exported.sha256
    printed = dissemination.record_print(
        ws, user=examiner, report_id=report_id, dissemination_id=release.dissemination_id, copies=2
    )
    assert printed.path is None and printed.sha256 == reported.report.pdf_sha256
    export_event = events(ws, "report.exported")[0]
    print_event = events(ws, "report.printed")[0]
    assert export_event.details_dict["dissemination_id"] == release.dissemination_id
    assert export_event.details_dict["destination"] == str(target)
    assert print_event.details_dict["copies"] == 2
    assert print_event.details_dict["sha256"] == reported.report.pdf_sha256
    # A supervisor may release too; a legal advisor reads releases but does not make them.
    assert (
        dissemination.disseminate(
            ws, user=reported.case.people.supervisor, report_id=report_id, **LAW_ENFORCEMENT
        ).released_by
        == "sam"
    )


def test_print_and_export_are_refused_without_a_dissemination_record(
    ws: Workstation, yale_dir: Path, tmp_path: Path
) -> None:
    reported = load_reported_case(ws, yale_dir)
    examiner, report_id = reported.case.people.examiner, reported.report.report_id
    target = tmp_path / "out.pdf"
    with pytest.raises(PolicyViolation, match="recorded release"):
        dissemination.export_report(
            ws, user=examiner, report_id=report_id, destination=target, dissemination_id=None
        )
    with pytest.raises(PolicyViolation, match="no dissemination record 99"):
        dissemination.export_report(
            ws, user=examiner, report_id=report_id, destination=target, dissemination_id=99
        )
    with pytest.raises(PolicyViolation, match="recorded release"):
        dissemination.record_print(ws, user=examiner, report_id=report_id, dissemination_id=None)
    assert not target.exists()
    assert len(events(ws, "report.export_refused")) == 2
    assert len(events(ws, "report.print_refused")) == 1
    assert events(ws, "report.exported") == [] and events(ws, "report.printed") == []

    # A release of another report (here: its earlier version) does not cover this one.
    first = dissemination.disseminate(ws, user=examiner, report_id=report_id, **LAW_ENFORCEMENT)
    newer = reports.issue_lead_report(ws, user=examiner, comparison_id=reported.comparison_id)
    with pytest.raises(PolicyViolation, match="for another report"):
        dissemination.export_report(
            ws,
            user=examiner,
            report_id=newer.report_id,
            destination=target,
            dissemination_id=first.dissemination_id,
        )
    with pytest.raises(PolicyViolation, match="superseded"):
        dissemination.record_print(
            ws, user=examiner, report_id=report_id, dissemination_id=first.dissemination_id
        )
    assert not target.exists()


def test_dissemination_refused_outside_law_enforcement_without_need_to_know_or_superseded(
    ws: Workstation, yale_dir: Path
) -> None:
    reported = load_reported_case(ws, yale_dir)
    examiner, report_id = reported.case.people.examiner, reported.report.report_id
    outsider = {**LAW_ENFORCEMENT, "recipient_type": "not_law_enforcement"}
    with pytest.raises(PolicyViolation, match="only be released to law enforcement"):
        dissemination.disseminate(ws, user=examiner, report_id=report_id, **outsider)
    vague = {**LAW_ENFORCEMENT, "need_to_know": "asked"}
    with pytest.raises(PolicyViolation, match="needs to know"):
        dissemination.disseminate(ws, user=examiner, report_id=report_id, **vague)
    nobody = {**LAW_ENFORCEMENT, "official": "  ", "method": ""}
    with pytest.raises(PolicyViolation, match="receiving official") as refused:
        dissemination.disseminate(ws, user=examiner, report_id=report_id, **nobody)
    assert "how the report is released" in str(refused.value)
    reports.issue_lead_report(ws, user=examiner, comparison_id=reported.comparison_id)
    with pytest.raises(PolicyViolation, match="superseded by version 2"):
        dissemination.disseminate(ws, user=examiner, report_id=report_id, **LAW_ENFORCEMENT)
    with pytest.raises(PermissionDenied, match="examiner or a supervisor"):
        dissemination.disseminate(
            ws, user=reported.case.people.admin, report_id=report_id, **LAW_ENFORCEMENT
        )
    refused_events = events(ws, "dissemination.refused")
    assert len(refused_events) == 5
    assert refused_events[0].details_dict["recipient_type"] == "not_law_enforcement"
    assert "law enforcement" in refused_events[0].details_dict["reason"]
    assert reports.get_report(ws, user=examiner, report_id=report_id).disseminations == ()


def test_export_destination_must_be_a_file_in_an_existing_folder(
    ws: Workstation, yale_dir: Path, tmp_path: Path
) -> None:
    reported = load_reported_case(ws, yale_dir)
    examiner, report_id = reported.case.people.examiner, reported.report.report_id
    release = dissemination.disseminate(ws, user=examiner, report_id=report_id, **LAW_ENFORCEMENT)
    for destination in (tmp_path, tmp_path / "missing" / "x.pdf"):
        with pytest.raises(InvalidInput):
            dissemination.export_report(
                ws,
                user=examiner,
                report_id=report_id,
                destination=destination,
                dissemination_id=release.dissemination_id,
            )
    assert events(ws, "report.exported") == []
