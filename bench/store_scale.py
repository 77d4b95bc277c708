"""Scale of the store: a large event log generated through caseflow's own append path, in
bulk, then the reads that must stay fast as history grows and a full rebuild.

    .venv/bin/python -m bench.store_scale [--events 1000000] [--quick]

Requests are copies of one realistic life (``tests.unit.request_driver``: 17 events, three
departments, SLA warnings) under new ids, submitted 4 minutes apart, so a million events are
about 59,000 requests over some five months. They are appended through
``eventstore.append.append_events``, 200 requests' whole logs per call (one transaction,
projections included), as a bulk import would. Timed on the result (best of ``--repeat``):

- the KPI collector's pass (``kpi.snapshot.read_snapshot``, its three grouped queries);
- the monthly per-role query (the pass's completed steps of a month per department and role);
- the whole monthly report of the busiest month (``kpi.report``: queries, figures, HTML, CSV);
- the timeline of one request (``eventstore.timeline``);
- a full rebuild of the projections (``eventstore.rebuild``).
"""

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from bench.results import write_result
from domain.events import DomainEvent
from eventstore.append import append_events
from eventstore.engine import create_engine, read_transaction
from eventstore.migrate import upgrade
from eventstore.rebuild import rebuild_projections
from eventstore.timeline import request_timeline
from kpi.report.__main__ import write_report
from kpi.report.queries import build_report
from kpi.snapshot import Roster, read_snapshot, snapshot_queries
from stack import postgres
from tests.unit.request_driver import DEPARTMENTS, START, lifecycle_batches

REQUESTS_PER_CALL = 200
SPACING = timedelta(minutes=4)
TARGETS_MS = {"collector pass": 100.0, "monthly per-role query": 100.0,
              "monthly report": 10_000.0, "rebuild": 60_000.0}


def life_of(n: int, template: list[DomainEvent]) -> list[DomainEvent]:
    """Request ``n``: the template's events under its own id, shifted to its submission."""
    shift = SPACING * n
    return [event.model_copy(update={"request_id": f"scale-{n:07d}",
                                     "occurred_at": event.occurred_at + shift})
            for event in template]


async def best_ms(repeat: int, run: Callable[[], Awaitable[Any]]) -> float:
    """The fastest of ``repeat`` runs after a warm-up run, in milliseconds."""
    await run()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await run()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


async def measure(url: str, events: int, repeat: int) -> None:
    template = [event for batch in lifecycle_batches("template") for event in batch]
    requests = max(1, events // len(template))
    await upgrade(url)
    engine = create_engine(url)
    try:
        started, cpu = time.perf_counter(), time.process_time()
        for first in range(0, requests, REQUESTS_PER_CALL):
            await append_events(engine, [
                event for n in range(first, min(first + REQUESTS_PER_CALL, requests))
                for event in life_of(n, template)])
            done = min(first + REQUESTS_PER_CALL, requests)
            print(f"\r  appending: {done:,}/{requests:,} requests", end="", flush=True)
        appended = time.perf_counter() - started
        append_cpu = time.process_time() - cpu
        total = requests * len(template)
        print(f"\r  appended {total:,} events ({requests:,} requests) in {appended:.1f} s: "
              f"{total / appended:,.0f} events/s")
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("VACUUM ANALYZE")
        last = START + SPACING * (requests - 1)
        busiest = (START + SPACING * (requests // 2)).date().replace(day=1)
        now = datetime.combine(busiest + timedelta(days=20), datetime.min.time(), UTC)
        roster = Roster.of({d: [m.id for m in dept.members] for d, dept in DEPARTMENTS.items()},
                           {d: sorted({r for m in dept.members for r in m.roles})
                            for d, dept in DEPARTMENTS.items()})
        month_steps = snapshot_queries(now).month_steps

        async def per_role() -> None:
            async with read_transaction(engine) as conn:
                (await conn.execute(month_steps)).all()

        with TemporaryDirectory() as out:
            async def report() -> None:
                write_report(await build_report(engine, busiest, now=now), Path(out))

            figures = {
                "collector pass": await best_ms(repeat, lambda: read_snapshot(
                    engine, roster, now=now)),
                "monthly per-role query": await best_ms(repeat, per_role),
                "monthly report": await best_ms(1, report),
                "timeline": await best_ms(repeat, lambda: request_timeline(
                    engine, f"scale-{requests // 2:07d}")),
            }
        started, cpu = time.perf_counter(), time.process_time()
        replayed = await rebuild_projections(engine)
        figures["rebuild"] = (time.perf_counter() - started) * 1000
        rebuild_cpu = time.process_time() - cpu
    finally:
        await engine.dispose()
    print(f"  {total:,} events, {requests:,} requests, {START:%Y-%m-%d} to {last:%Y-%m-%d}; "
          f"report month {busiest:%Y-%m}")
    for label, ms in figures.items():
        target = TARGETS_MS.get(label)
        verdict = "" if target is None else (
            f"   target < {target:,.0f} ms: {'met' if ms < target else 'NOT met'}")
        print(f"  {label:<24} {ms:>10,.1f} ms{verdict}")
    print(f"  rebuild replayed {replayed:,} events: {replayed / figures['rebuild'] * 1000:,.0f} "
          f"events/s; this process's CPU: rebuild {rebuild_cpu:.1f} s, append {append_cpu:.1f} s "
          "(what a quiet machine's wall time would approach, PostgreSQL's own work aside)")
    write_result("store_scale", headline={f"{k} ms": round(v, 1) for k, v in figures.items()},
                 figures={"append events/s": total / appended,
                          "rebuild events/s": replayed / figures["rebuild"] * 1000,
                          "rebuild CPU s (this process)": rebuild_cpu,
                          "append CPU s (this process)": append_cpu,
                          "targets ms": TARGETS_MS},
                 parameters={"events": total, "requests": requests, "repeat": repeat,
                             "report month": f"{busiest:%Y-%m}",
                             "requests per append": REQUESTS_PER_CALL})


async def main(events: int, repeat: int) -> None:
    port = postgres.ensure_cluster()
    name = f"caseflow_scale_{uuid.uuid4().hex[:8]}"
    print(f"PostgreSQL: about {events:,} events through caseflow's append")
    try:
        await measure(postgres.create_database(port, name), events, repeat)
    finally:
        postgres.drop_database(port, name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="about 20,000 events")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.events = 20_000
    asyncio.run(main(arguments.events, arguments.repeat))
