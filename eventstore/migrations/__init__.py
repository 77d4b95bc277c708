"""Alembic environment of the event store (script_location of ``eventstore.migrate``)."""
