"""What the console's pages cost: the queue page (its rows' live SLA badges ask Temporal for
each request's state) and the request page, rendered over a store holding open requests, and
how long an action takes to reach a watching page's live stream.

    .venv/bin/python -m bench.console_pages [--requests 50] [--samples 40]

Prints the figures and writes them to bench/results/console-pages-<UTC time>.json. The API
process, the dev server, PostgreSQL, the worker and this client share the machine.
"""

import argparse
import asyncio
import json
import re
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from api.server import serving_beside
from api.settings import ApiSettings
from api.staff_tokens import DevIssuer
from bench.scratch import scratch_stack
from catalog.loader import DEFAULT_CONFIG_DIR, load_catalog
from console.site import create_site
from tests.integration.requests import billing_dispute

RESULTS = Path(__file__).parent / "results"


def _ms(values: list[float], percent: int) -> float:
    return round(statistics.quantiles(values, n=100)[percent - 1] * 1000, 1)


async def _signed_in(http: httpx.AsyncClient, person_id: str) -> dict[str, str]:
    """The session cookie of a development sign-in, as a header: the cookie is ``Secure``, which
    httpx's jar keeps off plain http (a browser keeps it on 127.0.0.1)."""
    page = await http.get("/console/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    pending = page.headers["set-cookie"].split(";", 1)[0]
    done = await http.post("/console/signin/dev", data={"person_id": person_id,
                                                        "csrf": csrf.group(1)},
                           headers={"Cookie": pending})
    return {"Cookie": done.headers["set-cookie"].split(";", 1)[0]}


async def _timed(http: httpx.AsyncClient, path: str, headers: dict[str, str],
                 samples: int) -> list[float]:
    found = []
    for _ in range(samples):
        started = time.perf_counter()
        response = await http.get(path, headers=headers)
        found.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text[:200]
    return found


async def _live_latency(http: httpx.AsyncClient, cookie: dict[str, str], issuer: DevIssuer,
                        request_id: str, owner: str, samples: int) -> list[float]:
    """From an action's POST to its frame on the stream a watching request page opened (after
    the log position the page was rendered at, as the page's script does)."""
    found = []
    for index in range(samples):
        page = await http.get(f"/console/requests/{request_id}", headers=cookie)
        position = re.search(r'data-position="(\d+)"', page.text)
        assert position is not None
        path = f"/console/live?request_id={request_id}&after={position.group(1)}"
        async with http.stream("GET", path, headers=cookie) as stream:
            lines = stream.aiter_lines()
            started = time.perf_counter()
            await http.post(f"/api/v1/requests/{request_id}/add_note", json={
                "text": f"note {index}"}, headers={
                "Authorization": f"Bearer {issuer.issue(owner)}"})
            async for line in lines:
                if line.startswith("event: note_added"):
                    found.append(time.perf_counter() - started)
                    break
    return found


async def main(requests: int, samples: int) -> None:
    catalog = load_catalog(DEFAULT_CONFIG_DIR, years=[2026, 2027])
    async with scratch_stack(catalog, name="console") as stack:
        with tempfile.TemporaryDirectory() as state:
            api = ApiSettings(base=replace(stack.settings, state_dir=Path(state)), port=0,
                              dev_mode=True, rate_per_minute=10**9)
            async with serving_beside(api, app_factory=create_site) as url, httpx.AsyncClient(
                    base_url=url, timeout=60) as http:
                issuer = DevIssuer(Path(state), api.audience)
                views = []
                for _ in range(requests):
                    submission = billing_dispute(catalog)
                    body = submission.model_dump(mode="json",
                                                 exclude={"idempotency_key", "submitted_by"})
                    response = await http.post("/api/v1/requests", json=body, headers={
                        "Authorization": f"Bearer {issuer.issue(submission.submitted_by)}",
                        "Idempotency-Key": submission.idempotency_key})
                    response.raise_for_status()
                    views.append(response.json())
                supervisor = catalog.departments["customer_service"].supervisor_id
                cookie = await _signed_in(http, supervisor)
                queue = await _timed(http, "/console/work?queue=department", cookie, samples)
                page = await _timed(http, f"/console/requests/{views[0]['request_id']}",
                                    cookie, samples)
                live = await _live_latency(http, cookie, issuer, views[0]["request_id"],
                                           views[0]["owner_id"], min(samples, 20))
    figures: dict[str, Any] = {
        "requests_in_store": requests, "samples": samples,
        "queue_page_ms": {"p50": _ms(queue, 50), "p95": _ms(queue, 95)},
        "request_page_ms": {"p50": _ms(page, 50), "p95": _ms(page, 95)},
        "action_to_live_frame_ms": {"p50": _ms(live, 50), "p95": _ms(live, 95)},
    }
    print(f"console pages over {requests} open requests ({samples} samples each)")
    print(f"  queue page (department, {min(requests, 50)} rows with live badges): "
          f"p50 {figures['queue_page_ms']['p50']} ms, p95 {figures['queue_page_ms']['p95']} ms")
    print(f"  request page: p50 {figures['request_page_ms']['p50']} ms, "
          f"p95 {figures['request_page_ms']['p95']} ms")
    print(f"  action to the watching page's live frame: "
          f"p50 {figures['action_to_live_frame_ms']['p50']} ms, "
          f"p95 {figures['action_to_live_frame_ms']['p95']} ms")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"console-pages-{stamp}.json"
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"  written to bench/results/{path.name}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--samples", type=int, default=40)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.samples))
