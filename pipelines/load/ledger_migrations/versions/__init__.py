"""One module per schema version; alembic skips this file."""
