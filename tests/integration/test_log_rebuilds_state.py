"""The log alone rebuilds a request: the plan is pinned by the first event and a department met
on a handoff by its own event, so ``rebuild`` of the stored events equals the workflow's state.
(Every scenario run through ``tests.integration.conftest.running`` is checked the same way when
it ends.)"""

import pytest

from domain import commands as cmd
from domain.actors import Actor
from domain.state import UnbuildableLog, rebuild
from eventstore.log import stored_events
from tests.integration.conftest import Caseflow
from tests.integration.event_factory import simple_request
from tests.integration.log_rebuild import assert_logs_rebuild_states
from tests.integration.requests import billing_dispute, patient
from workflows import client as calls


async def test_a_handoff_to_a_new_department_is_rebuilt_from_the_log(caseflow: Caseflow) -> None:
    flow = caseflow
    catalog = patient(flow.catalog)
    submitted = await calls.submit_request(flow.client, catalog, billing_dispute(catalog),
                                             task_queue=flow.task_queue)
    rid = submitted.request_id
    triage = submitted.view.steps[0]
    owner = Actor(id=triage.owner_id)
    await calls.act(flow.client, rid, "claim", cmd.Claim(actor=owner, step_key=triage.step_key))
    view = await calls.act(flow.client, rid, "complete_step",
                             cmd.CompleteStep(actor=owner, step_key=triage.step_key))
    finance = next(s for s in view.steps if s.department_id == "finance")
    assert "legal" not in submitted.view.model_dump_json()
    await calls.act(flow.client, rid, "hand_off", cmd.HandOff(
        actor=Actor(id=finance.owner_id), step_key=finance.step_key, to_department_id="legal",
        role="specialist", reason="涉及合同条款"))

    assert await assert_logs_rebuild_states(flow.client, flow.engine, flow.task_queue) == 1
    log = await stored_events(flow.engine, rid, 1, 100)
    assert [e.event_type for e in log[-2:]] == ["department_pinned", "handed_off"]
    rebuilt = rebuild(log)
    assert "legal" in rebuilt.plan.departments
    assert rebuilt.steps[finance.step_key].department_id == "legal"


def test_a_log_that_does_not_begin_with_its_plan_rebuilds_nothing() -> None:
    with pytest.raises(UnbuildableLog, match="begins with submitted #1, not plan_pinned #1"):
        rebuild(simple_request(3).events)
    with pytest.raises(UnbuildableLog, match="empty"):
        rebuild([])
