"""Parked requests: those whose log disagrees with their workflow, for operators' queues.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 00:00:00

A parked request showed only in its workflow's ``status``; the queues read the store. The
rows are written by the workflow's park activity, not projected from the log, so a rebuild
leaves them alone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "parked_requests",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.Column("parked_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("parked_requests")
