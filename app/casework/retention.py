"""Retention (MPTC VI.A-B): legal holds, and the purge of records whose retention has ended.

Everything about a case is kept: request, probes and their edited copies, searches with their
candidate lists, comparisons, reviews, screenshots, reports and their releases. Each kind of
record has its retention period in the policy profile, counted from the day it was made. A case
file is purged as a whole, once EVERY record in it has passed its own period and nothing in it is
on legal hold; a decided disclosure request likewise. The audit log is never purged.

The purge is the only code that deletes case data. It removes the rows, then the evidence files
no other record refers to, and records one ``retention.purged`` audit event per case file with
the SHA-256 of every evidence file that belonged to it (and which files were removed).
Refusals are audited as ``retention.refused``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError
from sqlalchemy.orm import Session

from app.casework.account_rules import SignedInUser
from app.casework.case_access import audit, live_roles, refusals_audited
from app.casework.legal_holds import (
    HoldSummary,
    active_holds,
    lift_legal_hold,
    list_legal_holds,
    place_legal_hold,
)
from app.casework.workstation import Workstation
from app.errors import InvalidInput, StorageError
from app.policy.gates import require_role, retained_until, retention_due
from app.policy.roles import Role
from app.records.base import Base
from app.records.case_models import (
    CaseAttachment,
    CaseRequest,
    CaseSearch,
    Comparison,
    ComparisonAnswer,
    ProbeImage,
    ProbeVersion,
    Review,
    ReviewSkip,
    SearchCandidate,
)
from app.records.models import EvidenceFile
from app.records.report_models import (
    DisclosureDecision,
    DisclosureRelease,
    DisclosureRequest,
    Dissemination,
    Report,
)

log = logging.getLogger(__name__)

__all__ = [
    "HoldSummary",
    "PurgeResult",
    "PurgedRecord",
    "lift_legal_hold",
    "list_legal_holds",
    "place_legal_hold",
    "purge_expired",
]

PURGE_ROLES = frozenset({Role.ADMINISTRATOR, Role.SUPERVISOR})
# Disclosure requests still being handled are never purged, whatever their age.
FINISHED_DISCLOSURE = ("denied", "released")


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True)
class PurgedRecord:
    """One case file (``request``) or disclosure request removed (or, in a dry run, due)."""

    record_type: str
    record_id: int
    reference: str  # request number, or "disclosure <id>"
    case_number: str | None
    created_on: date
    retained_until: date  # the last day of the longest retention among its records
    rows: dict[str, int] = field(hash=False)  # table -> rows removed
    evidence_sha256: tuple[str, ...]  # every evidence file of the removed records
    files_removed: tuple[str, ...]  # those no other record refers to (deleted from the store)


@dataclass(frozen=True)
class HeldRecord:
    """A case file past its retention that a legal hold keeps."""

    record_type: str
    record_id: int
    reference: str
    hold_ids: tuple[int, ...]


@dataclass(frozen=True)
class PurgeResult:
    today: date
    dry_run: bool
    purged: tuple[PurgedRecord, ...]
    held: tuple[HeldRecord, ...]
    files_removed: int

    @property
    def summary(self) -> str:
        verb = "would be removed" if self.dry_run else "removed"
        return (
            f"{len(self.purged)} record(s) past retention {verb}; {len(self.held)} kept under "
            f"legal hold; {self.files_removed} evidence file(s) {verb}."
        )


# ----------------------------------------------------------------------------- case files
@dataclass
class _CaseFile:
    """Every row of one case, with the retention type and date of each and its evidence."""

    request: CaseRequest
    probes: list[ProbeImage]
    versions: list[ProbeVersion]
    searches: list[CaseSearch]
    candidates: list[SearchCandidate]
    comparisons: list[Comparison]
    answers: list[ComparisonAnswer]
    reviews: list[Review]
    skips: list[ReviewSkip]
    attachments: list[CaseAttachment]
    reports: list[Report]
    disseminations: list[Dissemination]

    def tables(self) -> dict[str, Sequence[Base]]:
        return {
            "case_requests": [self.request],
            "case_probes": self.probes,
            "case_probe_versions": self.versions,
            "case_searches": self.searches,
            "case_search_candidates": self.candidates,
            "case_comparisons": self.comparisons,
            "case_comparison_answers": self.answers,
            "case_reviews": self.reviews,
            "case_review_skips": self.skips,
            "case_attachments": self.attachments,
            "case_reports": self.reports,
            "case_disseminations": self.disseminations,
        }

    @property
    def dated(self) -> list[tuple[str, date]]:
        """(record type, day made) of every record, for the retention rules."""
        made: list[tuple[str, date]] = [("request", _day(self.request.created_at))]
        made += [("probe", _day(p.created_at)) for p in self.probes]
        made += [("probe", _day(v.created_at)) for v in self.versions]
        made += [("search", _day(s.created_at)) for s in self.searches]
        for group in (self.comparisons, self.reviews, self.skips, self.attachments):
            made += [("comparison", _day(row.created_at)) for row in group]
        made += [("report", _day(r.issued_at)) for r in self.reports]
        made += [("dissemination", _day(d.released_at)) for d in self.disseminations]
        return made

    @property
    def evidence(self) -> list[str]:
        """The SHA-256 of every evidence file the case's records refer to."""
        hashes = {p.original_sha256 for p in self.probes}
        hashes |= {v.evidence_sha256 for v in self.versions}
        hashes |= {v.parent_sha256 for v in self.versions}
        hashes |= {s.searched_sha256 for s in self.searches}
        hashes |= {a.evidence_sha256 for a in self.attachments}
        hashes |= {r.pdf_sha256 for r in self.reports}
        return sorted(hashes)


def _day(moment: datetime) -> date:
    return moment.date()


def _case_file(session: Session, request: CaseRequest) -> _CaseFile:
    def rows(stmt: Select[Any]) -> list[Any]:
        return list(session.execute(stmt).scalars())

    probes = rows(select(ProbeImage).where(ProbeImage.request_id == request.id))
    searches = rows(select(CaseSearch).where(CaseSearch.request_id == request.id))
    comparisons = rows(select(Comparison).where(Comparison.request_id == request.id))
    comparison_ids = [c.id for c in comparisons]
    reports = rows(select(Report).where(Report.request_id == request.id))
    return _CaseFile(
        request=request,
        probes=probes,
        versions=rows(
            select(ProbeVersion).where(ProbeVersion.probe_id.in_([p.id for p in probes]))
        ),
        searches=searches,
        candidates=rows(
            select(SearchCandidate).where(SearchCandidate.search_id.in_([s.id for s in searches]))
        ),
        comparisons=comparisons,
        answers=rows(
            select(ComparisonAnswer).where(ComparisonAnswer.comparison_id.in_(comparison_ids))
        ),
        reviews=rows(select(Review).where(Review.comparison_id.in_(comparison_ids))),
        skips=rows(
            select(ReviewSkip).where(
                or_(
                    ReviewSkip.request_id == request.id,
                    ReviewSkip.comparison_id.in_(comparison_ids),
                )
            )
        ),
        attachments=rows(select(CaseAttachment).where(CaseAttachment.request_id == request.id)),
        reports=reports,
        disseminations=rows(
            select(Dissemination).where(Dissemination.report_id.in_([r.id for r in reports]))
        ),
    )


def _last_day(ws: Workstation, dated: list[tuple[str, date]]) -> date | None:
    """The last day any of the records must still be kept (None: one is never purged)."""
    days = [retained_until(kind, made, ws.profile) for kind, made in dated]
    if any(d is None for d in days):
        return None
    return max(d for d in days if d is not None)


def _all_due(ws: Workstation, dated: list[tuple[str, date]], today: date) -> bool:
    return all(
        retention_due(kind, made, ws.profile, today, legal_hold=False) for kind, made in dated
    )


def _delete_case(session: Session, case: _CaseFile) -> dict[str, int]:
    """Delete the case's rows, children first (the database's foreign keys check the order)."""
    removed: dict[str, int] = {}

    def drop(model: type[Base], ids: list[int], column: str = "id") -> None:
        if not ids:
            return
        stmt = delete(model).where(getattr(model, column).in_(ids))
        result = session.execute(stmt.execution_options(synchronize_session=False))
        name = str(model.__tablename__)
        removed[name] = removed.get(name, 0) + int(getattr(result, "rowcount", 0) or 0)

    report_ids = [r.id for r in case.reports]
    comparison_ids = [c.id for c in case.comparisons]
    if report_ids:
        session.execute(
            update(Report)
            .where(Report.id.in_(report_ids))
            .values(superseded_by_id=None)
            .execution_options(synchronize_session=False)
        )
    drop(Dissemination, [d.id for d in case.disseminations])
    drop(Report, report_ids)
    drop(CaseAttachment, [a.id for a in case.attachments])
    drop(ReviewSkip, [k.id for k in case.skips])
    drop(Review, [r.id for r in case.reviews])
    drop(ComparisonAnswer, comparison_ids, "comparison_id")
    drop(Comparison, comparison_ids)
    drop(SearchCandidate, [c.id for c in case.candidates])
    drop(CaseSearch, [s.id for s in case.searches])
    version_ids = [v.id for v in case.versions]
    if version_ids:
        session.execute(
            update(ProbeVersion)
            .where(ProbeVersion.id.in_(version_ids))
            .values(parent_version_id=None)
            .execution_options(synchronize_session=False)
        )
    drop(ProbeVersion, version_ids)
    drop(ProbeImage, [p.id for p in case.probes])
    drop(CaseRequest, [case.request.id])
    session.flush()
    return removed


def _references(session: Session, sha: str) -> int:
    """Rows anywhere that still name this evidence file (by foreign key)."""
    count = 0
    for table in Base.metadata.tables.values():
        for fk in table.foreign_keys:
            if fk.column.table.name == EvidenceFile.__tablename__:
                count += int(
                    session.execute(
                        select(func.count()).select_from(table).where(fk.parent == sha)
                    ).scalar_one()
                )
    return count


def _unreferenced(session: Session, hashes: Sequence[str]) -> list[str]:
    """Delete the evidence rows nobody refers to any more; their hashes (files go later)."""
    gone = []
    for sha in hashes:
        if _references(session, sha) == 0:
            row = session.get(EvidenceFile, sha)
            if row is not None:
                session.delete(row)
            gone.append(sha)
    session.flush()
    return gone


def _old_requests(ws: Workstation, session: Session, today: date) -> Iterator[CaseRequest]:
    """Requests whose own retention has ended (a case file cannot be due before its request)."""
    for row in session.execute(select(CaseRequest).order_by(CaseRequest.id)).scalars():
        if retention_due("request", _day(row.created_at), ws.profile, today, legal_hold=False):
            yield row


# ----------------------------------------------------------------------------- the purge
def purge_expired(
    ws: Workstation, *, user: SignedInUser, today: date | None = None, dry_run: bool = False
) -> PurgeResult:
    """Remove every case file and finished disclosure request past retention and not held.

    ``today`` defaults to the workstation's date (UTC); ``dry_run`` only reports what is due.
    """
    day = today or ws.now().date()
    if day > ws.now().date():
        raise InvalidInput("A purge cannot be run for a day in the future.")
    purged: list[PurgedRecord] = []
    held: list[HeldRecord] = []
    with (
        refusals_audited(
            ws,
            user=user,
            action="retention.refused",
            object_type="retention",
            object_id=None,
            details={"attempted": "purge records past retention", "today": day},
        ),
        ws.database.session(read_only=dry_run) as session,
    ):
        require_role(live_roles(session, user), PURGE_ROLES, "purge records past retention")
        holds_by_request, holds_by_disclosure = active_holds(session)
        for request in list(_old_requests(ws, session, day)):
            case = _case_file(session, request)
            if not _all_due(ws, case.dated, day):
                continue
            if request.id in holds_by_request:
                held.append(
                    HeldRecord(
                        "request",
                        request.id,
                        request.request_number,
                        tuple(holds_by_request[request.id]),
                    )
                )
                continue
            purged.append(_purge_case(ws, session, user, case, dry_run=dry_run))
        for disclosure in list(session.execute(select(DisclosureRequest)).scalars()):
            made = _day(disclosure.recorded_at)
            if disclosure.status not in FINISHED_DISCLOSURE or not retention_due(
                "disclosure", made, ws.profile, day, legal_hold=False
            ):
                continue
            if disclosure.id in holds_by_disclosure:
                held.append(
                    HeldRecord(
                        "disclosure",
                        disclosure.id,
                        f"disclosure {disclosure.id}",
                        tuple(holds_by_disclosure[disclosure.id]),
                    )
                )
                continue
            purged.append(_purge_disclosure(ws, session, user, disclosure, dry_run=dry_run))
        files = sorted({sha for item in purged for sha in item.files_removed})
        if not dry_run:
            audit(
                ws,
                session,
                user=user,
                action="retention.purge_run",
                object_type="retention",
                object_id=None,
                details={
                    "today": day,
                    "purged": [[p.record_type, p.record_id, p.reference] for p in purged],
                    "held": [[h.record_type, h.record_id, h.reference] for h in held],
                    "evidence_files_removed": len(files),
                },
            )
    removed = 0
    if not dry_run:
        # Only after the commit: a rolled-back purge must not lose files still referred to.
        for sha in files:
            try:
                if ws.evidence.delete(sha):
                    removed += 1
            except StorageError as exc:
                log.warning("evidence file %s could not be removed: %s", sha, exc)
    else:
        removed = len(files)
    return PurgeResult(day, dry_run, tuple(purged), tuple(held), removed)


def _purge_case(
    ws: Workstation, session: Session, user: SignedInUser, case: _CaseFile, *, dry_run: bool
) -> PurgedRecord:
    request = case.request
    last = _last_day(ws, case.dated) or _day(request.created_at)
    reference, case_number, request_id = request.request_number, request.case_number, request.id
    if dry_run:
        rows = {name: len(items) for name, items in case.tables().items() if items}
        files = [sha for sha in case.evidence if _references(session, sha) <= _own(case, sha)]
        return PurgedRecord(
            "request",
            request_id,
            reference,
            case_number,
            _day(request.created_at),
            last,
            rows,
            tuple(case.evidence),
            tuple(files),
        )
    try:
        rows = _delete_case(session, case)
    except DatabaseIntegrityError as exc:
        raise StorageError(
            f"Case file {reference} could not be purged: another record still refers to it "
            f"({exc.orig}). Nothing was removed."
        ) from exc
    files = _unreferenced(session, case.evidence)
    audit(
        ws,
        session,
        user=user,
        action="retention.purged",
        object_type="request",
        object_id=request_id,
        details={
            "request_number": reference,
            "case_number": case_number,
            "created_on": _day(request.created_at),
            "retained_until": last,
            "rows": rows,
            "evidence_sha256": case.evidence,
            "evidence_files_removed": files,
            "rule": ws.profile.retention["request"].clause,
        },
    )
    return PurgedRecord(
        "request",
        request_id,
        reference,
        case_number,
        _day(request.created_at),
        last,
        rows,
        tuple(case.evidence),
        tuple(files),
    )


def _own(case: _CaseFile, sha: str) -> int:
    """How many of the case's own rows refer to ``sha`` (for the dry run's file count)."""
    count = 0
    for items in case.tables().values():
        for row in items:
            table = type(row).__table__
            for fk in table.foreign_keys:
                evidence = fk.column.table.name == EvidenceFile.__tablename__
                if evidence and getattr(row, fk.parent.key) == sha:
                    count += 1
    return count


def _purge_disclosure(
    ws: Workstation,
    session: Session,
    user: SignedInUser,
    row: DisclosureRequest,
    *,
    dry_run: bool,
) -> PurgedRecord:
    made = _day(row.recorded_at)
    last = retained_until("disclosure", made, ws.profile) or made
    releases = len(row.releases)
    decisions = len(row.decisions)
    rows = {
        DisclosureRelease.__tablename__: releases,
        DisclosureDecision.__tablename__: decisions,
        DisclosureRequest.__tablename__: 1,
    }
    record = PurgedRecord(
        "disclosure", row.id, f"disclosure {row.id}", row.case_number, made, last, rows, (), ()
    )
    if dry_run:
        return record
    disclosure_id = row.id
    for model, column in (
        (DisclosureRelease, DisclosureRelease.disclosure_id),
        (DisclosureDecision, DisclosureDecision.disclosure_id),
        (DisclosureRequest, DisclosureRequest.id),
    ):
        session.execute(
            delete(model)
            .where(column == disclosure_id)
            .execution_options(synchronize_session=False)
        )
    session.flush()
    audit(
        ws,
        session,
        user=user,
        action="retention.purged",
        object_type="disclosure",
        object_id=disclosure_id,
        details={
            "requester": row.requester,
            "case_number": row.case_number,
            "created_on": made,
            "retained_until": last,
            "rows": rows,
            "evidence_sha256": [],
        },
    )
    return record
