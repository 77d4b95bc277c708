"""A benchmark's own stack: a fresh database on the private PostgreSQL cluster, a Temporal dev
server and a worker serving them, all gone when the block ends."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.converter import DataConverter

from domain.catalog import Catalog
from eventstore.engine import create_engine
from eventstore.migrate import upgrade
from kpi.metrics import CaseflowMetrics
from runtime.converter import DATA_CONVERTER
from runtime.settings import Settings, WorkerTuning
from stack import postgres
from stack.temporal_server import start_dev_server
from worker import build_worker


@dataclass(frozen=True)
class Scratch:
    client: Client
    engine: AsyncEngine
    settings: Settings


@asynccontextmanager
async def scratch_stack(catalog: Catalog, *, name: str,
                        data_converter: DataConverter = DATA_CONVERTER,
                        tuning: WorkerTuning | None = None) -> AsyncIterator[Scratch]:
    """Yields once the worker polls ``caseflow-<name>``; the database is dropped after."""
    port = postgres.ensure_cluster()
    database = f"caseflow_{name}_{uuid.uuid4().hex[:8]}"
    url = postgres.create_database(port, database)
    await upgrade(url)
    engine = create_engine(url)
    env = await start_dev_server(data_converter=data_converter)
    settings = Settings(task_queue=f"caseflow-{name}", database_url=url,
                        temporal_address=env.client.service_client.config.target_host,
                        tuning=tuning or WorkerTuning())
    worker = build_worker(env.client, settings, engine=engine, catalog=catalog,
                          metrics=CaseflowMetrics(CollectorRegistry()))
    try:
        async with worker:
            yield Scratch(client=env.client, engine=engine, settings=settings)
    finally:
        await env.shutdown()
        await engine.dispose()
        postgres.drop_database(port, database)
