"""Retention (MPTC VI.A-B): the purge removes only case files past retention and not on legal
hold, with the hashes of what went in the audit log; nothing else deletes case data."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from case_support import add_user, count_rows, events, intake, make_people
from report_support import LAW_ENFORCEMENT, load_reported_case
from sqlalchemy import select

from app.casework import audit_log, disclosure, dissemination, probes, requests, retention
from app.casework.accounts import SignedInUser
from app.casework.workstation import Workstation
from app.errors import InvalidInput, PermissionDenied
from app.policy.roles import Role
from app.records.case_models import CaseRequest, CaseSearch, ProbeImage, SearchCandidate
from app.records.gallery_models import GalleryPhoto
from app.records.models import EvidenceFile
from app.records.report_models import Dissemination, Report

RETENTION_DAYS = 2555  # the MPTC profile's placeholder period for every case record


class MovedClock:
    """The real clock moved forward by a settable number of days."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.days = 0

    def __call__(self) -> datetime:
        return self.clock() + timedelta(days=self.days)


def _moved(ws: Workstation) -> MovedClock:
    clock = MovedClock(ws.clock)
    ws.clock = clock
    return clock


def test_purge_removes_only_expired_unheld_case_files_and_audits_their_hashes(
    ws: Workstation, yale_dir: Path
) -> None:
    reported = load_reported_case(ws, yale_dir)
    people = reported.case.people
    dissemination.disseminate(
        ws, user=people.examiner, report_id=reported.report.report_id, **LAW_ENFORCEMENT
    )
    probe_sha = probes.get_probe(
        ws, user=people.examiner, probe_id=reported.case.probe_id
    ).original_sha256
    report_sha = reported.report.pdf_sha256
    with ws.database.session(read_only=True) as session:
        gallery_hashes = list(session.execute(select(GalleryPhoto.evidence_sha256)).scalars())
    clock = _moved(ws)
    clock.days = 1000
    newer = requests.open_request(ws, user=people.examiner, intake=intake(case_number="NEW-1"))
    clock.days = RETENTION_DAYS + 1  # the first case's last day of retention was yesterday

    preview = retention.purge_expired(ws, user=people.admin, dry_run=True)
    assert [p.reference for p in preview.purged] == [reported.report.request_number]
    assert report_sha in preview.purged[0].files_removed
    assert probe_sha in preview.purged[0].files_removed
    assert count_rows(ws, CaseRequest) == 2 and ws.evidence.exists(report_sha)

    with pytest.raises(PermissionDenied):
        retention.place_legal_hold(
            ws,
            user=people.examiner,
            record_type="report",
            record_id=reported.report.report_id,
            reason="I would like to keep it",
        )
    with pytest.raises(PermissionDenied):
        retention.purge_expired(ws, user=people.examiner)
    hold = retention.place_legal_hold(
        ws,
        user=people.supervisor,
        record_type="report",
        record_id=reported.report.report_id,
        reason="Litigation hold: civil suit 26-CV-0192",
    )
    assert hold.request_id == reported.case.request_id and hold.active
    held = retention.purge_expired(ws, user=people.admin)
    assert held.purged == () and [h.hold_ids for h in held.held] == [(hold.hold_id,)]
    assert count_rows(ws, CaseRequest) == 2

    retention.lift_legal_hold(
        ws, user=people.supervisor, hold_id=hold.hold_id, reason="The suit was settled"
    )
    result = retention.purge_expired(ws, user=people.admin)
    assert [p.record_id for p in result.purged] == [reported.case.request_id]
    purged = result.purged[0]
    assert purged.rows["case_reports"] == 1 and purged.rows["case_disseminations"] == 1
    assert purged.rows["case_search_candidates"] == len(reported.case.search.candidates)
    # Only the newer request is left; every table of the old case is empty.
    assert count_rows(ws, CaseRequest) == 1
    for model in (ProbeImage, CaseSearch, SearchCandidate, Report, Dissemination):
        assert count_rows(ws, model) == 0, model
    assert requests.get_request(ws, user=people.examiner, request_id=newer.request_id)
    # The case's files are gone; the gallery's are not.
    assert not ws.evidence.exists(report_sha) and not ws.evidence.exists(probe_sha)
    assert all(ws.evidence.exists(sha) for sha in gallery_hashes)
    with ws.database.session(read_only=True) as session:
        assert session.get(EvidenceFile, report_sha) is None
        assert all(session.get(EvidenceFile, sha) is not None for sha in gallery_hashes)
    assert result.files_removed == len(purged.files_removed) >= 2

    audited = events(ws, "retention.purged")
    assert len(audited) == 1 and audited[0].object_id == str(reported.case.request_id)
    details = audited[0].details_dict
    assert {report_sha, probe_sha} <= set(details["evidence_sha256"])
    assert set(details["evidence_files_removed"]) == set(purged.files_removed)
    assert details["case_number"] == "2026-CR-0042"
    assert events(ws, "retention.purge_run")[-1].details_dict["evidence_files_removed"] >= 2
    assert [e.actor for e in events(ws, "retention.refused")] == ["erin", "erin"]
    assert audit_log.verify_audit_chain(ws).ok


def test_a_later_record_keeps_the_whole_case_file(ws: Workstation, yale_dir: Path) -> None:
    reported = load_reported_case(ws, yale_dir)
    people = reported.case.people
    clock = _moved(ws)
    clock.days = 400  # the report is released more than a year after it was issued
    dissemination.disseminate(
        ws, user=people.examiner, report_id=reported.report.report_id, **LAW_ENFORCEMENT
    )
    clock.days = RETENTION_DAYS + 1
    kept = retention.purge_expired(ws, user=people.supervisor)
    assert kept.purged == () and count_rows(ws, CaseRequest) == 1
    clock.days = 400 + RETENTION_DAYS + 1
    gone = retention.purge_expired(ws, user=people.supervisor)
    assert [p.record_id for p in gone.purged] == [reported.case.request_id]
    assert gone.purged[0].retained_until == (ws.now() - timedelta(days=1)).date()
    with pytest.raises(InvalidInput, match="future"):
        retention.purge_expired(ws, user=people.admin, today=(ws.now() + timedelta(days=1)).date())


def test_decided_disclosure_requests_expire_pending_or_held_ones_stay(ws: Workstation) -> None:
    people = make_people(ws)
    counsel = _counsel(ws, people.admin)
    finished = disclosure.record_disclosure_request(
        ws, user=counsel, requester="A reporter", description="Search counts for 2026"
    )
    disclosure.decide_disclosure(
        ws, user=counsel, disclosure_id=finished.disclosure_id, approve=False, reason="Exempt"
    )
    pending = disclosure.record_disclosure_request(
        ws, user=counsel, requester="A lawyer", description="Records of case 12"
    )
    held = disclosure.record_disclosure_request(
        ws, user=counsel, requester="An auditor", description="Everything about case 13"
    )
    disclosure.decide_disclosure(
        ws, user=counsel, disclosure_id=held.disclosure_id, approve=False, reason="Exempt"
    )
    retention.place_legal_hold(
        ws,
        user=counsel,
        record_type="disclosure",
        record_id=held.disclosure_id,
        reason="Appeal of the denial is pending",
    )
    _moved(ws).days = RETENTION_DAYS + 1
    result = retention.purge_expired(ws, user=people.admin)
    assert [p.record_id for p in result.purged] == [finished.disclosure_id]
    assert [h.record_id for h in result.held] == [held.disclosure_id]
    remaining = {d.disclosure_id for d in disclosure.list_disclosures(ws, user=counsel)}
    assert remaining == {pending.disclosure_id, held.disclosure_id}
    assert audit_log.verify_audit_chain(ws).ok


def _counsel(ws: Workstation, admin: SignedInUser) -> SignedInUser:
    return add_user(ws, admin, "lena", frozenset({Role.LEGAL_ADVISOR}), trained=False)


DELETING = re.compile(r"\bdelete\(|\.delete\(|DELETE\s+FROM", re.I)
# Where deleting is allowed, and why: the purge (case data), the gallery's expunge of a gallery
# subject (not case data), and the evidence store's own method that both of them call.
ALLOWED_DELETERS = {
    "app/casework/retention.py",
    "app/casework/gallery.py",
    "app/records/evidence.py",
}


def test_only_the_retention_purge_deletes_case_data() -> None:
    root = Path(__file__).resolve().parents[2]
    deleting = {
        str(path.relative_to(root))
        for path in (root / "app").rglob("*.py")
        if DELETING.search(path.read_text(encoding="utf-8"))
    }
    assert deleting == ALLOWED_DELETERS
    gallery = (root / "app/casework/gallery.py").read_text(encoding="utf-8")
    # The gallery deletes only gallery subjects (photos, embeddings) and unreferenced evidence.
    deleted = re.findall(r"session\.delete\((\w+)\)", gallery)
    assert set(deleted) == {"subject", "evidence"}
