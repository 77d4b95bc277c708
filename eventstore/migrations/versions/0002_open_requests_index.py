"""A partial index on open requests, for the KPI collector's open-requests and backlog query.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 00:00:00

Without it that query reads the whole ``requests`` table on every collector pass, and closed
requests, which it never counts, grow without bound.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Exactly as SQLAlchemy renders schema.tables.OPEN_REQUEST: SQLite keeps the predicate's text,
# and the migration test compares it with the tables' to the letter.
_OPEN = sa.text("(status NOT IN ('cancelled', 'closed'))")


def upgrade() -> None:
    op.create_index(
        "ix_requests_open", "requests",
        ["owner_department_id", "status", "sla_state", "submitted_at"],
        postgresql_where=_OPEN, sqlite_where=_OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_requests_open", table_name="requests")
