"""Questions the assignment rules ask of the projections."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.engine import transaction
from schema.tables import owner_workload


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
