"""Reading a request's log back: what the store really holds at given sequences."""

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.events import DomainEvent
from eventstore.codec import event_from_row
from eventstore.engine import describe, read_transaction
from eventstore.errors import StoreUnavailable
from schema.tables import events


async def stored_events(engine: AsyncEngine, request_id: str, first: int,
                        last: int) -> list[DomainEvent]:
    """The events of ``request_id`` with sequences ``first`` to ``last``, in order (fewer
    when the log holds fewer). StoreUnavailable when the database cannot be reached."""
    try:
        async with read_transaction(engine) as conn:
            rows = await conn.execute(
                select(events)
                .where(events.c.request_id == request_id,
                       events.c.sequence.between(first, last))
                .order_by(events.c.sequence))
            return [event_from_row(row) for row in rows]
    except DBAPIError as error:
        raise StoreUnavailable(engine.url, describe(error)) from None
