"""Gallery casework: enrol a photo, seal and unseal, expunge (look-ups: :mod:`gallery_lookup`).

Every change checks the caller's roles in the database and writes its audit event in the same
transaction as the change and its :class:`GalleryChange` rows. Sealing (MPTC IV.C) takes effect
at once: the database rows are flagged, and before the call returns every face index of this
data folder has marked the photos deleted; searches re-check the rows as well. Nothing here
reads case or probe evidence: the only way into the gallery is a lawfully held photo given to
:func:`enrol_photo` or :func:`app.casework.gallery_import.import_gallery` (MPTC VI.D).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.casework import gallery_rules as rules
from app.casework.account_rules import SignedInUser
from app.casework.gallery_engine import (
    PhotoRejection,
    analyse_photo,
    descriptor_key,
    embed_chips,
    gallery_embedder,
    gallery_pipeline,
)
from app.casework.gallery_lookup import (
    FIND_LIMIT,
    GalleryStats,
    PhotoDetail,
    SubjectDetail,
    SubjectSummary,
    find_subjects,
    gallery_stats,
    get_photo,
    get_subject,
    live_photo_ids,
    photo_image,
    photo_row,
    subject_row,
)
from app.casework.gallery_records import (
    NewPhoto,
    PhotoFields,
    SubjectFields,
    add_photo,
    append_changes,
    check_gallery_manager,
    gallery_generation,
    lock_gallery,
    photo_by_sha,
    require_permission,
)
from app.casework.index_sync import IndexStatus, refresh_indexes
from app.casework.workstation import Workstation
from app.errors import FrxError, ImageError, PolicyViolation
from app.policy.gates import check_can_seal, check_gallery_source
from app.records.all_models import Base
from app.records.audit import append_event
from app.records.evidence import sha256_hex
from app.records.gallery_models import (
    CHANGE_ADD,
    CHANGE_REMOVE,
    GalleryPhoto,
)
from app.records.models import EvidenceFile

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class EnrolResult:
    photo_id: int
    subject_id: int
    subject_reference: str
    evidence_sha256: str
    already_in_gallery: bool  # the same photo was enrolled before: nothing was added
    new_subject: bool
    generation: int
    quality_warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class SealResult:
    subject_reference: str
    photo_ids: tuple[int, ...]  # the photos whose searchability changed (or may have)
    sealed: bool  # the state after the call
    generation: int
    indexes: tuple[IndexStatus, ...]


@dataclass(frozen=True)
class ExpungeResult:
    subject_reference: str
    photos_removed: int
    evidence_hashes: tuple[str, ...]  # kept in the audit event
    evidence_files_removed: int  # files still used by other records are kept
    generation: int


# ------------------------------------------------------------------------------ helpers
def _refresh_indexes(
    ws: Workstation, *, include: str | None = None, save: bool = True
) -> tuple[IndexStatus, ...]:
    """Bring the indexes up to the change just committed. The change stands whatever happens
    here: a failure to save an index (full disk) is logged, the catch-up in memory has already
    been applied, and every search re-checks the database anyway."""
    try:
        return tuple(refresh_indexes(ws, include=include, save=save))
    except FrxError as exc:
        log.warning("the face index could not be brought up to date: %s", exc)
        return ()


# ------------------------------------------------------------------------------ enrolment
def enrol_photo(
    ws: Workstation,
    *,
    by: SignedInUser,
    subject_reference: str,
    image_bytes: bytes,
    photo_date: date | str,
    source_type: str,
    source_reference: str,
    lawful_basis: str = "",
    name: str = "",
    date_of_birth: date | str | None = None,
    sex: str | None = None,
    descriptors: Mapping[str, object] | None = None,
    file_name: str = "gallery photo",
    model: str | None = None,
) -> EnrolResult:
    """Enrol one lawfully held photo of a subject (created when the reference is new).

    The photo must show exactly one face. The same photo enrolled again is one photo: the
    existing one is returned with ``already_in_gallery=True``.
    """
    model_name = model or ws.settings.model_name
    with ws.database.session() as session:
        require_permission(
            ws, session, by, check=check_gallery_manager, attempted="enrol a gallery photo"
        )
    today = ws.now().date()
    subject = SubjectFields(
        subject_reference=rules.subject_reference(subject_reference),
        name=rules.subject_name(name),
        date_of_birth=rules.parse_date(
            date_of_birth, what="date of birth", today=today, required=False
        ),
        sex=rules.sex(sex),
        descriptors=rules.descriptors(dict(descriptors) if descriptors else None),
    )
    fields = PhotoFields(
        photo_date=rules.required_date(photo_date, what="photo date", today=today),
        source_type=rules.source_type(source_type),
        source_reference=rules.source_reference(source_reference),
        lawful_basis=rules.lawful_basis(lawful_basis),
    )
    check_gallery_source(fields.source_type, ws.profile)
    if not image_bytes:
        raise ImageError("The photo is empty (0 bytes).")
    sha = sha256_hex(image_bytes)
    with ws.database.session(read_only=True) as session:
        existing = photo_by_sha(session, sha)
        if existing is not None:
            return _already(session, existing)
    embedder = gallery_embedder(ws.settings, model_name)
    analysis = analyse_photo(
        gallery_pipeline(embedder),
        image_bytes,
        name=file_name,
        max_pixels=ws.settings.max_image_pixels,
    )
    if isinstance(analysis, PhotoRejection):
        raise ImageError(f"The photo cannot be enrolled: {analysis.reason}")
    vector = embed_chips(embedder, [analysis.chip])[0]
    ws.evidence.put(image_bytes)  # content-addressed: an orphan after a failure is harmless
    with ws.database.session() as session:
        lock_gallery(session)
        existing = photo_by_sha(session, sha)  # enrolled meanwhile by someone else
        if existing is not None:
            return _already(session, existing)
        photo, new_subject = add_photo(
            ws,
            session,
            NewPhoto(
                subject=subject,
                photo=fields,
                sha256=sha,
                size=len(image_bytes),
                original_name=file_name,
                analysis=analysis,
                vector=vector,
            ),
            actor=by.username,
            model_name=model_name,
            model_sha256=descriptor_key(embedder.manifest),
        )
        result = EnrolResult(
            photo_id=photo.id,
            subject_id=photo.subject_id,
            subject_reference=subject.subject_reference,
            evidence_sha256=sha,
            already_in_gallery=False,
            new_subject=new_subject,
            generation=gallery_generation(session),
            quality_warnings=tuple(
                m.get("message", "")
                for m in (analysis.quality.get("measures") or [])
                if m.get("level") != "ok"
            ),
        )
    _refresh_indexes(ws, include=model_name, save=False)
    return result


def _already(session: Session, photo: GalleryPhoto) -> EnrolResult:
    return EnrolResult(
        photo_id=photo.id,
        subject_id=photo.subject_id,
        subject_reference=photo.subject.subject_reference,
        evidence_sha256=photo.evidence_sha256,
        already_in_gallery=True,
        new_subject=False,
        generation=gallery_generation(session),
    )


# ------------------------------------------------------------------------------ sealing
def _set_subject_seal(
    ws: Workstation, *, by: SignedInUser, subject_reference: str, reason: str, seal: bool
) -> SealResult:
    verb = "seal" if seal else "unseal"
    why = rules.reason(reason, action=f"{verb} a gallery record")
    with ws.database.session() as session:
        require_permission(
            ws, session, by, check=check_can_seal, attempted=f"{verb} a gallery subject"
        )
        lock_gallery(session)
        subject = subject_row(session, subject_reference)
        if subject.sealed == seal:
            state = "sealed" if seal else "not sealed"
            raise PolicyViolation(f"Subject {subject.subject_reference} is already {state}.")
        now = ws.now()
        subject.sealed = seal
        if seal:
            subject.sealed_at, subject.sealed_by, subject.sealed_reason = now, by.username, why
        else:
            subject.sealed_at = subject.sealed_by = subject.sealed_reason = None
        photo_ids = tuple(p.id for p in subject.photos)
        session.flush()
        generation = append_changes(
            session, photo_ids, CHANGE_REMOVE if seal else CHANGE_ADD, at=now
        )
        append_event(
            session,
            actor=by.username,
            action=f"gallery.subject_{verb}ed",
            object_type="gallery_subject",
            object_id=subject.id,
            details={
                "subject_reference": subject.subject_reference,
                "reason": why,
                "photo_ids": list(photo_ids),
                "generation": generation,
            },
            occurred_at=now,
        )
        reference = subject.subject_reference
    indexes = _refresh_indexes(ws)
    return SealResult(reference, photo_ids, seal, generation, indexes)


def seal_subject(
    ws: Workstation, *, by: SignedInUser, subject_reference: str, reason: str
) -> SealResult:
    """Seal a subject: none of their photos is searchable from this moment (MPTC IV.C)."""
    return _set_subject_seal(
        ws, by=by, subject_reference=subject_reference, reason=reason, seal=True
    )


def unseal_subject(
    ws: Workstation, *, by: SignedInUser, subject_reference: str, reason: str
) -> SealResult:
    """Lift a subject's seal: their photos that are not sealed themselves are searchable again."""
    return _set_subject_seal(
        ws, by=by, subject_reference=subject_reference, reason=reason, seal=False
    )


def _set_photo_seal(
    ws: Workstation, *, by: SignedInUser, photo_id: int, reason: str, seal: bool
) -> SealResult:
    verb = "seal" if seal else "unseal"
    why = rules.reason(reason, action=f"{verb} a gallery record")
    with ws.database.session() as session:
        require_permission(
            ws, session, by, check=check_can_seal, attempted=f"{verb} a gallery photo"
        )
        lock_gallery(session)
        photo = photo_row(session, photo_id)
        if photo.sealed == seal:
            state = "sealed" if seal else "not sealed"
            raise PolicyViolation(f"Gallery photo {photo.id} is already {state}.")
        now = ws.now()
        photo.sealed = seal
        if seal:
            photo.sealed_at, photo.sealed_by, photo.sealed_reason = now, by.username, why
        else:
            photo.sealed_at = photo.sealed_by = photo.sealed_reason = None
        session.flush()
        generation = append_changes(
            session, [photo.id], CHANGE_REMOVE if seal else CHANGE_ADD, at=now
        )
        reference = photo.subject.subject_reference
        append_event(
            session,
            actor=by.username,
            action=f"gallery.photo_{verb}ed",
            object_type="gallery_photo",
            object_id=photo.id,
            details={
                "subject_reference": reference,
                "evidence_sha256": photo.evidence_sha256,
                "reason": why,
                "subject_sealed": photo.subject.sealed,
                "generation": generation,
            },
            occurred_at=now,
        )
        ids = (photo.id,)
    indexes = _refresh_indexes(ws)
    return SealResult(reference, ids, seal, generation, indexes)


def seal_photo(ws: Workstation, *, by: SignedInUser, photo_id: int, reason: str) -> SealResult:
    """Seal one photo: it is not searchable from this moment (MPTC IV.C)."""
    return _set_photo_seal(ws, by=by, photo_id=photo_id, reason=reason, seal=True)


def unseal_photo(ws: Workstation, *, by: SignedInUser, photo_id: int, reason: str) -> SealResult:
    """Lift one photo's seal (it stays out of searches while its subject is sealed)."""
    return _set_photo_seal(ws, by=by, photo_id=photo_id, reason=reason, seal=False)


# ------------------------------------------------------------------------------ expunging
def _evidence_references(session: Session, sha: str) -> int:
    """Rows outside the gallery that still name this evidence file (by foreign key)."""
    count = 0
    for table in Base.metadata.tables.values():
        if table.name == GalleryPhoto.__tablename__:
            continue
        for fk in table.foreign_keys:
            target = fk.column.table
            if target.name == EvidenceFile.__tablename__:
                count += int(
                    session.execute(
                        select(func.count()).select_from(table).where(fk.parent == sha)
                    ).scalar_one()
                )
    return count


def expunge_subject(
    ws: Workstation, *, by: SignedInUser, subject_reference: str, reason: str
) -> ExpungeResult:
    """Delete a subject, their photos and embeddings from the gallery for good.

    The audit event keeps the subject reference and the photos' hashes, not the images; the
    photo files are removed from the evidence store unless another record still uses them.
    """
    why = rules.reason(reason, action="expunge a gallery subject")
    removable: list[str] = []
    with ws.database.session() as session:
        require_permission(
            ws, session, by, check=check_can_seal, attempted="expunge a gallery subject"
        )
        lock_gallery(session)
        subject = subject_row(session, subject_reference)
        now = ws.now()
        photos = list(subject.photos)
        hashes = tuple(p.evidence_sha256 for p in photos)
        generation = append_changes(session, [p.id for p in photos], CHANGE_REMOVE, at=now)
        reference, subject_id = subject.subject_reference, subject.id
        session.delete(subject)  # photos and embeddings go with it
        session.flush()
        for sha in hashes:
            if _evidence_references(session, sha) == 0:
                evidence = session.get(EvidenceFile, sha)
                if evidence is not None:
                    session.delete(evidence)
                removable.append(sha)
        append_event(
            session,
            actor=by.username,
            action="gallery.subject_expunged",
            object_type="gallery_subject",
            object_id=subject_id,
            details={
                "subject_reference": reference,
                "reason": why,
                "photo_ids": [p.id for p in photos],
                "evidence_sha256": list(hashes),
                "evidence_files_removed": removable,
                "generation": generation,
            },
            occurred_at=now,
        )
    removed = 0
    for sha in removable:
        if ws.evidence.delete(sha):
            removed += 1
    _refresh_indexes(ws)
    return ExpungeResult(reference, len(hashes), hashes, removed, generation)


__all__ = [
    "FIND_LIMIT",
    "EnrolResult",
    "ExpungeResult",
    "GalleryStats",
    "PhotoDetail",
    "SealResult",
    "SubjectDetail",
    "SubjectSummary",
    "enrol_photo",
    "expunge_subject",
    "find_subjects",
    "gallery_stats",
    "get_photo",
    "get_subject",
    "live_photo_ids",
    "photo_image",
    "seal_photo",
    "seal_subject",
    "unseal_photo",
    "unseal_subject",
]
