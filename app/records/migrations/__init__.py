"""Alembic environment of the workstation's database, run programmatically by ``app.records.db``."""
