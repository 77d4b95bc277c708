"""A caseflow worker on the real Temporal dev server and a real, fresh PostgreSQL event store,
with the fast test organisation (24x7 calendars, SLA targets of seconds)."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from catalog.loader import load_catalog
from domain.catalog import Catalog
from eventstore.engine import create_engine
from kpi.metrics import CaseflowMetrics
from runtime.settings import Settings
from tests.integration.log_rebuild import assert_logs_rebuild_states
from tests.paths import FAST_CONFIG
from worker import build_worker


@dataclass
class Caseflow:
    client: Client
    catalog: Catalog
    engine: AsyncEngine
    registry: CollectorRegistry
    task_queue: str

    def metric(self, name: str, labels: dict[str, str] | None = None) -> float:
        value = self.registry.get_sample_value(name, labels or {})
        return value or 0.0


@pytest.fixture(scope="session")
def fast_catalog() -> Catalog:
    return load_catalog(FAST_CONFIG, years=[2026, 2027])


@pytest.fixture
async def engine(store_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a fresh store: PostgreSQL, then SQLite."""
    engine = create_engine(store_url)
    yield engine
    await engine.dispose()


@asynccontextmanager
async def running(env: WorkflowEnvironment, url: str, catalog: Catalog, *,
                   task_queue: str | None = None,
                   check_logs: bool = True) -> AsyncIterator[Caseflow]:
    """A worker on ``env`` writing to ``url`` for as long as the caller iterates; then (unless
    the test took the server down: ``check_logs=False``) every request's log must rebuild its
    workflow's state."""
    engine = create_engine(url)
    registry = CollectorRegistry()
    settings = Settings(task_queue=task_queue or f"caseflow-test-{uuid.uuid4().hex[:8]}",
                        database_url=url)
    worker = build_worker(env.client, settings, engine=engine, catalog=catalog,
                          metrics=CaseflowMetrics(registry))
    async with worker:
        yield Caseflow(client=env.client, catalog=catalog, engine=engine, registry=registry,
                       task_queue=settings.task_queue)
        if check_logs:
            # Whatever the test did, each request's log alone rebuilds its workflow's state.
            await assert_logs_rebuild_states(env.client, engine, settings.task_queue)
    await engine.dispose()


@pytest.fixture
async def caseflow(temporal_env: WorkflowEnvironment, pg_store_url: str,
                   fast_catalog: Catalog) -> AsyncIterator[Caseflow]:
    """A worker writing to a fresh PostgreSQL store."""
    async with running(temporal_env, pg_store_url, fast_catalog) as flow:
        yield flow


@pytest.fixture
async def caseflow_on_each_store(temporal_env: WorkflowEnvironment, store_url: str,
                                 fast_catalog: Catalog) -> AsyncIterator[Caseflow]:
    """A worker writing to a fresh PostgreSQL store, then to a fresh SQLite one."""
    async with running(temporal_env, store_url, fast_catalog) as flow:
        yield flow
