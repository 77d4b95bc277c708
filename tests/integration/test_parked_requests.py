"""A request whose log disagrees with its workflow is parked for an operator, never failed: the
store answers each append with what it holds, the workflow checks it before applying, and a
conflict on the submission or the timer path leaves a live workflow that says why it is
parked, refuses commands and is counted in ``caseflow_requests_parked_total``."""

import random
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowExecutionStatus

from domain import commands as cmd
from domain.actors import Actor
from domain.events import NoteAdded
from domain.log_digest import log_digest
from domain.request import request_id_for, workflow_id_for
from eventstore.append import append_events
from eventstore.log import stored_events
from eventstore.parked import record_parked
from eventstore.queues import Filters, Queue, Viewer, queue_page
from eventstore.rebuild import rebuild_projections
from tests.integration.conftest import Caseflow
from tests.integration.event_factory import RequestLog, random_lifecycle, staff
from tests.integration.requests import billing_dispute, eventually, patient
from workflows import client as calls
from workflows.messages import RequestView

PARKED = "caseflow_requests_parked_total"


async def test_what_the_store_holds_has_the_digest_of_what_was_built(
        engine: AsyncEngine) -> None:
    built = random_lifecycle(random.Random(9)).events
    await append_events(engine, built)
    stored = await stored_events(engine, built[0].request_id, 1, len(built))
    assert log_digest(stored) == log_digest(built)
    assert log_digest(stored[:-1]) != log_digest(built)


async def test_a_key_whose_request_id_already_has_a_log_parks_the_new_request(
        caseflow: Caseflow) -> None:
    """E.g. a key submitted again after Temporal's retention dropped the first workflow."""
    flow = caseflow
    catalog = patient(flow.catalog)
    submission = billing_dispute(catalog, key=f"K-{uuid.uuid4().hex[:8]}")
    rid = request_id_for(submission.idempotency_key)
    earlier = RequestLog(request_id=rid)
    earlier.submitted()
    earlier.assigned("wang.fang")
    await append_events(flow.engine, earlier.events)

    with pytest.raises(calls.ActionRefused, match="parked for an operator"):
        await calls.submit_request(flow.client, catalog, submission, task_queue=flow.task_queue)

    handle = flow.client.get_workflow_handle(workflow_id_for(rid))
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
    view = await calls.request_status(flow.client, rid)
    assert view.parked is not None
    assert "sequence 1 is already in the log" in view.parked
    assert view.sequence == 0
    assert flow.metric(PARKED, {"reason": "refused"}) == 1
    await _shown_parked_in_queues(flow, rid, "service", "refused", "sequence 1")
    with pytest.raises(calls.ActionRefused, match="parked for an operator"):
        await calls.act(flow.client, rid, "add_note",
                        cmd.AddNote(actor=Actor(id="wang.fang"), text="还在吗"))
    # The earlier log is left as it was.
    assert log_digest(await stored_events(flow.engine, rid, 1, 10)) == log_digest(earlier.events)


async def test_a_conflict_on_the_timer_path_parks_the_request(caseflow: Caseflow) -> None:
    flow = caseflow
    submitted = await calls.submit_request(flow.client, flow.catalog,
                                             billing_dispute(flow.catalog),
                                             task_queue=flow.task_queue)
    rid = submitted.request_id
    # Someone else writes the request's next sequence: the next timer's events conflict.
    intruder = RequestLog(request_id=rid, sequence=submitted.view.sequence)
    intruder.add(NoteAdded(text="外部写入"), staff("wang.fang", "customer_service"))
    await append_events(flow.engine, intruder.events)

    async def status() -> RequestView:
        return await calls.request_status(flow.client, rid)

    view = await eventually(status, lambda v: v.parked is not None, what="the request parked")
    assert view.parked is not None
    assert f"sequence {intruder.sequence}" in view.parked
    assert view.sequence == submitted.view.sequence
    handle = flow.client.get_workflow_handle(workflow_id_for(rid))
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
    assert flow.metric(PARKED, {"reason": "refused"}) == 1
    await _shown_parked_in_queues(flow, rid, view.owner_department_id, "refused",
                                  f"sequence {intruder.sequence}")


async def _shown_parked_in_queues(flow: Caseflow, rid: str, department: str, reason: str,
                                  quoted: str) -> None:
    """The operators' queues show the request parked, with why, and so they do after a
    rebuild of the projections (the fact is not projected from the log that disagrees)."""
    viewer = Viewer(person_id="operator", roles_by_department={department: frozenset()})
    for rebuilt in (False, True):
        if rebuilt:
            await rebuild_projections(flow.engine)
        page = await queue_page(flow.engine, Queue.PARKED, viewer, Filters(), limit=50)
        [item] = [item for item in page.items if item.request_id == rid]
        assert item.parked_reason == reason
        assert item.parked_detail is not None
        assert quoted in item.parked_detail


async def test_a_request_parked_again_keeps_its_first_reason(engine: AsyncEngine) -> None:
    """A redelivered park records nothing new; a request never parked shows no flag."""
    subject = f"停放测试{uuid.uuid4().hex[:8]}"
    parked, fine = (RequestLog(request_id=f"R-{uuid.uuid4().hex[:12]}") for _ in range(2))
    for log in (parked, fine):
        log.submitted(subject=subject)
        await append_events(engine, log.events)
    assert await record_parked(engine, parked.request_id, reason="refused",
                               detail="sequence 3 is taken")
    assert not await record_parked(engine, parked.request_id, reason="digest_mismatch",
                                   detail="other")
    viewer = Viewer(person_id="operator", roles_by_department={"service": frozenset()})
    shown = await queue_page(engine, Queue.DEPARTMENT, viewer, Filters(text=subject), limit=10)
    assert {item.request_id: (item.parked_reason, item.parked_detail)
            for item in shown.items} == {parked.request_id: ("refused", "sequence 3 is taken"),
                                         fine.request_id: (None, None)}
    only_parked = await queue_page(engine, Queue.PARKED, viewer, Filters(text=subject),
                                   limit=10)
    assert [item.request_id for item in only_parked.items] == [parked.request_id]
