"""Alembic revisions, chained: 0001_foundation, 0002_gallery, 0003_casework, ..."""
