"""Database work shared by gallery enrolment, bulk import, sealing and search.

Every function here runs inside the caller's transaction. Writers call :func:`lock_gallery`
first: it takes the audit chain's lock, which every gallery change needs anyway (each change is
audited in the same transaction), so gallery writers are serialised and change sequences are
committed in order on PostgreSQL as on SQLite. An index that has caught up to sequence *n*
therefore never misses a change numbered below *n*.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from app.casework.account_rules import SignedInUser
from app.casework.gallery_engine import PhotoAnalysis, vector_to_bytes
from app.casework.workstation import Workstation
from app.errors import InvalidInput, PermissionDenied
from app.policy.gates import require_role
from app.policy.roles import Role
from app.records.audit import append_event, lock_chain
from app.records.gallery_models import (
    CHANGE_ADD,
    GalleryChange,
    GalleryPhoto,
    GallerySubject,
    PhotoEmbedding,
)
from app.records.models import EvidenceFile, User

GALLERY_MANAGERS = frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR})


_NEXT_SEQUENCE = "frx_gallery_last_sequence"
_SUBJECTS = "frx_gallery_subjects"


def lock_gallery(session: Session) -> None:
    """Serialise gallery writers (see the module docstring).

    While the lock is held the last change sequence and the subjects touched are remembered in
    the session, so a chunk of enrolments does not ask the database for them again.
    """
    lock_chain(session)
    session.info[_NEXT_SEQUENCE] = gallery_generation(session)
    session.info[_SUBJECTS] = {}


def gallery_generation(session: Session) -> int:
    """The highest change sequence: the generation an up-to-date index carries."""
    value = session.execute(select(func.max(GalleryChange.sequence))).scalar_one_or_none()
    return int(value or 0)


def append_changes(session: Session, photo_ids: Sequence[int], kind: str, *, at: datetime) -> int:
    """Log ``kind`` for each photo (caller holds :func:`lock_gallery`); returns the generation."""
    sequence = session.info.get(_NEXT_SEQUENCE)
    if sequence is None:
        sequence = gallery_generation(session)
    for photo_id in photo_ids:
        sequence += 1
        session.add(GalleryChange(sequence=sequence, photo_id=photo_id, kind=kind, occurred_at=at))
    session.flush()
    session.info[_NEXT_SEQUENCE] = sequence
    return int(sequence)


def live_condition() -> ColumnElement[bool]:
    """SQL condition of a searchable photo (joined with its subject): neither is sealed."""
    return and_(GalleryPhoto.sealed.is_(False), GallerySubject.sealed.is_(False))


def live_photo_ids(session: Session, photo_ids: Iterable[int]) -> set[int]:
    """Those of ``photo_ids`` that exist and are searchable now (neither photo nor subject
    sealed)."""
    wanted = sorted({int(i) for i in photo_ids})
    found: set[int] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = session.execute(
            select(GalleryPhoto.id)
            .join(GallerySubject, GallerySubject.id == GalleryPhoto.subject_id)
            .where(GalleryPhoto.id.in_(chunk), live_condition())
        ).scalars()
        found.update(int(r) for r in rows)
    return found


def require_permission(
    ws: Workstation,
    session: Session,
    by: SignedInUser,
    *,
    check: Callable[[frozenset[Role]], None],
    attempted: str,
) -> User:
    """The caller's row when active and ``check(roles)`` passes, with the roles read from the
    database (not only the sign-in snapshot); otherwise the refusal is audited, committed and
    raised as PermissionDenied."""
    row = session.get(User, by.user_id)
    problem = ""
    if row is None or not row.active:
        problem = "The account is inactive or no longer exists."
    else:
        try:
            check(frozenset(Role(r) for r in row.role_names))
        except PermissionDenied as exc:
            problem = str(exc)
    if not problem and row is not None:
        return row
    append_event(
        session,
        actor=by.username,
        action="permission.denied",
        object_type="gallery",
        object_id=None,
        details={"attempted": attempted, "reason": problem},
        occurred_at=ws.now(),
    )
    session.commit()
    raise PermissionDenied(problem)


def check_gallery_manager(roles: frozenset[Role]) -> None:
    """Enrolling and importing gallery photos: supervisors and administrators (the roles that
    may also seal)."""
    require_role(roles, GALLERY_MANAGERS, "enrol photos in the gallery")


@dataclass(frozen=True)
class SubjectFields:
    """A subject as one enrolment names it (already cleaned by gallery_rules)."""

    subject_reference: str
    name: str
    date_of_birth: date | None
    sex: str | None
    descriptors: dict[str, str] | None


@dataclass(frozen=True)
class PhotoFields:
    """Where one photo came from (already cleaned by gallery_rules)."""

    photo_date: date
    source_type: str
    source_reference: str
    lawful_basis: str


def subject_for(
    session: Session, fields: SubjectFields, *, actor: str, at: datetime
) -> tuple[GallerySubject, bool, list[str]]:
    """The subject with this reference, created when new; completes fields it lacks.

    Returns (subject, created, fields filled in). A name or date of birth that contradicts the
    subject already on record is refused: the same reference must mean the same person.
    """
    known: dict[str, GallerySubject] = session.info.get(_SUBJECTS, {})
    subject = known.get(fields.subject_reference)
    if subject is None:
        subject = session.execute(
            select(GallerySubject).where(
                GallerySubject.subject_reference == fields.subject_reference
            )
        ).scalar_one_or_none()
    if subject is not None:
        known[fields.subject_reference] = subject
    if subject is None:
        subject = GallerySubject(
            subject_reference=fields.subject_reference,
            name=fields.name,
            date_of_birth=fields.date_of_birth,
            sex=fields.sex,
            descriptors=fields.descriptors,
            sealed=False,
            created_at=at,
            created_by=actor,
        )
        session.add(subject)
        session.flush()
        known[fields.subject_reference] = subject
        return subject, True, []
    if fields.name and subject.name and fields.name.casefold() != subject.name.casefold():
        raise InvalidInput(
            f"Subject {subject.subject_reference} is already in the gallery under the name "
            f"'{subject.name}', not '{fields.name}'."
        )
    if (
        fields.date_of_birth
        and subject.date_of_birth
        and fields.date_of_birth != (subject.date_of_birth)
    ):
        raise InvalidInput(
            f"Subject {subject.subject_reference} is already in the gallery with date of birth "
            f"{subject.date_of_birth.isoformat()}, not {fields.date_of_birth.isoformat()}."
        )
    filled: list[str] = []
    if fields.name and not subject.name:
        subject.name = fields.name
        filled.append("name")
    if fields.date_of_birth and subject.date_of_birth is None:
        subject.date_of_birth = fields.date_of_birth
        filled.append("date_of_birth")
    if fields.sex and not subject.sex:
        subject.sex = fields.sex
        filled.append("sex")
    if fields.descriptors:
        merged = dict(subject.descriptors or {})
        new_keys = [k for k in fields.descriptors if k not in merged]
        if new_keys:
            merged.update({k: fields.descriptors[k] for k in new_keys})
            subject.descriptors = merged
            filled.extend(f"descriptor {k}" for k in new_keys)
    return subject, False, filled


def photo_by_sha(session: Session, sha256: str) -> GalleryPhoto | None:
    return session.execute(
        select(GalleryPhoto).where(GalleryPhoto.evidence_sha256 == sha256)
    ).scalar_one_or_none()


def ensure_evidence_row(
    session: Session,
    *,
    sha256: str,
    size: int,
    media_type: str,
    original_name: str,
    actor: str,
    at: datetime,
) -> None:
    """The evidence row for bytes already written to the store (first registration kept)."""
    if session.get(EvidenceFile, sha256) is None:
        session.add(
            EvidenceFile(
                sha256=sha256,
                size=size,
                media_type=media_type[:100],
                original_name=(original_name.replace("\\", "/").rsplit("/", 1)[-1] or "unnamed")[
                    -500:
                ],
                created_at=at,
                created_by=actor,
            )
        )
        session.flush()  # no relationship orders it before the photo that refers to it


@dataclass(frozen=True)
class NewPhoto:
    """Everything needed to enrol one analysed photo whose bytes are in the evidence store."""

    subject: SubjectFields
    photo: PhotoFields
    sha256: str
    size: int
    original_name: str
    analysis: PhotoAnalysis
    vector: Any  # float32 [dim]


def add_photo(
    ws: Workstation,
    session: Session,
    item: NewPhoto,
    *,
    actor: str,
    model_name: str,
    model_sha256: str,
    import_batch_id: int | None = None,
    row_number: int | None = None,
) -> tuple[GalleryPhoto, bool]:
    """Subject (new or existing), evidence row, photo, embedding, change and audit event.

    Returns the photo and whether its subject was created.

    The caller holds :func:`lock_gallery` and has checked the photo is not in the gallery yet.
    """
    at = ws.now()
    subject, created, filled = subject_for(session, item.subject, actor=actor, at=at)
    ensure_evidence_row(
        session,
        sha256=item.sha256,
        size=item.size,
        media_type=item.analysis.media_type,
        original_name=item.original_name,
        actor=actor,
        at=at,
    )
    photo = GalleryPhoto(
        subject_id=subject.id,
        evidence_sha256=item.sha256,
        photo_date=item.photo.photo_date,
        source_type=item.photo.source_type,
        source_reference=item.photo.source_reference,
        lawful_basis=item.photo.lawful_basis,
        enrolled_by=actor,
        enrolled_at=at,
        quality=item.analysis.quality,
        face_box=list(item.analysis.face_box),
        sealed=False,
        import_batch_id=import_batch_id,
    )
    session.add(photo)
    session.flush()
    vector_bytes = vector_to_bytes(item.vector)
    session.add(
        PhotoEmbedding(
            photo_id=photo.id,
            model_name=model_name,
            model_sha256=model_sha256,
            dim=len(vector_bytes) // 4,
            vector=vector_bytes,
            created_at=at,
        )
    )
    generation = append_changes(session, [photo.id], CHANGE_ADD, at=at)
    details: dict[str, Any] = {
        "subject_reference": subject.subject_reference,
        "subject_id": subject.id,
        "new_subject": created,
        "evidence_sha256": item.sha256,
        "photo_date": item.photo.photo_date,
        "source_type": item.photo.source_type,
        "source_reference": item.photo.source_reference,
        "lawful_basis": item.photo.lawful_basis,
        "model": model_name,
        "generation": generation,
    }
    if filled:
        details["subject_fields_completed"] = filled
    if import_batch_id is not None:
        details["import_batch"] = import_batch_id
        details["manifest_row"] = row_number
    if subject.sealed:
        details["subject_sealed"] = True
    append_event(
        session,
        actor=actor,
        action="gallery.photo_enrolled",
        object_type="gallery_photo",
        object_id=photo.id,
        details=details,
        occurred_at=at,
    )
    return photo, created


__all__ = [
    "GALLERY_MANAGERS",
    "NewPhoto",
    "PhotoFields",
    "SubjectFields",
    "add_photo",
    "append_changes",
    "check_gallery_manager",
    "ensure_evidence_row",
    "gallery_generation",
    "live_condition",
    "live_photo_ids",
    "lock_gallery",
    "photo_by_sha",
    "require_permission",
    "subject_for",
]
