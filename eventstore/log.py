"""Reading a request's log back: what the store really holds at given sequences."""

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.events import DomainEvent
from eventstore.engine import describe, read_transaction
from eventstore.errors import StoreUnavailable
from eventstore.personal import PersonalData
from schema.tables import events


async def stored_events(engine: AsyncEngine, request_id: str, first: int,
                        last: int) -> list[DomainEvent]:
    """The events of ``request_id`` with sequences ``first`` to ``last``, in order (fewer
    when the log holds fewer), personal fields opened (or erased). StoreUnavailable when the
    database cannot be reached."""
    try:
        async with read_transaction(engine) as conn:
            rows = await conn.execute(
                select(events)
                .where(events.c.request_id == request_id,
                       events.c.sequence.between(first, last))
                .order_by(events.c.sequence))
            personal = PersonalData(conn)
            return [await personal.event_of(row) for row in rows]
    except DBAPIError as error:
        raise StoreUnavailable(engine.url, describe(error)) from None
