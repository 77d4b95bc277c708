"""Round robin's cursor per department and role, reserved in one transaction.

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-02 00:00:00

Round robin used to read the last assignee from the projections and have its choice written
later, with the request's events, so concurrent submissions picked the same person.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assignment_cursors",
        sa.Column("department_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("last_person_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("department_id", "role", name="pk_assignment_cursors"),
    )


def downgrade() -> None:
    op.drop_table("assignment_cursors")
