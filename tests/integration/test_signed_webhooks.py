"""Integrations' signed webhooks on the real stack: an ERP receiver that verifies the Standard
Webhooks signature and dedups by webhook-id gets every event of a request it subscribed to
exactly once, though it was down while they happened and the worker restarted; a receiver
holding another secret refuses every delivery as forged. Real Temporal, real PostgreSQL, real
loopback receivers."""

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from domain import commands as cmd
from domain.actors import Actor
from domain.catalog import Catalog
from domain.events import EventType
from domain.webhooks import signing_key
from eventstore.engine import create_engine
from runtime.settings import Settings
from schema.tables import events
from stack.webhook_receiver import WebhookReceiver
from tests.integration.delivering import worker_delivering
from tests.integration.requests import billing_dispute, eventually
from workflows import client as calls

pytestmark = pytest.mark.integration

ERP_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SUBSCRIBED = sorted(t.value for t in EventType if t is not EventType.ESCALATED)
NOTE = "收件方停机期间的跟进"


def subscriptions_file(tmp_path: Path, erp_url: str, crm_url: str) -> Path:
    (tmp_path / "erp.secret").write_text(ERP_SECRET, encoding="utf-8")
    (tmp_path / "crm.secret").write_text("crm-secret", encoding="utf-8")
    path = tmp_path / "subscriptions.toml"
    path.write_text(
        f'[[integration]]\nname = "erp"\nurl = "{erp_url}"\n'
        f"event_types = {json.dumps(SUBSCRIBED)}\nsecret_file = \"erp.secret\"\n\n"
        f'[[integration]]\nname = "crm"\nurl = "{crm_url}"\n'
        'event_types = ["submitted"]\nsecret_file = "crm.secret"\n', encoding="utf-8")
    return path


@asynccontextmanager
async def worker_with_integrations(env: WorkflowEnvironment, url: str, catalog: Catalog,
                                   subscriptions: Path, task_queue: str
                                   ) -> AsyncIterator[CollectorRegistry]:
    """A worker and its outbox dispatcher, delivering to the integrations of ``subscriptions``."""
    settings = Settings(task_queue=task_queue, database_url=url,
                        webhook_subscriptions_file=subscriptions)
    async with worker_delivering(env, settings, catalog) as registry:
        yield registry


async def _subscribed_keys(url: str, request_id: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(events.c.sequence).where(
                events.c.request_id == request_id,
                events.c.event_type.in_(SUBSCRIBED)))).all()
    finally:
        await engine.dispose()
    return {f"{request_id}:{r.sequence}" for r in rows}


async def test_a_verifying_receiver_gets_every_subscribed_event_once_across_outage_and_restart(
        temporal_env: WorkflowEnvironment, pg_store_url: str, fast_catalog: Catalog,
        tmp_path: Path) -> None:
    with WebhookReceiver(signing_key(ERP_SECRET)) as erp, \
            WebhookReceiver(signing_key("another secret")) as crm:
        erp.up.clear()
        subscriptions = subscriptions_file(tmp_path, erp.url, crm.url)
        task_queue = f"caseflow-signed-{uuid.uuid4().hex[:8]}"
        client = temporal_env.client
        async with worker_with_integrations(temporal_env, pg_store_url, fast_catalog,
                                            subscriptions, task_queue) as registry:
            submitted = await calls.submit_request(client, fast_catalog,
                                                     billing_dispute(fast_catalog),
                                                     task_queue=task_queue)
            rid = submitted.request_id
            view = await eventually(lambda: calls.request_status(client, rid),
                                    lambda _: erp.refused > 0 and crm.forged > 0, within=20,
                                    what="deliveries refused by both receivers")
            owner = Actor(id=view.owner_id)
            await calls.act(client, rid, "add_note", cmd.AddNote(actor=owner, text=NOTE))
            failures = registry.get_sample_value("caseflow_outbox_delivery_failures_total",
                                                 {"destination": "erp"})
            assert (failures or 0) >= 1
        # The worker restarts while the receiver is still down: the outbox keeps what is due.
        async with worker_with_integrations(temporal_env, pg_store_url, fast_catalog,
                                            subscriptions, task_queue):
            await calls.act(client, rid, "cancel", cmd.Cancel(actor=owner, reason="测试结束"))
            assert erp.keys() == set()
            erp.up.set()
            expected = await _subscribed_keys(pg_store_url, rid)
            assert len(expected) >= 3  # submitted, the note, the cancellation at least
            await eventually(lambda: calls.request_status(client, rid),
                             lambda _: erp.keys() >= expected, within=60,
                             what="every subscribed event delivered after the outage")
    assert erp.keys() == expected
    assert erp.duplicates() == 0
    assert erp.forged == 0
    assert crm.keys() == set()
    received = list(erp.messages.values())
    assert {m["type"] for m in received} >= {"submitted", "note_added", "cancelled"}
    assert all(m["request_id"] == rid and m["id"] == f"{rid}:{m['sequence']}"
               for m in received)
    submission = next(m for m in received if m["type"] == "submitted")["payload"]
    assert submission["subject"] is None
    assert submission["customer"]["name"] is None
    assert NOTE not in json.dumps(received, ensure_ascii=False)
