"""Two API processes behind one load balancer: while one is submitting a key, the other
answers 409 "still being created" (the claim is in the store, not in either process), and once
the first is done both answer with the one request the key made."""

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from api.services import open_services
from api.settings import ApiSettings
from api.staff_tokens import DevIssuer
from domain.catalog import Catalog
from eventstore.engine import create_engine
from eventstore.migrate import upgrade
from eventstore.submission_claims import CLAIM_LEASE, StillBeingCreated, claimed
from runtime.settings import Settings
from schema.tables import requests, submission_claims
from tests.integration.api.conftest import serving
from tests.integration.conftest import running
from tests.integration.requests import billing_dispute, patient, temporal_address
from tests.paths import FAST_CONFIG

pytestmark = pytest.mark.integration


async def test_a_key_in_flight_on_one_instance_is_409_on_the_other(
        temporal_env: WorkflowEnvironment, pg_store_url: str, fast_catalog: Catalog,
        tmp_path: Path) -> None:
    catalog = patient(fast_catalog)
    # No worker polls this queue yet: instance A's submission stays in flight until one does.
    queue = f"caseflow-two-{uuid.uuid4().hex[:8]}"
    settings = ApiSettings(base=Settings(
        temporal_address=temporal_address(temporal_env), task_queue=queue,
        database_url=pg_store_url, state_dir=tmp_path, config_dir=FAST_CONFIG), dev_mode=True)
    token = DevIssuer(tmp_path, settings.audience).issue("wang.fang")
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "TK-TWO-INSTANCES-1"}
    body = billing_dispute(catalog).model_dump(mode="json",
                                               exclude={"idempotency_key", "submitted_by"})
    engine = create_engine(pg_store_url)
    try:
        async with open_services(settings, catalog=catalog) as services_a, open_services(
                settings, catalog=catalog) as services_b, serving(services_a) as a, serving(
                services_b) as b:
            first = asyncio.create_task(a.post("/api/v1/requests", headers=headers, json=body))
            await _claim_appears(engine, first)

            again = await b.post("/api/v1/requests", headers=headers, json=body)
            assert again.status_code == 409, again.text
            assert "still being created" in again.json()["detail"]
            assert again.headers["retry-after"] == "1"

            async with running(temporal_env, pg_store_url, catalog, task_queue=queue):
                created = await first
                assert created.status_code == 200, created.text
                retried = await b.post("/api/v1/requests", headers=headers, json=body)
                assert retried.status_code == 200, retried.text
                assert retried.json()["request_id"] == created.json()["request_id"]
        async with engine.connect() as conn:
            assert await conn.scalar(select(func.count()).select_from(requests)) == 1
            assert await conn.scalar(select(func.count()).select_from(submission_claims)) == 0
    finally:
        await engine.dispose()


async def _claim_appears(engine: AsyncEngine, first: "asyncio.Task[httpx.Response]") -> None:
    """Waits until instance A holds the key's claim (it is in flight from then on)."""
    async with asyncio.timeout(30):
        while True:
            assert not first.done(), first.result().text
            async with engine.connect() as conn:
                if await conn.scalar(select(func.count()).select_from(submission_claims)):
                    return
            await asyncio.sleep(0.05)


async def test_a_claim_left_by_a_dead_process_frees_after_its_lease(
        engine: AsyncEngine, store_url: str) -> None:
    """On PostgreSQL, then SQLite: a held key is refused to others until the lease runs out,
    then taken over; a released key is free at once."""
    await upgrade(store_url)
    start = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    held = claimed(engine, "TK-DEAD-1", now=start)
    await held.__aenter__()  # never released: its process "died"
    with pytest.raises(StillBeingCreated):
        async with claimed(engine, "TK-DEAD-1", now=start + CLAIM_LEASE / 2):
            pass
    async with claimed(engine, "TK-DEAD-1", now=start + CLAIM_LEASE * 2), claimed(
            engine, "TK-OTHER", now=start):
        pass
    async with claimed(engine, "TK-DEAD-1", now=start + CLAIM_LEASE / 2):
        pass
