"""The KPI collector's pass on PostgreSQL as history grows: many closed requests, a steady
backlog of open ones, the three grouped queries of one pass timed with ``ix_requests_open`` and
again without it.

    .venv/bin/python -m bench.collector_pass [--closed 200000] [--open 2000] [--passes 20]
"""

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text

from domain.state import RequestStatus
from eventstore.engine import create_engine
from eventstore.migrate import upgrade
from kpi.snapshot import OPEN_STATUSES, Roster, read_snapshot
from schema.tables import requests
from stack import postgres

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DEPARTMENTS = {"customer_service": ["agent"], "finance": ["accountant"],
               "technical_support": ["engineer"], "logistics": ["dispatcher"]}
BATCH = 5000


def request_row(n: int, status: str) -> dict[str, Any]:
    department = list(DEPARTMENTS)[n % len(DEPARTMENTS)]
    submitted = NOW - timedelta(minutes=7 * n)
    return {
        "request_id": f"bench-{n:07d}", "status": status, "request_type": "billing_dispute",
        "channel": "phone", "customer_id": f"CUST-{n % 900:04d}",
        "customer_name": "上海星河贸易有限公司",
        "customer_tier": "standard", "priority": "P3", "subject": "发票金额与合同不符",
        "owner_id": f"person-{n % 40}", "owner_department_id": department,
        "current_step_keys": [], "submitted_at": submitted, "sla_state": "on_track",
        "breach_count": 0, "escalation_count": 0, "reopen_count": 0, "last_sequence": 20,
        "updated_at": submitted,
    }


async def timed_passes(url: str, roster: Roster, passes: int) -> float:
    """Mean seconds of one pass over ``passes`` passes (after one warm-up pass)."""
    engine = create_engine(url)
    try:
        await read_snapshot(engine, roster, now=NOW)
        started = time.perf_counter()
        for _ in range(passes):
            await read_snapshot(engine, roster, now=NOW)
        return (time.perf_counter() - started) / passes
    finally:
        await engine.dispose()


async def measure(url: str, closed: int, open_: int, passes: int) -> None:
    await upgrade(url)
    engine = create_engine(url)
    started = time.perf_counter()
    async with engine.begin() as conn:
        total = closed + open_
        for first in range(0, total, BATCH):
            rows = [request_row(n, OPEN_STATUSES[n % len(OPEN_STATUSES)] if n < open_
                                else RequestStatus.CLOSED)
                    for n in range(first, min(first + BATCH, total))]
            await conn.execute(insert(requests), rows)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("VACUUM ANALYZE requests")
    loaded = time.perf_counter() - started
    roster = Roster.of({d: [f"person-{n}" for n in range(40)] for d in DEPARTMENTS}, DEPARTMENTS)
    with_index = await timed_passes(url, roster, passes)
    async with engine.begin() as conn:
        await conn.execute(text("DROP INDEX ix_requests_open"))
        await conn.execute(text("ANALYZE requests"))
    await engine.dispose()
    without_index = await timed_passes(url, roster, passes)
    print(f"PostgreSQL: {closed:,} closed and {open_:,} open requests (loaded in {loaded:.1f} s)")
    print(f"  collector pass with ix_requests_open     {with_index * 1000:>8.1f} ms")
    print(f"  collector pass without it (seq scan)     {without_index * 1000:>8.1f} ms")


async def main(closed: int, open_: int, passes: int) -> None:
    port = postgres.ensure_cluster()
    name = f"caseflow_bench_{uuid.uuid4().hex[:8]}"
    try:
        await measure(postgres.create_database(port, name), closed, open_, passes)
    finally:
        postgres.drop_database(port, name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--closed", type=int, default=200_000)
    parser.add_argument("--open", type=int, default=2000)
    parser.add_argument("--passes", type=int, default=20)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.closed, arguments.open, arguments.passes))
