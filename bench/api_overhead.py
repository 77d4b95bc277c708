"""What the HTTP API costs over calling Temporal directly: requests submitted and worked to
closure through the Temporal client (starter.py's functions), then the same through the API
(real uvicorn on loopback, httpx, development tokens), in one run on one stack; then every
work queue listed over HTTP once ``--open`` open requests (each with an active step) are in
the projections, inserted directly as ``bench/collector_pass.py`` does. Figures are printed
and written to ``bench/results/api-overhead-<time>.json`` with the machine's load average.

    .venv/bin/python -m bench.api_overhead [--requests 40] [--concurrency 10] [--open 100000]

The API server, the dev server, PostgreSQL, the worker and the load generator share the
machine, so the HTTP figures include the API's own CPU taken from the others.
"""

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from api.server import serving_beside
from api.settings import ApiSettings
from api.staff_tokens import DevIssuer
from bench.request_throughput import latencies, work_to_close
from bench.scratch import scratch_stack
from catalog.loader import DEFAULT_CONFIG_DIR, load_catalog
from domain.catalog import Catalog
from eventstore.queues import Queue
from schema.tables import request_steps, requests
from stack.paths import REPO_ROOT
from tests.integration.requests import billing_dispute

BATCH = 5000
LISTINGS = 60
"""Listings timed per queue (after one warm-up)."""

http_latencies: list[float] = []


async def _post(http: httpx.AsyncClient, path: str, token: str, body: dict[str, Any],
                **headers: str) -> dict[str, Any]:
    """POSTs ``body``; an action's latency is recorded (a submission's is not, as on the
    direct side)."""
    started = time.perf_counter()
    response = await http.post(path, json=body, headers={"Authorization": f"Bearer {token}",
                                                         **headers})
    if path != "/api/v1/requests":
        http_latencies.append(time.perf_counter() - started)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


async def work_over_http(http: httpx.AsyncClient, issuer: DevIssuer, catalog: Catalog) -> None:
    submission = billing_dispute(catalog)
    body = submission.model_dump(mode="json", exclude={"idempotency_key", "submitted_by"})
    view = await _post(http, "/api/v1/requests", issuer.issue(submission.submitted_by), body,
                       **{"Idempotency-Key": submission.idempotency_key})
    rid = view["request_id"]
    while active := [s for s in view["steps"] if s["status"] == "active"]:
        for step in active:
            token = issuer.issue(step["owner_id"])
            await _post(http, f"/api/v1/requests/{rid}/claim", token,
                        {"step_key": step["step_key"]})
            view = await _post(http, f"/api/v1/requests/{rid}/complete_step", token,
                               {"step_key": step["step_key"]})
    await _post(http, f"/api/v1/requests/{rid}/resolve", issuer.issue(view["owner_id"]),
                {"summary": "完成"})
    await _post(http, f"/api/v1/requests/{rid}/customer_feedback", issuer.issue(
        view["owner_id"]), {"accepted": True, "satisfaction": 5})


def _p(values: list[float], percent: int) -> float:
    return statistics.quantiles(values, n=100)[percent - 1] * 1000


def _open_rows(n: int, catalog: Catalog, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``n``-th synthetic open request and its active step, spread over the departments
    and their members, deadlines from an hour ago to a week ahead."""
    departments = sorted(catalog.departments.values(), key=lambda d: d.id)
    department = departments[n % len(departments)]
    member = department.members[n % len(department.members)]
    role = sorted(member.roles)[0]
    submitted = now - timedelta(minutes=n % 10_000)
    deadline = now + timedelta(minutes=(n * 37) % (7 * 24 * 60) - 60)
    request_id = f"bench-open-{n:07d}"
    request = {
        "request_id": request_id, "status": "in_progress", "request_type": "billing_dispute",
        "channel": "phone", "customer_id": f"CUST-{n % 900:04d}",
        "customer_name": "上海星河贸易有限公司", "customer_tier": "standard",
        "priority": "P3", "subject": f"发票金额与合同不符 {n}", "owner_id": member.id,
        "owner_department_id": department.id, "current_step_keys": ["work.1"],
        "submitted_at": submitted, "first_response_at": submitted,
        "resolution_deadline": deadline, "sla_state": "on_track" if n % 50 else "breached",
        "breach_count": 0, "escalation_count": 0, "reopen_count": 0, "last_sequence": 8,
        "updated_at": submitted}
    step = {
        "request_id": request_id, "step_key": "work.1", "stage_id": "work", "stage_index": 0,
        "step_name": "处理", "department_id": department.id, "role": role,
        "owner_id": member.id, "cycle": 1, "started_at": submitted, "deadline": deadline,
        "target_seconds": 14400.0, "breached": False, "sla_state": "on_track",
        "escalation_count": 0, "handoff_count": 0, "reassign_count": 0, "status": "active"}
    return request, step


async def _load_open(engine: AsyncEngine, catalog: Catalog, count: int) -> float:
    now = datetime.now(UTC)
    started = time.perf_counter()
    async with engine.begin() as conn:
        for first in range(0, count, BATCH):
            pairs = [_open_rows(n, catalog, now) for n in range(first, min(first + BATCH, count))]
            await conn.execute(insert(requests), [request for request, _ in pairs])
            await conn.execute(insert(request_steps), [step for _, step in pairs])
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("VACUUM ANALYZE requests")
        await conn.exec_driver_sql("VACUUM ANALYZE request_steps")
    return time.perf_counter() - started


async def _time_queues(http: httpx.AsyncClient, issuer: DevIssuer,
                       person: str) -> dict[str, dict[str, float]]:
    headers = {"Authorization": f"Bearer {issuer.issue(person)}"}
    figures = {}
    for queue in Queue:
        params = {"queue": queue.value, "within_hours": 8}
        timings: list[float] = []
        for attempt in range(LISTINGS + 1):
            started = time.perf_counter()
            response = await http.get("/api/v1/requests", params=params, headers=headers)
            elapsed = time.perf_counter() - started
            response.raise_for_status()
            if attempt:
                timings.append(elapsed)
        figures[queue.value] = {"p50_ms": round(_p(timings, 50), 1),
                                "p95_ms": round(_p(timings, 95), 1),
                                "items": len(response.json()["items"])}
    return figures


def _record(figures: dict[str, Any]) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = REPO_ROOT / "bench" / "results" / f"api-overhead-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    return path


async def main(requests_: int, concurrency: int, open_: int) -> None:
    catalog = load_catalog(DEFAULT_CONFIG_DIR, years=[2026, 2027])
    load_before = os.getloadavg()
    async with scratch_stack(catalog, name="bench") as stack:
        gate = asyncio.Semaphore(concurrency)
        with tempfile.TemporaryDirectory() as state:
            api = ApiSettings(base=replace(stack.settings, state_dir=Path(state)), port=0,
                              dev_mode=True, rate_per_minute=10**9)
            async with serving_beside(api) as base_url, httpx.AsyncClient(
                    base_url=base_url, timeout=60) as http:
                issuer = DevIssuer(Path(state), api.audience)

                async def direct() -> None:
                    async with gate:
                        await work_to_close(stack.client, catalog, stack.settings.task_queue)

                async def over_http() -> None:
                    async with gate:
                        await work_over_http(http, issuer, catalog)

                started = time.perf_counter()
                await asyncio.gather(*(direct() for _ in range(requests_)))
                direct_s = time.perf_counter() - started
                started = time.perf_counter()
                await asyncio.gather(*(over_http() for _ in range(requests_)))
                http_s = time.perf_counter() - started
                direct_lat = latencies
                load_after_closure = os.getloadavg()
                print(f"{requests_} requests to closure ({concurrency} at a time)")
                print(f"  Temporal client: {requests_ / direct_s * 60:.0f} requests/min, "
                      f"update p50 {_p(direct_lat, 50):.0f} ms, p90 {_p(direct_lat, 90):.0f} ms")
                print(f"  HTTP API:        {requests_ / http_s * 60:.0f} requests/min, "
                      f"update p50 {_p(http_latencies, 50):.0f} ms, "
                      f"p90 {_p(http_latencies, 90):.0f} ms")
                throughput_cost = 100 * (1 - direct_s / http_s)
                p50_cost = _p(http_latencies, 50) - _p(direct_lat, 50)
                print(f"  throughput cost {throughput_cost:.1f} %, p50 cost {p50_cost:.0f} ms")
                loaded_s = await _load_open(stack.engine, catalog, open_)
                print(f"  {open_:,} open requests with an active step inserted in "
                      f"{loaded_s:.1f} s")
                queues = await _time_queues(http, issuer, "zhang.wei")
                for queue, figure in queues.items():
                    print(f"  queue {queue:<11} p50 {figure['p50_ms']:>6.1f} ms  p95 "
                          f"{figure['p95_ms']:>6.1f} ms  ({figure['items']:g} items a page)")
    path = _record({
        "requests": requests_, "concurrency": concurrency, "open_requests": open_,
        "load_average_before": load_before, "load_average_after_closure": load_after_closure,
        "load_average_after": os.getloadavg(), "cores": os.cpu_count(),
        "direct_requests_per_min": round(requests_ / direct_s * 60, 1),
        "http_requests_per_min": round(requests_ / http_s * 60, 1),
        "direct_update_p50_ms": round(_p(direct_lat, 50), 1),
        "http_update_p50_ms": round(_p(http_latencies, 50), 1),
        "throughput_cost_percent": round(throughput_cost, 1),
        "p50_cost_ms": round(p50_cost, 1), "queues": queues})
    print(f"  load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after, on "
          f"{os.cpu_count()} cores; {path.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--open", type=int, default=100_000,
                        help="open requests in the projections for the queue listings")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.concurrency, arguments.open))
