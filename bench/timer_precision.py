"""Timer precision at scale: many open requests whose SLA clocks warn, breach and escalate
while the worker holds them all, through the real workflow on a scratch stack (Temporal dev
server, one in-process worker, PostgreSQL).

    .venv/bin/python -m bench.timer_precision [--requests 10000] [--concurrency 10] [--quick]

The fast test organisation (``tests/fixtures/config_fast``: 24x7 calendars, targets of seconds)
makes every clock of a request that nobody touches warn at 50/75/90 %, breach, and escalate to
owner, supervisor (+2 s) and head (+4 s); submissions ``--concurrency`` at a time spread the
deadlines over the submission window. Once the log stops growing, each alert's lateness is the
time it reached the database (``recorded_at``) after the instant it was due: for a warning the
instant the elapsed business time crossed its threshold, for a breach ``breached_at``, for an
escalation ``breached_at`` plus the level's delay. Missed: a breach that never came for a
clock that warned, or a level of the ladder that never came for a breach; doubled: an alert
that came twice. Thresholds due together give one warning, the highest, by design: those are
counted as coalesced. Process RSS (client + worker) is taken at 1,000 and at all open.
"""

import argparse
import asyncio
import statistics
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.request_throughput import rss_mib
from bench.results import write_result
from bench.scratch import scratch_stack
from catalog.loader import load_catalog
from domain.events import EventType
from domain.policy import EscalationLevel
from schema.tables import events
from tests.integration.requests import billing_dispute
from tests.paths import FAST_CONFIG
from workflows import client as calls

ALERTS = (EventType.SLA_WARNING, EventType.SLA_BREACHED, EventType.ESCALATED)
QUIET_SECONDS = 20.0
"""The log has settled when no alert arrived for this long after the last one was due."""


async def alert_rows(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(
            select(events.c.request_id, events.c.event_type, events.c.recorded_at,
                   events.c.occurred_at, events.c.payload)
            .where(events.c.event_type.in_([t.value for t in ALERTS]))))


async def alert_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(events).where(
            events.c.event_type.in_([t.value for t in ALERTS]))) or 0)


def lateness(rows: list[Any], delays: dict[int, float]) -> dict[str, Any]:
    """Per kind of alert, lateness percentiles (s); missed, doubled and coalesced alerts."""
    seen: Counter[tuple[Any, ...]] = Counter()
    breaches: dict[tuple[str, str, int], datetime] = {}
    late: dict[str, list[float]] = {"warning": [], "breach": [], "escalation": []}
    for row in rows:
        payload = row.payload
        if row.event_type == EventType.SLA_BREACHED:
            breached_at = datetime.fromisoformat(payload["breached_at"])
            breaches[(row.request_id, payload["clock_id"], payload["breach_number"])] = breached_at
    for row in rows:
        payload = row.payload
        clock = (row.request_id, payload["clock_id"])
        if row.event_type == EventType.SLA_WARNING:
            seen[("warning", *clock, payload["threshold"])] += 1
            threshold_at = payload["threshold"] * payload["target_seconds"]
            overshoot = payload["elapsed_seconds"] - threshold_at
            due = row.occurred_at - timedelta(seconds=overshoot)
            late["warning"].append((row.recorded_at - due).total_seconds())
        elif row.event_type == EventType.SLA_BREACHED:
            seen[("breach", *clock, payload["breach_number"])] += 1
            due = datetime.fromisoformat(payload["breached_at"])
            late["breach"].append((row.recorded_at - due).total_seconds())
        else:
            seen[("escalation", *clock, payload["breach_number"], payload["level"])] += 1
            crossed = breaches.get((*clock, payload["breach_number"]))
            if crossed is not None:
                due = crossed + timedelta(seconds=delays[payload["level"]])
                late["escalation"].append((row.recorded_at - due).total_seconds())
    # Every clock that warned must breach, every breach climb the whole ladder. Thresholds
    # due together give one alert, the highest (domain.sla_clock.due_thresholds), so a late
    # timer coalesces warnings by design: counted apart, not as missed.
    expected: set[tuple[Any, ...]] = set()
    warned = {(key[1], key[2]) for key in seen if key[0] == "warning"}
    for request_id, clock_id in warned:
        expected.add(("breach", request_id, clock_id, 1))
    for (request_id, clock_id, number) in breaches:
        for level in delays:
            expected.add(("escalation", request_id, clock_id, number, level))
    warnings_sent = sum(1 for key in seen if key[0] == "warning")
    result: dict[str, Any] = {
        "missed": len(expected - set(seen)),
        "doubled": sum(1 for count in seen.values() if count > 1),
        "breached clocks": len(breaches),
        "warnings coalesced": 3 * len(breaches) - warnings_sent,
    }
    for kind, values in late.items():
        if len(values) >= 2:
            cuts = statistics.quantiles(values, n=100)
            result[kind] = {"n": len(values), "p50": statistics.median(values),
                            "p99": cuts[98], "max": max(values)}
    return result


async def main(requests: int, concurrency: int) -> None:
    catalog = load_catalog(FAST_CONFIG, years=[2026, 2027])
    ladder = catalog.policy.escalation
    delays = {int(level): ladder.delay_before(level) for level in EscalationLevel}
    async with scratch_stack(catalog, name="timers") as stack:
        gate = asyncio.Semaphore(concurrency)
        submitted = 0
        rss: dict[str, float] = {}

        async def submit() -> None:
            nonlocal submitted
            async with gate:
                await calls.submit_request(stack.client, catalog, billing_dispute(catalog),
                                           task_queue=stack.settings.task_queue, wait=600)
                submitted += 1
                if submitted == min(1000, requests):
                    rss[f"{submitted} open"] = rss_mib()
                if submitted % 50 == 0 or submitted == requests:
                    print(f"\r  submitted {submitted:,}/{requests:,}", end="", flush=True)

        started = time.perf_counter()
        await asyncio.gather(*(submit() for _ in range(requests)))
        window = time.perf_counter() - started
        rss[f"{requests} open"] = rss_mib()
        print(f"\r  submitted {requests:,} requests in {window:.1f} s")
        last_count, quiet_since = -1, time.perf_counter()
        while time.perf_counter() - quiet_since < QUIET_SECONDS:
            await asyncio.sleep(2)
            count = await alert_count(stack.engine)
            if count != last_count:
                last_count, quiet_since = count, time.perf_counter()
                print(f"\r  alerts in the log: {count:,}", end="", flush=True)
        print()
        figures = lateness(await alert_rows(stack.engine), delays)
        rss[f"{requests} open (settled)"] = rss_mib()
    for kind in ("warning", "breach", "escalation"):
        if kind in figures:
            f = figures[kind]
            print(f"  {kind:<10} n={f['n']:>7,}  lateness p50 {f['p50']:6.2f} s  "
                  f"p99 {f['p99']:6.2f} s  max {f['max']:6.2f} s")
    print(f"  missed {figures['missed']}, doubled {figures['doubled']} "
          f"({figures['breached clocks']:,} breached clocks; "
          f"{figures['warnings coalesced']:,} warnings coalesced into a later alert)")
    print("  process RSS (client + worker): " + ", ".join(
        f"{label} {mib:.0f} MiB" for label, mib in rss.items()))
    worst = max((figures[k]["p99"] for k in ("warning", "breach", "escalation") if k in figures),
                default=float("nan"))
    write_result("timer_precision",
                 headline={"lateness p99 s (worst kind)": worst,
                           "missed": figures["missed"], "doubled": figures["doubled"],
                           **{f"RSS MiB {label}": mib for label, mib in rss.items()}},
                 figures={**figures, "submission window s": window},
                 parameters={"requests": requests, "concurrency": concurrency})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="200 requests")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.requests = 200
    asyncio.run(main(arguments.requests, arguments.concurrency))
