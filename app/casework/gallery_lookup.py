"""Looking the gallery up: subjects, photos, counts, and the re-check of searchability.

Sealed records are left out unless a supervisor or administrator asks for them; a comparison,
a candidate list or a report never asks (MPTC IV.C). Nothing here changes anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.casework import gallery_rules as rules
from app.casework.account_rules import SignedInUser
from app.casework.gallery_records import gallery_generation, require_permission
from app.casework.gallery_records import live_photo_ids as _live_photo_ids
from app.casework.workstation import Workstation
from app.errors import NotFound, PolicyViolation
from app.policy.gates import check_can_seal
from app.records.gallery_models import GalleryPhoto, GallerySubject, PhotoEmbedding

FIND_LIMIT = 200


@dataclass(frozen=True)
class PhotoDetail:
    photo_id: int
    subject_id: int
    subject_reference: str
    evidence_sha256: str
    photo_date: date
    source_type: str
    source_reference: str
    lawful_basis: str
    enrolled_by: str
    enrolled_at: datetime
    quality: dict[str, Any] | None
    face_box: tuple[float, ...] | None
    sealed: bool  # this photo itself
    sealed_at: datetime | None
    sealed_by: str | None
    sealed_reason: str | None
    import_batch_id: int | None
    models: tuple[str, ...]  # models that have an embedding of it
    searchable: bool  # neither the photo nor its subject is sealed


@dataclass(frozen=True)
class SubjectSummary:
    subject_id: int
    subject_reference: str
    name: str
    date_of_birth: date | None
    sex: str | None
    sealed: bool
    photo_count: int
    searchable_photo_count: int
    most_recent_photo_date: date | None


@dataclass(frozen=True)
class SubjectDetail:
    summary: SubjectSummary
    descriptors: Mapping[str, str]
    sealed_at: datetime | None
    sealed_by: str | None
    sealed_reason: str | None
    created_at: datetime
    created_by: str
    photos: tuple[PhotoDetail, ...]  # newest photo first


@dataclass(frozen=True)
class GalleryStats:
    subjects: int
    sealed_subjects: int
    photos: int
    sealed_photos: int
    searchable_photos: int
    generation: int
    embeddings_by_model: Mapping[str, int]


# ------------------------------------------------------------------------------ helpers
def subject_row(session: Session, reference: str) -> GallerySubject:
    ref = rules.subject_reference(reference)
    row = session.execute(
        select(GallerySubject)
        .where(GallerySubject.subject_reference == ref)
        .options(selectinload(GallerySubject.photos))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"There is no gallery subject with reference '{ref}'.")
    return row


def photo_row(session: Session, photo_id: int) -> GalleryPhoto:
    row = session.get(GalleryPhoto, int(photo_id))
    if row is None:
        raise NotFound(f"There is no gallery photo with number {photo_id}.")
    return row


def _photo_detail(
    photo: GalleryPhoto, subject: GallerySubject, models: Iterable[str]
) -> PhotoDetail:
    return PhotoDetail(
        photo_id=photo.id,
        subject_id=subject.id,
        subject_reference=subject.subject_reference,
        evidence_sha256=photo.evidence_sha256,
        photo_date=photo.photo_date,
        source_type=photo.source_type,
        source_reference=photo.source_reference,
        lawful_basis=photo.lawful_basis,
        enrolled_by=photo.enrolled_by,
        enrolled_at=photo.enrolled_at,
        quality=photo.quality,
        face_box=tuple(photo.face_box) if photo.face_box else None,
        sealed=photo.sealed,
        sealed_at=photo.sealed_at,
        sealed_by=photo.sealed_by,
        sealed_reason=photo.sealed_reason,
        import_batch_id=photo.import_batch_id,
        models=tuple(sorted(models)),
        searchable=not (photo.sealed or subject.sealed),
    )


def _summary(subject: GallerySubject) -> SubjectSummary:
    photos = subject.photos
    live = [p for p in photos if not p.sealed] if not subject.sealed else []
    return SubjectSummary(
        subject_id=subject.id,
        subject_reference=subject.subject_reference,
        name=subject.name,
        date_of_birth=subject.date_of_birth,
        sex=subject.sex,
        sealed=subject.sealed,
        photo_count=len(photos),
        searchable_photo_count=len(live),
        most_recent_photo_date=max((p.photo_date for p in live), default=None),
    )


def _check_sealed_access(ws: Workstation, by: SignedInUser, *, include_sealed: bool) -> None:
    if include_sealed:
        with ws.database.session() as session:
            require_permission(
                ws, session, by, check=check_can_seal, attempted="see sealed gallery records"
            )


# ------------------------------------------------------------------------------ reading
def get_subject(
    ws: Workstation, *, by: SignedInUser, subject_reference: str, include_sealed: bool = False
) -> SubjectDetail:
    """A subject with every photo; sealed records only for a supervisor or administrator who
    asks for them (``include_sealed``)."""
    _check_sealed_access(ws, by, include_sealed=include_sealed)
    with ws.database.session(read_only=True) as session:
        subject = subject_row(session, subject_reference)
        if subject.sealed and not include_sealed:
            raise PolicyViolation(
                f"Subject {subject.subject_reference} is sealed and is not shown (MPTC IV.C)."
            )
        models = _models_by_photo(session, [p.id for p in subject.photos])
        photos = [
            _photo_detail(p, subject, models.get(p.id, ()))
            for p in subject.photos
            if include_sealed or not p.sealed
        ]
        photos.sort(key=lambda d: (d.photo_date, d.photo_id), reverse=True)
        return SubjectDetail(
            summary=_summary(subject),
            descriptors=dict(subject.descriptors or {}),
            sealed_at=subject.sealed_at,
            sealed_by=subject.sealed_by,
            sealed_reason=subject.sealed_reason,
            created_at=subject.created_at,
            created_by=subject.created_by,
            photos=tuple(photos),
        )


def _models_by_photo(session: Session, photo_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    if not photo_ids:
        return found
    rows = session.execute(
        select(PhotoEmbedding.photo_id, PhotoEmbedding.model_name).where(
            PhotoEmbedding.photo_id.in_(photo_ids)
        )
    )
    for photo_id, model_name in rows:
        found.setdefault(int(photo_id), []).append(str(model_name))
    return found


def find_subjects(
    ws: Workstation,
    *,
    by: SignedInUser,
    reference_prefix: str | None = None,
    name_contains: str | None = None,
    include_sealed: bool = False,
    limit: int = FIND_LIMIT,
) -> list[SubjectSummary]:
    """Subjects by reference prefix and/or part of the name, ordered by reference."""
    _check_sealed_access(ws, by, include_sealed=include_sealed)
    with ws.database.session(read_only=True) as session:
        stmt = select(GallerySubject).options(selectinload(GallerySubject.photos))
        if reference_prefix:
            prefix = reference_prefix.strip()
            escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(GallerySubject.subject_reference.like(f"{escaped}%", escape="\\"))
        if name_contains:
            part = name_contains.strip().lower()
            escaped = part.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(func.lower(GallerySubject.name).like(f"%{escaped}%", escape="\\"))
        if not include_sealed:
            stmt = stmt.where(GallerySubject.sealed.is_(False))
        stmt = stmt.order_by(GallerySubject.subject_reference).limit(max(1, int(limit)))
        return [_summary(s) for s in session.execute(stmt).scalars()]


def get_photo(ws: Workstation, *, photo_id: int, include_sealed: bool = False) -> PhotoDetail:
    """One gallery photo's record; a sealed one (or one of a sealed subject) is refused unless
    ``include_sealed`` (comparison, reports: never)."""
    with ws.database.session(read_only=True) as session:
        photo = photo_row(session, photo_id)
        subject = photo.subject
        if (photo.sealed or subject.sealed) and not include_sealed:
            raise PolicyViolation(
                f"Gallery photo {photo.id} is sealed and can no longer be used (MPTC IV.C)."
            )
        models = _models_by_photo(session, [photo.id]).get(photo.id, [])
        return _photo_detail(photo, subject, models)


def photo_image(ws: Workstation, *, photo_id: int) -> bytes:
    """The original bytes of a searchable gallery photo (verified against its hash)."""
    detail = get_photo(ws, photo_id=photo_id)
    return ws.evidence.get(detail.evidence_sha256)


def live_photo_ids(ws: Workstation, *, photo_ids: Iterable[int]) -> frozenset[int]:
    """Those of ``photo_ids`` that are searchable now (exist, neither photo nor subject sealed):
    the re-check a candidate list, comparison or report makes before showing a photo."""
    with ws.database.session(read_only=True) as session:
        return frozenset(_live_photo_ids(session, photo_ids))


def gallery_stats(ws: Workstation) -> GalleryStats:
    """Counts for the status bar and ``frx gallery list``."""
    with ws.database.session(read_only=True) as session:

        def count(stmt: Any) -> int:
            return int(session.execute(stmt).scalar_one())

        subjects = count(select(func.count(GallerySubject.id)))
        sealed_subjects = count(
            select(func.count(GallerySubject.id)).where(GallerySubject.sealed.is_(True))
        )
        photos = count(select(func.count(GalleryPhoto.id)))
        sealed_photos = count(
            select(func.count(GalleryPhoto.id)).where(GalleryPhoto.sealed.is_(True))
        )
        searchable = count(
            select(func.count(GalleryPhoto.id))
            .join(GallerySubject, GallerySubject.id == GalleryPhoto.subject_id)
            .where(GalleryPhoto.sealed.is_(False), GallerySubject.sealed.is_(False))
        )
        by_model = {
            str(name): int(n)
            for name, n in session.execute(
                select(PhotoEmbedding.model_name, func.count(PhotoEmbedding.id)).group_by(
                    PhotoEmbedding.model_name
                )
            )
        }
        return GalleryStats(
            subjects=subjects,
            sealed_subjects=sealed_subjects,
            photos=photos,
            sealed_photos=sealed_photos,
            searchable_photos=searchable,
            generation=gallery_generation(session),
            embeddings_by_model=by_model,
        )


__all__ = [
    "FIND_LIMIT",
    "GalleryStats",
    "PhotoDetail",
    "SubjectDetail",
    "SubjectSummary",
    "find_subjects",
    "gallery_stats",
    "get_photo",
    "get_subject",
    "live_photo_ids",
    "photo_image",
    "photo_row",
    "subject_row",
]
