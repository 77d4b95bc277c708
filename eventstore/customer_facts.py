"""The customer facts' log (``customer_events``): tier changes, merges and unmerges, each
written once under its key, in one order (``id``). The links every view follows are folded
from the whole log on each read (``domain.customers.CustomerLinks``), so there is no
projection to drift or to rebuild: the log is the view."""

from collections.abc import Callable
from typing import Any

from sqlalchemy import Row, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.customers import CustomerEvent, CustomerEventType, CustomerLinks
from domain.request import CustomerTier
from eventstore.engine import read_transaction, transaction
from schema.tables import customer_events

_LOCK_KEY = 0x63_75_73_74  # "cust": one writer of customer facts at a time on PostgreSQL


def _fact(row: Row[Any]) -> CustomerEvent:
    values = row._mapping
    return CustomerEvent(
        key=values["key"], event_type=CustomerEventType(values["event_type"]),
        customer_id=values["customer_id"], duplicate_id=values["duplicate_id"],
        tier=CustomerTier(values["tier"]) if values["tier"] else None,
        reason=values["reason"], reverses=values["reverses"], by=values["recorded_by"],
        occurred_at=values["occurred_at"])


async def _facts(conn: AsyncConnection) -> list[CustomerEvent]:
    rows = await conn.execute(select(customer_events).order_by(customer_events.c.id))
    return [_fact(row) for row in rows]


async def customer_links(engine: AsyncEngine) -> CustomerLinks:
    """The links as of now, folded from every customer fact."""
    async with read_transaction(engine) as conn:
        return CustomerLinks(await _facts(conn))


async def record(engine: AsyncEngine, fact: CustomerEvent,
                 decide: Callable[[CustomerLinks], bool]) -> tuple[CustomerEvent, bool]:
    """Writes ``fact`` if ``decide`` (given the links as of the writer's lock) says it is new;
    returns the fact as stored (the earlier one for a retry) and whether it was written.
    ``decide`` raises to refuse, and nothing is written."""
    async with transaction(engine, write=True) as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        links = CustomerLinks(await _facts(conn))
        if not decide(links):
            return links.keys[fact.key], False
        await conn.execute(insert(customer_events).values(
            key=fact.key, event_type=fact.event_type.value, customer_id=fact.customer_id,
            duplicate_id=fact.duplicate_id, tier=fact.tier.value if fact.tier else None,
            reason=fact.reason.value if fact.reason else None, reverses=fact.reverses,
            recorded_by=fact.by, occurred_at=fact.occurred_at))
        return fact, True
