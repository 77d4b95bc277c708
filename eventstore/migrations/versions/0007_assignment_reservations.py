"""Least-loaded reservations: people chosen by a load-based rule, counted as loaded until the
append that assigns them is projected.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 00:00:00

Least loaded (and skill match) read the department's open load and had their choice written
later, with the request's events, so requests staffed at the same moment all picked the same
least-loaded person.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assignment_reservations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("department_id", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("reserved_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_assignment_reservations_person", "assignment_reservations",
                    ["department_id", "person_id", "reserved_at"])


def downgrade() -> None:
    op.drop_table("assignment_reservations")
