"""What refers to an evidence file, in words a supervisor can act on.

The evidence store names files by their SHA-256 only. When the health check finds one missing or
damaged, :func:`evidence_uses` says which records hold it: a request's probe photo or edited
version, a search's image, a case attachment, a gallery subject's photo or a lead report, each
with the case number or subject reference to look it up by, or a gallery import's manifest or
error report. :func:`where_it_belongs` falls back to the name the file was stored under, and by
whom, when no such record holds it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.records.case_models import (
    CaseAttachment,
    CaseRequest,
    CaseSearch,
    ProbeImage,
    ProbeVersion,
)
from app.records.gallery_models import GalleryPhoto, GallerySubject, ImportBatch
from app.records.models import EvidenceFile
from app.records.report_models import Report


def evidence_uses(session: Session, shas: Collection[str]) -> dict[str, list[str]]:
    """For each of ``shas`` that a record refers to: what refers to it (no repeats, in order)."""
    uses: dict[str, list[str]] = {}
    wanted = sorted(set(shas))
    if not wanted:
        return uses

    def add(rows: Iterable[Any], describe: Callable[..., str]) -> None:
        for sha, *fields in rows:
            text = describe(*fields)
            found = uses.setdefault(str(sha), [])
            if text not in found:
                found.append(text)

    case_number = CaseRequest.case_number
    held_by_requests = (
        (ProbeImage.original_sha256, ProbeImage.request_id, "the probe photo of request {}"),
        (CaseSearch.searched_sha256, CaseSearch.request_id, "the searched image of request {}"),
        (CaseAttachment.evidence_sha256, CaseAttachment.request_id, "an attachment of request {}"),
    )
    for sha_column, request_column, wording in held_by_requests:
        add(
            session.execute(
                select(sha_column, case_number)
                .join(CaseRequest, CaseRequest.id == request_column)
                .where(sha_column.in_(wanted))
            ),
            wording.format,
        )
    add(
        session.execute(
            select(ProbeVersion.evidence_sha256, case_number)
            .join(ProbeImage, ProbeImage.id == ProbeVersion.probe_id)
            .join(CaseRequest, CaseRequest.id == ProbeImage.request_id)
            .where(ProbeVersion.evidence_sha256.in_(wanted))
        ),
        "an edited probe of request {}".format,
    )
    add(
        session.execute(
            select(GalleryPhoto.evidence_sha256, GalleryPhoto.id, GallerySubject.subject_reference)
            .join(GallerySubject, GallerySubject.id == GalleryPhoto.subject_id)
            .where(GalleryPhoto.evidence_sha256.in_(wanted))
        ),
        lambda photo, reference: f"gallery photo {photo} of subject {reference}",
    )
    add(
        session.execute(
            select(
                Report.pdf_sha256, Report.report_number, Report.version, Report.case_number
            ).where(Report.pdf_sha256.in_(wanted))
        ),
        lambda number, version, case: f"report {number} version {version} of request {case}",
    )
    add(
        session.execute(
            select(ImportBatch.manifest_sha256, ImportBatch.id, ImportBatch.manifest_name).where(
                ImportBatch.manifest_sha256.in_(wanted)
            )
        ),
        lambda batch, name: f"the manifest '{name}' of gallery import {batch}",
    )
    add(
        session.execute(
            select(ImportBatch.error_report_sha256, ImportBatch.id).where(
                ImportBatch.error_report_sha256.in_(wanted)
            )
        ),
        lambda batch: f"the error report of gallery import {batch}",
    )
    return uses


def where_it_belongs(session: Session, shas: Collection[str]) -> dict[str, str]:
    """For each of ``shas``: a clause to end its problem with (`` Used by: a; b.``, or, when no
    record holds it, the name it was stored under and by whom)."""
    uses = evidence_uses(session, shas)
    clauses = {sha: f" Used by: {'; '.join(found)}." for sha, found in uses.items()}
    unclaimed = sorted(set(shas) - clauses.keys())
    if unclaimed:
        for sha, name, by in session.execute(
            select(EvidenceFile.sha256, EvidenceFile.original_name, EvidenceFile.created_by).where(
                EvidenceFile.sha256.in_(unclaimed)
            )
        ):
            clauses[str(sha)] = (
                f" Stored as '{name}' by {by}; no case, gallery or report record refers to it."
            )
    return clauses


__all__ = ["evidence_uses", "where_it_belongs"]
