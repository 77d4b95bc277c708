"""Erasure reaches the outbox (on PostgreSQL, then SQLite): a message written before messages
held no personal data quotes the customer in a plain table the key's destruction does not
reach; erasing the customer cuts it there, and leaves another customer's message alone."""

import json

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.catalog import Catalog
from domain.events import DomainEvent
from domain.outbound import OutboundMessage
from eventstore.append import append_events
from eventstore.erasure import erase_customer
from eventstore.migrate import upgrade
from eventstore.outbox import enqueue_messages
from schema.tables import outbox
from tests.integration.event_factory import CUSTOMERS, SUBJECTS, RequestLog
from tests.integration.test_erasure import OFFICER, with_officer


def _as_written_before(event: DomainEvent, subject: str) -> OutboundMessage:
    """The message an older worker enqueued for ``event``: the subject quoted, the event whole."""
    return OutboundMessage(
        destination="erp", key=f"{event.request_id}:{event.sequence}",
        request_id=event.request_id, sequence=event.sequence, event_type=event.event_type,
        subject=f"[{event.event_type.value}] {subject}",
        body=f"Request {event.request_id}: {event.event_type.value}.",
        event=event.model_dump(mode="json"))


async def _stored(engine: AsyncEngine) -> dict[str, str]:
    async with engine.connect() as conn:
        return {row.request_id: json.dumps(row.message, ensure_ascii=False)
                for row in await conn.execute(select(outbox.c.request_id, outbox.c.message))}


async def test_erasure_cuts_the_customer_out_of_old_outbox_messages(
        engine: AsyncEngine, store_url: str, fast_catalog: Catalog) -> None:
    await upgrade(store_url)
    erased, kept = RequestLog(), RequestLog()
    first = erased.submitted(customer=CUSTOMERS[0], subject=SUBJECTS[0])
    other = kept.submitted(customer=CUSTOMERS[1], subject=SUBJECTS[1])
    await append_events(engine, [*erased.events, *kept.events])
    await enqueue_messages(engine, [_as_written_before(first, SUBJECTS[0]),
                                    _as_written_before(other, SUBJECTS[1])])
    before = await _stored(engine)
    assert SUBJECTS[0] in before[erased.request_id]
    assert CUSTOMERS[0].name in before[erased.request_id]

    done = await erase_customer(engine, with_officer(fast_catalog), CUSTOMERS[0].id,
                                by=OFFICER)

    assert done.done
    after = await _stored(engine)
    assert SUBJECTS[0] not in after[erased.request_id]
    assert CUSTOMERS[0].name not in after[erased.request_id]
    assert f"[submitted] {erased.request_id}" in after[erased.request_id]
    assert after[kept.request_id] == before[kept.request_id]
