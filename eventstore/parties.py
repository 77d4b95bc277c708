"""Who a request has touched, read from the log and the projections, for the read rule of
``domain.visibility``: the staff who acted on it (the log's actors), its owner, every step's
owner and department, both ends of every handoff, and its escalations' recipients."""

from collections.abc import Collection

from sqlalchemy import select, union
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.actors import ActorKind
from domain.visibility import RequestParties
from eventstore.engine import read_transaction
from schema.tables import escalations, events, handoffs, request_steps, requests


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
    people = union(
        select(events.c.request_id, events.c.actor_id.label("id"))
        .where(events.c.request_id.in_(ids), events.c.actor_kind == ActorKind.STAFF.value),
        select(requests.c.request_id, requests.c.owner_id).where(requests.c.request_id.in_(ids)),
        select(request_steps.c.request_id, request_steps.c.owner_id)
        .where(request_steps.c.request_id.in_(ids)),
        select(handoffs.c.request_id, handoffs.c.from_owner_id)
        .where(handoffs.c.request_id.in_(ids)),
        select(handoffs.c.request_id, handoffs.c.to_owner_id)
        .where(handoffs.c.request_id.in_(ids)),
        select(escalations.c.request_id, escalations.c.recipient_id)
        .where(escalations.c.request_id.in_(ids)),
    )
    departments = union(
        select(requests.c.request_id, requests.c.owner_department_id.label("id"))
        .where(requests.c.request_id.in_(ids)),
        select(request_steps.c.request_id, request_steps.c.department_id)
        .where(request_steps.c.request_id.in_(ids)),
        select(handoffs.c.request_id, handoffs.c.from_department_id)
        .where(handoffs.c.request_id.in_(ids)),
        select(handoffs.c.request_id, handoffs.c.to_department_id)
        .where(handoffs.c.request_id.in_(ids)),
    )
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
