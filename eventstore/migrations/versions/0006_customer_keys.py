"""Customer data protection: per-customer data keys, the request-to-customer map, the erasure
audit.

Revision ID: 0006
Revises: 0002
Create Date: 2026-12-02 00:00:00

Personal fields of events are sealed under the customer's data key (``customer_keys``, wrapped
under the store's master key); erasing a customer destroys the key and writes an ``erasures``
row. Events written before this revision stay in clear until rewritten by nobody: the log is
append-only.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_keys",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("master_key_id", sa.String(64), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "request_customers",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
    )
    op.create_index("ix_request_customers_customer_id", "request_customers", ["customer_id"])
    op.create_table(
        "erasures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("erased_by", sa.String(64), nullable=False),
        sa.Column("basis", sa.String(16), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("erasures")
    op.drop_index("ix_request_customers_customer_id", table_name="request_customers")
    op.drop_table("request_customers")
    op.drop_table("customer_keys")
