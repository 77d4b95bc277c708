"""The event store's database schema: SQLAlchemy Core tables (``schema.tables``) and the Alembic
migrations that create them (``schema.migrations``), applied with ``schema.migrate.upgrade``."""
