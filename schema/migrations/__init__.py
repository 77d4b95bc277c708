"""Alembic environment of the event store (script_location of ``schema.migrate``)."""
