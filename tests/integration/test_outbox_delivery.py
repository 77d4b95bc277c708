"""Escalation notifications leave the request's critical path: while the webhook receiver is
down the request goes on working, and once it is back every escalation reaches it exactly
once after dedup, none lost. Real Temporal, real PostgreSQL, a real loopback receiver."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from domain import commands as cmd
from domain.actors import Actor
from domain.catalog import Catalog
from domain.events import Escalated
from domain.outbound import escalation_key
from eventstore.engine import create_engine
from runtime.settings import Settings
from schema.tables import events
from stack.webhook_receiver import WebhookReceiver
from tests.integration.delivering import worker_delivering
from tests.integration.requests import billing_dispute, eventually
from workflows import client as calls

pytestmark = pytest.mark.integration


@asynccontextmanager
async def worker_with_webhook(env: WorkflowEnvironment, url: str, catalog: Catalog,
                              webhook_url: str) -> AsyncIterator[tuple[str, CollectorRegistry]]:
    """A worker and its outbox dispatcher, escalations going to ``webhook_url``."""
    settings = Settings(task_queue=f"caseflow-outbox-{uuid.uuid4().hex[:8]}",
                        database_url=url, webhook_url=webhook_url)
    async with worker_delivering(env, settings, catalog) as registry:
        yield settings.task_queue, registry


async def _escalation_keys(url: str, request_id: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(events.c.payload).where(
                events.c.request_id == request_id, events.c.event_type == "escalated"))).all()
    finally:
        await engine.dispose()
    return {escalation_key(request_id, Escalated.model_validate(r.payload)) for r in rows}


async def test_a_receiver_outage_neither_freezes_the_request_nor_loses_a_notification(
        temporal_env: WorkflowEnvironment, pg_store_url: str, fast_catalog: Catalog) -> None:
    with WebhookReceiver() as receiver:
        receiver.up.clear()
        async with worker_with_webhook(temporal_env, pg_store_url, fast_catalog,
                                       receiver.url) as (task_queue, registry):
            client = temporal_env.client
            submitted = await calls.submit_request(client, fast_catalog,
                                                     billing_dispute(fast_catalog),
                                                     task_queue=task_queue)
            rid = submitted.request_id
            view = await eventually(lambda: calls.request_status(client, rid),
                                    lambda v: bool(v.breaches), within=20,
                                    what="the first escalation")
            await eventually(lambda: calls.request_status(client, rid),
                             lambda _: receiver.refused > 0, within=20,
                             what="a delivery refused by the receiver")
            # The receiver is still down: an action on the escalated request answers at once.
            owner = Actor(id=view.owner_id)
            await asyncio.wait_for(calls.act(client, rid, "add_note", cmd.AddNote(
                actor=owner, text="收件方停机期间的跟进")), timeout=15)
            await asyncio.wait_for(calls.act(client, rid, "cancel", cmd.Cancel(
                actor=owner, reason="测试结束")), timeout=15)
            assert receiver.keys() == set()
            failures = registry.get_sample_value("caseflow_outbox_delivery_failures_total",
                                                 {"destination": "webhook"})
            assert (failures or 0) >= 1

            receiver.up.set()
            expected = await _escalation_keys(pg_store_url, rid)
            assert expected
            await eventually(lambda: calls.request_status(client, rid),
                             lambda _: receiver.keys() >= expected, within=60,
                             what="every escalation delivered after the receiver came back")
    assert receiver.keys() == expected
    assert receiver.duplicates() == 0
    assert all(m["request_id"] == rid and m["event"]["event_type"] == "escalated"
               for m in receiver.messages.values())
