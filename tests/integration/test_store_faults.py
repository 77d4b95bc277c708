"""The event store failing under the workflow: a database that refuses connections in the middle
of an action (the update waits, the append activity retries with backoff, and once the database
is back every event is in the log exactly once and counted once), and an append delivered again
after a crash between the commit and the activity's completion (nothing appended or counted
twice)."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg  # type: ignore[import-untyped]
from prometheus_client import CollectorRegistry
from sqlalchemy import select
from sqlalchemy.engine import make_url
from temporalio.api.workflow.v1 import PendingActivityInfo

from activities.contracts import APPEND_EVENTS, CHOOSE_ASSIGNEES, AppendInput
from activities.store import StoreActivities
from domain import commands as cmd
from domain.actors import Actor
from domain.labels import RequestLabels
from domain.request import workflow_id_for
from eventstore.engine import create_engine
from kpi.metrics import CaseflowMetrics
from schema.tables import events, requests
from tests.integration.conftest import Caseflow
from tests.integration.event_factory import RequestLog
from tests.integration.requests import billing_dispute, patient
from workflows import client as calls

APPENDED = "caseflow_events_appended"


def counted(registry: CollectorRegistry) -> Counter[str]:
    """caseflow_events_appended_total by event type (types never appended left out)."""
    found: Counter[str] = Counter()
    for metric in registry.collect():
        if metric.name == APPENDED:
            for sample in metric.samples:
                if sample.name == f"{APPENDED}_total" and sample.value:
                    found[sample.labels["event_type"]] += int(sample.value)
    return found


def all_samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]],
                                                    float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for metric in registry.collect() for s in metric.samples
            if not s.name.endswith("_created")}


@asynccontextmanager
async def database_refusing_connections(url: str) -> AsyncIterator[None]:
    """The database of ``url`` refuses every connection (its open ones are terminated) until
    the block ends; through an admin connection to the cluster's ``postgres`` database."""
    parsed = make_url(url)
    name = parsed.database
    admin = await asyncpg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                                  password=parsed.password, database="postgres")
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = $1 AND pid <> pg_backend_pid()", name)
        try:
            yield
        finally:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    finally:
        await admin.close()


async def failing_store_activity(flow: Caseflow, request_id: str, *, attempt: int = 2,
                                 within: float = 15.0) -> PendingActivityInfo:
    """The request's first activity on the store (staffing, then the append) once it has
    failed ``attempt - 1`` times."""
    handle = flow.client.get_workflow_handle(workflow_id_for(request_id))
    deadline = asyncio.get_running_loop().time() + within
    while True:
        description = await handle.describe()
        for pending in description.raw_description.pending_activities:
            if (pending.activity_type.name in (CHOOSE_ASSIGNEES, APPEND_EVENTS)
                    and pending.attempt >= attempt):
                return pending
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no failing store activity after {within} s: "
                                 f"{description.raw_description.pending_activities}")
        await asyncio.sleep(0.2)


async def test_an_action_waits_out_a_database_outage_and_is_logged_once(
        caseflow: Caseflow, pg_store_url: str) -> None:
    flow = caseflow
    submitted = await calls.submit_request(flow.client, patient(flow.catalog),
                                             billing_dispute(flow.catalog),
                                             task_queue=flow.task_queue)
    rid = submitted.request_id
    triage = submitted.view.steps[0]
    owner = Actor(id=triage.owner_id)
    view = await calls.act(flow.client, rid, "claim", cmd.Claim(actor=owner,
                                                                  step_key=triage.step_key))
    sequence_before = view.sequence

    async with database_refusing_connections(pg_store_url):
        # Completing triage staffs the investigation (which reads the store), then appends
        # step_completed and the two step_started events: all of it during the outage.
        completing = asyncio.create_task(calls.act(
            flow.client, rid, "complete_step",
            cmd.CompleteStep(actor=owner, step_key=triage.step_key, outcome="转财务与技术调查")))
        pending = await failing_store_activity(flow, rid)
        # Failure texts are sealed like payloads: the server holds none; an operator reads the
        # reason through the data converter (or the codec server). The server may replace an
        # oversized failure's message; the reason is in the chain.
        assert pending.last_failure.message == "Encoded failure"
        assert 'type: "StoreUnavailable"' in str(pending.last_failure)
        error: BaseException | None = await flow.client.data_converter.decode_failure(
            pending.last_failure)
        reasons = []
        while error is not None:
            reasons.append(str(error))
            error = error.__cause__
        assert "not currently accepting connections" in " ".join(reasons), reasons
        # Retried and failed again, and the caller is still waiting.
        await failing_store_activity(flow, rid, attempt=pending.attempt + 1)
        assert not completing.done(), "the update waits while the store is down"
        during = await calls.request_status(flow.client, rid)
        assert during.sequence == sequence_before, "nothing is applied before it is written"

    view = await asyncio.wait_for(completing, timeout=90)
    assert view.request_id == rid
    active = sorted(s.department_id for s in view.steps if s.status == "active")
    assert active == ["finance", "technical_support"]
    assert view.sequence == sequence_before + 3

    async with flow.engine.connect() as conn:
        logged = (await conn.execute(select(events.c.sequence, events.c.event_type)
                                     .where(events.c.request_id == rid)
                                     .order_by(events.c.sequence))).all()
        projected = (await conn.execute(select(requests.c.last_sequence, requests.c.status)
                                        .where(requests.c.request_id == rid))).one()
    sequences = [row.sequence for row in logged]
    assert sequences == list(range(1, view.sequence + 1)), "every event once, contiguous"
    tail = [row.event_type for row in logged[sequence_before:]]
    assert tail == ["step_completed", "step_started", "step_started"]
    assert tuple(projected) == (view.sequence, "in_progress")

    by_type = Counter(row.event_type for row in logged)
    assert counted(flow.registry) == by_type, "the metrics counted each appended event once"
    assert flow.metric(f"{APPENDED}_total", {"event_type": "step_completed"}) == 1


async def test_a_batch_delivered_again_is_neither_appended_nor_counted_twice(
        pg_store_url: str) -> None:
    engine = create_engine(pg_store_url)
    registry = CollectorRegistry()
    store = StoreActivities(engine, CaseflowMetrics(registry))
    log = RequestLog()
    log.submitted()
    log.assigned("wang.fang")
    log.step_started("verify.1", "service", "wang.fang")
    log.claimed("wang.fang", "service", "verify.1", first_response=True)
    labels = RequestLabels(channel="phone", request_type="billing_dispute", tier="key",
                           priority="P2", owner_department="service")
    batch = AppendInput(events=log.events, labels=labels)
    try:
        first = await store.append(batch)
        assert (first.appended, first.duplicates) == (4, 0)
        after_first = all_samples(registry)
        assert counted(registry) == Counter(
            {"submitted": 1, "assigned": 1, "step_started": 1, "claimed": 1})

        # The worker crashed after the commit, before the activity completed: Temporal runs the
        # same activity again with the same batch.
        again = await store.append(batch)
        assert (again.appended, again.duplicates) == (0, 4)
        assert all_samples(registry) == after_first, "no metric moved on the redelivery"

        # A retry whose batch grew by one (the workflow's next commit) appends only the new one.
        log.step_completed("verify.1", "service", "wang.fang", started_at=log.events[2].occurred_at,
                           wall_seconds=600, business_seconds=600)
        grown = await store.append(AppendInput(events=log.events, labels=labels))
        assert (grown.appended, grown.duplicates) == (1, 4)
        assert counted(registry) == Counter(
            {"submitted": 1, "assigned": 1, "step_started": 1, "claimed": 1,
             "step_completed": 1})

        async with engine.connect() as conn:
            sequences = (await conn.scalars(select(events.c.sequence)
                                            .where(events.c.request_id == log.request_id)
                                            .order_by(events.c.sequence))).all()
        assert list(sequences) == [1, 2, 3, 4, 5]
    finally:
        await engine.dispose()
