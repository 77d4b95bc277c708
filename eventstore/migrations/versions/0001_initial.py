"""The event log, its projections and the notification ledger.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00

Written by hand to mirror schema/tables.py; the migration test compares the two.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> Any:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _id() -> Any:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, *, nullable: bool, **kwargs: Any) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, **kwargs)


def _id_col(name: str, *, nullable: bool = False, length: int = 64) -> sa.Column[Any]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        _id_col("request_id"),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        _id_col("actor_id"),
        sa.Column("actor_kind", sa.String(16), nullable=False),
        _id_col("actor_role", nullable=True),
        _id_col("actor_department_id", nullable=True),
        _ts("occurred_at", nullable=False),
        _ts("recorded_at", nullable=False, server_default=sa.func.now()),
        sa.Column("payload", _json(), nullable=False),
        sa.UniqueConstraint("request_id", "sequence", name="uq_events_request_sequence"),
    )
    op.create_index("ix_events_occurred_at", "events", ["occurred_at"])
    op.create_index("ix_events_type_occurred_at", "events", ["event_type", "occurred_at"])

    op.create_table(
        "requests",
        _id_col("request_id", nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        _id_col("request_type"),
        sa.Column("channel", sa.String(16), nullable=False),
        _id_col("customer_id"),
        sa.Column("customer_name", sa.Text(), nullable=False),
        sa.Column("customer_tier", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(4), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        _id_col("owner_id", nullable=True),
        _id_col("owner_department_id"),
        sa.Column("current_step_keys", _json(), nullable=False),
        _ts("submitted_at", nullable=False),
        _ts("first_response_at", nullable=True),
        _ts("first_response_deadline", nullable=True),
        _ts("resolution_deadline", nullable=True),
        _ts("resolved_at", nullable=True),
        _ts("closed_at", nullable=True),
        sa.Column("sla_state", sa.String(16), nullable=False),
        sa.Column("breach_count", sa.Integer(), nullable=False),
        sa.Column("escalation_count", sa.Integer(), nullable=False),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        _ts("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.create_index("ix_requests_submitted_at", "requests", ["submitted_at"])

    op.create_table(
        "request_steps",
        _id_col("request_id"),
        _id_col("step_key", length=128),
        _id_col("stage_id"),
        sa.Column("stage_index", sa.Integer(), nullable=False),
        sa.Column("step_name", sa.Text(), nullable=False),
        _id_col("department_id"),
        _id_col("role"),
        _id_col("owner_id"),
        sa.Column("cycle", sa.Integer(), nullable=False),
        _ts("started_at", nullable=False),
        _ts("claimed_at", nullable=True),
        _ts("ended_at", nullable=True),
        _ts("deadline", nullable=True),
        sa.Column("target_seconds", sa.Float(), nullable=False),
        sa.Column("wall_seconds", sa.Float(), nullable=True),
        sa.Column("business_seconds", sa.Float(), nullable=True),
        sa.Column("paused_seconds", sa.Float(), nullable=True),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("sla_state", sa.String(16), nullable=False),
        sa.Column("escalation_count", sa.Integer(), nullable=False),
        sa.Column("handoff_count", sa.Integer(), nullable=False),
        sa.Column("reassign_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "step_key", name="pk_request_steps"),
    )
    op.create_index("ix_request_steps_ended_at", "request_steps", ["ended_at"])
    op.create_index(
        "ix_request_steps_department_role", "request_steps", ["department_id", "role"]
    )

    op.create_table(
        "owner_workload",
        _id_col("person_id"),
        _id_col("department_id"),
        sa.Column("open_steps", sa.Integer(), nullable=False),
        sa.Column("open_requests", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("person_id", "department_id", name="pk_owner_workload"),
    )

    op.create_table(
        "escalations",
        _id_col("request_id"),
        sa.Column("sequence", sa.Integer(), nullable=False),
        _id_col("clock_id", length=160),
        sa.Column("breach_number", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("level_name", sa.Text(), nullable=False),
        _id_col("recipient_id"),
        _id_col("department_id"),
        _ts("occurred_at", nullable=False),
        _ts("acknowledged_at", nullable=True),
        sa.PrimaryKeyConstraint("request_id", "sequence", name="pk_escalations"),
    )
    op.create_index("ix_escalations_occurred_at", "escalations", ["occurred_at"])

    op.create_table(
        "handoffs",
        _id_col("request_id"),
        sa.Column("sequence", sa.Integer(), nullable=False),
        _id_col("step_key", length=128),
        _id_col("from_department_id"),
        _id_col("to_department_id"),
        _id_col("from_owner_id"),
        _id_col("to_owner_id"),
        _ts("occurred_at", nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "sequence", name="pk_handoffs"),
    )
    op.create_index("ix_handoffs_occurred_at", "handoffs", ["occurred_at"])

    op.create_table(
        "notifications",
        _id_col("key", length=200),
        _id_col("request_id"),
        sa.Column("channel", sa.String(32), nullable=False),
        _id_col("recipient_id"),
        _ts("sent_at", nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    # Indexes go with their tables on both dialects.
    for table in (
        "notifications", "handoffs", "escalations", "owner_workload", "request_steps",
        "requests", "events",
    ):
        op.drop_table(table)
