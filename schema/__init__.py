"""The event store's database schema: SQLAlchemy Core tables (``schema.tables``). The Alembic
migrations that create them belong to the event store (``eventstore.migrations``, applied with
``eventstore.migrate.upgrade``)."""
