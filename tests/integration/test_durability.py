"""Durability of the request workflow: continue-as-new carries the whole state, and a worker
restart in the middle of an escalation ladder neither loses nor repeats a level."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from domain import commands as cmd
from domain.actors import Actor, ActorKind
from domain.catalog import Catalog
from domain.request import workflow_id_for
from domain.state import RequestStatus
from runtime.converter import DATA_CONVERTER
from schema.tables import events
from stack.temporal_server import start_dev_server
from tests.integration.conftest import Caseflow, running
from tests.integration.requests import billing_dispute, eventually, patient
from workflows import client as calls
from workflows.messages import RequestView


@pytest.fixture
async def eager_continue_as_new(tmp_path: Path) -> AsyncIterator[WorkflowEnvironment]:
    """A dev server that suggests continue-as-new once a history passes 60 events."""
    env = await start_dev_server(data_converter=DATA_CONVERTER, dynamic_config={
        "limit.historyCount.suggestContinueAsNew": "60"})
    try:
        yield env
    finally:
        await env.shutdown()


async def _log(flow: Caseflow, request_id: str) -> list[str]:
    async with flow.engine.connect() as conn:
        rows = (await conn.execute(select(events.c.sequence, events.c.event_type)
                                   .where(events.c.request_id == request_id)
                                   .order_by(events.c.sequence))).all()
    assert [r.sequence for r in rows] == list(range(1, len(rows) + 1))
    return [r.event_type for r in rows]


async def test_continue_as_new_carries_the_whole_state(
        eager_continue_as_new: WorkflowEnvironment, sqlite_url: str,
        fast_catalog: Catalog) -> None:
    from eventstore.migrate import upgrade

    await upgrade(sqlite_url)
    # Patient targets: no timer writes between the status read and the log read below.
    async with running(eager_continue_as_new, sqlite_url, patient(fast_catalog)) as flow:
        submission = billing_dispute(flow.catalog)
        submitted = await calls.submit_request(flow.client, flow.catalog, submission,
                                                 task_queue=flow.task_queue)
        rid = submitted.request_id
        handle = flow.client.get_workflow_handle(workflow_id_for(rid))
        first_run = (await handle.describe()).run_id
        triage = submitted.view.steps[0]
        owner = Actor(id=triage.owner_id)
        await calls.act(flow.client, rid, "claim",
                          cmd.Claim(actor=owner, step_key=triage.step_key))
        for n in range(25):
            await calls.act(flow.client, rid, "add_note",
                              cmd.AddNote(actor=owner, text=f"第{n + 1}次跟进"))
        described = await calls.request_status(flow.client, rid)
        assert (await handle.describe()).run_id != first_run, "continued as new"
        assert described.sequence == len(await _log(flow, rid))
        assert [s.step_key for s in described.steps] == [triage.step_key]
        # The new run goes on from the same state to the end.
        view = await calls.act(flow.client, rid, "complete_step",
                                 cmd.CompleteStep(actor=owner, step_key=triage.step_key))
        while active := [s for s in view.steps if s.status == "active"]:
            for step in active:
                view = await calls.act(flow.client, rid, "complete_step", cmd.CompleteStep(
                    actor=Actor(id=step.owner_id), step_key=step.step_key))
        await calls.act(flow.client, rid, "resolve",
                          cmd.Resolve(actor=Actor(id=view.owner_id), summary="完成"))
        view = await calls.act(flow.client, rid, "customer_feedback", cmd.CustomerFeedback(
            actor=Actor(id=submission.customer.id, kind=ActorKind.CUSTOMER), accepted=True,
            satisfaction=5))
        assert view.status is RequestStatus.CLOSED
        logged = await _log(flow, rid)
        assert logged.count("note_added") == 25
        assert logged.count("submitted") == 1


async def _timer_fired_with_no_worker(env: WorkflowEnvironment, request_id: str, *,
                                      within: float = 30.0) -> None:
    """Waits until one of the request's timers fires after its last completed workflow task:
    work fell due that no worker has taken yet."""
    handle = env.client.get_workflow_handle(workflow_id_for(request_id))
    deadline = asyncio.get_running_loop().time() + within
    while True:
        kinds = [event.event_type async for event in handle.fetch_history_events()]
        last_task = max(index for index, kind in enumerate(kinds)
                        if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        if EventType.EVENT_TYPE_TIMER_FIRED in kinds[last_task + 1:]:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no timer fired within {within} s of the worker stopping")
        await asyncio.sleep(0.2)


async def test_a_worker_restart_mid_ladder_escalates_each_level_once(
        temporal_env: WorkflowEnvironment, pg_store_url: str, fast_catalog: Catalog) -> None:
    task_queue = f"caseflow-restart-{uuid.uuid4().hex[:8]}"
    request_id = ""
    clock_id = ""
    async with running(temporal_env, pg_store_url, fast_catalog, task_queue=task_queue) as flow:
        submitted = await calls.submit_request(flow.client, flow.catalog,
                                                 billing_dispute(flow.catalog),
                                                 task_queue=flow.task_queue)
        request_id = submitted.request_id
        triage = submitted.view.steps[0]
        clock_id = f"step:{triage.step_key}"
        await eventually(lambda: calls.request_status(flow.client, request_id),
                         lambda v: any(b.clock_id == clock_id and b.level >= 1
                                       for b in v.breaches), what="the owner escalation")
    # No worker runs while the supervisor's level falls due (2 s after the breach); a new one
    # replays the history, catches up and goes on.
    await _timer_fired_with_no_worker(temporal_env, request_id)
    async with running(temporal_env, pg_store_url, fast_catalog, task_queue=task_queue) as flow:
        view: RequestView = await eventually(
            lambda: calls.request_status(flow.client, request_id),
            lambda v: any(b.clock_id == clock_id and b.level == 3 for b in v.breaches),
            within=40, what="the head escalation after the restart")
        async with flow.engine.connect() as conn:
            rows = (await conn.execute(select(events.c.payload).where(
                events.c.request_id == request_id, events.c.event_type == "escalated"))).all()
        ladder = [r.payload["level"] for r in rows if r.payload["clock_id"] == clock_id]
        assert ladder == [1, 2, 3]
        assert view.status is not RequestStatus.CLOSED
