"""Issue 2's first slice: submit, a named owner, events in PostgreSQL, the status query, closed,
and the submitted counter on /metrics."""

import asyncio
import urllib.request

from prometheus_client import start_http_server
from sqlalchemy import select

from domain import commands as cmd
from domain.actors import Actor, ActorKind
from domain.state import RequestStatus
from schema.tables import events, requests
from stack.ports import free_port
from tests.integration.conftest import Caseflow
from tests.integration.requests import billing_dispute
from workflows import client as calls
from workflows.messages import RequestView


async def test_a_request_from_submission_to_close(caseflow_on_each_store: Caseflow) -> None:
    flow = caseflow_on_each_store
    submission = billing_dispute(flow.catalog)
    submitted = await calls.submit_request(flow.client, flow.catalog, submission,
                                             task_queue=flow.task_queue)
    view = submitted.view
    assert view.owner_id, "a request has a named owner from the start"
    assert view.status is RequestStatus.OPEN

    rid = submitted.request_id
    while active := [s for s in view.steps if s.status == "active"]:
        for step in active:
            owner = Actor(id=step.owner_id)
            await calls.act(flow.client, rid, "claim", cmd.Claim(actor=owner,
                                                                    step_key=step.step_key))
            view = await calls.act(flow.client, rid, "complete_step", cmd.CompleteStep(
                actor=owner, step_key=step.step_key))
    await calls.act(flow.client, rid, "resolve", cmd.Resolve(actor=Actor(id=view.owner_id),
                                                               summary="已退款"))
    view = await calls.act(flow.client, rid, "customer_feedback", cmd.CustomerFeedback(
        actor=Actor(id=submission.customer.id, kind=ActorKind.CUSTOMER), accepted=True,
        satisfaction=5))
    assert view.status is RequestStatus.CLOSED
    result = await flow.client.get_workflow_handle(f"request-{rid}",
                                                   result_type=RequestView).result()
    assert result.status == RequestStatus.CLOSED

    async with flow.engine.connect() as conn:
        logged = (await conn.execute(select(events.c.sequence, events.c.event_type)
                                     .where(events.c.request_id == rid)
                                     .order_by(events.c.sequence))).all()
        row = (await conn.execute(select(requests).where(requests.c.request_id == rid))).one()
    assert [s for s, _ in logged] == list(range(1, len(logged) + 1))
    assert [e.event_type for e in logged[:2]] == ["plan_pinned", "submitted"]
    assert logged[-1].event_type == "closed"
    assert (row.status, row.owner_id, row.satisfaction) == ("closed", view.owner_id, 5)

    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=flow.registry)
    try:
        exposition = await asyncio.to_thread(
            lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read())
    finally:
        server.shutdown()
        thread.join()
    line = ('caseflow_requests_submitted_total{channel="phone",request_type="billing_dispute",'
            'tier="key"} 1.0')
    assert line in exposition.decode()
