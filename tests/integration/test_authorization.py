"""Refusals on a live request: every update action taken by someone without the right, invalid
transitions, unknown steps and departments, and malformed payloads are refused with a message
that says why, and leave the request (its status view and its log in the store) unchanged.

Each test drives one request to a stage and runs a table of refusals against it; a failing case
is reported by name with the others still checked. The request's SLA targets are an hour long
(only the first response, in the first test, breaches at once, so that an escalation exists),
so no timer changes the request while the table runs."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain import commands as cmd
from domain.actors import Actor, ActorKind
from domain.catalog import Catalog
from domain.request import Priority, workflow_id_for
from domain.state import RequestStatus
from schema.tables import events
from tests.integration.conftest import Caseflow
from tests.integration.requests import billing_dispute, eventually, patient
from workflows import client as calls
from workflows.entry import INVALID_INPUT
from workflows.messages import RequestView

CUSTOMER_ID = "CUST-0086"
OTHER_CUSTOMER = Actor(id="CUST-0999", kind=ActorKind.CUSTOMER)
CUSTOMER = Actor(id=CUSTOMER_ID, kind=ActorKind.CUSTOMER)
# From tests/fixtures/config_fast/organisation.toml, the roster pinned on the request.
LEGAL_SPECIALIST, LEGAL_SUPERVISOR, LEGAL_HEAD = "han.mei", "feng.qian", "yu.wenbo"
SERVICE_SUPERVISOR = "zhou.min"
FINANCE_SUPERVISOR = "zheng.li"
TECH_SUPERVISOR = "huang.lei"
KNOWN_DEPARTMENTS = "customer_service, finance, legal, technical_support"

# The rights matrix (README "Who may do what"), as the refusals name it.
OWNER_SIDE = "only the head, request owner, supervisor may"
STEP_SIDE = "only the head, step owner, supervisor may"
LEADERS = "only the head, supervisor may"
CLAIMERS = "only the request owner, step owner may"
NOTE_TAKERS = "only the head, participant, request owner, step owner, supervisor may"
FEEDBACK_GIVERS = "only the customer, request owner may"
REOPENERS = "only the customer, head, request owner, supervisor may"
REPLY_RECORDERS = "only the customer, request owner, step owner may"




def causes(error: BaseException) -> list[tuple[str | None, str]]:
    """The (type, message) of every ApplicationError in a failed update's cause chain."""
    found: list[tuple[str | None, str]] = []
    cause = error.__cause__ if isinstance(error, WorkflowUpdateFailedError) else error
    while cause is not None:
        if isinstance(cause, ApplicationError):
            found.append((cause.type, " ".join(cause.message.split())))
        cause = cause.__cause__
    return found


@dataclass(frozen=True)
class Case:
    name: str
    action: str
    command: cmd.RequestCommand
    fragments: tuple[str, ...]


def case(name: str, action: str, command: cmd.RequestCommand, *fragments: str) -> Case:
    return Case(name, action, command, fragments)


def staff(person_id: str) -> Actor:
    return Actor(id=person_id)


def snapshot(view: RequestView) -> dict[str, Any]:
    """What a refusal must not change: sequence, status, priority, owners, steps, breaches."""
    return {
        "sequence": view.sequence, "status": view.status, "priority": view.priority,
        "owner": view.owner_id, "owner_department": view.owner_department_id,
        "steps": [(s.step_key, s.department_id, s.owner_id, s.status, s.claimed_at, s.ended_at)
                  for s in view.steps],
        "breaches": [b.model_dump() for b in view.breaches],
        "reopen_until": view.reopen_until, "satisfaction": view.satisfaction,
    }


@dataclass
class LiveRequest:
    flow: Caseflow
    request_id: str

    async def status(self) -> RequestView:
        return await calls.request_status(self.flow.client, self.request_id)

    async def act(self, action: str, command: cmd.RequestCommand) -> RequestView:
        return await calls.act(self.flow.client, self.request_id, action, command)

    async def logged(self) -> int:
        async with self.flow.engine.connect() as conn:
            count = await conn.scalar(select(func.count()).select_from(events)
                                      .where(events.c.request_id == self.request_id))
        return int(count or 0)

    async def state(self) -> tuple[dict[str, Any], int]:
        return snapshot(await self.status()), await self.logged()

    async def unchanged_after(self, name: str, attempt: Callable[[], Awaitable[object]],
                              before: tuple[dict[str, Any], int]) -> list[str]:
        """Runs ``attempt`` (which must fail); problems found, each naming the case."""
        await attempt()
        problems: list[str] = []
        view, logged = await self.state()
        if view != before[0]:
            problems.append(f"{name}: the status view changed:\n  before {before[0]}\n"
                            f"  after  {view}")
        if logged != before[1]:
            problems.append(f"{name}: the log grew from {before[1]} to {logged} events")
        return problems

    async def refuse_all(self, cases: list[Case]) -> None:
        """Every case is refused with its fragments in the message and changes nothing."""
        names = [c.name for c in cases]
        assert len(set(names)) == len(names), "case names are unique"
        problems: list[str] = []
        for each in cases:
            before = await self.state()
            message: list[str] = []

            async def attempt(each: Case = each, message: list[str] = message) -> None:
                try:
                    await self.act(each.action, each.command)
                except calls.ActionRefused as refused:
                    message.append(str(refused))

            problems += await self.unchanged_after(each.name, attempt, before)
            if not message:
                problems.append(f"{each.name}: {each.action} by {each.command.actor.id} was "
                                "not refused")
                continue
            missing = [f for f in each.fragments if f not in message[0]]
            if missing:
                problems.append(f"{each.name}: refusal {message[0]!r} lacks {missing}")
        assert not problems, (f"{len(problems)} of {len(cases)} cases failed:\n"
                              + "\n".join(problems))


@dataclass(frozen=True)
class AtInvestigate:
    """A request whose investigation fans out to finance and technical support."""

    request: LiveRequest
    owner: str
    other_agent: str
    triage: str
    finance: str
    tech: str
    finance_step: str
    tech_step: str


async def at_investigate(flow: Caseflow, catalog: Catalog, *,
                         breach_first_response: bool = False) -> AtInvestigate:
    submitted = await calls.submit_request(
        flow.client, catalog, billing_dispute(flow.catalog, customer_id=CUSTOMER_ID),
        task_queue=flow.task_queue)
    request = LiveRequest(flow, submitted.request_id)
    owner = submitted.view.owner_id
    if breach_first_response:
        await eventually(request.status, lambda v: any(
            b.clock_id == "first_response" and b.level >= 1 for b in v.breaches),
            within=20, what="the first response to breach and escalate to the owner")
    triage = submitted.view.steps[0]
    await request.act("claim", cmd.Claim(actor=staff(triage.owner_id),
                                         step_key=triage.step_key))
    view = await request.act("complete_step", cmd.CompleteStep(actor=staff(triage.owner_id),
                                                               step_key=triage.step_key))
    active = {s.department_id: s for s in view.steps if s.status == "active"}
    assert set(active) == {"finance", "technical_support"}, view.steps
    finance, tech = active["finance"], active["technical_support"]
    await request.act("claim", cmd.Claim(actor=staff(tech.owner_id), step_key=tech.step_key))
    agents = [m.id for m in flow.catalog.departments["customer_service"].with_role("agent")]
    other_agent = next(a for a in agents if a != owner)
    return AtInvestigate(request=request, owner=owner, other_agent=other_agent,
                         triage=triage.step_key, finance=finance.owner_id, tech=tech.owner_id,
                         finance_step=finance.step_key, tech_step=tech.step_key)


async def test_refusals_at_the_investigate_stage(caseflow: Caseflow) -> None:
    at = await at_investigate(caseflow, patient(caseflow.catalog, first_response=1.0),
                              breach_first_response=True)
    rid = at.request.request_id
    fin, tech, owner = at.finance, at.tech, at.owner
    fin_step, tech_step = at.finance_step, at.tech_step
    view = await at.request.status()
    assert view.status is RequestStatus.IN_PROGRESS
    assert [b.recipient_id for b in view.breaches if b.clock_id == "first_response"] == [owner]

    def denied(actor: str, verb: str, rule: str) -> tuple[str, ...]:
        return (f"{actor} may not {verb}", f"request {rid}", rule)

    cases = [
        # Rights: someone without the right, for every update action.
        case("claim: step owner of the other branch", "claim",
             cmd.Claim(actor=staff(tech), step_key=fin_step),
             *denied(tech, f"claim step {fin_step}", CLAIMERS)),
        case("claim: a step owner posing as the customer", "claim",
             cmd.Claim(actor=Actor(id=fin, kind=ActorKind.CUSTOMER), step_key=fin_step),
             *denied(fin, f"claim step {fin_step}", CLAIMERS)),
        case("add_note: legal specialist", "add_note",
             cmd.AddNote(actor=staff(LEGAL_SPECIALIST), text="法务意见"),
             *denied(LEGAL_SPECIALIST, "add a note to", NOTE_TAKERS)),
        case("add_note: a different customer", "add_note",
             cmd.AddNote(actor=OTHER_CUSTOMER, text="我也有同样的问题"),
             *denied(OTHER_CUSTOMER.id, "add a note to", NOTE_TAKERS)),
        case("ask_customer: finance supervisor", "ask_customer",
             cmd.AskCustomer(actor=staff(FINANCE_SUPERVISOR), question="请提供合同编号"),
             *denied(FINANCE_SUPERVISOR, "ask the customer about", CLAIMERS)),
        case("complete_step: request owner", "complete_step",
             cmd.CompleteStep(actor=staff(owner), step_key=fin_step),
             *denied(owner, f"complete step {fin_step}", STEP_SIDE)),
        case("complete_step: supervisor of the other department", "complete_step",
             cmd.CompleteStep(actor=staff(TECH_SUPERVISOR), step_key=fin_step),
             *denied(TECH_SUPERVISOR, f"complete step {fin_step}", STEP_SIDE)),
        case("hand_off: step owner of the other branch", "hand_off",
             cmd.HandOff(actor=staff(tech), step_key=fin_step, to_department_id="legal",
                         reason="需要法务审核"),
             *denied(tech, f"hand off step {fin_step}", STEP_SIDE)),
        case("reassign step: its own owner", "reassign",
             cmd.Reassign(actor=staff(fin), step_key=fin_step, to_person_id="guo.peng",
                          reason="工作量太大"),
             *denied(fin, f"reassign step {fin_step}", LEADERS)),
        case("reassign request: its owner", "reassign",
             cmd.Reassign(actor=staff(owner), to_person_id=at.other_agent, reason="休假"),
             *denied(owner, "reassign", LEADERS)),
        case("reassign request: supervisor of another department", "reassign",
             cmd.Reassign(actor=staff(FINANCE_SUPERVISOR), to_person_id=at.other_agent,
                          reason="调整负责人"),
             *denied(FINANCE_SUPERVISOR, "reassign", LEADERS)),
        case("change_priority: finance supervisor", "change_priority",
             cmd.ChangePriority(actor=staff(FINANCE_SUPERVISOR), priority=Priority.P1,
                                reason="客户升级投诉"),
             *denied(FINANCE_SUPERVISOR, "change the priority of", OWNER_SIDE)),
        case("resolve: an agent who is not the owner", "resolve",
             cmd.Resolve(actor=staff(at.other_agent), summary="已处理"),
             *denied(at.other_agent, "resolve", OWNER_SIDE)),
        case("cancel: a different customer", "cancel",
             cmd.Cancel(actor=OTHER_CUSTOMER, reason="不需要了"),
             *denied(OTHER_CUSTOMER.id, "cancel", OWNER_SIDE)),
        case("cancel: legal head", "cancel",
             cmd.Cancel(actor=staff(LEGAL_HEAD), reason="不需要了"),
             *denied(LEGAL_HEAD, "cancel", OWNER_SIDE)),
        case("acknowledge_escalation: not the recipient", "acknowledge_escalation",
             cmd.AcknowledgeEscalation(actor=staff(SERVICE_SUPERVISOR), clock_id="first_response"),
             f"{SERVICE_SUPERVISOR} may not acknowledge the escalation of first_response",
             f"it was sent to {owner}"),
        # Invalid transitions.
        case("resolve with open steps", "resolve",
             cmd.Resolve(actor=staff(owner), summary="已退款"),
             f"request {rid} still has open steps: {fin_step}, {tech_step}"),
        case("reopen when not resolved", "reopen",
             cmd.Reopen(actor=staff(owner), reason="客户仍有疑问"),
             f"request {rid} is in_progress: only a resolved request can be reopened"),
        case("feedback before resolution", "customer_feedback",
             cmd.CustomerFeedback(actor=CUSTOMER, accepted=True, satisfaction=5),
             f"request {rid} is in_progress, not resolved"),
        case("claim an already claimed step", "claim",
             cmd.Claim(actor=staff(tech), step_key=tech_step),
             f"step {tech_step} is already claimed by {tech}"),
        case("claim the request twice", "claim", cmd.Claim(actor=staff(owner)),
             f"request {rid} was already claimed"),
        case("reply when not waiting", "record_customer_reply",
             cmd.RecordCustomerReply(actor=CUSTOMER, message="合同编号 HT-2026-001"),
             f"request {rid} is not waiting on the customer"),
        case("the same priority again", "change_priority",
             cmd.ChangePriority(actor=staff(owner), priority=Priority.P2, reason="确认"),
             f"request {rid} already has priority P2"),
        case("complete a completed step", "complete_step",
             cmd.CompleteStep(actor=staff(at.triage), step_key=at.triage),
             f"step {at.triage} of request {rid} is completed: cannot complete it"),
        case("acknowledge an escalation that does not exist", "acknowledge_escalation",
             cmd.AcknowledgeEscalation(actor=staff(fin), clock_id=f"step:{fin_step}"),
             f"no escalation of step:{fin_step} on request {rid}"),
        # Unknown steps, departments and people.
        case("unknown step key", "complete_step",
             cmd.CompleteStep(actor=staff(FINANCE_SUPERVISOR), step_key="investigate.9"),
             f"request {rid} has no step 'investigate.9' "
             f"(active steps: {fin_step}, {tech_step})"),
        case("hand off to an unknown department", "hand_off",
             cmd.HandOff(actor=staff(fin), step_key=fin_step, to_department_id="xxx",
                         reason="转交"),
             f"unknown department 'xxx' (known: {KNOWN_DEPARTMENTS})"),
        case("hand off to a department without the role", "hand_off",
             cmd.HandOff(actor=staff(fin), step_key=fin_step, to_department_id="legal",
                         reason="需要法务审核"),
             "nobody in 法务部 (legal) has role 'accountant' "
             "(roles there: data_protection, head, specialist, supervisor)"),
        case("hand off to the same department", "hand_off",
             cmd.HandOff(actor=staff(fin), step_key=fin_step, to_department_id="finance",
                         reason="转交"),
             f"step {fin_step} is already with finance"),
        case("reassign to someone outside the department", "reassign",
             cmd.Reassign(actor=staff(FINANCE_SUPERVISOR), step_key=fin_step,
                          to_person_id=LEGAL_SPECIALIST, reason="调整"),
             f"{LEGAL_SPECIALIST} is not a member of 财务部 (finance)"),
        case("reassign to the current owner", "reassign",
             cmd.Reassign(actor=staff(FINANCE_SUPERVISOR), step_key=fin_step,
                          to_person_id=fin, reason="调整"),
             f"{fin} already owns step {fin_step}"),
    ]
    assert {c.action for c in cases} == set(cmd.ACTIONS), "every update action is covered"
    await at.request.refuse_all(cases)

    # The refusals changed nothing: the request still moves on.
    view = await at.request.act("complete_step", cmd.CompleteStep(actor=staff(fin),
                                                                  step_key=fin_step))
    assert next(s for s in view.steps if s.step_key == fin_step).status == "completed"


async def test_refusals_while_waiting_on_the_customer(caseflow: Caseflow) -> None:
    at = await at_investigate(caseflow, patient(caseflow.catalog))
    rid = at.request.request_id
    await at.request.act("ask_customer", cmd.AskCustomer(actor=staff(at.owner),
                                                         question="请提供十月发票的照片"))
    assert (await at.request.status()).status is RequestStatus.WAITING_ON_CUSTOMER
    await at.request.refuse_all([
        case("reply: a different customer", "record_customer_reply",
             cmd.RecordCustomerReply(actor=OTHER_CUSTOMER, message="照片见附件"),
             f"{OTHER_CUSTOMER.id} may not record the customer's reply on", REPLY_RECORDERS),
        case("reply: legal supervisor", "record_customer_reply",
             cmd.RecordCustomerReply(actor=staff(LEGAL_SUPERVISOR), message="照片见附件"),
             f"{LEGAL_SUPERVISOR} may not record the customer's reply on", REPLY_RECORDERS),
        case("ask again while waiting", "ask_customer",
             cmd.AskCustomer(actor=staff(at.owner), question="还有合同编号"),
             f"request {rid} is already waiting on the customer"),
        case("complete while waiting", "complete_step",
             cmd.CompleteStep(actor=staff(at.finance), step_key=at.finance_step),
             f"request {rid} is waiting on the customer: record the reply before completing"),
        case("resolve while waiting", "resolve",
             cmd.Resolve(actor=staff(at.owner), summary="已退款"),
             f"request {rid} is waiting on the customer"),
    ])
    view = await at.request.act("record_customer_reply", cmd.RecordCustomerReply(
        actor=CUSTOMER, message="照片见附件"))
    assert view.status is RequestStatus.IN_PROGRESS


async def test_refusals_after_resolution_and_malformed_payloads(caseflow: Caseflow) -> None:
    at = await at_investigate(caseflow, patient(caseflow.catalog))
    request, rid = at.request, at.request.request_id
    await request.act("complete_step", cmd.CompleteStep(actor=staff(at.finance),
                                                        step_key=at.finance_step))
    view = await request.act("complete_step", cmd.CompleteStep(actor=staff(at.tech),
                                                               step_key=at.tech_step))
    confirm = next(s for s in view.steps if s.status == "active")
    await request.act("complete_step", cmd.CompleteStep(actor=staff(confirm.owner_id),
                                                        step_key=confirm.step_key))
    view = await request.act("resolve", cmd.Resolve(actor=staff(at.owner),
                                                    summary="已退还多收费用"))
    assert view.status is RequestStatus.RESOLVED

    await request.refuse_all([
        case("feedback: a different customer", "customer_feedback",
             cmd.CustomerFeedback(actor=OTHER_CUSTOMER, accepted=True, satisfaction=5),
             f"{OTHER_CUSTOMER.id} may not record feedback on", FEEDBACK_GIVERS),
        case("feedback: owning department's supervisor", "customer_feedback",
             cmd.CustomerFeedback(actor=staff(SERVICE_SUPERVISOR), accepted=True,
                                  satisfaction=5),
             f"{SERVICE_SUPERVISOR} may not record feedback on", FEEDBACK_GIVERS),
        case("reopen: legal specialist", "reopen",
             cmd.Reopen(actor=staff(LEGAL_SPECIALIST), reason="合同条款有误"),
             f"{LEGAL_SPECIALIST} may not reopen", REOPENERS),
        case("reopen: a step owner", "reopen",
             cmd.Reopen(actor=staff(at.finance), reason="金额仍不对"),
             f"{at.finance} may not reopen", REOPENERS),
        case("cancel: a different customer", "cancel",
             cmd.Cancel(actor=OTHER_CUSTOMER, reason="不需要了"),
             f"{OTHER_CUSTOMER.id} may not cancel", OWNER_SIDE),
        case("claim once resolved", "claim",
             cmd.Claim(actor=staff(confirm.owner_id), step_key=confirm.step_key),
             f"request {rid} is resolved: reopen it before you claim"),
    ])

    # A malformed command is refused by the model on the caller's side: nothing is sent.
    with pytest.raises(ValidationError) as invalid:
        cmd.CustomerFeedback(actor=CUSTOMER, accepted=True, satisfaction=9)
    assert [e["loc"] for e in invalid.value.errors()] == [("satisfaction",)]

    # Sent raw, past the model, the workflow's validator refuses it with the model's reasons:
    # the update fails, nothing is written, the workflow runs on.
    handle = caseflow.client.get_workflow_handle(workflow_id_for(rid))
    customer = {"id": CUSTOMER_ID, "kind": "customer"}
    raw_updates: list[tuple[str, str, dict[str, object], str]] = [
        ("satisfaction 9", "customer_feedback",
         {"actor": customer, "accepted": True, "satisfaction": 9}, "satisfaction"),
        ("an extra field", "customer_feedback",
         {"actor": customer, "accepted": True, "satisfaction": 5, "refund": 100}, "refund"),
        ("a missing field", "customer_feedback", {"actor": customer, "satisfaction": 5},
         "accepted"),
        ("a wrong type", "customer_feedback",
         {"actor": customer, "accepted": "也许", "satisfaction": 5}, "accepted"),
        ("an unknown update", "close_now", {"actor": customer}, "close_now"),
    ]
    problems: list[str] = []
    for name, update, payload, fragment in raw_updates:
        before = await request.state()
        failures: list[BaseException] = []

        async def send(update: str = update, payload: dict[str, object] = payload,
                       failures: list[BaseException] = failures) -> None:
            try:
                await handle.execute_update(update, payload, result_type=RequestView)
            except WorkflowUpdateFailedError as error:
                failures.append(error)

        problems += await request.unchanged_after(f"raw {name}", send, before)
        if not failures:
            problems.append(f"raw {name}: the update was not refused")
            continue
        chain = causes(failures[0])
        reasons = " | ".join(f"{type_}: {message}" for type_, message in chain)
        if fragment not in reasons:
            problems.append(f"raw {name}: refusal {reasons!r:.400} lacks {fragment!r}")
        if [t for t, _ in chain] != [INVALID_INPUT]:
            problems.append(f"raw {name}: not refused by validation: {reasons!r:.400}")
    assert not problems, "\n".join(problems)
    description = await handle.describe()
    assert description.status is WorkflowExecutionStatus.RUNNING

    # Still working: the customer's real feedback closes the request.
    view = await request.act("customer_feedback", cmd.CustomerFeedback(
        actor=CUSTOMER, accepted=True, satisfaction=4, comment=f"谢谢 {uuid.uuid4().hex[:4]}"))
    assert view.status is RequestStatus.CLOSED
    assert view.satisfaction == 4
