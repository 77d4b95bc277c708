"""Who a request has touched, read from the log and the projections, for the read rule of
``domain.visibility``: the staff who acted on it (the log's actors), its owner, every step's
owner and department, both ends of every handoff, and its escalations' recipients."""

from collections.abc import Collection
from typing import Any

from sqlalchemy import Column, CompoundSelect, Select, select, union
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.actors import ActorKind
from domain.visibility import RequestParties
from eventstore.engine import read_transaction
from schema.tables import escalations, events, handoffs, request_steps, requests


def _per_request(ids: list[str], *columns: Column[Any]) -> list[Select[tuple[Any, Any]]]:
    """For each column, its values with the request they belong to, for the requests ``ids``."""
    return [select(column.table.c.request_id, column.label("id"))
            .where(column.table.c.request_id.in_(ids)) for column in columns]


async def parties_of(engine: AsyncEngine,
                     request_ids: Collection[str]) -> dict[str, RequestParties]:
    """The parties of each of ``request_ids`` the store knows (an unknown id is left out)."""
    async with read_transaction(engine) as conn:
        return await read_parties(conn, request_ids)


async def read_parties(conn: AsyncConnection,
                       request_ids: Collection[str]) -> dict[str, RequestParties]:
    if not request_ids:
        return {}
    ids = sorted(set(request_ids))
    people: CompoundSelect[tuple[Any, Any]] = union(
        select(events.c.request_id, events.c.actor_id.label("id"))
        .where(events.c.request_id.in_(ids), events.c.actor_kind == ActorKind.STAFF.value),
        *_per_request(ids, requests.c.owner_id, request_steps.c.owner_id,
                      handoffs.c.from_owner_id, handoffs.c.to_owner_id,
                      escalations.c.recipient_id))
    departments = union(*_per_request(
        ids, requests.c.owner_department_id, request_steps.c.department_id,
        handoffs.c.from_department_id, handoffs.c.to_department_id))
    known = set((await conn.scalars(
        select(requests.c.request_id).where(requests.c.request_id.in_(ids)))).all())
    found_people: dict[str, list[str]] = {request_id: [] for request_id in known}
    found_departments: dict[str, list[str]] = {request_id: [] for request_id in known}
    for found, statement in ((found_people, people), (found_departments, departments)):
        for row in await conn.execute(statement):
            if row[0] in found and row[1]:
                found[row[0]].append(row[1])
    return {request_id: RequestParties.of(request_id, found_people[request_id],
                                          found_departments[request_id])
            for request_id in known}
