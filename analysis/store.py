"""What the analyses read from the event store: whole request logs, straight from ``events``
(never from projections, which hold only current state), personal fields opened (or erased).
Read-only, one snapshot per call."""

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.events import DomainEvent, EventType, Submitted
from eventstore.engine import read_transaction
from eventstore.personal import PersonalData
from schema.tables import events

_STREAM_ROWS = 5000


def _submitted_between(start: datetime, end: datetime) -> Select[Any]:
    """Ids of the requests submitted in ``[start, end)`` (ix_events_type_occurred_at)."""
    return select(events.c.request_id).where(
        events.c.event_type == EventType.SUBMITTED.value,
        events.c.occurred_at >= start, events.c.occurred_at < end)


def _grouped(rows: Sequence[DomainEvent]) -> Iterator[list[DomainEvent]]:
    current: list[DomainEvent] = []
    for event in rows:
        if current and event.request_id != current[0].request_id:
            yield current
            current = []
        current.append(event)
    if current:
        yield current


async def _logs(engine: AsyncEngine, wanted: Select[Any]) -> list[list[DomainEvent]]:
    query = (select(events).where(events.c.request_id.in_(wanted.scalar_subquery()))
             .order_by(events.c.request_id, events.c.sequence))
    decoded: list[DomainEvent] = []
    async with read_transaction(engine) as conn:
        personal = PersonalData(conn)
        result = await conn.stream(query.execution_options(yield_per=_STREAM_ROWS))
        async for row in result:
            decoded.append(await personal.event_of(row))
    return list(_grouped(decoded))


async def logs_submitted_between(engine: AsyncEngine, start: datetime,
                                 end: datetime) -> list[list[DomainEvent]]:
    """The whole log (every event so far, in sequence) of each request submitted in
    ``[start, end)``, ordered by request id."""
    return await _logs(engine, _submitted_between(start, end))


async def logs_of_customers(engine: AsyncEngine,
                            customer_ids: Iterable[str]) -> list[list[DomainEvent]]:
    """The whole log of every request submitted for any of ``customer_ids``, ordered by
    request id."""
    customer = events.c.payload[("customer", "id")].as_string()
    wanted = select(events.c.request_id).where(
        events.c.event_type == EventType.SUBMITTED.value, customer.in_(sorted(customer_ids)))
    return await _logs(engine, wanted)


async def customers_submitted(engine: AsyncEngine) -> list[tuple[str, str]]:
    """(customer id, customer name) of every submission, oldest first (an erased customer's
    name reads as erased)."""
    async with read_transaction(engine) as conn:
        personal = PersonalData(conn)
        rows = await conn.execute(
            select(events).where(events.c.event_type == EventType.SUBMITTED.value)
            .order_by(events.c.occurred_at, events.c.id))
        named = []
        for row in rows:
            submitted = (await personal.event_of(row)).payload
            assert isinstance(submitted, Submitted)  # the rows selected are submissions
            named.append((submitted.customer.id, submitted.customer.name))
        return named
