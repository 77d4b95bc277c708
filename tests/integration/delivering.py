"""A worker and its outbox dispatcher on a test's own settings, as worker.py runs them."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import CollectorRegistry
from temporalio.testing import WorkflowEnvironment

from domain.catalog import Catalog
from eventstore.engine import create_engine
from kpi.metrics import CaseflowMetrics
from runtime.settings import Settings
from worker import build_dispatcher, build_worker


@asynccontextmanager
async def worker_delivering(env: WorkflowEnvironment, settings: Settings,
                            catalog: Catalog) -> AsyncIterator[CollectorRegistry]:
    """Serves ``settings.task_queue`` and delivers the outbox until the block ends; yields
    the registry both report to."""
    engine = create_engine(settings.database_url)
    registry = CollectorRegistry()
    worker = build_worker(env.client, settings, engine=engine, catalog=catalog,
                          metrics=CaseflowMetrics(registry))
    dispatcher = build_dispatcher(settings, engine=engine, registry=registry)
    stop = asyncio.Event()
    try:
        async with worker:
            delivering = asyncio.create_task(dispatcher.run(stop))
            yield registry
            stop.set()
            await delivering
    finally:
        await engine.dispose()
