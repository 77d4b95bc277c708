"""Requests parked for an operator (their log disagrees with their workflow), kept where the
operators' queues read them. The request's own log cannot hold this fact: appending to it is
what was refused. The rows are written by the workflow's park activity, so a rebuild of the
projections keeps them."""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.engine import transaction, upsert_insert
from schema.tables import parked_requests

DETAIL_LIMIT = 500
"""The column's width; a detail quotes sequences and ids, never a payload."""


async def record_parked(engine: AsyncEngine, request_id: str, *, reason: str, detail: str,
                        now: datetime | None = None) -> bool:
    """Records ``request_id`` as parked; True the first time, False when it already was (a
    redelivered activity), which keeps the first reason and instant."""
    async with transaction(engine, write=True) as conn:
        inserted = (await conn.execute(upsert_insert(conn, parked_requests).values(
            request_id=request_id, reason=reason, detail=detail[:DETAIL_LIMIT],
            parked_at=now or datetime.now(UTC)).on_conflict_do_nothing())).rowcount
    return bool(inserted)
