"""Questions the assignment rules and the console ask of the projections."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.engine import read_transaction, transaction
from eventstore.projected import ProjectedRequest
from schema.tables import owner_workload, requests


async def open_load(engine: AsyncEngine, department_id: str) -> dict[str, int]:
    """Person id -> number of active steps they own in ``department_id`` (people who have
    owned work there before and now have none are listed with 0)."""
    async with transaction(engine) as conn:
        rows = await conn.execute(
            select(owner_workload.c.person_id, owner_workload.c.open_steps)
            .where(owner_workload.c.department_id == department_id)
            .order_by(owner_workload.c.person_id)
        )
        return {row.person_id: int(row.open_steps) for row in rows}


async def customer_requests(engine: AsyncEngine, customer_id: str, *,
                            limit: int = 20) -> list[ProjectedRequest]:
    """The customer's requests, newest first (the console's request page lists them)."""
    async with read_transaction(engine) as conn:
        rows = await conn.execute(
            select(*(requests.c[name] for name in ProjectedRequest.model_fields))
            .where(requests.c.customer_id == customer_id)
            .order_by(requests.c.submitted_at.desc()).limit(limit))
        return [ProjectedRequest.model_validate(row._asdict()) for row in rows]
