"""What the HTTP API costs over calling Temporal directly: requests submitted and worked to
closure through the Temporal client (starter.py's functions), then the same through the API
(real uvicorn on loopback, httpx, development tokens), in one run on one stack; then the p95 of
a queue listing over what the run left in the projections.

    .venv/bin/python -m bench.api_overhead [--requests 40] [--concurrency 10]

The API server, the dev server, PostgreSQL, the worker and the load generator share the
machine, so the HTTP figures include the API's own CPU taken from the others.
"""

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from api.server import serving_beside
from api.settings import ApiSettings
from api.staff_tokens import DevIssuer
from bench.request_throughput import latencies, work_to_close
from bench.scratch import scratch_stack
from catalog.loader import DEFAULT_CONFIG_DIR, load_catalog
from domain.catalog import Catalog
from tests.integration.requests import billing_dispute

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


async def main(requests: int, concurrency: int) -> None:
    catalog = load_catalog(DEFAULT_CONFIG_DIR, years=[2026, 2027])
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
                await asyncio.gather(*(direct() for _ in range(requests)))
                direct_s = time.perf_counter() - started
                started = time.perf_counter()
                await asyncio.gather(*(over_http() for _ in range(requests)))
                http_s = time.perf_counter() - started
                direct_lat = latencies
                print(f"{requests} requests to closure ({concurrency} at a time)")
                print(f"  Temporal client: {requests / direct_s * 60:.0f} requests/min, "
                      f"update p50 {_p(direct_lat, 50):.0f} ms, p90 {_p(direct_lat, 90):.0f} ms")
                print(f"  HTTP API:        {requests / http_s * 60:.0f} requests/min, "
                      f"update p50 {_p(http_latencies, 50):.0f} ms, "
                      f"p90 {_p(http_latencies, 90):.0f} ms")
                print(f"  throughput cost {100 * (1 - direct_s / http_s):.1f} %, p50 cost "
                      f"{_p(http_latencies, 50) - _p(direct_lat, 50):.0f} ms")
                token = issuer.issue("zhou.min")
                listing: list[float] = []
                for _ in range(100):
                    started = time.perf_counter()
                    response = await http.get("/api/v1/requests", params={
                        "queue": "department"}, headers={"Authorization": f"Bearer {token}"})
                    listing.append(time.perf_counter() - started)
                    response.raise_for_status()
                print(f"  queue listing (department, {2 * requests} requests in the store): "
                      f"p50 {_p(listing, 50):.1f} ms, p95 {_p(listing, 95):.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=10)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.concurrency))
