"""Decisions: given a request's state, a command and the time, either refuse (``Refused``, nothing
changes) or say which events follow. Where a decision needs a person chosen by assignment rules
(I/O the workflow delegates to an activity), it lists ``StaffingNeed``s and
``domain.staffing.with_staffing`` turns the chosen people into the remaining events."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from domain import calendar as business_time
from domain import sla_clock as clocks
from domain.actors import ActorRef
from domain.authorization import RIGHTS, RefusalKind, Refused, authorize
from domain.commands import (
    AcknowledgeEscalation,
    AddNote,
    AskCustomer,
    Cancel,
    ChangePriority,
    Claim,
    CompleteStep,
    CustomerFeedback,
    HandOff,
    Reassign,
    RecordCustomerReply,
    Reopen,
    RequestCommand,
    Resolve,
)
from domain.dispatch import CommandTable
from domain.events import (
    Cancelled,
    Claimed,
    Closed,
    CustomerReplied,
    Deadlines,
    EscalationAcknowledged,
    EventPayload,
    NoteAdded,
    PriorityChanged,
    Reassigned,
    ReassignScope,
    Reopened,
    ResolutionConfirmed,
    ResolutionRejected,
    Resolved,
    SlaRetargeted,
    StepCompleted,
    WaitingOnCustomer,
)
from domain.process import StepAction
from domain.sla_clock import SlaClock
from domain.staffing import Purpose, StaffingNeed, stage_needs
from domain.state import (
    FIRST_RESPONSE,
    RESOLUTION,
    RequestState,
    RequestStatus,
    StepState,
    StepStatus,
    step_clock_id,
    step_key_of,
)


class Decision(BaseModel):
    actor: ActorRef
    payloads: list[EventPayload]
    needs: list[StaffingNeed] = []


Command = (Claim | AddNote | AskCustomer | RecordCustomerReply | CompleteStep | HandOff | Reassign
           | ChangePriority | Resolve | CustomerFeedback | Reopen | Cancel | AcknowledgeEscalation)


# --- commands -------------------------------------------------------------------------------

def _open_request(state: RequestState, action: str) -> None:
    if state.is_final:
        raise Refused(RefusalKind.CONFLICT,
                      f"request {state.request_id} is {state.status.value}: cannot {action} it")


def _working_request(state: RequestState, action: str) -> None:
    _open_request(state, action)
    if state.status is RequestStatus.RESOLVED:
        raise Refused(RefusalKind.CONFLICT,
                      f"request {state.request_id} is resolved: reopen it before you {action}")


def _active_step(state: RequestState, step_key: str | None, action: str) -> StepState:
    step = state.steps.get(step_key or "")
    if step is None:
        known = ", ".join(s.key for s in state.active_steps()) or "none"
        raise Refused(RefusalKind.INVALID, f"request {state.request_id} has no step {step_key!r} "
                      f"(active steps: {known})")
    if step.status is not StepStatus.ACTIVE:
        raise Refused(RefusalKind.CONFLICT,
                      f"step {step.key} of request {state.request_id} is {step.status.value}: "
                      f"cannot {action} it")
    return step


def _step_allows(state: RequestState, step: StepState, action: StepAction) -> None:
    stage = state.plan.template.stages[step.stage_index]
    branch = stage.branches[int(step.key.split(".")[1]) - 1]
    if action not in branch.actions:
        raise Refused(RefusalKind.CONFLICT,
                      f"step {step.key} ({stage.name}) does not allow {action.value}")


def _decide_claim(state: RequestState, command: Claim, at: datetime) -> Decision:
    _working_request(state, "claim")
    step = (_active_step(state, command.step_key, "claim") if command.step_key is not None
            else None)
    if step is not None and step.claimed_at is not None:
        raise Refused(RefusalKind.CONFLICT,
                      f"step {step.key} is already claimed by {step.owner_id}")
    if step is None and state.first_response_at is not None:
        raise Refused(RefusalKind.CONFLICT, f"request {state.request_id} was already claimed")
    actor = authorize(state, command.actor, "claim", RIGHTS["claim"], step=step)
    first = state.first_response_at is None
    elapsed = (clocks.elapsed_seconds(state.first_response_clock, at)
               if first and state.first_response_clock else None)
    return Decision(actor=actor, payloads=[Claimed(step_key=command.step_key,
                                                   first_response=first,
                                                   business_seconds=elapsed)])


def _decide_note(state: RequestState, command: AddNote, at: datetime) -> Decision:
    _open_request(state, "add a note to")
    actor = authorize(state, command.actor, "add a note to", RIGHTS["add a note to"])
    return Decision(actor=actor, payloads=[NoteAdded(text=command.text)])


def _all_deadlines(changed: dict[str, SlaClock]) -> Deadlines:
    """Deadlines of the clocks in ``changed`` only; the others stay as they were."""
    given: dict[str, object] = {}
    if FIRST_RESPONSE in changed:
        given["first_response"] = clocks.deadline(changed[FIRST_RESPONSE])
    if RESOLUTION in changed:
        given["resolution"] = clocks.deadline(changed[RESOLUTION])
    steps = {key: clocks.deadline(clock) for cid, clock in changed.items()
             if (key := step_key_of(cid)) is not None}
    if steps:
        given["steps"] = steps
    return Deadlines.model_validate(given)


def _decide_ask(state: RequestState, command: AskCustomer, at: datetime) -> Decision:
    _working_request(state, "ask the customer about")
    if state.status is RequestStatus.WAITING_ON_CUSTOMER:
        raise Refused(RefusalKind.CONFLICT,
                      f"request {state.request_id} is already waiting on the customer")
    owned = [s for s in state.active_steps() if s.owner_id == command.actor.id]
    actor = authorize(state, command.actor, "ask the customer about",
                      RIGHTS["ask the customer about"], step=owned[0] if owned else None)
    if actor.role == "step_owner":
        _step_allows(state, owned[0], StepAction.ASK_CUSTOMER)
    paused = {cid: clocks.pause(c, at, command.reason)
              for cid, c in state.active_clocks().items() if cid != FIRST_RESPONSE}
    return Decision(actor=actor, payloads=[WaitingOnCustomer(
        reason=command.reason, question=command.question,
        deadlines=_all_deadlines(paused))])


def _decide_reply(state: RequestState, command: RecordCustomerReply, at: datetime) -> Decision:
    _open_request(state, "record the customer's reply on")
    if state.status is not RequestStatus.WAITING_ON_CUSTOMER:
        raise Refused(RefusalKind.CONFLICT,
                      f"request {state.request_id} is not waiting on the customer")
    owned = [s for s in state.active_steps() if s.owner_id == command.actor.id]
    actor = authorize(state, command.actor, "record the customer's reply on",
                      RIGHTS["record the customer's reply on"],
                      step=owned[0] if owned else None)
    active = state.active_clocks()
    resumed = {cid: clocks.resume(c, at) for cid, c in active.items()
               if c.pause_reason is not None}
    paused_for = max((clocks.paused_seconds(c, at) - clocks.paused_seconds(c, c.since)
                      for c in active.values() if c.pause_reason is not None), default=0.0)
    return Decision(actor=actor, payloads=[CustomerReplied(
        paused_seconds=paused_for, message=command.message,
        deadlines=_all_deadlines(resumed))])


def _decide_complete(state: RequestState, command: CompleteStep, at: datetime) -> Decision:
    _working_request(state, "complete a step of")
    if state.status is RequestStatus.WAITING_ON_CUSTOMER:
        raise Refused(RefusalKind.CONFLICT,
                      f"request {state.request_id} is waiting on the customer: "
                      "record the reply before completing a step")
    step = _active_step(state, command.step_key, "complete")
    actor = authorize(state, command.actor, "complete", RIGHTS["complete"], step=step)
    if actor.role == "step_owner":
        _step_allows(state, step, StepAction.COMPLETE)
    business = clocks.elapsed_seconds(step.clock, at)
    completed = StepCompleted(
        step_key=step.key, stage_id=step.stage_id, department_id=step.department_id,
        role=step.role, owner_id=step.owner_id, started_at=step.started_at,
        wall_seconds=(at - step.started_at).total_seconds(), business_seconds=business,
        paused_seconds=clocks.paused_seconds(step.clock, at),
        target_seconds=step.clock.target_seconds,
        breached=1.0 in state.fired.get(step_clock_id(step.key), [])
        or business >= step.clock.target_seconds,
        outcome=command.outcome,
    )
    siblings_open = [s for s in state.active_steps() if s.key != step.key]
    next_stage = step.stage_index + 1
    needs = ([] if siblings_open or next_stage >= len(state.plan.template.stages)
             else stage_needs(state.plan, next_stage, state.cycle))
    return Decision(actor=actor, payloads=[completed], needs=needs)


def _decide_hand_off(state: RequestState, command: HandOff, at: datetime) -> Decision:
    _working_request(state, "hand off a step of")
    step = _active_step(state, command.step_key, "hand off")
    actor = authorize(state, command.actor, "hand off", RIGHTS["hand off"], step=step)
    if actor.role == "step_owner":
        _step_allows(state, step, StepAction.HAND_OFF)
    if command.to_department_id == step.department_id:
        raise Refused(RefusalKind.CONFLICT,
                      f"step {step.key} is already with {step.department_id}: "
                      "reassign it within the department instead")
    role = command.role or step.role
    department = state.plan.departments.get(command.to_department_id)
    # A department not yet pinned on the request is looked up by the workflow, which decides
    # again once it is pinned; only then can the role be checked.
    if department is not None and not department.with_role(role):
        roles = sorted({r for m in department.members for r in m.roles})
        raise Refused(RefusalKind.INVALID,
                      f"nobody in {department.name} ({department.id}) has role {role!r} "
                      f"(roles there: {', '.join(roles)})")
    return Decision(actor=actor, payloads=[], needs=[StaffingNeed(
        purpose=Purpose.HAND_OFF, department_id=command.to_department_id, role=role,
        step_key=step.key, reason=command.reason)])


def _decide_reassign(state: RequestState, command: Reassign, at: datetime) -> Decision:
    _working_request(state, "reassign")
    if command.step_key is not None:
        step = _active_step(state, command.step_key, "reassign")
        department_id, current = step.department_id, step.owner_id
    else:
        step, department_id, current = None, state.owner_department_id, state.owner_id
    actor = authorize(state, command.actor, "reassign", RIGHTS["reassign"], step=step,
                      department_id=department_id)
    department = state.plan.departments[department_id]
    member = department.member(command.to_person_id)
    if member is None:
        raise Refused(RefusalKind.INVALID,
                      f"{command.to_person_id} is not a member of {department.name} "
                      f"({department_id})")
    if not member.available:
        raise Refused(RefusalKind.CONFLICT,
                      f"{command.to_person_id} is not available for assignment")
    if member.id == current:
        raise Refused(RefusalKind.CONFLICT, f"{command.to_person_id} already owns "
                      f"{'step ' + command.step_key if command.step_key else 'the request'}")
    return Decision(actor=actor, payloads=[Reassigned(
        scope=ReassignScope.STEP if step else ReassignScope.REQUEST, step_key=command.step_key,
        from_owner_id=current, to_owner_id=member.id, department_id=department_id,
        reason=command.reason)])


def _decide_priority(state: RequestState, command: ChangePriority, at: datetime) -> Decision:
    _working_request(state, "change the priority of")
    actor = authorize(state, command.actor, "change the priority of",
                      RIGHTS["change the priority of"])
    if command.priority == state.priority:
        raise Refused(RefusalKind.CONFLICT,
                      f"request {state.request_id} already has priority {state.priority}")
    targets = state.plan.targets(command.priority)
    step_targets = {s.key: targets.step_target(s.stage_id) for s in state.active_steps()}
    wanted = {FIRST_RESPONSE: targets.first_response_seconds,
              RESOLUTION: targets.resolution_seconds,
              **{step_clock_id(k): v for k, v in step_targets.items()}}
    retargeted = {cid: clocks.retarget(c, wanted[cid])
                  for cid, c in state.active_clocks().items() if cid in wanted}
    return Decision(actor=actor, payloads=[PriorityChanged(
        from_priority=state.priority, to_priority=command.priority,
        first_response_target_seconds=targets.first_response_seconds,
        resolution_target_seconds=targets.resolution_seconds,
        step_target_seconds=step_targets, reason=command.reason,
        deadlines=_all_deadlines(retargeted)), _alerts_retargeted(state, retargeted, at)])


def _alerts_retargeted(state: RequestState, retargeted: dict[str, SlaClock],
                       at: datetime) -> SlaRetargeted:
    """The alert state under the new targets, as ServiceNow and Jira reset an SLA whose
    definition changes: warnings already passed under the new target are not sent again, one
    still ahead is sent when reached; a breach the new target does not reach stops its ladder;
    a clock past the new target and not yet breached breaches once (``timers.due``)."""
    warnings = state.plan.policy.warning_thresholds
    fired: dict[str, list[float]] = {}
    cleared: list[str] = []
    for clock_id, clock in retargeted.items():
        fraction = clocks.fraction_elapsed(clock, at)
        passed = [t for t in warnings if t <= fraction]
        breached = 1.0 in state.fired.get(clock_id, [])
        if fraction < 1.0 and clock_id in state.breaches:
            cleared.append(clock_id)
        fired[clock_id] = [*passed, 1.0] if breached and fraction >= 1.0 else passed
    return SlaRetargeted(fired=fired, cleared_breaches=cleared)


def process_complete(state: RequestState) -> bool:
    """Every stage of the current cycle is done."""
    last = len(state.plan.template.stages) - 1
    return not state.active_steps() and any(
        s.stage_index == last and s.cycle == state.cycle for s in state.steps.values())


def _decide_resolve(state: RequestState, command: Resolve, at: datetime) -> Decision:
    _working_request(state, "resolve")
    actor = authorize(state, command.actor, "resolve", RIGHTS["resolve"])
    if state.status is RequestStatus.WAITING_ON_CUSTOMER:
        raise Refused(RefusalKind.CONFLICT,
                      f"request {state.request_id} is waiting on the customer")
    if not process_complete(state):
        open_steps = ", ".join(s.key for s in state.active_steps()) or "later stages not started"
        raise Refused(RefusalKind.CONFLICT,
                      f"request {state.request_id} still has open steps: {open_steps}")
    clock = state.resolution_clock
    calendar = state.plan.departments[state.owner_department_id].calendar
    return Decision(actor=actor, payloads=[Resolved(
        summary=command.summary,
        business_seconds=clocks.elapsed_seconds(clock, at) if clock else 0.0,
        wall_seconds=(at - (state.submitted_at or at)).total_seconds(),
        reopen_until=business_time.add_business_seconds(
            calendar, at, state.plan.policy.reopen_window_seconds),
    )])


def _decide_feedback(state: RequestState, command: CustomerFeedback, at: datetime) -> Decision:
    _open_request(state, "record feedback on")
    if state.status is not RequestStatus.RESOLVED:
        raise Refused(RefusalKind.CONFLICT,
                      f"request {state.request_id} is {state.status.value}, not resolved: "
                      "feedback is recorded on a resolution")
    if state.resolution_rejected:
        raise Refused(RefusalKind.CONFLICT,
                      f"the customer already rejected this resolution of {state.request_id}")
    actor = authorize(state, command.actor, "record feedback on", RIGHTS["record feedback on"])
    if command.accepted:
        return Decision(actor=actor, payloads=[
            ResolutionConfirmed(satisfaction=command.satisfaction, comment=command.comment),
            Closed(reason="resolution confirmed by the customer",
                   wall_seconds=(at - (state.submitted_at or at)).total_seconds()),
        ])
    return Decision(actor=actor, payloads=[
        ResolutionRejected(satisfaction=command.satisfaction, comment=command.comment)])


def _decide_reopen(state: RequestState, command: Reopen, at: datetime) -> Decision:
    _open_request(state, "reopen")
    if state.status is not RequestStatus.RESOLVED:
        raise Refused(RefusalKind.CONFLICT,
                      f"request {state.request_id} is {state.status.value}: only a resolved "
                      "request can be reopened")
    if state.reopen_until is not None and at > state.reopen_until:
        raise Refused(RefusalKind.CONFLICT, f"the reopen window of {state.request_id} ended at "
                      f"{state.reopen_until.isoformat()}")
    actor = authorize(state, command.actor, "reopen", RIGHTS["reopen"])
    last = len(state.plan.template.stages) - 1
    resolution = state.resolution_clock
    deadline = None
    if resolution is not None:
        remaining = resolution.target_seconds - clocks.elapsed_seconds(resolution, at)
        deadline = business_time.add_business_seconds(resolution.calendar, at, max(remaining, 0))
    return Decision(
        actor=actor,
        payloads=[Reopened(reason=command.reason, reopen_count=state.reopen_count + 1,
                           deadlines=Deadlines(resolution=deadline))],
        needs=stage_needs(state.plan, last, state.cycle + 1),
    )


def _decide_cancel(state: RequestState, command: Cancel, at: datetime) -> Decision:
    _open_request(state, "cancel")
    actor = authorize(state, command.actor, "cancel", RIGHTS["cancel"])
    return Decision(actor=actor, payloads=[Cancelled(reason=command.reason)])


def _decide_acknowledge(state: RequestState, command: AcknowledgeEscalation,
                        at: datetime) -> Decision:
    _open_request(state, "acknowledge an escalation of")
    breach = state.breaches.get(command.clock_id)
    if breach is None or breach.level == 0:
        raise Refused(RefusalKind.INVALID,
                      f"no escalation of {command.clock_id} on request {state.request_id}")
    if breach.acknowledged:
        raise Refused(RefusalKind.CONFLICT,
                      f"the escalation of {command.clock_id} was already acknowledged")
    if command.actor.id != breach.recipient_id:
        raise Refused(RefusalKind.FORBIDDEN,
                      f"{command.actor.id} may not acknowledge the escalation of "
                      f"{command.clock_id}: it was sent to {breach.recipient_id}")
    _, department_id = state.clock_owner(command.clock_id)
    actor = ActorRef(id=command.actor.id, kind=command.actor.kind, role="escalation_recipient",
                     department_id=department_id)
    return Decision(actor=actor, payloads=[EscalationAcknowledged(
        clock_id=command.clock_id, breach_number=breach.number, level=breach.level)])


_DECIDERS: CommandTable[Callable[[RequestState, Any, datetime], Decision]] = CommandTable({
    Claim: _decide_claim, AddNote: _decide_note, AskCustomer: _decide_ask,
    RecordCustomerReply: _decide_reply, CompleteStep: _decide_complete,
    HandOff: _decide_hand_off, Reassign: _decide_reassign, ChangePriority: _decide_priority,
    Resolve: _decide_resolve, CustomerFeedback: _decide_feedback, Reopen: _decide_reopen,
    Cancel: _decide_cancel, AcknowledgeEscalation: _decide_acknowledge,
})


def decide(state: RequestState, command: RequestCommand, at: datetime) -> Decision:
    """What ``command`` does to ``state`` at ``at``, or Refused. Reads, never changes, state."""
    decider = _DECIDERS.handler(type(command))
    if decider is None:  # e.g. a payload that never became a command
        raise Refused(RefusalKind.INVALID, f"not a command: {type(command).__name__}")
    return decider(state, command, at)

