"""Indexes for the API's work queues (GET /api/v1/requests).

Revision ID: 0005
Revises: 0002
Create Date: 2026-12-02 00:00:00

A person's queues look requests up by owner and status, steps by owner and status, or by
department, status and role, and filters requests by customer; without these each listing
reads the whole projection.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (
    ("ix_requests_owner_status", "requests", ["owner_id", "status"]),
    ("ix_requests_customer_id", "requests", ["customer_id"]),
    ("ix_request_steps_owner_status", "request_steps", ["owner_id", "status"]),
    ("ix_request_steps_department_status_role", "request_steps",
     ["department_id", "status", "role"]),
)


def upgrade() -> None:
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
