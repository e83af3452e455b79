"""Casework: requests, probes and their edited copies, searches with their candidate lists,
comparisons and worksheet answers, second reviews, skipped reviews, case attachments.

Revision ID: 0003_casework
Revises: 0002_gallery
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_casework"
down_revision: str | None = "0002_gallery"
branch_labels: str | None = None
depends_on: str | None = None

# The values are written out (not imported from the models) so this revision never changes.
REQUEST_STATUS_CHECK = (
    "status IN ('open', 'searched', 'in_comparison', 'awaiting_review', 'returned', "
    "'concluded_lead', 'concluded_no_lead', 'closed')"
)
REVIEW_STATE_CHECK = (
    "review_state IN ('not_submitted', 'awaiting_review', 'in_review', 'reviewed', 'skipped')"
)


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "case_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_number", sa.String(length=40), nullable=False),
        sa.Column("case_number", sa.String(length=100), nullable=False),
        sa.Column("requesting_officer", sa.String(length=200), nullable=False),
        sa.Column("requesting_agency", sa.String(length=200), nullable=False),
        sa.Column("submitting_agency", sa.String(length=200), nullable=True),
        sa.Column("interagency_ack_text", sa.Text(), nullable=True),
        sa.Column("interagency_ack_at", _utc(), nullable=True),
        sa.Column("interagency_ack_by", sa.String(length=200), nullable=True),
        sa.Column("interagency_ack_recorded_by", sa.String(length=64), nullable=True),
        sa.Column("purpose_code", sa.String(length=50), nullable=False),
        sa.Column("purpose_text", sa.Text(), nullable=False),
        sa.Column("profile_name", sa.String(length=100), nullable=False),
        sa.Column("profile_version", sa.String(length=50), nullable=False),
        sa.Column("profile_sha256", sa.String(length=64), nullable=False),
        sa.Column("offense", sa.String(length=500), nullable=False),
        sa.Column("narrative", sa.Text(), nullable=False),
        sa.Column("probe_source", sa.String(length=50), nullable=False),
        sa.Column("probe_obtained_how", sa.Text(), nullable=False),
        sa.Column("probe_kind", sa.String(length=50), nullable=False),
        sa.Column("lawful_source_attested_at", _utc(), nullable=True),
        sa.Column("not_protected_basis_attested_at", _utc(), nullable=True),
        sa.Column("actual_subject_attested_at", _utc(), nullable=True),
        sa.Column("attested_by", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("status_note", sa.Text(), nullable=True),
        sa.Column("assigned_examiner_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(REQUEST_STATUS_CHECK, name=op.f("ck_case_requests_known_status")),
        sa.ForeignKeyConstraint(
            ["assigned_examiner_id"],
            ["users.id"],
            name=op.f("fk_case_requests_assigned_examiner_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_requests")),
        sa.UniqueConstraint("request_number", name=op.f("uq_case_requests_request_number")),
    )
    with op.batch_alter_table("case_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_requests_assigned_examiner_id"),
            ["assigned_examiner_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_case_requests_case_number"), ["case_number"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_requests_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            "ix_case_requests_status_examiner", ["status", "assigned_examiner_id"], unique=False
        )

    op.create_table(
        "case_probes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("original_sha256", sa.String(length=64), nullable=False),
        sa.Column("original_name", sa.String(length=500), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("detected_faces", sa.Text(), nullable=False),
        sa.Column("detection_message", sa.Text(), nullable=False),
        sa.Column("chosen_face_index", sa.Integer(), nullable=True),
        sa.Column("quality", sa.Text(), nullable=True),
        sa.Column("decode_notes", sa.Text(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["original_sha256"],
            ["evidence_files.sha256"],
            name=op.f("fk_case_probes_original_sha256_evidence_files"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["case_requests.id"],
            name=op.f("fk_case_probes_request_id_case_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_probes")),
    )
    with op.batch_alter_table("case_probes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_probes_request_id"), ["request_id"], unique=False)

    op.create_table(
        "case_probe_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("probe_id", sa.Integer(), nullable=False),
        sa.Column("parent_version_id", sa.Integer(), nullable=True),
        sa.Column("parent_sha256", sa.String(length=64), nullable=False),
        sa.Column("evidence_sha256", sa.String(length=64), nullable=False),
        sa.Column("operation", sa.Text(), nullable=False),
        sa.Column("operation_name", sa.String(length=50), nullable=False),
        sa.Column("engine_version", sa.String(length=200), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("detected_faces", sa.Text(), nullable=False),
        sa.Column("detection_message", sa.Text(), nullable=False),
        sa.Column("chosen_face_index", sa.Integer(), nullable=True),
        sa.Column("quality", sa.Text(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["evidence_sha256"],
            ["evidence_files.sha256"],
            name=op.f("fk_case_probe_versions_evidence_sha256_evidence_files"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_sha256"],
            ["evidence_files.sha256"],
            name=op.f("fk_case_probe_versions_parent_sha256_evidence_files"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_version_id"],
            ["case_probe_versions.id"],
            name=op.f("fk_case_probe_versions_parent_version_id_case_probe_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["probe_id"],
            ["case_probes.id"],
            name=op.f("fk_case_probe_versions_probe_id_case_probes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_probe_versions")),
    )
    with op.batch_alter_table("case_probe_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_probe_versions_probe_id"), ["probe_id"], unique=False
        )

    op.create_table(
        "case_searches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("probe_id", sa.Integer(), nullable=False),
        sa.Column("probe_version_id", sa.Integer(), nullable=True),
        sa.Column("searched_sha256", sa.String(length=64), nullable=False),
        sa.Column("face_index", sa.Integer(), nullable=False),
        sa.Column("face_box", sa.Text(), nullable=False),
        sa.Column("model_name", sa.String(length=100), nullable=False),
        sa.Column("model_version", sa.String(length=50), nullable=False),
        sa.Column("model_sha256", sa.String(length=64), nullable=False),
        sa.Column("metric", sa.String(length=20), nullable=False),
        sa.Column("index_generation", sa.Integer(), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("ef", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("score_meaning", sa.Text(), nullable=False),
        sa.Column("gallery_size", sa.Integer(), nullable=False),
        sa.Column("quality", sa.Text(), nullable=False),
        sa.Column("quality_warnings", sa.Text(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("candidate_count", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["probe_id"], ["case_probes.id"], name=op.f("fk_case_searches_probe_id_case_probes")
        ),
        sa.ForeignKeyConstraint(
            ["probe_version_id"],
            ["case_probe_versions.id"],
            name=op.f("fk_case_searches_probe_version_id_case_probe_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["case_requests.id"],
            name=op.f("fk_case_searches_request_id_case_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["searched_sha256"],
            ["evidence_files.sha256"],
            name=op.f("fk_case_searches_searched_sha256_evidence_files"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_searches")),
    )
    with op.batch_alter_table("case_searches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_searches_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_searches_created_by"), ["created_by"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_searches_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "case_search_candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("search_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("subject_reference", sa.String(length=200), nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("photo_sha256", sa.String(length=64), nullable=False),
        sa.Column("source_type", sa.String(length=64), nullable=False),
        sa.Column("source_reference", sa.String(length=200), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("photo_date", sa.Date(), nullable=True),
        sa.Column("most_recent_photo_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["search_id"],
            ["case_searches.id"],
            name=op.f("fk_case_search_candidates_search_id_case_searches"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_search_candidates")),
        sa.UniqueConstraint(
            "search_id", "rank", name=op.f("uq_case_search_candidates_search_id_rank")
        ),
    )
    with op.batch_alter_table("case_search_candidates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_search_candidates_search_id"), ["search_id"], unique=False
        )

    op.create_table(
        "case_comparisons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("examiner_id", sa.Integer(), nullable=False),
        sa.Column("examiner", sa.String(length=64), nullable=False),
        sa.Column("worksheet_name", sa.String(length=100), nullable=False),
        sa.Column("worksheet_version", sa.String(length=50), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("conclusion", sa.String(length=30), nullable=True),
        sa.Column("started_at", _utc(), nullable=False),
        sa.Column("finished_at", _utc(), nullable=True),
        sa.Column("time_spent_seconds", sa.Integer(), nullable=True),
        sa.Column("review_state", sa.String(length=20), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(REVIEW_STATE_CHECK, name=op.f("ck_case_comparisons_known_review_state")),
        sa.CheckConstraint(
            "status IN ('draft', 'concluded')", name=op.f("ck_case_comparisons_known_status")
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["case_search_candidates.id"],
            name=op.f("fk_case_comparisons_candidate_id_case_search_candidates"),
        ),
        sa.ForeignKeyConstraint(
            ["examiner_id"], ["users.id"], name=op.f("fk_case_comparisons_examiner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["case_requests.id"],
            name=op.f("fk_case_comparisons_request_id_case_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_comparisons")),
    )
    with op.batch_alter_table("case_comparisons", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_comparisons_candidate_id"), ["candidate_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_comparisons_examiner_id"), ["examiner_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_comparisons_request_id"), ["request_id"], unique=False
        )
        batch_op.create_index("ix_case_comparisons_review_state", ["review_state"], unique=False)

    op.create_table(
        "case_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("comparison_id", sa.Integer(), nullable=True),
        sa.Column("evidence_sha256", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("caption", sa.Text(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "kind IN ('screenshot', 'annotation')", name=op.f("ck_case_attachments_known_kind")
        ),
        sa.ForeignKeyConstraint(
            ["comparison_id"],
            ["case_comparisons.id"],
            name=op.f("fk_case_attachments_comparison_id_case_comparisons"),
        ),
        sa.ForeignKeyConstraint(
            ["evidence_sha256"],
            ["evidence_files.sha256"],
            name=op.f("fk_case_attachments_evidence_sha256_evidence_files"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["case_requests.id"],
            name=op.f("fk_case_attachments_request_id_case_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_attachments")),
    )
    with op.batch_alter_table("case_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_attachments_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "case_comparison_answers",
        sa.Column("comparison_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=50), nullable=False),
        sa.Column("answer", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("answered_at", _utc(), nullable=False),
        sa.Column("answered_by", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["comparison_id"],
            ["case_comparisons.id"],
            name=op.f("fk_case_comparison_answers_comparison_id_case_comparisons"),
        ),
        sa.PrimaryKeyConstraint(
            "comparison_id", "item_id", name=op.f("pk_case_comparison_answers")
        ),
    )
    op.create_table(
        "case_review_skips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("comparison_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["comparison_id"],
            ["case_comparisons.id"],
            name=op.f("fk_case_review_skips_comparison_id_case_comparisons"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["case_requests.id"],
            name=op.f("fk_case_review_skips_request_id_case_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_review_skips")),
    )
    with op.batch_alter_table("case_review_skips", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_review_skips_comparison_id"), ["comparison_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_review_skips_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "case_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("comparison_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("reviewer", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("conclusion", sa.String(length=30), nullable=True),
        sa.Column("agreement", sa.Boolean(), nullable=True),
        sa.Column("disagreement", sa.Boolean(), nullable=False),
        sa.Column("started_at", _utc(), nullable=False),
        sa.Column("recorded_at", _utc(), nullable=True),
        sa.Column("resolved_at", _utc(), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('in_progress', 'recorded')", name=op.f("ck_case_reviews_known_status")
        ),
        sa.ForeignKeyConstraint(
            ["comparison_id"],
            ["case_comparisons.id"],
            name=op.f("fk_case_reviews_comparison_id_case_comparisons"),
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["users.id"], name=op.f("fk_case_reviews_reviewer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_reviews")),
    )
    with op.batch_alter_table("case_reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_reviews_comparison_id"), ["comparison_id"], unique=False
        )
        batch_op.create_index(
            "ix_case_reviews_disagreement_open", ["disagreement", "resolved_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_reviews_reviewer_id"), ["reviewer_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("case_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_reviews_reviewer_id"))
        batch_op.drop_index("ix_case_reviews_disagreement_open")
        batch_op.drop_index(batch_op.f("ix_case_reviews_comparison_id"))

    op.drop_table("case_reviews")
    with op.batch_alter_table("case_review_skips", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_review_skips_request_id"))
        batch_op.drop_index(batch_op.f("ix_case_review_skips_comparison_id"))

    op.drop_table("case_review_skips")
    op.drop_table("case_comparison_answers")
    with op.batch_alter_table("case_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_attachments_request_id"))

    op.drop_table("case_attachments")
    with op.batch_alter_table("case_comparisons", schema=None) as batch_op:
        batch_op.drop_index("ix_case_comparisons_review_state")
        batch_op.drop_index(batch_op.f("ix_case_comparisons_request_id"))
        batch_op.drop_index(batch_op.f("ix_case_comparisons_examiner_id"))
        batch_op.drop_index(batch_op.f("ix_case_comparisons_candidate_id"))

    op.drop_table("case_comparisons")
    with op.batch_alter_table("case_search_candidates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_search_candidates_search_id"))

    op.drop_table("case_search_candidates")
    with op.batch_alter_table("case_searches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_searches_request_id"))
        batch_op.drop_index(batch_op.f("ix_case_searches_created_by"))
        batch_op.drop_index(batch_op.f("ix_case_searches_created_at"))

    op.drop_table("case_searches")
    with op.batch_alter_table("case_probe_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_probe_versions_probe_id"))

    op.drop_table("case_probe_versions")
    with op.batch_alter_table("case_probes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_probes_request_id"))

    op.drop_table("case_probes")
    with op.batch_alter_table("case_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_case_requests_status_examiner")
        batch_op.drop_index(batch_op.f("ix_case_requests_created_at"))
        batch_op.drop_index(batch_op.f("ix_case_requests_case_number"))
        batch_op.drop_index(batch_op.f("ix_case_requests_assigned_examiner_id"))

    op.drop_table("case_requests")
