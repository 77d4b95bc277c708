"""Reserving assignees in the transaction that reads what the choice depends on, so requests
staffed at the same moment never all pick the same person: round robin reads and moves the
cursor of a department and role; load-based rules (least loaded, skill match) read the open
load under that cursor's lock and leave a reservation that counts as load until the append
that assigns the person is projected (``clear_reservations``)."""

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from eventstore.engine import describe, transaction, upsert_insert
from eventstore.errors import StoreUnavailable
from schema.tables import assignment_cursors, assignment_reservations, owner_workload, request_steps

RESERVATION_LEASE = timedelta(minutes=5)
"""How long a reservation counts when no append projects it (its command was refused, or its
worker died): far longer than staffing-then-append takes, short enough not to skew the load."""


async def reserve_next(engine: AsyncEngine, department_id: str, role: str,
                       choose: Callable[[str | None], str]) -> str:
    """Calls ``choose`` with the last person reserved for ``department_id`` and ``role`` (on
    first use, the owner of the most recently started such step), records whom it chose and
    returns them; concurrent callers wait for one another (a row lock on PostgreSQL, the write
    lock on SQLite). StoreUnavailable when the database cannot be reached."""
    try:
        async with transaction(engine, write=True) as conn:
            last = await _lock_cursor(conn, department_id, role)
            chosen = choose(last if last is not None
                            else await _last_started(conn, department_id, role))
            await _move_cursor(conn, department_id, role, chosen)
            return chosen
    except DBAPIError as error:
        raise StoreUnavailable(engine.url, describe(error)) from None


async def reserve_least_loaded(engine: AsyncEngine, department_id: str, role: str,
                               choose: Callable[[Mapping[str, int]], str]) -> str:
    """Calls ``choose`` with the open load of ``department_id`` (person -> active steps, plus
    one per reservation not yet projected), reserves whom it chose and returns them. Callers
    for the same department and role wait for one another, as ``reserve_next``'s do.
    StoreUnavailable when the database cannot be reached."""
    at = datetime.now(UTC)
    try:
        async with transaction(engine, write=True) as conn:
            await _lock_cursor(conn, department_id, role)
            await conn.execute(delete(assignment_reservations).where(
                assignment_reservations.c.department_id == department_id,
                assignment_reservations.c.reserved_at < at - RESERVATION_LEASE))
            load = await _open_load(conn, department_id)
            chosen = choose(load)
            await conn.execute(insert(assignment_reservations).values(
                department_id=department_id, person_id=chosen, reserved_at=at))
            await _move_cursor(conn, department_id, role, chosen)
            return chosen
    except DBAPIError as error:
        raise StoreUnavailable(engine.url, describe(error)) from None


async def clear_reservations(conn: AsyncConnection, department_id: str, person_id: str,
                             count: int) -> None:
    """Drops the ``count`` oldest reservations of ``person_id`` in ``department_id``: their
    assignments are now in the projections (called by the projector, in the append's
    transaction)."""
    oldest = (select(assignment_reservations.c.id)
              .where(assignment_reservations.c.department_id == department_id,
                     assignment_reservations.c.person_id == person_id)
              .order_by(assignment_reservations.c.reserved_at, assignment_reservations.c.id)
              .limit(count))
    await conn.execute(delete(assignment_reservations)
                       .where(assignment_reservations.c.id.in_(oldest.scalar_subquery())))


async def open_load(engine: AsyncEngine, department_id: str) -> dict[str, int]:
    """Person id -> the load a load-based rule sees in ``department_id`` now: active steps
    they own (people who owned work there and now have none are listed with 0), plus their
    reservations not yet projected."""
    async with transaction(engine) as conn:
        return await _open_load(conn, department_id)


async def _open_load(conn: AsyncConnection, department_id: str) -> dict[str, int]:
    load = {row.person_id: int(row.open_steps) for row in await conn.execute(
        select(owner_workload.c.person_id, owner_workload.c.open_steps)
        .where(owner_workload.c.department_id == department_id)
        .order_by(owner_workload.c.person_id))}
    for row in await conn.execute(
            select(assignment_reservations.c.person_id, func.count().label("reserved"))
            .where(assignment_reservations.c.department_id == department_id)
            .group_by(assignment_reservations.c.person_id)):
        load[row.person_id] = load.get(row.person_id, 0) + int(row.reserved)
    return load


async def _lock_cursor(conn: AsyncConnection, department_id: str, role: str) -> str | None:
    await conn.execute(upsert_insert(conn, assignment_cursors).values(
        department_id=department_id, role=role, last_person_id=None,
    ).on_conflict_do_nothing())
    last: str | None = await conn.scalar(
        select(assignment_cursors.c.last_person_id)
        .where(assignment_cursors.c.department_id == department_id,
               assignment_cursors.c.role == role).with_for_update())
    return last


async def _move_cursor(conn: AsyncConnection, department_id: str, role: str,
                       chosen: str) -> None:
    await conn.execute(update(assignment_cursors)
                       .where(assignment_cursors.c.department_id == department_id,
                              assignment_cursors.c.role == role)
                       .values(last_person_id=chosen))


async def _last_started(conn: AsyncConnection, department_id: str, role: str) -> str | None:
    owner: str | None = await conn.scalar(
        select(request_steps.c.owner_id)
        .where(request_steps.c.department_id == department_id, request_steps.c.role == role)
        .order_by(request_steps.c.started_at.desc(), request_steps.c.request_id.desc(),
                  request_steps.c.step_key.desc())
        .limit(1))
    return owner
