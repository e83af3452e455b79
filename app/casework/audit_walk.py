"""Walking a random audit sample (MPTC VI.C): the read-only case file of each sampled request.

For each request drawn into a sample the auditor reads, section by section, the request, its
purpose and attestations, the probe and every edit, the searches, the candidates, the comparison
worksheets, the second reviews, the reports and their disseminations, then records a finding
(:func:`app.casework.audit_samples.record_audit_finding`). Reading a case file is for
supervisors and administrators and is itself audited (``audit.case_read``); a refusal is audited
as ``permission.denied``. A request purged under the retention rules since the draw is shown as
such.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.casework.account_rules import SignedInUser
from app.casework.audit_samples import (
    AuditFindingSummary,
    AuditSampleSummary,
    get_audit_sample,
    require_auditor,
)
from app.casework.case_access import audit, first_conclusion_visible, username_of
from app.casework.workstation import Workstation
from app.errors import InvalidInput, PolicyViolation
from app.records.case_models import (
    CaseRequest,
    CaseSearch,
    Comparison,
    ProbeImage,
    Review,
    ReviewSkip,
    json_value,
)
from app.records.report_models import Report

__all__ = [
    "SECTION_TITLES",
    "AuditedCaseFile",
    "CaseFileSection",
    "audit_case_file",
    "audit_progress",
    "audited_request_ids",
]

SECTION_TITLES = (
    ("request", "Request"),
    ("purpose", "Purpose and attestations"),
    ("probe", "Probe and edits"),
    ("search", "Search"),
    ("candidates", "Candidates"),
    ("worksheet", "Comparison worksheets"),
    ("review", "Second review"),
    ("reports", "Reports"),
    ("dissemination", "Dissemination"),
)


@dataclass(frozen=True)
class CaseFileSection:
    """One section of a case file as plain lines (empty: nothing was recorded)."""

    key: str
    title: str
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines) if self.lines else "Nothing recorded."


@dataclass(frozen=True)
class AuditedCaseFile:
    """A sampled request's case file with its place in the sample and the findings so far."""

    sample_id: int
    request_id: int
    position: int  # 1-based place in the sample's drawing order
    total: int
    request_number: str
    case_number: str | None
    held: bool  # False: the request was purged since the draw
    sections: tuple[CaseFileSection, ...]
    findings: tuple[AuditFindingSummary, ...]

    def section(self, key: str) -> CaseFileSection:
        return next(s for s in self.sections if s.key == key)


def audited_request_ids(sample: AuditSampleSummary) -> frozenset[int]:
    """The sampled requests that have at least one finding."""
    return frozenset(f.request_id for f in sample.findings)


def audit_progress(sample: AuditSampleSummary) -> tuple[int, int]:
    """(requests with a finding, requests drawn), e.g. (3, 10) for "3 of 10 audited"."""
    drawn = set(sample.request_ids)
    return len(audited_request_ids(sample) & drawn), len(drawn)


# ----------------------------------------------------------------------------- formatting
def _when(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def _attested(moment: datetime | None) -> str:
    return f"attested {_when(moment)}" if moment is not None else "NOT attested"


def _request_lines(session: Session, row: CaseRequest) -> tuple[str, ...]:
    lines = [
        f"Request {row.request_number}, case {row.case_number}, status {row.status}"
        + (f" ({row.status_note})" if row.status_note else ""),
        f"Requested by {row.requesting_officer}, {row.requesting_agency}",
        f"Offense: {row.offense}",
        f"Narrative: {row.narrative}",
        f"Opened {_when(row.created_at)} by {row.created_by}; assigned to "
        f"{username_of(session, row.assigned_examiner_id)}",
        f"Policy: {row.profile_name} {row.profile_version} (SHA-256 {row.profile_sha256[:12]})",
    ]
    if row.submitting_agency:
        ack = (
            f"acknowledged by {row.interagency_ack_by} {_when(row.interagency_ack_at)}, recorded "
            f"by {row.interagency_ack_recorded_by}"
            if row.interagency_ack_at is not None
            else "written acknowledgment NOT recorded"
        )
        lines.append(f"Submitted by another agency: {row.submitting_agency}; {ack}")
    return tuple(lines)


def _purpose_lines(row: CaseRequest) -> tuple[str, ...]:
    return (
        f"Purpose {row.purpose_code}: {row.purpose_text}",
        f"Probe source: {row.probe_source} ({row.probe_kind}); obtained: {row.probe_obtained_how}",
        f"Lawful source: {_attested(row.lawful_source_attested_at)}",
        f"Not solely protected characteristics or activity: "
        f"{_attested(row.not_protected_basis_attested_at)}",
        f"Probe shows the actual subject: {_attested(row.actual_subject_attested_at)}",
        f"Attested by {row.attested_by}",
    )


def _probe_lines(probes: Iterable[ProbeImage]) -> tuple[str, ...]:
    lines: list[str] = []
    for probe in probes:
        faces = len(json_value(probe.detected_faces) or [])
        chosen = "-" if probe.chosen_face_index is None else str(probe.chosen_face_index + 1)
        lines.append(
            f"Probe {probe.id}: {probe.original_name} ({probe.width}x{probe.height}), "
            f"{faces} face(s), face {chosen} chosen; added {_when(probe.created_at)} by "
            f"{probe.created_by}; original SHA-256 {probe.original_sha256[:12]}"
        )
        for version in probe.versions:
            parent = (
                "the original"
                if version.parent_version_id is None
                else f"copy {version.parent_version_id}"
            )
            lines.append(
                f"  edit copy {version.id}: {version.operation_name} of {parent} "
                f"{version.operation}; {_when(version.created_at)} by {version.created_by}"
            )
        if not probe.versions:
            lines.append("  no edits (searched and compared on the original)")
    return tuple(lines)


def _search_lines(searches: list[CaseSearch]) -> tuple[str, ...]:
    lines = []
    for s in searches:
        copy = "the original" if s.probe_version_id is None else f"edit copy {s.probe_version_id}"
        warnings = json_value(s.quality_warnings) or []
        lines.append(
            f"Search {s.id}: {_when(s.created_at)} by {s.created_by}, probe {s.probe_id} "
            f"({copy}), face {s.face_index + 1}; model {s.model_name} {s.model_version}, "
            f"{s.method} k={s.k}, index generation {s.index_generation}, gallery of "
            f"{s.gallery_size}, {s.candidate_count} candidate(s)"
        )
        lines.extend(f"  quality warning: {w}" for w in warnings)
    return tuple(lines)


def _candidate_lines(searches: list[CaseSearch]) -> tuple[str, ...]:
    lines = []
    for s in searches:
        lines.append(f"Search {s.id}:")
        lines.extend(
            f"  {c.rank:>3}. {c.subject_reference}  score {c.score:.4f}  photo "
            f"{c.photo_date or '-'} (latest {c.most_recent_photo_date or '-'})  "
            f"{c.source_type} {c.source_reference}"
            for c in s.candidates
        )
    return tuple(lines)


def _item_label(ws: Workstation, item_id: str) -> str:
    try:
        return ws.worksheet.item(item_id).label
    except PolicyViolation:
        return item_id


def _worksheet_lines(
    ws: Workstation, comparisons: list[Comparison], user: SignedInUser, session: Session
) -> tuple[str, ...]:
    lines = []
    for c in comparisons:
        if not first_conclusion_visible(c, user, session):
            # The auditor may be its blind reviewer (MPTC IV.E.2): nothing of the first findings.
            lines.append(
                f"Comparison {c.id} of candidate {c.candidate.rank} "
                f"({c.candidate.subject_reference}) by {c.examiner}: {c.status}; answers and "
                "conclusion withheld until the second review is finished"
            )
            continue
        lines.append(
            f"Comparison {c.id} of candidate {c.candidate.rank} ({c.candidate.subject_reference})"
            f" by {c.examiner}: {c.status}, conclusion {c.conclusion or '-'}; worksheet "
            f"{c.worksheet_name} {c.worksheet_version}; started {_when(c.started_at)}, "
            f"finished {_when(c.finished_at)}"
        )
        for answer in c.answers:
            note = f" - {answer.note}" if answer.note else ""
            lines.append(f"  {_item_label(ws, answer.item_id)}: {answer.answer}{note}")
    return tuple(lines)


def _review_lines(reviews: list[Review], skips: list[ReviewSkip]) -> tuple[str, ...]:
    lines = []
    for r in reviews:
        agreement = {None: "-", True: "agrees", False: "DISAGREES"}[r.agreement]
        lines.append(
            f"Review {r.id} of comparison {r.comparison_id} by {r.reviewer}: {r.status}, "
            f"conclusion {r.conclusion or '-'}, {agreement}; recorded {_when(r.recorded_at)}"
        )
        if r.disagreement:
            resolved = (
                f"resolved by {r.resolved_by} {_when(r.resolved_at)}: {r.resolution_note}"
                if r.resolved_at is not None
                else "NOT resolved"
            )
            lines.append(f"  disagreement {resolved}")
    for skip in skips:
        target = f"comparison {skip.comparison_id}" if skip.comparison_id else "the request"
        lines.append(
            f"Review skipped for {target} by {skip.created_by} {_when(skip.created_at)}: "
            f"{skip.reason}"
        )
    return tuple(lines)


def _report_lines(reports: list[Report]) -> tuple[str, ...]:
    return tuple(
        f"{r.report_number} version {r.version}: {r.kind.replace('_', '-')} report, {r.status}; "
        f"issued {_when(r.issued_at)} by {r.issued_by}"
        + (f"; superseded {_when(r.superseded_at)}" if r.superseded_at else "")
        for r in reports
    )


def _dissemination_lines(reports: list[Report]) -> tuple[str, ...]:
    return tuple(
        f"{r.report_number} v{r.version} to {d.official}, {d.recipient_agency} "
        f"({d.recipient_type}) by {d.method}, {_when(d.released_at)} by {d.released_by}; "
        f"need to know: {d.need_to_know}"
        for r in reports
        for d in r.disseminations
    )


def _sections(
    ws: Workstation, session: Session, row: CaseRequest, user: SignedInUser
) -> tuple[CaseFileSection, ...]:
    searches = list(
        session.execute(
            select(CaseSearch).where(CaseSearch.request_id == row.id).order_by(CaseSearch.id)
        ).scalars()
    )
    comparisons = list(
        session.execute(
            select(Comparison).where(Comparison.request_id == row.id).order_by(Comparison.id)
        ).scalars()
    )
    skips = list(
        session.execute(
            select(ReviewSkip).where(ReviewSkip.request_id == row.id).order_by(ReviewSkip.id)
        ).scalars()
    )
    reviews = list(
        session.execute(
            select(Review)
            .where(Review.comparison_id.in_([c.id for c in comparisons]))
            .order_by(Review.id)
        ).scalars()
    )
    reports = list(
        session.execute(
            select(Report)
            .where(Report.request_id == row.id)
            .order_by(Report.report_number, Report.version)
        ).scalars()
    )
    content = {
        "request": _request_lines(session, row),
        "purpose": _purpose_lines(row),
        "probe": _probe_lines(row.probes),
        "search": _search_lines(searches),
        "candidates": _candidate_lines(searches),
        "worksheet": _worksheet_lines(ws, comparisons, user, session),
        "review": _review_lines(reviews, skips),
        "reports": _report_lines(reports),
        "dissemination": _dissemination_lines(reports),
    }
    return tuple(CaseFileSection(key, title, content[key]) for key, title in SECTION_TITLES)


# ----------------------------------------------------------------------------- reading
def audit_case_file(
    ws: Workstation, *, user: SignedInUser, sample_id: int, request_id: int
) -> AuditedCaseFile:
    """The read-only case file of one sampled request (supervisors, administrators; audited)."""
    sample = get_audit_sample(ws, user=user, sample_id=sample_id)
    if request_id not in sample.request_ids:
        raise InvalidInput(
            f"Request {request_id} is not in audit sample {sample_id}; only the requests drawn "
            "are walked."
        )
    with ws.database.session() as session:
        require_auditor(ws, session, user, "read a sampled case file")
        row = session.get(CaseRequest, request_id)
        findings = tuple(f for f in sample.findings if f.request_id == request_id)
        if row is None:
            number = findings[0].request_number if findings else f"request {request_id}"
            gone = (
                "The request's records are no longer held (purged under the retention "
                "rules since the sample was drawn).",
            )
            sections = tuple(
                CaseFileSection(key, title, gone if key == "request" else ())
                for key, title in SECTION_TITLES
            )
            case_number = None
        else:
            number, case_number = row.request_number, row.case_number
            sections = _sections(ws, session, row, user)
        audit(
            ws,
            session,
            user=user,
            action="audit.case_read",
            object_type="request",
            object_id=request_id,
            details={"sample_id": sample_id, "request_number": number, "held": row is not None},
        )
    return AuditedCaseFile(
        sample_id=sample_id,
        request_id=request_id,
        position=sample.request_ids.index(request_id) + 1,
        total=len(sample.request_ids),
        request_number=number,
        case_number=case_number,
        held=row is not None,
        sections=sections,
        findings=findings,
    )
