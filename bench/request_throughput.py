"""End-to-end throughput on the real stack: requests submitted and worked to closure through the
Temporal dev server, one in-process worker and a PostgreSQL event store; update latency
percentiles; worker memory while many requests stay open.

    .venv/bin/python -m bench.request_throughput [--requests 100] [--open 300] [--plain]

``--plain`` runs without the payload codec (pydantic JSON in clear), to measure its cost.
"""

import argparse
import asyncio
import resource
import statistics
import time
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from bench.scratch import scratch_stack
from catalog.loader import DEFAULT_CONFIG_DIR, load_catalog
from domain import commands as cmd
from domain.actors import Actor, ActorKind
from domain.catalog import Catalog
from runtime.converter import DATA_CONVERTER
from tests.integration.requests import billing_dispute
from workflows import client as calls
from workflows.messages import RequestView

# The example organisation: real calendars and targets of hours, so nothing breaches mid-run.
latencies: list[float] = []


async def _act(client: Client, rid: str, action: str, command: cmd.RequestCommand) -> RequestView:
    started = time.perf_counter()
    view = await calls.act(client, rid, action, command)
    latencies.append(time.perf_counter() - started)
    return view


async def work_to_close(client: Client, catalog: Catalog, task_queue: str) -> None:
    submission = billing_dispute(catalog)
    submitted = await calls.submit_request(client, catalog, submission, task_queue=task_queue)
    rid, view = submitted.request_id, submitted.view
    while active := [s for s in view.steps if s.status == "active"]:
        for step in active:
            owner = Actor(id=step.owner_id)
            await _act(client, rid, "claim", cmd.Claim(actor=owner, step_key=step.step_key))
            view = await _act(client, rid, "complete_step",
                              cmd.CompleteStep(actor=owner, step_key=step.step_key))
    await _act(client, rid, "resolve", cmd.Resolve(actor=Actor(id=view.owner_id), summary="完成"))
    await _act(client, rid, "customer_feedback", cmd.CustomerFeedback(
        actor=Actor(id=submission.customer.id, kind=ActorKind.CUSTOMER), accepted=True,
        satisfaction=5))


def rss_mib() -> float:
    return float(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 2**20


async def main(requests: int, still_open: int, *, plain: bool) -> None:
    catalog = load_catalog(DEFAULT_CONFIG_DIR, years=[2026, 2027])
    converter = pydantic_data_converter if plain else DATA_CONVERTER
    async with scratch_stack(catalog, name="bench", data_converter=converter) as stack:
        gate = asyncio.Semaphore(20)

        async def bounded() -> None:
            async with gate:
                await work_to_close(stack.client, catalog, stack.settings.task_queue)

        started = time.perf_counter()
        await asyncio.gather(*(bounded() for _ in range(requests)))
        elapsed = time.perf_counter() - started
        cuts = statistics.quantiles(latencies, n=100)
        print(f"{requests} requests worked to closure (20 at a time) in {elapsed:.1f} s: "
              f"{requests / elapsed * 60:.0f} requests/min, "
              f"{len(latencies) / elapsed:.1f} updates/s")
        print(f"update latency: p50 {cuts[49] * 1000:.0f} ms, p90 {cuts[89] * 1000:.0f} ms, "
              f"p99 {cuts[98] * 1000:.0f} ms")
        before = rss_mib()

        async def submit_only() -> None:
            async with gate:
                await calls.submit_request(stack.client, catalog, billing_dispute(catalog),
                                             task_queue=stack.settings.task_queue)

        await asyncio.gather(*(submit_only() for _ in range(still_open)))
        after = rss_mib()
        print(f"process RSS (client + worker) {before:.0f} MiB -> {after:.0f} MiB with "
              f"{still_open} more requests open: "
              f"{(after - before) * 1024 / still_open:.0f} KiB per open request")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--open", type=int, default=300)
    parser.add_argument("--plain", action="store_true", help="without the payload codec")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.open, plain=arguments.plain))
