"""Hand-written Alembic revisions; each mirrors ``schema.tables`` at its point in history."""
