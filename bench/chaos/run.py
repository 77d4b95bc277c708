"""One chaos run per fault on a fresh database and task queue: ``requests`` requests worked to
closure ``concurrency`` at a time through worker processes, the fault injected once a quarter
of them have closed, then the figures."""

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.client import Client

from bench.chaos.checks import (
    log_figures,
    notification_figures,
    pending_webhooks,
    recovery_seconds,
    workflow_figures,
)
from bench.chaos.driver import Driven, Driver
from bench.chaos.platform import Database, TemporalServer, Workers, remove, work_dir
from catalog.loader import load_catalog
from domain.catalog import Catalog
from eventstore.engine import create_engine
from eventstore.migrate import upgrade
from runtime.converter import DATA_CONVERTER
from stack.webhook_receiver import WebhookReceiver
from tests.integration.requests import billing_dispute
from tests.paths import FAST_CONFIG

FAULTS = ("none", "kill-one-of-two-workers", "kill-only-worker", "postgres-restart",
          "temporal-restart", "receiver-down")


@dataclass(frozen=True)
class Options:
    requests: int = 1000
    concurrency: int = 20
    worker_restart_after: float = 5.0
    database_outage: float = 15.0
    receiver_outage: float = 60.0
    deadline: float = 1800.0
    """Seconds a run may take before what has not closed counts as stuck."""
    drain_within: float = 300.0
    """Seconds the outbox gets, after the last request closed, to deliver everything."""


@dataclass
class Platform:
    work: Path
    database: Database
    temporal: TemporalServer


async def run_all(faults: list[str], options: Options,
                  each: Callable[[dict[str, Any], bool], None] | None = None,
                  ) -> list[dict[str, Any]]:
    """Runs ``faults`` in order on one platform; ``each`` sees every row as it is made (and
    whether it is the first)."""
    catalog = load_catalog(FAST_CONFIG, years=[2026, 2027])
    work = work_dir()
    database = Database(work)
    temporal = TemporalServer(work)
    try:
        await database.start()
        await temporal.start()
        platform = Platform(work=work, database=database, temporal=temporal)
        rows: list[dict[str, Any]] = []
        for fault in faults:
            row = await run_fault(platform, catalog, fault, options)
            if each is not None:
                each(row, not rows)
            rows.append(row)
        return rows
    finally:
        await temporal.kill()
        await database.stop()
        remove(work)


async def run_fault(platform: Platform, catalog: Catalog, fault: str,
                    options: Options) -> dict[str, Any]:
    name = f"chaos_{fault.replace('-', '_')}_{uuid.uuid4().hex[:6]}"
    url = platform.database.create(name)
    await upgrade(url)
    engine = create_engine(url)
    client = await Client.connect(platform.temporal.address, data_converter=DATA_CONVERTER)
    task_queue = f"chaos-{uuid.uuid4().hex[:8]}"
    with WebhookReceiver() as receiver:
        workers = Workers(platform.work, temporal_address=platform.temporal.address,
                          database_url=url, task_queue=task_queue, webhook_url=receiver.url)
        try:
            for slot in range(2 if fault == "kill-one-of-two-workers" else 1):
                await workers.start(slot)
            driver = Driver(client, catalog, task_queue)
            started = time.monotonic()
            deadline = started + options.deadline
            gate = asyncio.Semaphore(options.concurrency)

            async def one() -> Driven:
                async with gate:
                    return await driver.work(billing_dispute(catalog), deadline)

            driving = asyncio.gather(*(one() for _ in range(options.requests)))
            healed_at = await _inject(fault, platform, workers, receiver, driver, options)
            driven: list[Driven] = await driving
            elapsed = time.monotonic() - started
            drain_until = time.monotonic() + options.drain_within
            while await pending_webhooks(engine):
                if time.monotonic() > drain_until:
                    break
                await asyncio.sleep(0.5)
            figures = await log_figures(engine, [d.request_id for d in driven])
            expected = figures.pop("expected")
            calls = [call for d in driven for call in d.calls]
            return {
                "fault": fault, "requests": options.requests,
                "closed": sum(d.closed for d in driven), **figures,
                **notification_figures(receiver, expected),
                **await workflow_figures(client, driven),
                "recover_seconds": recovery_seconds(calls, healed_at),
                "max_call_seconds": round(max((c.ended - c.started for c in calls),
                                              default=0.0), 2),
                "caller_errors_retried": sum(d.errors for d in driven),
                "seconds": round(elapsed, 1),
            }
        finally:
            await workers.stop_all()
            await engine.dispose()


async def _inject(fault: str, platform: Platform, workers: Workers, receiver: WebhookReceiver,
                  driver: Driver, options: Options) -> float | None:
    """Waits until a quarter of the requests closed, injects ``fault`` and heals it; returns
    when it was healed (monotonic), None for the fault-free run."""
    if fault == "none":
        return None
    while driver.closed < options.requests // 4:
        driver.progress.clear()
        await driver.progress.wait()
    if fault == "kill-one-of-two-workers":
        await workers.kill(0)  # never restarted
    elif fault == "kill-only-worker":
        await workers.kill(0)
        await asyncio.sleep(options.worker_restart_after)
        await workers.start(0)
    elif fault == "postgres-restart":
        await platform.database.stop()
        await asyncio.sleep(options.database_outage)
        await platform.database.start()
    elif fault == "temporal-restart":
        await platform.temporal.kill()
        await platform.temporal.start()
    elif fault == "receiver-down":
        receiver.up.clear()
        await asyncio.sleep(options.receiver_outage)
        receiver.up.set()
    else:
        raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
    return time.monotonic()
