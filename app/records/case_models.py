"""Casework tables: requests, probe evidence and its edited copies, searches with their whole
candidate lists, comparisons with worksheet answers, second reviews, skipped reviews, attachments.

Gallery photos and subjects are referred to by plain id plus the reference and evidence hash seen
at search time (no foreign key): a candidate list is a record of what the software returned, and
it must outlive a later expungement of the gallery record. Evidence (probe originals, edited
copies, screenshots) is referred to by SHA-256 with a foreign key to ``evidence_files``.

JSON columns hold canonical JSON text written by casework. Mutable rows carry ``version_id`` for
optimistic locking; every row records when it was made and by whom (user name).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.records.base import Base, UtcDateTime
from app.records.models import SHA256_HEX_LENGTH, USERNAME_MAX

REQUEST_STATUSES = (
    "open",
    "searched",
    "in_comparison",
    "awaiting_review",
    "returned",
    "concluded_lead",
    "concluded_no_lead",
    "closed",
)
COMPARISON_STATUSES = ("draft", "concluded")
REVIEW_STATES = ("not_submitted", "awaiting_review", "in_review", "reviewed", "skipped")
REVIEW_STATUSES = ("in_progress", "recorded")
ATTACHMENT_KINDS = ("screenshot", "annotation")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def json_value(text: str | None) -> Any:
    """The value of a JSON column (None for an empty column)."""
    return None if text is None else json.loads(text)


class CaseRequest(Base):
    """A request for a facial recognition search, as taken in (MPTC IV.B, IV.D, IV.F, V.B)."""

    __tablename__ = "case_requests"
    __table_args__ = (
        CheckConstraint(_in("status", REQUEST_STATUSES), name="known_status"),
        Index("ix_case_requests_status_examiner", "status", "assigned_examiner_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_number: Mapped[str] = mapped_column(String(40), unique=True)
    case_number: Mapped[str] = mapped_column(String(100), index=True)
    requesting_officer: Mapped[str] = mapped_column(String(200))
    requesting_agency: Mapped[str] = mapped_column(String(200))
    # Another agency that submitted the request (MPTC IV.F); null for the agency's own requests.
    submitting_agency: Mapped[str | None] = mapped_column(String(200))
    interagency_ack_text: Mapped[str | None] = mapped_column(Text)
    interagency_ack_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    interagency_ack_by: Mapped[str | None] = mapped_column(String(200))  # official who acknowledged
    interagency_ack_recorded_by: Mapped[str | None] = mapped_column(String(USERNAME_MAX))
    purpose_code: Mapped[str] = mapped_column(String(50))
    purpose_text: Mapped[str] = mapped_column(Text)  # the wording in force when it was chosen
    profile_name: Mapped[str] = mapped_column(String(100))
    profile_version: Mapped[str] = mapped_column(String(50))
    profile_sha256: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH))
    offense: Mapped[str] = mapped_column(String(500))
    narrative: Mapped[str] = mapped_column(Text)
    probe_source: Mapped[str] = mapped_column(String(50))
    probe_obtained_how: Mapped[str] = mapped_column(Text)
    probe_kind: Mapped[str] = mapped_column(String(50))
    # Each attestation: when it was given (null: not given); all given by ``attested_by``.
    lawful_source_attested_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    not_protected_basis_attested_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    actual_subject_attested_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attested_by: Mapped[str] = mapped_column(String(USERNAME_MAX))
    status: Mapped[str] = mapped_column(String(30))
    status_note: Mapped[str | None] = mapped_column(Text)  # e.g. why it was closed
    assigned_examiner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    created_by: Mapped[str] = mapped_column(String(USERNAME_MAX))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    version_id: Mapped[int] = mapped_column(Integer)

    probes: Mapped[list[ProbeImage]] = relationship(
        back_populates="request", order_by="ProbeImage.id"
    )

    __mapper_args__ = {"version_id_col": version_id}  # noqa: RUF012 (SQLAlchemy's own hook)


class ProbeImage(Base):
    """A probe picture as received: the original bytes are evidence and are never changed."""

    __tablename__ = "case_probes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("case_requests.id"), index=True)
    original_sha256: Mapped[str] = mapped_column(ForeignKey("evidence_files.sha256"))
    original_name: Mapped[str] = mapped_column(String(500))
    media_type: Mapped[str] = mapped_column(String(100))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    detected_faces: Mapped[str] = mapped_column(Text)  # JSON list of DetectedFace.to_dict()
    detection_message: Mapped[str] = mapped_column(Text)
    chosen_face_index: Mapped[int | None] = mapped_column(Integer)
    quality: Mapped[str | None] = mapped_column(Text)  # JSON QualityReport of the chosen face
    decode_notes: Mapped[str] = mapped_column(Text)  # JSON list of the decoder's notes
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(USERNAME_MAX))
    version_id: Mapped[int] = mapped_column(Integer)

    request: Mapped[CaseRequest] = relationship(back_populates="probes")
    versions: Mapped[list[ProbeVersion]] = relationship(
        back_populates="probe", order_by="ProbeVersion.id"
    )

    __mapper_args__ = {"version_id_col": version_id}  # noqa: RUF012


class ProbeVersion(Base):
    """An edited copy of a probe: one logged operation applied to its parent (or the original)."""

    __tablename__ = "case_probe_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    probe_id: Mapped[int] = mapped_column(ForeignKey("case_probes.id"), index=True)
    parent_version_id: Mapped[int | None] = mapped_column(ForeignKey("case_probe_versions.id"))
    parent_sha256: Mapped[str] = mapped_column(ForeignKey("evidence_files.sha256"))
    evidence_sha256: Mapped[str] = mapped_column(ForeignKey("evidence_files.sha256"))
    operation: Mapped[str] = mapped_column(Text)  # EditOperation.to_json()
    operation_name: Mapped[str] = mapped_column(String(50))
    engine_version: Mapped[str] = mapped_column(String(200))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    detected_faces: Mapped[str] = mapped_column(Text)
    detection_message: Mapped[str] = mapped_column(Text)
    chosen_face_index: Mapped[int | None] = mapped_column(Integer)
    quality: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(USERNAME_MAX))
    version_id: Mapped[int] = mapped_column(Integer)

    probe: Mapped[ProbeImage] = relationship(back_populates="versions")

    __mapper_args__ = {"version_id_col": version_id}  # noqa: RUF012


class CaseSearch(Base):
    """One one-to-many search: what was searched, with which model, index and parameters."""

    __tablename__ = "case_searches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("case_requests.id"), index=True)
    probe_id: Mapped[int] = mapped_column(ForeignKey("case_probes.id"))
    probe_version_id: Mapped[int | None] = mapped_column(ForeignKey("case_probe_versions.id"))
    searched_sha256: Mapped[str] = mapped_column(ForeignKey("evidence_files.sha256"))
    face_index: Mapped[int] = mapped_column(Integer)
    face_box: Mapped[str] = mapped_column(Text)  # JSON [x, y, w, h]
    model_name: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str] = mapped_column(String(50))
    model_sha256: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH))
    metric: Mapped[str] = mapped_column(String(20))
    index_generation: Mapped[int] = mapped_column(Integer)
    k: Mapped[int] = mapped_column(Integer)
    ef: Mapped[int | None] = mapped_column(Integer)  # null for an exact search
    method: Mapped[str] = mapped_column(String(20))  # "exact" or "hnsw"
    threshold: Mapped[float | None] = mapped_column(Float)
    score_meaning: Mapped[str] = mapped_column(Text)  # what a score means for this model
    gallery_size: Mapped[int] = mapped_column(Integer)
    quality: Mapped[str] = mapped_column(Text)  # JSON QualityReport of the searched face
    quality_warnings: Mapped[str] = mapped_column(Text)  # JSON list of plain sentences
    duration_ms: Mapped[int] = mapped_column(Integer)
    candidate_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    created_by: Mapped[str] = mapped_column(String(USERNAME_MAX), index=True)

    candidates: Mapped[list[SearchCandidate]] = relationship(
        back_populates="search", order_by="SearchCandidate.rank"
    )


class SearchCandidate(Base):
    """One ranked candidate of a search (the whole list is stored, MPTC VI.A)."""

    __tablename__ = "case_search_candidates"
    __table_args__ = (UniqueConstraint("search_id", "rank"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    search_id: Mapped[int] = mapped_column(ForeignKey("case_searches.id"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    subject_id: Mapped[int] = mapped_column(Integer)
    subject_reference: Mapped[str] = mapped_column(String(200))
    photo_id: Mapped[int] = mapped_column(Integer)
    photo_sha256: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH))
    source_type: Mapped[str] = mapped_column(String(64))
    source_reference: Mapped[str] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float)
    photo_date: Mapped[date | None] = mapped_column(Date)
    most_recent_photo_date: Mapped[date | None] = mapped_column(Date)

    search: Mapped[CaseSearch] = relationship(back_populates="candidates")


class Comparison(Base):
    """An examiner's feature-by-feature comparison of the probe with one candidate (IV.E.1)."""

    __tablename__ = "case_comparisons"
    __table_args__ = (
        CheckConstraint(_in("status", COMPARISON_STATUSES), name="known_status"),
        CheckConstraint(_in("review_state", REVIEW_STATES), name="known_review_state"),
        Index("ix_case_comparisons_review_state", "review_state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("case_requests.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("case_search_candidates.id"), index=True)
    examiner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    examiner: Mapped[str] = mapped_column(String(USERNAME_MAX))
    worksheet_name: Mapped[str] = mapped_column(String(100))
    worksheet_version: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20))
    conclusion: Mapped[str | None] = mapped_column(String(30))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    time_spent_seconds: Mapped[int | None] = mapped_column(Integer)
    review_state: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(USERNAME_MAX))
    version_id: Mapped[int] = mapped_column(Integer)

    answers: Mapped[list[ComparisonAnswer]] = relationship(
        back_populates="comparison", order_by="ComparisonAnswer.item_id"
    )
    candidate: Mapped[SearchCandidate] = relationship()

    __mapper_args__ = {"version_id_col": version_id}  # noqa: RUF012


class ComparisonAnswer(Base):
    """The examiner's answer to one worksheet item, with an optional note."""

    __tablename__ = "case_comparison_answers"

    comparison_id: Mapped[int] = mapped_column(ForeignKey("case_comparisons.id"), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(50), primary_key=True)
    answer: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    answered_by: Mapped[str] = mapped_column(String(USERNAME_MAX))
    version_id: Mapped[int] = mapped_column(Integer)

    comparison: Mapped[Comparison] = relationship(back_populates="answers")

    __mapper_args__ = {"version_id_col": version_id}  # noqa: RUF012


class Review(Base):
    """A second examiner's independent (blind) comparison of the same pair (MPTC IV.E.2)."""

    __tablename__ = "case_reviews"
    __table_args__ = (
        CheckConstraint(_in("status", REVIEW_STATUSES), name="known_status"),
        Index("ix_case_reviews_disagreement_open", "disagreement", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    comparison_id: Mapped[int] = mapped_column(ForeignKey("case_comparisons.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(USERNAME_MAX))
    status: Mapped[str] = mapped_column(String(20))
    answers: Mapped[str] = mapped_column(Text)  # JSON {item_id: {"answer": ..., "note": ...}}
    conclusion: Mapped[str | None] = mapped_column(String(30))
    agreement: Mapped[bool | None] = mapped_column(Boolean)
    disagreement: Mapped[bool] = mapped_column(Boolean)  # routed to the supervisors' queue
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(USERNAME_MAX))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(USERNAME_MAX))
    version_id: Mapped[int] = mapped_column(Integer)

    comparison: Mapped[Comparison] = relationship()

    __mapper_args__ = {"version_id_col": version_id}  # noqa: RUF012


class ReviewSkip(Base):
    """Why a second review was not done ("not practicable because ..."), printed on reports."""

    __tablename__ = "case_review_skips"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("case_requests.id"), index=True)
    comparison_id: Mapped[int | None] = mapped_column(ForeignKey("case_comparisons.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(USERNAME_MAX))


class CaseAttachment(Base):
    """A screenshot or annotation an examiner saved into the case file (evidence)."""

    __tablename__ = "case_attachments"
    __table_args__ = (CheckConstraint(_in("kind", ATTACHMENT_KINDS), name="known_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("case_requests.id"), index=True)
    comparison_id: Mapped[int | None] = mapped_column(ForeignKey("case_comparisons.id"))
    evidence_sha256: Mapped[str] = mapped_column(ForeignKey("evidence_files.sha256"))
    kind: Mapped[str] = mapped_column(String(20))
    caption: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(USERNAME_MAX))
