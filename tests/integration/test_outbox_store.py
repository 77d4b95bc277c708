"""The outbox in the store: messages written with their events in one transaction, never
twice, claimed under a lease, retried with backoff, dead-lettered and redelivered; on
PostgreSQL and on SQLite."""

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from delivery.destinations import DeliveryFailed
from delivery.dispatcher import Dispatcher
from delivery.metrics import OutboxMetrics
from domain.events import EventType
from domain.outbound import DeliveryPolicy, OutboundMessage, Subscription
from eventstore.append import append_events
from eventstore.engine import create_engine
from eventstore.errors import SequenceConflict
from eventstore.outbox import (
    claim_due,
    depth,
    enqueue_request_backlog,
    mark_delivered,
    mark_failed,
    redeliver,
)
from runtime.settings import DATABASE_URL_SETTING
from schema.tables import (
    OUTBOX_DEAD,
    OUTBOX_DELIVERED,
    OUTBOX_PENDING,
    events,
    notifications,
    outbox,
)
from stack.paths import REPO_ROOT
from tests.integration.event_factory import RequestLog, simple_request

pytestmark = pytest.mark.integration

ESCALATIONS = (Subscription(destination="log", event_types=frozenset({EventType.ESCALATED})),
               Subscription(destination="webhook",
                            event_types=frozenset({EventType.ESCALATED})))
LEASE = timedelta(seconds=30)


def escalating_request() -> RequestLog:
    log = simple_request(4)
    log.breached("step:verify.1", "zhang.wei", "finance")
    log.escalated("step:verify.1", "zhou.qiang", "finance")
    return log


async def outbox_rows(engine: AsyncEngine) -> list[tuple[str, str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(outbox.c.destination, outbox.c.message_key,
                                         outbox.c.status).order_by(outbox.c.id))
        return [(row[0], row[1], row[2]) for row in rows]


async def test_an_escalation_is_enqueued_with_its_event_once(engine: AsyncEngine) -> None:
    log = escalating_request()
    await append_events(engine, log.events, subscriptions=ESCALATIONS)
    await append_events(engine, log.events, subscriptions=ESCALATIONS)  # a retried activity

    key = f"{log.request_id}:step:verify.1:1:1"
    assert await outbox_rows(engine) == [("log", key, OUTBOX_PENDING),
                                         ("webhook", key, OUTBOX_PENDING)]
    (claimed, _) = await claim_due(engine, limit=10, lease=LEASE, destinations=["log", "webhook"])
    # The legacy escalation webhook posts the message whole: it names the request by id and
    # holds none of the customer's words, in the row or in what is delivered.
    assert claimed.message.subject.endswith(log.request_id)
    async with engine.connect() as conn:
        stored = [json.dumps(m, ensure_ascii=False)
                  for m in (await conn.scalars(select(outbox.c.message))).all()]
    assert stored
    assert not any("发票金额错误" in m for m in stored)
    assert "发票金额错误" not in claimed.message.model_dump_json()
    assert claimed.message.recipient_id == "zhou.qiang"


async def test_a_refused_append_enqueues_nothing(engine: AsyncEngine) -> None:
    log = escalating_request()
    await append_events(engine, log.events[:4], subscriptions=ESCALATIONS)
    moved = log.events[3].occurred_at + timedelta(seconds=1)
    conflicting = [*log.events[:3], log.events[3].model_copy(update={"occurred_at": moved}),
                   *log.events[4:]]
    with pytest.raises(SequenceConflict):
        await append_events(engine, conflicting, subscriptions=ESCALATIONS)
    assert await outbox_rows(engine) == []
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(events)) == 4


async def test_claims_lease_messages_so_a_second_dispatcher_skips_them(
        engine: AsyncEngine) -> None:
    await append_events(engine, escalating_request().events, subscriptions=ESCALATIONS)
    now = datetime.now(UTC)
    first = await claim_due(engine, limit=10, lease=LEASE, destinations=["log", "webhook"],
                            now=now)
    assert len(first) == 2
    assert await claim_due(engine, limit=10, lease=LEASE, destinations=["log", "webhook"],
                           now=now) == []
    # A dispatcher that died mid-delivery: its lease runs out and the message goes again.
    again = await claim_due(engine, limit=10, lease=LEASE, destinations=["log", "webhook"],
                            now=now + LEASE + timedelta(seconds=1))
    assert [(c.id, c.attempt) for c in again] == [(c.id, 2) for c in first]


async def test_failures_back_off_then_dead_letter_and_redelivery_revives(
        engine: AsyncEngine) -> None:
    await append_events(engine, escalating_request().events, subscriptions=ESCALATIONS[:1])
    policy = DeliveryPolicy(max_attempts=2, initial_delay_seconds=5)
    now = datetime.now(UTC)
    (claimed,) = await claim_due(engine, limit=10, lease=LEASE, destinations=["log"], now=now)
    assert not await mark_failed(engine, claimed, "HTTP 503 " + "x" * 10_000, policy, now=now)
    assert await claim_due(engine, limit=10, lease=LEASE, destinations=["log"],
                           now=now + timedelta(seconds=4)) == []
    (second,) = await claim_due(engine, limit=10, lease=LEASE, destinations=["log"],
                                now=now + timedelta(seconds=5))
    assert await mark_failed(engine, second, "HTTP 503", policy, now=now)
    assert await depth(engine) == {("log", OUTBOX_DEAD): 1}
    async with engine.connect() as conn:
        error = await conn.scalar(select(outbox.c.last_error))
    assert error == "HTTP 503"

    assert await redeliver(engine, destination="log") == 1
    (revived,) = await claim_due(engine, limit=10, lease=LEASE, destinations=["log"])
    assert revived.attempt == 1
    await mark_delivered(engine, revived)
    assert await outbox_rows(engine) == [("log", second.message.key, OUTBOX_DELIVERED)]
    assert await depth(engine) == {}


async def test_an_old_workflows_notify_enqueues_what_an_older_append_did_not(
        engine: AsyncEngine) -> None:
    """An append run by a worker without the outbox wrote no message; the notify activity
    of that workflow fills the gap, skipping what the old notifier's ledger sent."""
    log = escalating_request()
    await append_events(engine, log.events)  # as an older worker did: no subscriptions
    key = f"{log.request_id}:step:verify.1:1:1"
    async with engine.begin() as conn:
        await conn.execute(notifications.insert().values(
            key=f"{key}:log", request_id=log.request_id, channel="log",
            recipient_id="zhou.qiang", sent_at=log.events[-1].occurred_at))

    assert await enqueue_request_backlog(engine, log.request_id, ESCALATIONS) == 1
    assert await enqueue_request_backlog(engine, log.request_id, ESCALATIONS) == 0
    assert await outbox_rows(engine) == [("webhook", key, OUTBOX_PENDING)]


def test_the_redeliver_command_revives_dead_letters(pg_store_url: str) -> None:
    async def dead_letter() -> None:
        engine = create_engine(pg_store_url)
        try:
            await append_events(engine, escalating_request().events,
                                subscriptions=ESCALATIONS)
            for claimed in await claim_due(engine, limit=10, lease=LEASE,
                                           destinations=["webhook"]):
                await mark_failed(engine, claimed, "HTTP 500", DeliveryPolicy(max_attempts=1))
        finally:
            await engine.dispose()

    asyncio.run(dead_letter())
    command = [sys.executable, "-m", "delivery.redeliver", "--destination", "webhook"]
    environment = {**os.environ, DATABASE_URL_SETTING: pg_store_url}
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False,
                          cwd=REPO_ROOT, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (
        0, "1 outbox message due for delivery again"), done.stderr
    again = subprocess.run(command, env=environment, capture_output=True, text=True,
                           check=False, cwd=REPO_ROOT, timeout=60)
    assert again.stdout.strip() == "0 outbox messages due for delivery again"


class _Refusing:
    """A destination whose receiver always refuses."""

    name = "webhook"

    def __init__(self) -> None:
        self.attempts = 0

    async def deliver(self, message: OutboundMessage) -> None:
        self.attempts += 1
        raise DeliveryFailed("http://127.0.0.1:9/hooks answered HTTP 503")


async def test_the_dispatcher_dead_letters_after_its_last_attempt(engine: AsyncEngine) -> None:
    await append_events(engine, escalating_request().events, subscriptions=ESCALATIONS[1:])
    registry = CollectorRegistry()
    refusing = _Refusing()
    dispatcher = Dispatcher(engine, [refusing], metrics=OutboxMetrics(registry, ["webhook"]),
                            policy=DeliveryPolicy(max_attempts=3, initial_delay_seconds=0.01,
                                                  max_delay_seconds=0.01))
    while refusing.attempts < 3:
        if not await dispatcher.dispatch_once():
            await asyncio.sleep(0.01)  # the backoff: 10 ms
    assert await dispatcher.dispatch_once() == 0
    assert await depth(engine) == {("webhook", OUTBOX_DEAD): 1}

    def sample(name: str) -> float | None:
        return registry.get_sample_value(name, {"destination": "webhook"})

    assert sample("caseflow_outbox_delivery_failures_total") == 3
    assert sample("caseflow_outbox_dead_letters_total") == 1
    assert sample("caseflow_outbox_deliveries_total") == 0
