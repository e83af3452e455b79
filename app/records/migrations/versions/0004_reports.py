"""Reports and releases: issued reports (PDF evidence, versions, superseded), disseminations,
disclosure requests with the legal advisor's decisions and releases, legal holds, audit samples
and their findings.

Revision ID: 0004_reports
Revises: 0003_casework
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004_reports"
down_revision: str | None = "0003_casework"
branch_labels: str | None = None
depends_on: str | None = None

# The values are written out (not imported from the models) so this revision never changes.
HOLD_RECORD_TYPE_CHECK = (
    "record_type IN ('request', 'probe', 'search', 'comparison', 'report', 'dissemination', "
    "'disclosure')"
)
LIFTED_WITH_WHO_CHECK = (
    "(lifted_at IS NULL AND lifted_by IS NULL) OR "
    "(lifted_at IS NOT NULL AND lifted_by IS NOT NULL)"
)


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "audit_samples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("period_start", _utc(), nullable=False),
        sa.Column("period_end", _utc(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("request_ids", sa.Text(), nullable=False),
        sa.Column("drawn_by", sa.String(length=64), nullable=False),
        sa.Column("drawn_at", _utc(), nullable=False),
        sa.CheckConstraint(
            "period_end > period_start", name=op.f("ck_audit_samples_period_forward")
        ),
        sa.CheckConstraint("sample_size >= 1", name=op.f("ck_audit_samples_size_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_samples")),
    )
    with op.batch_alter_table("audit_samples", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_samples_drawn_at"), ["drawn_at"], unique=False)

    op.create_table(
        "disclosure_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requester", sa.String(length=200), nullable=False),
        sa.Column("received_at", _utc(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("case_number", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", _utc(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('received', 'approved', 'denied', 'released')",
            name=op.f("ck_disclosure_requests_known_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_requests")),
    )
    with op.batch_alter_table("disclosure_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_disclosure_requests_recorded_at"), ["recorded_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_disclosure_requests_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_type", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("case_number", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by", sa.String(length=64), nullable=False),
        sa.Column("placed_at", _utc(), nullable=False),
        sa.Column("lifted_by", sa.String(length=64), nullable=True),
        sa.Column("lifted_at", _utc(), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            HOLD_RECORD_TYPE_CHECK,
            name=op.f("ck_legal_holds_known_record_type"),
        ),
        sa.CheckConstraint(
            LIFTED_WITH_WHO_CHECK,
            name=op.f("ck_legal_holds_lifted_with_who"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    with op.batch_alter_table("legal_holds", schema=None) as batch_op:
        batch_op.create_index("ix_legal_holds_record", ["record_type", "record_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_legal_holds_request_id"), ["request_id"], unique=False)

    op.create_table(
        "audit_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("request_number", sa.String(length=40), nullable=False),
        sa.Column("compliant", sa.Boolean(), nullable=False),
        sa.Column("finding", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sample_id"],
            ["audit_samples.id"],
            name=op.f("fk_audit_findings_sample_id_audit_samples"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_findings")),
    )
    with op.batch_alter_table("audit_findings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_findings_request_id"), ["request_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_audit_findings_sample_id"), ["sample_id"], unique=False
        )

    op.create_table(
        "disclosure_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("disclosure_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("decided_at", _utc(), nullable=False),
        sa.CheckConstraint(
            "decision IN ('approved', 'denied')",
            name=op.f("ck_disclosure_decisions_known_decision"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_disclosure_decisions_decided_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["disclosure_id"],
            ["disclosure_requests.id"],
            name=op.f("fk_disclosure_decisions_disclosure_id_disclosure_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_decisions")),
    )
    with op.batch_alter_table("disclosure_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_disclosure_decisions_disclosure_id"), ["disclosure_id"], unique=False
        )

    op.create_table(
        "disclosure_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("disclosure_id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("method", sa.String(length=200), nullable=False),
        sa.Column("released_by", sa.String(length=64), nullable=False),
        sa.Column("released_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["disclosure_decisions.id"],
            name=op.f("fk_disclosure_releases_decision_id_disclosure_decisions"),
        ),
        sa.ForeignKeyConstraint(
            ["disclosure_id"],
            ["disclosure_requests.id"],
            name=op.f("fk_disclosure_releases_disclosure_id_disclosure_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_releases")),
    )
    with op.batch_alter_table("disclosure_releases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_disclosure_releases_disclosure_id"), ["disclosure_id"], unique=False
        )

    op.create_table(
        "case_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_number", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("comparison_id", sa.Integer(), nullable=True),
        sa.Column("case_number", sa.String(length=100), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("pdf_size", sa.Integer(), nullable=False),
        sa.Column("content_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("paper", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("issued_at", _utc(), nullable=False),
        sa.Column("superseded_by_id", sa.Integer(), nullable=True),
        sa.Column("superseded_at", _utc(), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(kind = 'lead' AND comparison_id IS NOT NULL) OR (kind = 'no_lead')",
            name=op.f("ck_case_reports_lead_has_comparison"),
        ),
        sa.CheckConstraint("kind IN ('lead', 'no_lead')", name=op.f("ck_case_reports_known_kind")),
        sa.CheckConstraint(
            "status IN ('issued', 'superseded')", name=op.f("ck_case_reports_known_status")
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_case_reports_version_positive")),
        sa.ForeignKeyConstraint(
            ["comparison_id"],
            ["case_comparisons.id"],
            name=op.f("fk_case_reports_comparison_id_case_comparisons"),
        ),
        sa.ForeignKeyConstraint(
            ["issued_by_id"], ["users.id"], name=op.f("fk_case_reports_issued_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["pdf_sha256"],
            ["evidence_files.sha256"],
            name=op.f("fk_case_reports_pdf_sha256_evidence_files"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["case_requests.id"],
            name=op.f("fk_case_reports_request_id_case_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["superseded_by_id"],
            ["case_reports.id"],
            name=op.f("fk_case_reports_superseded_by_id_case_reports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_reports")),
        sa.UniqueConstraint("pdf_sha256", name=op.f("uq_case_reports_pdf_sha256")),
        sa.UniqueConstraint(
            "report_number", "version", name=op.f("uq_case_reports_report_number_version")
        ),
    )
    with op.batch_alter_table("case_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_reports_case_number"), ["case_number"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_reports_comparison_id"), ["comparison_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_case_reports_issued_at"), ["issued_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_case_reports_report_number"), ["report_number"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_reports_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "case_disseminations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("recipient_agency", sa.String(length=200), nullable=False),
        sa.Column("official", sa.String(length=200), nullable=False),
        sa.Column("recipient_type", sa.String(length=50), nullable=False),
        sa.Column("need_to_know", sa.Text(), nullable=False),
        sa.Column("method", sa.String(length=200), nullable=False),
        sa.Column("released_by_id", sa.Integer(), nullable=False),
        sa.Column("released_by", sa.String(length=64), nullable=False),
        sa.Column("released_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["released_by_id"],
            ["users.id"],
            name=op.f("fk_case_disseminations_released_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["case_reports.id"],
            name=op.f("fk_case_disseminations_report_id_case_reports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_disseminations")),
    )
    with op.batch_alter_table("case_disseminations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_disseminations_released_at"), ["released_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_disseminations_released_by"), ["released_by"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_disseminations_report_id"), ["report_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("case_disseminations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_disseminations_report_id"))
        batch_op.drop_index(batch_op.f("ix_case_disseminations_released_by"))
        batch_op.drop_index(batch_op.f("ix_case_disseminations_released_at"))

    op.drop_table("case_disseminations")
    with op.batch_alter_table("case_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_reports_request_id"))
        batch_op.drop_index(batch_op.f("ix_case_reports_report_number"))
        batch_op.drop_index(batch_op.f("ix_case_reports_issued_at"))
        batch_op.drop_index(batch_op.f("ix_case_reports_comparison_id"))
        batch_op.drop_index(batch_op.f("ix_case_reports_case_number"))

    op.drop_table("case_reports")
    with op.batch_alter_table("disclosure_releases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disclosure_releases_disclosure_id"))

    op.drop_table("disclosure_releases")
    with op.batch_alter_table("disclosure_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disclosure_decisions_disclosure_id"))

    op.drop_table("disclosure_decisions")
    with op.batch_alter_table("audit_findings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_findings_sample_id"))
        batch_op.drop_index(batch_op.f("ix_audit_findings_request_id"))

    op.drop_table("audit_findings")
    with op.batch_alter_table("legal_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_legal_holds_request_id"))
        batch_op.drop_index("ix_legal_holds_record")

    op.drop_table("legal_holds")
    with op.batch_alter_table("disclosure_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disclosure_requests_request_id"))
        batch_op.drop_index(batch_op.f("ix_disclosure_requests_recorded_at"))

    op.drop_table("disclosure_requests")
    with op.batch_alter_table("audit_samples", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_samples_drawn_at"))

    op.drop_table("audit_samples")
