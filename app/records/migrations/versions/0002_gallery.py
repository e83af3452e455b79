"""Gallery: subjects, photos, embeddings per model, the change log (generation), import batches.

Revision ID: 0002_gallery
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002_gallery"
down_revision: str | None = "0001_foundation"
branch_labels: str | None = None
depends_on: str | None = None

SEALED_HAS_TIME = "(sealed AND sealed_at IS NOT NULL) OR (NOT sealed)"


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _sealing_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("sealed", sa.Boolean(), nullable=False),
        sa.Column("sealed_at", _utc(), nullable=True),
        sa.Column("sealed_by", sa.String(length=64), nullable=True),
        sa.Column("sealed_reason", sa.Text(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "gallery_changes",
        sa.Column("sequence", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("occurred_at", _utc(), nullable=False),
        sa.CheckConstraint("kind IN ('add', 'remove')", name=op.f("ck_gallery_changes_known_kind")),
        sa.PrimaryKeyConstraint("sequence", name=op.f("pk_gallery_changes")),
    )
    op.create_index(op.f("ix_gallery_changes_photo_id"), "gallery_changes", ["photo_id"])

    op.create_table(
        "gallery_import_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("manifest_name", sa.String(length=500), nullable=False),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.Column("model_name", sa.String(length=64), nullable=False),
        sa.Column("started_at", _utc(), nullable=False),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        sa.Column("finished_at", _utc(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("enrolled", sa.Integer(), nullable=False),
        sa.Column("already_present", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("error_report_sha256", sa.String(length=64), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'finished', 'cancelled', 'stopped')",
            name=op.f("ck_gallery_import_batches_known_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gallery_import_batches")),
    )
    op.create_index(
        op.f("ix_gallery_import_batches_manifest_sha256"),
        "gallery_import_batches",
        ["manifest_sha256"],
    )

    op.create_table(
        "gallery_subjects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_reference", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(length=32), nullable=True),
        sa.Column("descriptors", sa.JSON(), nullable=True),
        *_sealing_columns(),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(SEALED_HAS_TIME, name=op.f("ck_gallery_subjects_sealed_has_time")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gallery_subjects")),
        sa.UniqueConstraint(
            "subject_reference", name=op.f("uq_gallery_subjects_subject_reference")
        ),
    )
    op.create_index(op.f("ix_gallery_subjects_name"), "gallery_subjects", ["name"])

    op.create_table(
        "gallery_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("evidence_sha256", sa.String(length=64), nullable=False),
        sa.Column("photo_date", sa.Date(), nullable=False),
        sa.Column("source_type", sa.String(length=64), nullable=False),
        sa.Column("source_reference", sa.String(length=200), nullable=False),
        sa.Column("lawful_basis", sa.Text(), nullable=False),
        sa.Column("enrolled_by", sa.String(length=64), nullable=False),
        sa.Column("enrolled_at", _utc(), nullable=False),
        sa.Column("quality", sa.JSON(), nullable=True),
        sa.Column("face_box", sa.JSON(), nullable=True),
        *_sealing_columns(),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(SEALED_HAS_TIME, name=op.f("ck_gallery_photos_sealed_has_time")),
        sa.ForeignKeyConstraint(
            ["evidence_sha256"],
            ["evidence_files.sha256"],
            name=op.f("fk_gallery_photos_evidence_sha256_evidence_files"),
        ),
        sa.ForeignKeyConstraint(
            ["import_batch_id"],
            ["gallery_import_batches.id"],
            name=op.f("fk_gallery_photos_import_batch_id_gallery_import_batches"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["gallery_subjects.id"],
            name=op.f("fk_gallery_photos_subject_id_gallery_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gallery_photos")),
        sa.UniqueConstraint("evidence_sha256", name=op.f("uq_gallery_photos_evidence_sha256")),
    )
    op.create_index(
        op.f("ix_gallery_photos_import_batch_id"), "gallery_photos", ["import_batch_id"]
    )
    op.create_index(op.f("ix_gallery_photos_subject_id"), "gallery_photos", ["subject_id"])

    op.create_table(
        "gallery_embeddings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("model_name", sa.String(length=64), nullable=False),
        sa.Column("model_sha256", sa.String(length=64), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.CheckConstraint("dim > 0", name=op.f("ck_gallery_embeddings_dim_positive")),
        sa.ForeignKeyConstraint(
            ["photo_id"],
            ["gallery_photos.id"],
            name=op.f("fk_gallery_embeddings_photo_id_gallery_photos"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gallery_embeddings")),
        sa.UniqueConstraint("photo_id", "model_name", name="uq_gallery_embeddings_photo_model"),
    )
    op.create_index(op.f("ix_gallery_embeddings_model_name"), "gallery_embeddings", ["model_name"])


def downgrade() -> None:
    op.drop_table("gallery_embeddings")
    op.drop_table("gallery_photos")
    op.drop_table("gallery_subjects")
    op.drop_table("gallery_import_batches")
    op.drop_table("gallery_changes")
