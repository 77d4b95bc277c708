"""Master-key rotation of the event store: every customer's data key re-wrapped under the
master ring's current key.

The personal fields of events are sealed under customers' data keys (envelope encryption),
never under the master key itself, so a rotation rewrites one small row per customer and no
event: the log stays append-only. Keys are re-wrapped in batches, each committed on its own,
ordered by customer id; a run that stops (or is stopped by ``limit``) leaves every key readable
(under the old master key or the new one) and the next run carries on with what is left. A key
already under the current master key is left alone, so running it again changes nothing. An
erased customer has no key left to re-wrap."""

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.engine import describe, read_transaction, transaction
from eventstore.errors import StoreUnavailable
from eventstore.personal import wrap_context
from privacy.keys import KeyRing
from schema.tables import customer_keys

BATCH = 200


@dataclass(frozen=True)
class Rotation:
    current: str
    """The master key every re-wrapped data key is now under."""
    rewrapped: int
    """Data keys re-wrapped by this run (0 on a dry run)."""
    remaining: dict[str, int]
    """Per older master key id, the data keys still under it (to do, or left by ``limit``)."""

    @property
    def done(self) -> bool:
        return not self.remaining


async def pending(engine: AsyncEngine, master: KeyRing) -> dict[str, int]:
    """Per master key id other than the current one, how many live data keys it wraps."""
    try:
        async with read_transaction(engine) as conn:
            rows = await conn.execute(
                select(customer_keys.c.master_key_id, func.count())
                .where(customer_keys.c.wrapped_key.is_not(None),
                       customer_keys.c.master_key_id != master.current)
                .group_by(customer_keys.c.master_key_id))
            return {str(key_id): int(count) for key_id, count in rows}
    except DBAPIError as error:
        raise StoreUnavailable(engine.url, describe(error)) from None


async def rotate(engine: AsyncEngine, master: KeyRing, *, dry_run: bool = False,
                 limit: int | None = None, batch: int = BATCH) -> Rotation:
    """Re-wraps under ``master.current`` every live data key wrapped under another key of
    ``master`` (at most ``limit`` of them). UnknownKey when a data key is wrapped under a key
    the ring lacks (add the old master key to the ring, still not current)."""
    rewrapped = 0
    after = ""
    while not dry_run and (limit is None or rewrapped < limit):
        size = batch if limit is None else min(batch, limit - rewrapped)
        try:
            async with transaction(engine, write=True) as conn:
                rows = (await conn.execute(
                    select(customer_keys.c.customer_id, customer_keys.c.generation,
                           customer_keys.c.master_key_id, customer_keys.c.wrapped_key)
                    .where(customer_keys.c.customer_id > after,
                           customer_keys.c.wrapped_key.is_not(None),
                           customer_keys.c.master_key_id != master.current)
                    .order_by(customer_keys.c.customer_id).limit(size)
                    .with_for_update())).all()
                for row in rows:
                    context = wrap_context(row.customer_id, row.generation)
                    key = master.decrypt(row.master_key_id, row.wrapped_key, context=context)
                    key_id, wrapped = master.encrypt(key, context=context)
                    # Only the key read above: an erasure that came first has removed it.
                    await conn.execute(update(customer_keys).where(
                        customer_keys.c.customer_id == row.customer_id,
                        customer_keys.c.generation == row.generation,
                        customer_keys.c.wrapped_key.is_not(None))
                        .values(master_key_id=key_id, wrapped_key=wrapped))
        except DBAPIError as error:
            raise StoreUnavailable(engine.url, describe(error)) from None
        if not rows:
            break
        rewrapped += len(rows)
        after = rows[-1].customer_id
    return Rotation(current=master.current, rewrapped=rewrapped,
                    remaining=await pending(engine, master))
