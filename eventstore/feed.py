"""The event log as a feed: events after a position (the log's own ``id``, which only grows),
for one request or for all, optionally only requests of one channel. The position is what an
SSE client sends back as ``Last-Event-ID`` to resume."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.engine import read_transaction
from eventstore.personal import PersonalData
from schema.tables import events, requests


class FeedEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    request_id: str
    sequence: int
    event_type: str
    actor_id: str
    actor_kind: str
    occurred_at: datetime
    payload: dict[str, Any]


async def latest_position(engine: AsyncEngine) -> int:
    async with read_transaction(engine) as conn:
        return int(await conn.scalar(select(func.max(events.c.id))) or 0)


async def events_after(engine: AsyncEngine, position: int, *, request_id: str | None = None,
                       channel: str | None = None, limit: int = 200) -> list[FeedEvent]:
    """Up to ``limit`` events after ``position``, in log order, personal fields opened (or
    erased)."""
    where = [events.c.id > position]
    if request_id is not None:
        where.append(events.c.request_id == request_id)
    if channel is not None:
        where.append(events.c.request_id.in_(
            select(requests.c.request_id).where(requests.c.channel == channel)))
    statement = (select(*(events.c[name] for name in FeedEvent.model_fields))
                 .where(*where).order_by(events.c.id).limit(limit))
    async with read_transaction(engine) as conn:
        personal = PersonalData(conn)
        feed = []
        for row in await conn.execute(statement):
            fields = row._asdict()
            fields["payload"] = await personal.opened_payload(
                row.request_id, row.sequence, row.event_type, row.payload)
            feed.append(FeedEvent.model_validate(fields))
        return feed
