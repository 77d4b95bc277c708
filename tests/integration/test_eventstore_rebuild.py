"""Rebuilding the projections from the log reproduces them row for row, on PostgreSQL and on
SQLite."""

import asyncio
import random
import subprocess
import sys
from typing import Any

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.append import append_events
from eventstore.engine import create_engine
from eventstore.rebuild import rebuild_projections
from schema.tables import (
    PROJECTION_TABLES,
    events,
    notifications,
    owner_workload,
    request_steps,
    requests,
)
from stack.paths import REPO_ROOT
from tests.integration.event_factory import RequestLog, random_lifecycle


def generated_logs(count: int, seed: int = 20260302) -> list[RequestLog]:
    rng = random.Random(seed)
    return [random_lifecycle(rng) for _ in range(count)]


async def fill(engine: AsyncEngine, logs: list[RequestLog], per_call: int = 10) -> int:
    total = 0
    for start in range(0, len(logs), per_call):
        batch = [event for log in logs[start:start + per_call] for event in log.events]
        total += len(await append_events(engine, batch))
    return total


async def snapshot(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every projection row, ordered by primary key."""
    tables: list[Table] = list(PROJECTION_TABLES)
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with engine.connect() as conn:
        for table in tables:
            rows = await conn.execute(select(table).order_by(*table.primary_key.columns))
            found[table.name] = [tuple(row) for row in rows]
    return found


async def test_rebuild_reproduces_every_projection_row(engine: AsyncEngine) -> None:
    logs = generated_logs(200)
    expected_events = sum(len(log.events) for log in logs)
    assert expected_events > 2500
    assert await fill(engine, logs) == expected_events
    before = await snapshot(engine)
    assert len(before["requests"]) == 200
    assert len(before["request_steps"]) > 300
    assert before["escalations"]
    assert before["handoffs"]
    statuses = {row.status for row in await _rows(engine, requests)}
    assert {"closed", "cancelled", "resolved"} <= statuses

    replayed = await rebuild_projections(engine, batch_size=700)

    assert replayed == expected_events
    after = await snapshot(engine)
    for name, rows in before.items():
        assert len(after[name]) == len(rows), name
        for old, new in zip(rows, after[name], strict=True):
            assert old == new, name
    # Work still open is exactly what the open steps and requests say.
    open_steps = sum(row.open_steps for row in await _rows(engine, owner_workload))
    status = list(request_steps.c.keys()).index("status")
    assert open_steps == sum(1 for row in after["request_steps"] if row[status] == "active")
    assert all(row.open_steps >= 0 and row.open_requests >= 0
               for row in await _rows(engine, owner_workload))


async def _rows(engine: AsyncEngine, table: Table) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(table))).all())


async def test_rebuild_repairs_damaged_projections_and_keeps_log_and_ledger(
    engine: AsyncEngine,
) -> None:
    logs = generated_logs(15, seed=7)
    total = await fill(engine, logs)
    async with engine.begin() as conn:
        await conn.execute(notifications.insert().values(
            key="k-1", request_id=logs[0].request_id, channel="log", recipient_id="li.na",
            sent_at=logs[0].events[0].occurred_at))
    before = await snapshot(engine)
    async with engine.begin() as conn:
        await conn.execute(delete(requests).where(requests.c.request_id == logs[0].request_id))
        await conn.execute(update(owner_workload).values(open_steps=99))
        ghost = dict(zip(requests.c.keys(), before["requests"][1], strict=True))
        await conn.execute(requests.insert().values({**ghost, "request_id": "ghost"}))

    assert await rebuild_projections(engine) == total

    assert await snapshot(engine) == before
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(events)) == total
        assert await conn.scalar(select(func.count()).select_from(notifications)) == 1


async def test_rebuild_of_an_empty_store(engine: AsyncEngine) -> None:
    assert await rebuild_projections(engine) == 0
    assert all(rows == [] for rows in (await snapshot(engine)).values())


async def test_rebuild_command_line(store_url: str) -> None:
    engine = create_engine(store_url)
    try:
        total = await fill(engine, generated_logs(3, seed=3))
    finally:
        await engine.dispose()

    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "eventstore.rebuild", store_url],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(f"from {total} events")
