"""Questions the assignment rules ask of the projections."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.engine import transaction
from schema.tables import owner_workload, request_steps


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


async def last_assignee(engine: AsyncEngine, department_id: str, role: str) -> str | None:
    """The owner of the most recently started step for ``department_id`` and ``role``
    (round-robin rules continue after them); None when there was none."""
    async with transaction(engine) as conn:
        owner: str | None = await conn.scalar(
            select(request_steps.c.owner_id)
            .where(request_steps.c.department_id == department_id, request_steps.c.role == role)
            .order_by(
                request_steps.c.started_at.desc(),
                request_steps.c.request_id.desc(),
                request_steps.c.step_key.desc(),
            )
            .limit(1)
        )
        return owner
