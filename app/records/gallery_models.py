"""Gallery tables: subjects, their lawfully held photos, embeddings per model, the change log.

A gallery photo is evidence (its bytes live in the evidence store, named by SHA-256; the hash is
unique here, so the same photo enrolled twice is one photo). Sealing is a flag with who, when and
why on a subject or a photo: sealed records stay in the database for audit but are never in the
searchable set. :class:`GalleryChange` is a monotonic log of every change to the searchable set;
its highest sequence is the *gallery generation* a persisted search index is compared with, so an
index can catch up incrementally. Change rows outlive the photos they name (expunge), so
``photo_id`` is a plain number, not a foreign key.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.records.base import Base, UtcDateTime
from app.records.models import SHA256_HEX_LENGTH, USERNAME_MAX

SUBJECT_REFERENCE_MAX = 100
NAME_MAX = 200
SEX_MAX = 32
SOURCE_TYPE_MAX = 64
SOURCE_REFERENCE_MAX = 200
MODEL_NAME_MAX = 64
CHANGE_ADD = "add"
CHANGE_REMOVE = "remove"
IMPORT_STATUSES = ("running", "finished", "cancelled", "stopped")


class GallerySubject(Base):
    """A person in the gallery, identified by the agency's own subject reference (e.g. state ID).

    ``descriptors`` holds whatever else the agency records about the person (optional); it is
    shown to examiners but never used to rank candidates.
    """

    __tablename__ = "gallery_subjects"
    __table_args__ = (
        CheckConstraint(
            "(sealed AND sealed_at IS NOT NULL) OR (NOT sealed)", name="sealed_has_time"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_reference: Mapped[str] = mapped_column(String(SUBJECT_REFERENCE_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), index=True)
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(SEX_MAX))
    descriptors: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    sealed: Mapped[bool] = mapped_column(Boolean, default=False)
    sealed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sealed_by: Mapped[str | None] = mapped_column(String(USERNAME_MAX))
    sealed_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(USERNAME_MAX))
    version_id: Mapped[int] = mapped_column(Integer)

    photos: Mapped[list[GalleryPhoto]] = relationship(
        back_populates="subject",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="GalleryPhoto.id",
    )

    __mapper_args__ = {"version_id_col": version_id}  # noqa: RUF012 (SQLAlchemy's own hook)


class ImportBatch(Base):
    """One run of a bulk gallery import (a re-run of the same manifest is a new batch)."""

    __tablename__ = "gallery_import_batches"
    __table_args__ = (
        CheckConstraint(
            "status IN ('running', 'finished', 'cancelled', 'stopped')", name="known_status"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    manifest_sha256: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH), index=True)
    manifest_name: Mapped[str] = mapped_column(String(500))
    folder: Mapped[str] = mapped_column(Text)
    model_name: Mapped[str] = mapped_column(String(MODEL_NAME_MAX))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_by: Mapped[str] = mapped_column(String(USERNAME_MAX))
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(20))
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    enrolled: Mapped[int] = mapped_column(Integer, default=0)
    already_present: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    error_report_sha256: Mapped[str | None] = mapped_column(String(SHA256_HEX_LENGTH))
    message: Mapped[str | None] = mapped_column(Text)


class GalleryPhoto(Base):
    """One lawfully held photo of a subject, with where it came from and who enrolled it."""

    __tablename__ = "gallery_photos"
    __table_args__ = (
        CheckConstraint(
            "(sealed AND sealed_at IS NOT NULL) OR (NOT sealed)", name="sealed_has_time"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(
        ForeignKey("gallery_subjects.id", ondelete="CASCADE"), index=True
    )
    evidence_sha256: Mapped[str] = mapped_column(ForeignKey("evidence_files.sha256"), unique=True)
    photo_date: Mapped[date] = mapped_column(Date)
    source_type: Mapped[str] = mapped_column(String(SOURCE_TYPE_MAX))
    source_reference: Mapped[str] = mapped_column(String(SOURCE_REFERENCE_MAX))
    lawful_basis: Mapped[str] = mapped_column(Text)
    enrolled_by: Mapped[str] = mapped_column(String(USERNAME_MAX))
    enrolled_at: Mapped[datetime] = mapped_column(UtcDateTime)
    quality: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    face_box: Mapped[list[float] | None] = mapped_column(JSON)
    sealed: Mapped[bool] = mapped_column(Boolean, default=False)
    sealed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sealed_by: Mapped[str | None] = mapped_column(String(USERNAME_MAX))
    sealed_reason: Mapped[str | None] = mapped_column(Text)
    import_batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("gallery_import_batches.id", ondelete="SET NULL"), index=True
    )

    subject: Mapped[GallerySubject] = relationship(back_populates="photos")
    embeddings: Mapped[list[PhotoEmbedding]] = relationship(
        back_populates="photo", cascade="all, delete-orphan", passive_deletes=True
    )


class PhotoEmbedding(Base):
    """A photo's face descriptor from one model: float32 little-endian bytes.

    ``model_sha256`` names the descriptor function that made it: a SHA-256 over the model file's
    hash and the manifest settings that shape descriptors (``casework.gallery_engine.
    descriptor_key``), so a descriptor made before a model's manifest changed is told apart.
    """

    __tablename__ = "gallery_embeddings"
    __table_args__ = (
        UniqueConstraint("photo_id", "model_name", name="uq_gallery_embeddings_photo_model"),
        CheckConstraint("dim > 0", name="dim_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("gallery_photos.id", ondelete="CASCADE"))
    model_name: Mapped[str] = mapped_column(String(MODEL_NAME_MAX), index=True)
    model_sha256: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH))
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    photo: Mapped[GalleryPhoto] = relationship(back_populates="embeddings")


class GalleryChange(Base):
    """One change to the searchable set; ``sequence`` is the gallery generation it makes."""

    __tablename__ = "gallery_changes"
    __table_args__ = (CheckConstraint("kind IN ('add', 'remove')", name="known_kind"),)

    sequence: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    photo_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(10))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)


__all__ = [
    "CHANGE_ADD",
    "CHANGE_REMOVE",
    "GalleryChange",
    "GalleryPhoto",
    "GallerySubject",
    "ImportBatch",
    "PhotoEmbedding",
]
