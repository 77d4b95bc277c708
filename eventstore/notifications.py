"""The notifier's ledger: which notifications (by idempotency key) were already sent, so a
retried activity never notifies twice."""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.engine import transaction, upsert_insert
from schema.tables import notifications


async def was_sent(engine: AsyncEngine, key: str) -> bool:
    """Whether the notification with idempotency key ``key`` was recorded as sent."""
    async with transaction(engine) as conn:
        found = await conn.scalar(select(notifications.c.key).where(notifications.c.key == key))
        return found is not None


async def record_sent(
    engine: AsyncEngine,
    *,
    key: str,
    request_id: str,
    channel: str,
    recipient_id: str,
    sent_at: datetime | None = None,
) -> bool:
    """Records the notification ``key`` as sent (at ``sent_at``, default now); returns False
    when it was already recorded (the first record wins)."""
    values = {
        "key": key,
        "request_id": request_id,
        "channel": channel,
        "recipient_id": recipient_id,
        "sent_at": sent_at or datetime.now(UTC),
    }
    async with transaction(engine, write=True) as conn:
        result = await conn.execute(
            upsert_insert(conn, notifications).values(values).on_conflict_do_nothing()
        )
        return bool(result.rowcount)
