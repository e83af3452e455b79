"""Records: SQLAlchemy models, database/session factory, migrations, evidence store, audit chain."""
