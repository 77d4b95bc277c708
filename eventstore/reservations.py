"""Reserving the next round-robin assignee: the cursor of a department and role is read and
moved in one transaction, so concurrent requests each get the next person in turn."""

from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from eventstore.engine import describe, transaction, upsert_insert
from eventstore.errors import StoreUnavailable
from schema.tables import assignment_cursors, request_steps


async def reserve_next(engine: AsyncEngine, department_id: str, role: str,
                       choose: Callable[[str | None], str]) -> str:
    """Calls ``choose`` with the last person reserved for ``department_id`` and ``role`` (on
    first use, the owner of the most recently started such step), records whom it chose and
    returns them; concurrent callers wait for one another (a row lock on PostgreSQL, the write
    lock on SQLite). StoreUnavailable when the database cannot be reached."""
    where = (assignment_cursors.c.department_id == department_id,
             assignment_cursors.c.role == role)
    try:
        async with transaction(engine, write=True) as conn:
            await conn.execute(upsert_insert(conn, assignment_cursors).values(
                department_id=department_id, role=role, last_person_id=None,
            ).on_conflict_do_nothing())
            last = await conn.scalar(select(assignment_cursors.c.last_person_id)
                                     .where(*where).with_for_update())
            chosen = choose(last if last is not None
                            else await _last_started(conn, department_id, role))
            await conn.execute(update(assignment_cursors).where(*where)
                               .values(last_person_id=chosen))
            return chosen
    except DBAPIError as error:
        raise StoreUnavailable(engine.url, describe(error)) from None


async def _last_started(conn: AsyncConnection, department_id: str, role: str) -> str | None:
    owner: str | None = await conn.scalar(
        select(request_steps.c.owner_id)
        .where(request_steps.c.department_id == department_id, request_steps.c.role == role)
        .order_by(request_steps.c.started_at.desc(), request_steps.c.request_id.desc(),
                  request_steps.c.step_key.desc())
        .limit(1))
    return owner
