"""The outbox: messages waiting for delivery, their attempts, and the dead letters.

``enqueue`` runs inside the transaction that appends the events (see ``append_events``), so a
message exists exactly when its event does. Dispatchers ``claim_due`` a batch under a lease:
the claim moves each message's next attempt past the lease, so another dispatcher (several
may run, on PostgreSQL their claims skip each other's locked rows) leaves it alone until the
lease runs out, which is also how a message claimed by a dispatcher that died is delivered
after all. Delivery is therefore at least once; receivers dedup on the message key."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.outbound import DeliveryPolicy, OutboundMessage, Subscription, messages_for
from eventstore.codec import event_from_row
from eventstore.engine import read_transaction, transaction, upsert_insert
from schema.tables import (
    OUTBOX_DEAD,
    OUTBOX_DELIVERED,
    OUTBOX_PENDING,
    events,
    notifications,
    outbox,
)

ERROR_LENGTH = 500
"""Characters of a delivery error kept on the message: the reason, never a whole response."""


@dataclass(frozen=True)
class Claimed:
    """A message a dispatcher holds under lease, and the attempt this delivery is."""

    id: int
    attempt: int
    message: OutboundMessage


async def enqueue(conn: AsyncConnection, messages: Sequence[OutboundMessage],
                  now: datetime | None = None) -> int:
    """Adds ``messages`` in ``conn``'s transaction, due at once; one already in the outbox
    (same destination and key) is left as it is. Returns how many were new."""
    if not messages:
        return 0
    at = now or datetime.now(UTC)
    statement = upsert_insert(conn, outbox).values([
        {"destination": m.destination, "message_key": m.key, "request_id": m.request_id,
         "sequence": m.sequence, "event_type": m.event_type.value,
         "message": m.model_dump(mode="json"), "status": OUTBOX_PENDING, "attempts": 0,
         "next_attempt_at": at, "created_at": at}
        for m in messages
    ]).on_conflict_do_nothing(index_elements=["destination", "message_key"])
    result = await conn.execute(statement)
    return int(result.rowcount or 0)


async def enqueue_messages(engine: AsyncEngine, messages: Sequence[OutboundMessage]) -> int:
    """``enqueue`` in a transaction of its own."""
    async with transaction(engine, write=True) as conn:
        return await enqueue(conn, messages)


async def enqueue_request_backlog(engine: AsyncEngine, request_id: str,
                                  subscriptions: Sequence[Subscription]) -> int:
    """Makes sure the outbox holds every message ``subscriptions`` want for the request's
    logged events, for events appended before the outbox existed. A message the old
    notifier's ledger records as sent (key ``<message key>:<destination>``) is not enqueued.
    Returns how many were new."""
    wanted = {event_type.value for s in subscriptions for event_type in s.event_types}
    async with transaction(engine, write=True) as conn:
        rows = (await conn.execute(
            select(events).where(events.c.request_id == request_id,
                                 events.c.event_type.in_(sorted(wanted)))
            .order_by(events.c.sequence))).all()
        if not rows:
            return 0
        messages = [m for row in rows
                    for m in messages_for(event_from_row(row), subscriptions)]
        sent = set((await conn.scalars(select(notifications.c.key).where(
            notifications.c.request_id == request_id))).all())
        return await enqueue(conn, [m for m in messages
                                    if f"{m.key}:{m.destination}" not in sent])


async def claim_due(engine: AsyncEngine, *, limit: int, lease: timedelta,
                    destinations: Sequence[str], now: datetime | None = None) -> list[Claimed]:
    """Up to ``limit`` pending messages for ``destinations`` whose next attempt is due, oldest
    first, each leased for ``lease`` and counted as one more attempt."""
    at = now or datetime.now(UTC)
    async with transaction(engine, write=True) as conn:
        rows = (await conn.execute(
            select(outbox.c.id, outbox.c.attempts, outbox.c.message)
            .where(outbox.c.status == OUTBOX_PENDING, outbox.c.next_attempt_at <= at,
                   outbox.c.destination.in_(destinations))
            .order_by(outbox.c.next_attempt_at, outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )).all()
        if not rows:
            return []
        await conn.execute(
            update(outbox).where(outbox.c.id.in_([row.id for row in rows]))
            .values(attempts=outbox.c.attempts + 1, next_attempt_at=at + lease))
    return [Claimed(id=row.id, attempt=row.attempts + 1,
                    message=OutboundMessage.model_validate(row.message)) for row in rows]


async def mark_delivered(engine: AsyncEngine, claimed: Claimed,
                         now: datetime | None = None) -> None:
    async with transaction(engine, write=True) as conn:
        await conn.execute(
            update(outbox).where(outbox.c.id == claimed.id)
            .values(status=OUTBOX_DELIVERED, delivered_at=now or datetime.now(UTC),
                    last_error=None))


async def mark_failed(engine: AsyncEngine, claimed: Claimed, error: str,
                      policy: DeliveryPolicy, now: datetime | None = None) -> bool:
    """Records a failed delivery: due again after the policy's backoff, or dead-lettered when
    the attempts are spent. Returns True when the message is now a dead letter."""
    at = now or datetime.now(UTC)
    delay = policy.delay_after(claimed.attempt)
    reason = " ".join(error.split())[:ERROR_LENGTH]
    values: dict[str, object] = {"last_error": reason}
    if delay is None:
        values["status"] = OUTBOX_DEAD
    else:
        values["next_attempt_at"] = at + timedelta(seconds=delay)
    async with transaction(engine, write=True) as conn:
        await conn.execute(update(outbox).where(outbox.c.id == claimed.id,
                                                outbox.c.status == OUTBOX_PENDING)
                           .values(**values))
    return delay is None


async def redeliver(engine: AsyncEngine, *, ids: Sequence[int] = (),
                    destination: str | None = None, now: datetime | None = None) -> int:
    """Makes messages due again with fresh attempts: the given ``ids`` whatever their state
    (an operator may resend a delivered one), else every dead letter (of ``destination``
    when given). Returns how many."""
    statement = update(outbox)
    if ids:
        statement = statement.where(outbox.c.id.in_(list(ids)))
    else:
        statement = statement.where(outbox.c.status == OUTBOX_DEAD)
    if destination is not None:
        statement = statement.where(outbox.c.destination == destination)
    async with transaction(engine, write=True) as conn:
        result = await conn.execute(statement.values(
            status=OUTBOX_PENDING, attempts=0, next_attempt_at=now or datetime.now(UTC),
            delivered_at=None))
        return int(result.rowcount or 0)


async def depth(engine: AsyncEngine) -> dict[tuple[str, str], int]:
    """Messages not delivered, per (destination, status): pending and dead."""
    async with read_transaction(engine) as conn:
        rows = (await conn.execute(
            select(outbox.c.destination, outbox.c.status, func.count())
            .where(outbox.c.status.in_([OUTBOX_PENDING, OUTBOX_DEAD]))  # ix_outbox_due
            .group_by(outbox.c.destination, outbox.c.status))).all()
    return {(row[0], row[1]): int(row[2]) for row in rows}
