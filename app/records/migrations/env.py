"""Alembic environment: runs on the connection ``app.records.db`` hands over (no alembic.ini).

``config.attributes["connection"]`` is an open SQLAlchemy connection; every model module is imported
through ``app.records.all_models`` so autogenerate compares against the complete schema.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from app.records.all_models import Base

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("the workstation runs migrations only through app.records.db")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode rebuilds the table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
