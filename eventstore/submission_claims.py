"""Claims on idempotency keys while their submission is carried out, shared by every API
process through the store: a key claimed by one process is "still being created" for all
others until it is released, or until its lease runs out (its process died mid-submission)."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.engine import describe, transaction, upsert_insert
from eventstore.errors import StoreUnavailable
from schema.tables import submission_claims

CLAIM_LEASE = timedelta(minutes=2)
"""Longer than any submission waits for Temporal (the callers' wait, 20 s by default)."""


class StillBeingCreated(Exception):
    """Another caller is submitting this key right now."""


@asynccontextmanager
async def claimed(engine: AsyncEngine, idempotency_key: str, *,
                  now: datetime | None = None) -> AsyncIterator[None]:
    """Holds ``idempotency_key`` for the block, then releases it. StillBeingCreated when
    someone else holds it; StoreUnavailable when the database cannot be reached."""
    holder = uuid.uuid4().hex
    at = now or datetime.now(UTC)
    try:
        async with transaction(engine, write=True) as conn:
            insert = upsert_insert(conn, submission_claims).values(
                idempotency_key=idempotency_key, holder=holder, claimed_at=at)
            # A claim past its lease was left by a process that died: take it over.
            taken = (await conn.execute(insert.on_conflict_do_update(
                index_elements=[submission_claims.c.idempotency_key],
                set_={"holder": holder, "claimed_at": at},
                where=submission_claims.c.claimed_at < at - CLAIM_LEASE))).rowcount
    except DBAPIError as error:
        raise StoreUnavailable(engine.url, describe(error)) from None
    if not taken:
        raise StillBeingCreated(idempotency_key)
    try:
        yield
    finally:
        try:
            async with transaction(engine, write=True) as conn:
                await conn.execute(delete(submission_claims).where(
                    submission_claims.c.idempotency_key == idempotency_key,
                    submission_claims.c.holder == holder))
        except DBAPIError:
            pass  # the lease frees it: a retry meanwhile is told to wait, nothing is lost
