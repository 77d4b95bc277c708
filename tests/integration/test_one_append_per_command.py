"""A command is written whole: the people it needs are chosen first, then one append writes all
its events, so nothing (a validator, a query, a crash) ever sees half a command applied."""

from sqlalchemy import select
from temporalio.api.enums.v1 import EventType

from domain import commands as cmd
from domain.actors import Actor
from domain.request import workflow_id_for
from schema.tables import events
from tests.integration.conftest import Caseflow
from tests.integration.requests import billing_dispute, patient
from workflows import client as calls


async def test_staffing_comes_first_and_each_command_is_one_append(caseflow: Caseflow) -> None:
    flow = caseflow
    catalog = patient(flow.catalog)
    submitted = await calls.submit_request(flow.client, catalog, billing_dispute(catalog),
                                             task_queue=flow.task_queue)
    rid = submitted.request_id
    triage = submitted.view.steps[0]
    owner = Actor(id=triage.owner_id)
    await calls.act(flow.client, rid, "claim", cmd.Claim(actor=owner, step_key=triage.step_key))
    await calls.act(flow.client, rid, "complete_step",
                      cmd.CompleteStep(actor=owner, step_key=triage.step_key))

    history = await flow.client.get_workflow_handle(workflow_id_for(rid)).fetch_history()
    scheduled = [e.activity_task_scheduled_event_attributes.activity_type.name
                 for e in history.events
                 if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]
    assert scheduled == [
        "choose_assignees", "append_events",   # submission: owner and triage, then one append
        "append_events",                       # claim
        "choose_assignees", "append_events",   # complete triage: the fan-out's owners first
    ]

    async with flow.engine.connect() as conn:
        rows = (await conn.execute(select(events.c.sequence, events.c.event_type,
                                          events.c.occurred_at)
                                   .where(events.c.request_id == rid)
                                   .order_by(events.c.sequence))).all()
    assert [r.event_type for r in rows] == [
        "plan_pinned", "submitted", "assigned", "step_started", "claimed",
        "step_completed", "step_started", "step_started"]
    # One append per command: its events share the instant it was decided at.
    assert len({r.occurred_at for r in rows[:4]}) == 1
    assert len({r.occurred_at for r in rows[5:]}) == 1
