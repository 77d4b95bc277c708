"""Event append: caseflow's append (events + projections + outbox in one transaction) against
raw asyncpg inserts of the same event rows, at the same concurrency, on the same PostgreSQL
server in the same run; then re-delivery of every batch and a full rebuild.

    .venv/bin/python -m bench.store_append [--requests 300] [--rounds 2] [--quick]

Each round appends the realistic request logs of ``tests.unit.request_driver`` 8 requests at a
time (like 8 busy workflow tasks), one transaction a batch, into a fresh database: once raw,
once through ``eventstore.append``. The ratio is caseflow's events/s over raw events/s of the
same round, so the machine's load weighs on both sides alike.
"""

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from bench.results import write_result
from domain.events import DomainEvent
from eventstore.append import append_events
from eventstore.codec import event_to_row
from eventstore.engine import create_engine
from eventstore.migrate import upgrade
from eventstore.rebuild import rebuild_projections
from stack import postgres
from tests.unit.request_driver import lifecycle_batches

CONCURRENCY = 8
Logs = list[list[list[DomainEvent]]]

_RAW_INSERT = (
    "INSERT INTO events (request_id, sequence, event_type, schema_version, actor_id, "
    "actor_kind, actor_role, actor_department_id, occurred_at, payload) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)"
)


async def in_parallel(logs: Logs, append: Callable[[list[DomainEvent]], Awaitable[Any]]) -> float:
    """Seconds to append every log, ``CONCURRENCY`` requests at a time, batches in order."""
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one(log: list[list[DomainEvent]]) -> None:
        async with semaphore:
            for batch in log:
                await append(batch)

    started = time.perf_counter()
    await asyncio.gather(*(one(log) for log in logs))
    return time.perf_counter() - started


def raw_values(event: DomainEvent) -> tuple[Any, ...]:
    row = event_to_row(event)
    return (row["request_id"], row["sequence"], row["event_type"], row["schema_version"],
            row["actor_id"], row["actor_kind"], row["actor_role"], row["actor_department_id"],
            row["occurred_at"], json.dumps(row["payload"], ensure_ascii=False))


async def raw_round(dsn: str, logs: Logs) -> float:
    """Events/s of plain asyncpg inserts of the same rows, one transaction a batch."""
    pool = await asyncpg.create_pool(dsn, min_size=CONCURRENCY, max_size=CONCURRENCY)

    async def append(batch: list[DomainEvent]) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.executemany(_RAW_INSERT, [raw_values(event) for event in batch])

    try:
        return count(logs) / await in_parallel(logs, append)
    finally:
        await pool.close()


async def caseflow_round(url: str, logs: Logs) -> dict[str, float]:
    engine = create_engine(url)
    try:
        first = await in_parallel(logs, lambda batch: append_events(engine, batch))
        again = await in_parallel(logs, lambda batch: append_events(engine, batch))
        started = time.perf_counter()
        replayed = await rebuild_projections(engine)
        rebuild = time.perf_counter() - started
    finally:
        await engine.dispose()
    return {"append": count(logs) / first, "redelivery": count(logs) / again,
            "rebuild": replayed / rebuild}


def count(logs: Logs) -> int:
    return sum(len(batch) for log in logs for batch in log)


async def fresh_database(port: int, label: str) -> tuple[str, str]:
    name = f"caseflow_bench_{label}_{uuid.uuid4().hex[:8]}"
    url = postgres.create_database(port, name)
    await upgrade(url)
    return name, url


async def main(requests: int, rounds: int) -> None:
    logs = [lifecycle_batches(f"bench-{n:06d}") for n in range(requests)]
    batches = sum(len(log) for log in logs)
    port = postgres.ensure_cluster()
    print(f"PostgreSQL: {requests} requests, {count(logs)} events in {batches} batches, "
          f"{CONCURRENCY} requests at a time, {rounds} round(s)")
    raw: list[float] = []
    ours: list[dict[str, float]] = []
    for round_ in range(1, rounds + 1):
        name, url = await fresh_database(port, "raw")
        try:
            raw.append(await raw_round(url.replace("postgresql+asyncpg", "postgresql"), logs))
        finally:
            postgres.drop_database(port, name)
        name, url = await fresh_database(port, "caseflow")
        try:
            ours.append(await caseflow_round(url, logs))
        finally:
            postgres.drop_database(port, name)
        print(f"  round {round_}: raw asyncpg {raw[-1]:>7,.0f} events/s   caseflow append "
              f"{ours[-1]['append']:>7,.0f} events/s   ratio {ours[-1]['append'] / raw[-1]:.2f}"
              f"   redelivery {ours[-1]['redelivery']:>7,.0f}   rebuild "
              f"{ours[-1]['rebuild']:>7,.0f} events/s")
    ratio = statistics.median(o["append"] / r for o, r in zip(ours, raw, strict=True))
    headline = {"append events/s": statistics.median(o["append"] for o in ours),
                "raw asyncpg events/s": statistics.median(raw),
                "redelivery events/s": statistics.median(o["redelivery"] for o in ours),
                "rebuild events/s": statistics.median(o["rebuild"] for o in ours)}
    print(f"  median ratio caseflow / raw asyncpg: {ratio:.2f} (target >= 0.7)")
    write_result("store_append", headline=headline,
                 ratios={"append / raw asyncpg": ratio},
                 figures={"rounds": [{"raw": r, **o} for o, r in zip(ours, raw, strict=True)]},
                 parameters={"requests": requests, "events": count(logs), "batches": batches,
                             "concurrency": CONCURRENCY, "rounds": rounds})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="40 requests, one round")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.requests, arguments.rounds = 40, 1
    asyncio.run(main(arguments.requests, arguments.rounds))
