"""The event store's tables: the append-only ``events`` log, the projections rebuilt from it
(``requests``, ``request_steps``, ``owner_workload``, ``escalations``, ``handoffs``), the
notifier's idempotency ledger (``notifications``), the ``outbox`` of messages to deliver, and
customer data protection: each customer's wrapped data key (``customer_keys``), which customer
a request is for (``request_customers``) and the audit of erasures (``erasures``); and the
facts about customers themselves (``customer_events``: tier changes, merges, unmerges).

Datetimes are timezone-aware UTC in Python on both dialects (see ``UtcDateTime``). Every
change here needs a matching hand-written revision in ``eventstore/migrations/versions``; the
migration test compares the migrated database to this metadata."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    bindparam,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from domain.state import FINAL_STATUSES


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    PostgreSQL stores ``timestamptz``; SQLite has no timezone support, so the value is stored as
    naive UTC text (which also sorts correctly) and UTC is attached again when read. Naive
    datetimes are refused: a naive time in an event log is a bug, not a convention."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given for a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _json() -> Any:
    """JSON on SQLite, JSONB on PostgreSQL."""
    return JSON().with_variant(JSONB(), "postgresql")


def _id() -> Any:
    """A 64-bit id; plain INTEGER on SQLite so it is the autoincrementing rowid alias."""
    return BigInteger().with_variant(Integer(), "sqlite")


ID = 64
"""Length of every id column (request ids, person ids, department ids, ...)."""

metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("id", _id(), primary_key=True, autoincrement=True),
    Column("request_id", String(ID), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("actor_id", String(ID), nullable=False),
    Column("actor_kind", String(16), nullable=False),
    Column("actor_role", String(ID), nullable=True),
    Column("actor_department_id", String(ID), nullable=True),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False, server_default=func.now()),
    Column("payload", _json(), nullable=False),
    UniqueConstraint("request_id", "sequence", name="uq_events_request_sequence"),
    Index("ix_events_occurred_at", "occurred_at"),
    Index("ix_events_type_occurred_at", "event_type", "occurred_at"),
)

requests = Table(
    "requests",
    metadata,
    Column("request_id", String(ID), primary_key=True),
    Column("status", String(32), nullable=False),
    Column("request_type", String(ID), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("customer_id", String(ID), nullable=False),
    Column("customer_name", Text, nullable=False),
    Column("customer_tier", String(16), nullable=False),
    Column("priority", String(4), nullable=False),
    Column("subject", Text, nullable=False),
    Column("owner_id", String(ID), nullable=True),
    Column("owner_department_id", String(ID), nullable=False),
    Column("current_step_keys", _json(), nullable=False),
    Column("submitted_at", UtcDateTime(), nullable=False),
    Column("first_response_at", UtcDateTime(), nullable=True),
    Column("first_response_deadline", UtcDateTime(), nullable=True),
    Column("resolution_deadline", UtcDateTime(), nullable=True),
    Column("resolved_at", UtcDateTime(), nullable=True),
    Column("closed_at", UtcDateTime(), nullable=True),
    Column("sla_state", String(16), nullable=False),
    Column("breach_count", Integer, nullable=False),
    Column("escalation_count", Integer, nullable=False),
    Column("reopen_count", Integer, nullable=False),
    Column("satisfaction", Integer, nullable=True),
    Column("last_sequence", Integer, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_requests_submitted_at", "submitted_at"),
    # The API's work queues (migration 0005).
    Index("ix_requests_owner_status", "owner_id", "status"),
    Index("ix_requests_customer_id", "customer_id"),
)

OPEN_REQUEST = requests.c.status.not_in(
    # Rendered as literals, never as parameters: a planner can use a partial index only when the
    # query's predicate visibly matches the index's, and a parameter's value is unknown to it.
    bindparam("final_statuses", sorted(FINAL_STATUSES), expanding=True, literal_execute=True)
)
"""Requests that are neither closed nor cancelled: the predicate of ``ix_requests_open`` and of
every query that reads open requests through it."""

Index(
    # Covers the KPI collector's open-requests query (an index-only scan on PostgreSQL): closed
    # requests, the bulk of the table over time, are not in it.
    "ix_requests_open",
    requests.c.owner_department_id, requests.c.status, requests.c.sla_state,
    requests.c.submitted_at,
    postgresql_where=OPEN_REQUEST,
    sqlite_where=OPEN_REQUEST,
)

request_steps = Table(
    "request_steps",
    metadata,
    Column("request_id", String(ID), nullable=False),
    Column("step_key", String(128), nullable=False),
    Column("stage_id", String(ID), nullable=False),
    Column("stage_index", Integer, nullable=False),
    Column("step_name", Text, nullable=False),
    Column("department_id", String(ID), nullable=False),
    Column("role", String(ID), nullable=False),
    Column("owner_id", String(ID), nullable=False),
    Column("cycle", Integer, nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("claimed_at", UtcDateTime(), nullable=True),
    Column("ended_at", UtcDateTime(), nullable=True),
    Column("deadline", UtcDateTime(), nullable=True),
    Column("target_seconds", Float, nullable=False),
    Column("wall_seconds", Float, nullable=True),
    Column("business_seconds", Float, nullable=True),
    Column("paused_seconds", Float, nullable=True),
    Column("breached", Boolean, nullable=False),
    Column("sla_state", String(16), nullable=False),
    Column("escalation_count", Integer, nullable=False),
    Column("handoff_count", Integer, nullable=False),
    Column("reassign_count", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    PrimaryKeyConstraint("request_id", "step_key", name="pk_request_steps"),
    Index("ix_request_steps_ended_at", "ended_at"),
    Index("ix_request_steps_department_role", "department_id", "role"),
    # The API's work queues (migration 0005).
    Index("ix_request_steps_owner_status", "owner_id", "status"),
    Index("ix_request_steps_department_status_role", "department_id", "status", "role"),
)

owner_workload = Table(
    "owner_workload",
    metadata,
    Column("person_id", String(ID), nullable=False),
    Column("department_id", String(ID), nullable=False),
    Column("open_steps", Integer, nullable=False),
    Column("open_requests", Integer, nullable=False),
    PrimaryKeyConstraint("person_id", "department_id", name="pk_owner_workload"),
)

escalations = Table(
    "escalations",
    metadata,
    Column("request_id", String(ID), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("clock_id", String(160), nullable=False),
    Column("breach_number", Integer, nullable=False),
    Column("level", Integer, nullable=False),
    Column("level_name", Text, nullable=False),
    Column("recipient_id", String(ID), nullable=False),
    Column("department_id", String(ID), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("acknowledged_at", UtcDateTime(), nullable=True),
    PrimaryKeyConstraint("request_id", "sequence", name="pk_escalations"),
    Index("ix_escalations_occurred_at", "occurred_at"),
)

handoffs = Table(
    "handoffs",
    metadata,
    Column("request_id", String(ID), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("step_key", String(128), nullable=False),
    Column("from_department_id", String(ID), nullable=False),
    Column("to_department_id", String(ID), nullable=False),
    Column("from_owner_id", String(ID), nullable=False),
    Column("to_owner_id", String(ID), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("reason", Text, nullable=False),
    PrimaryKeyConstraint("request_id", "sequence", name="pk_handoffs"),
    Index("ix_handoffs_occurred_at", "occurred_at"),
)

assignment_cursors = Table(
    # Round robin's place per department and role, moved in the transaction that reads it, so
    # concurrent requests never pick the same next person; its row is also the lock under which
    # least loaded reads the load and reserves. Not a projection: rebuild keeps it.
    "assignment_cursors",
    metadata,
    Column("department_id", String(ID), nullable=False),
    Column("role", String(ID), nullable=False),
    Column("last_person_id", String(ID), nullable=True),
    PrimaryKeyConstraint("department_id", "role", name="pk_assignment_cursors"),
)

assignment_reservations = Table(
    # People chosen by a load-based rule whose assignment is not in the projections yet: each
    # counts as one more open step of theirs until the append projects it (or the lease ends,
    # for a choice whose command was refused). Not a projection: rebuild leaves it alone.
    "assignment_reservations",
    metadata,
    Column("id", _id(), primary_key=True, autoincrement=True),
    Column("department_id", String(ID), nullable=False),
    Column("person_id", String(ID), nullable=False),
    Column("reserved_at", UtcDateTime(), nullable=False),
    Index("ix_assignment_reservations_person", "department_id", "person_id", "reserved_at"),
)

submission_claims = Table(
    # Idempotency keys whose submission an API process is carrying out right now, so that any
    # other process answers "still being created" (409). Not a projection: rebuild keeps it.
    "submission_claims",
    metadata,
    Column("idempotency_key", String(128), primary_key=True),
    Column("holder", String(ID), nullable=False),
    Column("claimed_at", UtcDateTime(), nullable=False),
)

parked_requests = Table(
    # Requests parked for an operator: the workflow writes here, not in the request's log,
    # because that log is what disagrees with it (appending there is what was refused). Not a
    # projection of the log, so rebuild keeps it; the first park of a request is the one kept.
    "parked_requests",
    metadata,
    Column("request_id", String(ID), primary_key=True),
    Column("reason", String(32), nullable=False),
    Column("detail", String(500), nullable=False),
    Column("parked_at", UtcDateTime(), nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("request_id", String(ID), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("recipient_id", String(ID), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=False),
)

customer_keys = Table(
    "customer_keys",
    metadata,
    Column("customer_id", String(ID), primary_key=True),
    # The customer's data key, wrapped under the store's master key; NULL once erased. A
    # customer who returns after an erasure gets a key of the next generation.
    Column("generation", Integer, nullable=False),
    Column("master_key_id", String(ID), nullable=True),
    Column("wrapped_key", LargeBinary, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("erased_at", UtcDateTime(), nullable=True),
)

request_customers = Table(
    "request_customers",
    metadata,
    Column("request_id", String(ID), primary_key=True),
    Column("customer_id", String(ID), nullable=False),
    Column("generation", Integer, nullable=False),
    Index("ix_request_customers_customer_id", "customer_id"),
)

erasures = Table(
    "erasures",
    metadata,
    Column("id", _id(), primary_key=True, autoincrement=True),
    Column("customer_id", String(ID), nullable=False),
    Column("erased_by", String(ID), nullable=False),
    Column("basis", String(16), nullable=False),
    Column("requests", Integer, nullable=False),
    Column("erased_at", UtcDateTime(), nullable=False),
)

customer_events = Table(
    "customer_events",
    metadata,
    # Facts about a customer, not a request (domain.customers): tier changes, merges and
    # unmerges, append-only, in the order of ``id``. Ids, a tier and a reason code only.
    Column("id", _id(), primary_key=True, autoincrement=True),
    Column("key", String(ID), nullable=False),
    Column("event_type", String(16), nullable=False),
    Column("customer_id", String(ID), nullable=False),
    Column("duplicate_id", String(ID), nullable=True),
    Column("tier", String(16), nullable=True),
    Column("reason", String(16), nullable=True),
    Column("reverses", String(ID), nullable=True),
    Column("recorded_by", String(ID), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    UniqueConstraint("key", name="uq_customer_events_key"),
)

OUTBOX_PENDING = "pending"
OUTBOX_DELIVERED = "delivered"
OUTBOX_DEAD = "dead"
OUTBOX_STATUSES = (OUTBOX_PENDING, OUTBOX_DELIVERED, OUTBOX_DEAD)

outbox = Table(
    "outbox",
    metadata,
    Column("id", _id(), primary_key=True, autoincrement=True),
    Column("destination", String(64), nullable=False),
    Column("message_key", String(200), nullable=False),
    Column("request_id", String(ID), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("message", _json(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("delivered_at", UtcDateTime(), nullable=True),
    # A re-delivered append (or the legacy notify activity) enqueues nothing twice.
    UniqueConstraint("destination", "message_key", name="uq_outbox_destination_key"),
    Index("ix_outbox_due", "status", "next_attempt_at"),
)

PROJECTION_TABLES: tuple[Table, ...] = (
    requests,
    request_steps,
    owner_workload,
    escalations,
    handoffs,
)
"""The tables ``eventstore.rebuild`` empties and replays; never ``events``, ``notifications``
nor ``outbox``."""
