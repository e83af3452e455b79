"""Unit-wide settings chosen in the workstation (the administrator's policy profile choice).

Revision ID: 0005_unit_settings
Revises: 0004_reports
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005_unit_settings"
down_revision: str | None = "0004_reports"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "unit_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_unit_settings")),
    )


def downgrade() -> None:
    op.drop_table("unit_settings")
