"""Foundation tables: users and roles, training, policy acknowledgments, evidence, the audit log.

Role names are stored as plain strings (``app.policy.roles.Role`` values); records never import
policy. Usernames are stored lower-case, which the database itself enforces, so uniqueness is
case-insensitive on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.records.base import Base, UtcDateTime

USERNAME_MAX = 64
SHA256_HEX_LENGTH = 64


class User(Base):
    """A person who signs in to the workstation."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("username = lower(username)", name="username_lower_case"),
        CheckConstraint("failed_logins >= 0", name="failed_logins_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_MAX), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(USERNAME_MAX))
    version_id: Mapped[int] = mapped_column(Integer)

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="UserRole.role"
    )
    training: Mapped[list[TrainingRecord]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="TrainingRecord.id"
    )
    acknowledgments: Mapped[list[PolicyAcknowledgment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="PolicyAcknowledgment.id"
    )

    __mapper_args__ = {"version_id_col": version_id}  # noqa: RUF012 (SQLAlchemy's own hook)

    @property
    def role_names(self) -> frozenset[str]:
        return frozenset(r.role for r in self.roles)


class UserRole(Base):
    """One role held by a user (a person may hold several)."""

    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(32), primary_key=True)

    user: Mapped[User] = relationship(back_populates="roles")


class TrainingRecord(Base):
    """A completed course (software, policy, law and privacy) with its expiry date."""

    __tablename__ = "training_records"
    __table_args__ = (
        CheckConstraint("expires_on >= completed_on", name="expires_after_completion"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course: Mapped[str] = mapped_column(String(200))
    completed_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(USERNAME_MAX))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)

    user: Mapped[User] = relationship(back_populates="training")


class PolicyAcknowledgment(Base):
    """A user's acknowledgment of one exact version of a policy profile."""

    __tablename__ = "policy_acknowledgments"
    __table_args__ = (
        UniqueConstraint(
            "user_id",
            "profile_name",
            "profile_version",
            "profile_sha256",
            name="uq_policy_acknowledgments_version",  # the generated name is too long for PG
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    profile_name: Mapped[str] = mapped_column(String(100))
    profile_version: Mapped[str] = mapped_column(String(50))
    profile_sha256: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH))
    acknowledged_at: Mapped[datetime] = mapped_column(UtcDateTime)

    user: Mapped[User] = relationship(back_populates="acknowledgments")


class EvidenceFile(Base):
    """A file in the content-addressed evidence store (the bytes live on disk, named by hash)."""

    __tablename__ = "evidence_files"
    __table_args__ = (CheckConstraint("size >= 0", name="size_not_negative"),)

    sha256: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(100))
    original_name: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(USERNAME_MAX))


class AuditEvent(Base):
    """One link of the hash-chained, append-only audit log.

    ``occurred_at`` is ISO-8601 UTC text with microseconds and ``details`` canonical JSON text, so
    the hash is recomputed from exactly the stored characters.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_object_type_object_id", "object_type", "object_id"),)

    sequence: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    occurred_at: Mapped[str] = mapped_column(String(40), index=True)
    actor: Mapped[str] = mapped_column(String(USERNAME_MAX), index=True)
    action: Mapped[str] = mapped_column(String(100), index=True)
    object_type: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[str | None] = mapped_column(String(100))
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH))
    hash: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH))

    @property
    def details_dict(self) -> dict[str, Any]:
        value = json.loads(self.details)
        return value if isinstance(value, dict) else {"value": value}


class AuditAnchor(Base):
    """The last sequence and hash of the audit log, kept apart so a removed tail is detected."""

    __tablename__ = "audit_anchor"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_sequence: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH))
