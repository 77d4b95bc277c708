"""Event store throughput: appending realistic request logs (one transaction a batch, with
projections) on PostgreSQL and SQLite, re-delivery of the same batches, and a full rebuild.

    .venv/bin/python -m bench.store_append [--requests 300]
"""

import argparse
import asyncio
import time
import uuid
from pathlib import Path
from tempfile import TemporaryDirectory

from domain.events import DomainEvent
from eventstore.append import append_events
from eventstore.engine import create_engine
from eventstore.migrate import upgrade
from eventstore.rebuild import rebuild_projections
from stack import postgres
from tests.unit.request_driver import lifecycle_batches


async def measure(label: str, url: str, logs: list[list[list[DomainEvent]]]) -> None:
    await upgrade(url)
    engine = create_engine(url)
    total = sum(len(batch) for log in logs for batch in log)
    batches = sum(len(log) for log in logs)

    async def append_all() -> None:
        # 8 requests at a time, like 8 busy workflow tasks; batches of one request in order.
        semaphore = asyncio.Semaphore(8)

        async def one(log: list[list[DomainEvent]]) -> None:
            async with semaphore:
                for batch in log:
                    await append_events(engine, batch)

        await asyncio.gather(*(one(log) for log in logs))

    started = time.perf_counter()
    await append_all()
    first = time.perf_counter() - started
    started = time.perf_counter()
    await append_all()
    again = time.perf_counter() - started
    started = time.perf_counter()
    replayed = await rebuild_projections(engine)
    rebuild = time.perf_counter() - started
    await engine.dispose()
    print(f"{label}: {len(logs)} requests, {total} events in {batches} batches")
    print(f"  append     {total / first:>9,.0f} events/s  {batches / first:>7,.0f} batches/s")
    print(f"  redelivery {total / again:>9,.0f} events/s  (nothing written)")
    print(f"  rebuild    {replayed / rebuild:>9,.0f} events/s  ({replayed} events)")


async def main(requests: int) -> None:
    logs = [lifecycle_batches(f"bench-{n:06d}") for n in range(requests)]
    port = postgres.ensure_cluster()
    name = f"caseflow_bench_{uuid.uuid4().hex[:8]}"
    try:
        await measure("PostgreSQL", postgres.create_database(port, name), logs)
    finally:
        postgres.drop_database(port, name)
    with TemporaryDirectory() as folder:
        await measure("SQLite", f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}", logs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    asyncio.run(main(parser.parse_args().requests))
