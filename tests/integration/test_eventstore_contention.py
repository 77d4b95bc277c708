"""Many workflows appending at once, sharing owners: every event lands exactly once, no
transaction deadlocks, and the workload projection equals a rebuild from the log."""

import asyncio

from sqlalchemy import func, select

from domain.events import DomainEvent
from eventstore.append import append_events
from eventstore.engine import create_engine
from eventstore.rebuild import rebuild_projections
from schema.tables import events, owner_workload
from tests.unit.request_driver import lifecycle_batches


async def test_concurrent_lifecycles_sharing_owners(store_url: str) -> None:
    engine = create_engine(store_url)
    logs = [lifecycle_batches(f"contention-{n:03d}") for n in range(40)]
    gate = asyncio.Semaphore(8)

    async def one(log: list[list[DomainEvent]]) -> None:
        async with gate:
            for batch in log:
                await append_events(engine, batch)

    await asyncio.gather(*(one(log) for log in logs))
    total = sum(len(batch) for log in logs for batch in log)
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(events)) == total
        live = (await conn.execute(select(owner_workload).order_by(
            owner_workload.c.person_id, owner_workload.c.department_id))).all()
    await rebuild_projections(engine)
    async with engine.connect() as conn:
        rebuilt = (await conn.execute(select(owner_workload).order_by(
            owner_workload.c.person_id, owner_workload.c.department_id))).all()
    await engine.dispose()
    assert live == rebuilt
    assert all(row.open_steps == 0 and row.open_requests == 0 for row in live), \
        "every request was closed, so nobody has open work"
