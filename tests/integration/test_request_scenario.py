"""Issue 3's scenario on the real Temporal dev server with second-scale SLA targets: a billing
dispute crosses three departments (investigation fans out to finance and technical support),
breaches in step 2, escalates to the owner, the supervisor (who is given the step by automatic
reassignment) and the head, is resolved, rejected by the customer, reopened and closed."""

from collections import Counter

from sqlalchemy import select

from domain import commands as cmd
from domain.actors import Actor, ActorKind
from domain.state import RequestStatus
from eventstore.personal import PersonalData
from eventstore.timeline import request_timeline
from schema.tables import events
from tests.integration.conftest import Caseflow
from tests.integration.requests import billing_dispute, eventually
from workflows import client as calls
from workflows.messages import RequestView


async def _payloads(flow: Caseflow, request_id: str) -> list[tuple[str, dict[str, object]]]:
    async with flow.engine.connect() as conn:
        rows = (await conn.execute(select(events).where(events.c.request_id == request_id)
                                   .order_by(events.c.sequence))).all()
        personal = PersonalData(conn)
        opened = [await personal.event_of(row) for row in rows]
    assert [r.sequence for r in rows] == list(range(1, len(rows) + 1)), "gapless log"
    return [(e.event_type.value, e.payload.model_dump(mode="json")) for e in opened]


async def test_breach_escalation_reassignment_rejection_reopen_close(caseflow: Caseflow) -> None:
    flow = caseflow
    submission = billing_dispute(flow.catalog, subject="十月账单重复扣费")
    submitted = await calls.submit_request(flow.client, flow.catalog, submission,
                                             task_queue=flow.task_queue)
    rid = submitted.request_id
    customer = Actor(id=submission.customer.id, kind=ActorKind.CUSTOMER)

    async def act(action: str, command: cmd.RequestCommand) -> RequestView:
        return await calls.act(flow.client, rid, action, command)

    async def status() -> RequestView:
        return await calls.request_status(flow.client, rid)

    # Step 1: customer service triages at once (the first response).
    triage = submitted.view.steps[0]
    assert triage.department_id == "customer_service"
    await act("claim", cmd.Claim(actor=Actor(id=triage.owner_id), step_key=triage.step_key))
    view = await act("complete_step", cmd.CompleteStep(actor=Actor(id=triage.owner_id),
                                                       step_key=triage.step_key))

    # Step 2 fans out; technical support finishes, finance lets its 4 s target pass.
    investigate = {s.department_id: s for s in view.steps if s.status == "active"}
    assert set(investigate) == {"finance", "technical_support"}
    tech = investigate["technical_support"]
    await act("complete_step", cmd.CompleteStep(actor=Actor(id=tech.owner_id),
                                                step_key=tech.step_key))
    finance = investigate["finance"]
    first_owner = finance.owner_id
    clock_id = f"step:{finance.step_key}"
    view = await eventually(status, lambda v: any(
        b.clock_id == clock_id and b.level == 3 for b in v.breaches),
        within=40, what="the finance step's breach to reach the department head")

    supervisor = flow.catalog.departments["finance"].supervisor_id
    head = flow.catalog.departments["finance"].head_id
    step_now = next(s for s in view.steps if s.step_key == finance.step_key)
    assert step_now.owner_id != first_owner, "reassigned automatically at the supervisor level"
    # The head acknowledges; the reassigned accountant completes the step.
    await act("acknowledge_escalation", cmd.AcknowledgeEscalation(actor=Actor(id=head),
                                                                  clock_id=clock_id))
    view = await act("complete_step", cmd.CompleteStep(actor=Actor(id=step_now.owner_id),
                                                       step_key=finance.step_key))

    # Step 3 back in customer service, then resolution, rejection, reopen, and close.
    confirm = next(s for s in view.steps if s.status == "active")
    assert confirm.department_id == "customer_service"
    await act("complete_step", cmd.CompleteStep(actor=Actor(id=confirm.owner_id),
                                                step_key=confirm.step_key))
    view = await act("resolve", cmd.Resolve(actor=Actor(id=(await status()).owner_id),
                                            summary="已撤销重复扣费"))
    view = await act("customer_feedback", cmd.CustomerFeedback(
        actor=customer, accepted=False, satisfaction=2, comment="只退了一半"))
    assert view.status is RequestStatus.RESOLVED
    view = await act("reopen", cmd.Reopen(actor=customer, reason="只退了一半"))
    again = next(s for s in view.steps if s.status == "active")
    assert again.step_key == f"{confirm.step_key}.r2"
    await act("complete_step", cmd.CompleteStep(actor=Actor(id=again.owner_id),
                                                step_key=again.step_key))
    await act("resolve", cmd.Resolve(actor=Actor(id=(await status()).owner_id),
                                     summary="已补退剩余款项"))
    view = await act("customer_feedback", cmd.CustomerFeedback(
        actor=customer, accepted=True, satisfaction=4))
    assert view.status is RequestStatus.CLOSED
    result = await flow.client.get_workflow_handle(f"request-{rid}",
                                                   result_type=RequestView).result()
    assert result.status is RequestStatus.CLOSED

    # The log tells the whole story, each escalation level exactly once.
    logged = await _payloads(flow, rid)
    kinds = [k for k, _ in logged]
    ladder = [(p["level_name"], p["recipient_id"]) for k, p in logged
              if k == "escalated" and p["clock_id"] == clock_id]
    assert ladder == [("owner", first_owner), ("supervisor", supervisor), ("head", head)]
    assert [p["to_owner_id"] for k, p in logged if k == "reassigned"
            and p["step_key"] == finance.step_key and p["automatic"]] == [step_now.owner_id]
    assert [p["clock_id"] for k, p in logged if k == "sla_breached"].count(clock_id) == 1
    assert Counter(kinds)["resolved"] == 2
    for kind in ("resolution_rejected", "reopened", "escalation_acknowledged",
                 "resolution_confirmed"):
        assert Counter(kinds)[kind] == 1, kind
    assert kinds[-1] == "closed"

    # Metrics counted each appended event once.
    breaches = sum(1 for k in kinds if k == "sla_breached")
    counted = sum(flow.metric("caseflow_sla_breaches_total",
                              {"clock": c, "department": d, "priority": "P2"})
                  for c in ("step", "resolution", "first_response")
                  for d in flow.catalog.departments)
    assert counted == breaches
    assert flow.metric("caseflow_events_appended_total", {"event_type": "escalated"}) == \
        kinds.count("escalated")

    # The timeline answers: which steps, who handled each, how long each took.
    timeline = await request_timeline(flow.engine, rid)
    assert [(s.step_key, s.department_id) for s in timeline.steps] == [
        (triage.step_key, "customer_service"), (finance.step_key, "finance"),
        (tech.step_key, "technical_support"), (confirm.step_key, "customer_service"),
        (again.step_key, "customer_service")]
    finance_row = next(s for s in timeline.steps if s.step_key == finance.step_key)
    assert finance_row.owner_id == step_now.owner_id
    assert finance_row.breached
    assert finance_row.business_seconds is not None
    assert finance_row.business_seconds >= 4.0
    assert finance_row.reassign_count == 1
