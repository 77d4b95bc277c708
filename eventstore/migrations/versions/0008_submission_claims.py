"""Submission claims: the idempotency keys API processes are submitting right now.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:00:00

The API answered 409 "still being created" from an in-memory set, so a second API process
behind the same load balancer never saw the first one's submission in flight.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "submission_claims",
        sa.Column("idempotency_key", sa.String(128), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("submission_claims")
