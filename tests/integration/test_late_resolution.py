"""Outage time before a resolution reaches the log does not eat the reopen window: a Resolved
held up by a database outage longer than the whole window leaves the request resolved, with
its window running from when it was written, and the customer's feedback is taken."""

import asyncio

from domain import commands as cmd
from domain.actors import Actor, ActorKind
from domain.catalog import Catalog
from domain.state import RequestStatus
from tests.integration.conftest import Caseflow
from tests.integration.requests import billing_dispute, patient
from tests.integration.test_store_faults import (
    database_refusing_connections,
    failing_store_activity,
)
from workflows import client as calls
from workflows.messages import RequestView

WINDOW_SECONDS = 2.0
OUTAGE_SECONDS = 4.0  # longer than the whole window


def short_window(catalog: Catalog) -> Catalog:
    calm = patient(catalog)
    return calm.model_copy(update={"policy": calm.policy.model_copy(
        update={"reopen_window_seconds": WINDOW_SECONDS})})


async def test_a_resolution_held_up_by_an_outage_keeps_its_whole_window(
        caseflow: Caseflow, pg_store_url: str) -> None:
    flow = caseflow
    catalog = short_window(flow.catalog)
    submission = billing_dispute(catalog)
    submitted = await calls.submit_request(flow.client, catalog, submission,
                                             task_queue=flow.task_queue)
    rid = submitted.request_id

    async def act(action: str, command: cmd.RequestCommand) -> RequestView:
        return await calls.act(flow.client, rid, action, command)

    triage = submitted.view.steps[0]
    await act("claim", cmd.Claim(actor=Actor(id=triage.owner_id), step_key=triage.step_key))
    view = submitted.view
    while active := [s for s in view.steps if s.status == "active"]:
        for step in active:
            view = await act("complete_step", cmd.CompleteStep(actor=Actor(id=step.owner_id),
                                                               step_key=step.step_key))

    async with database_refusing_connections(pg_store_url):
        resolving = asyncio.create_task(
            act("resolve", cmd.Resolve(actor=Actor(id=view.owner_id), summary="已退款")))
        await failing_store_activity(flow, rid)
        await asyncio.sleep(OUTAGE_SECONDS)  # the outage itself, not a synchronisation
    resolved = await asyncio.wait_for(resolving, timeout=90)

    assert resolved.status is RequestStatus.RESOLVED
    assert resolved.reopen_until is not None
    assert (resolved.reopen_until - resolved.as_of).total_seconds() >= WINDOW_SECONDS - 1
    closed = await act("customer_feedback", cmd.CustomerFeedback(
        actor=Actor(id=submission.customer.id, kind=ActorKind.CUSTOMER), accepted=True,
        satisfaction=5))
    assert closed.status is RequestStatus.CLOSED
