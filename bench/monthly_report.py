"""The monthly report on PostgreSQL, as ``python -m kpi.report`` and
``GET /api/v1/reports/monthly`` compute it: a month of realistic request logs (the report
test's generator: steps, handoffs, breaches, escalations, reopens) appended through the event
store, then the four queries and the assembly, the JSON the API answers, the HTML page and the
CSVs, each timed; with a department filter too. Figures are printed and written as JSON under
bench/results/.

    .venv/bin/python -m bench.monthly_report [--requests 5000] [--rounds 5]
"""

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eventstore.engine import create_engine
from eventstore.migrate import upgrade
from kpi.report.csv_files import csv_tables, csv_text
from kpi.report.model import MonthlyReport
from kpi.report.page import render_html
from kpi.report.queries import build_report
from stack import postgres
from tests.integration.test_monthly_report import MONTH, NAMES, fill, month_of_logs

RESULTS = Path(__file__).parent / "results"


async def best_of(rounds: int, work: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    """The fastest of ``rounds`` runs (seconds) and the last result."""
    best, result = float("inf"), None
    for _ in range(rounds):
        started = time.perf_counter()
        result = await work()
        best = min(best, time.perf_counter() - started)
    return best, result


def timed(rounds: int, work: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


async def measure(url: str, requests: int, rounds: int) -> dict[str, Any]:
    await upgrade(url)
    engine = create_engine(url)
    try:
        logs = month_of_logs(requests, seed=2026)
        started = time.perf_counter()
        await fill(engine, logs)
        loaded = time.perf_counter() - started
        build_s, report = await best_of(rounds, lambda: build_report(engine, MONTH,
                                                                     names=NAMES))
        finance_s, finance = await best_of(rounds, lambda: build_report(
            engine, MONTH, department="finance", names=NAMES))
    finally:
        await engine.dispose()
    assert isinstance(report, MonthlyReport)
    assert isinstance(finance, MonthlyReport)
    json_s = timed(rounds, lambda: report.model_dump_json())
    html_s = timed(rounds, lambda: render_html(report))
    csv_s = timed(rounds, lambda: [csv_text(h, rows) for h, rows in csv_tables(report).values()])
    return {
        "requests_generated": len(logs), "events": sum(len(log.events) for log in logs),
        "load_seconds": round(loaded, 2),
        "report": {"requests": len(report.requests), "steps": len(report.steps),
                   "handoffs": len(report.handoffs), "people": len(report.people),
                   "roles": len(report.roles)},
        "build_report_ms": round(build_s * 1000, 1),
        "build_report_finance_ms": round(finance_s * 1000, 1),
        "json_ms": round(json_s * 1000, 1),
        "json_bytes": len(report.model_dump_json()),
        "html_ms": round(html_s * 1000, 1),
        "html_bytes": len(render_html(report).encode()),
        "csv_ms": round(csv_s * 1000, 1),
    }


async def main(requests: int, rounds: int) -> None:
    port = postgres.ensure_cluster()
    name = f"caseflow_bench_{uuid.uuid4().hex[:8]}"
    try:
        figures = await measure(postgres.create_database(port, name), requests, rounds)
    finally:
        postgres.drop_database(port, name)
    r = figures["report"]
    print(f"PostgreSQL: {figures['requests_generated']:,} requests, {figures['events']:,} "
          f"events (loaded in {figures['load_seconds']} s); the month holds "
          f"{r['requests']:,} requests, {r['steps']:,} steps handled, {r['handoffs']:,} "
          f"handoffs, {r['people']} people, {r['roles']} roles")
    print(f"  build_report (4 queries + assembly)     {figures['build_report_ms']:>9.1f} ms")
    print(f"  build_report, department=finance        "
          f"{figures['build_report_finance_ms']:>9.1f} ms")
    print(f"  JSON as the API answers                 {figures['json_ms']:>9.1f} ms"
          f"  {figures['json_bytes']:>11,} bytes")
    print(f"  HTML page                               {figures['html_ms']:>9.1f} ms"
          f"  {figures['html_bytes']:>11,} bytes")
    print(f"  five CSV tables                         {figures['csv_ms']:>9.1f} ms")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"monthly-report-{stamp}.json"
    path.write_text(json.dumps({"requests": requests, "rounds": rounds, **figures}, indent=2)
                    + "\n")
    print(f"  written to bench/results/{path.name}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.rounds))
