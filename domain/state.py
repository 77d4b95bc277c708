"""The state of one request, derived from its events alone (the first pins its plan, a handoff to
a new department pins that department): ``apply`` is the only way it changes, so the workflow, a
replay, ``rebuild`` and a test all reach the same state from the same log."""

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from domain import events as ev
from domain import sla_clock as clocks
from domain.dispatch import PayloadTable
from domain.events import DomainEvent
from domain.plan import RequestPlan
from domain.request import Priority
from domain.sla_clock import PauseReason, SlaClock

FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"


_STEP_CLOCK_PREFIX = "step:"


def step_clock_id(step_key: str) -> str:
    """The id of a step's SLA clock; the request's own clocks are FIRST_RESPONSE and RESOLUTION."""
    return f"{_STEP_CLOCK_PREFIX}{step_key}"


def step_key_of(clock_id: str) -> str | None:
    """The step key of a step clock id; None for the request's own clocks."""
    if clock_id.startswith(_STEP_CLOCK_PREFIX):
        return clock_id[len(_STEP_CLOCK_PREFIX):]
    return None


class RequestStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset({RequestStatus.CLOSED, RequestStatus.CANCELLED})


class StepStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class StepState(BaseModel):
    key: str
    stage_id: str
    stage_index: int
    name: str
    department_id: str
    role: str
    owner_id: str
    cycle: int
    started_at: datetime
    claimed_at: datetime | None = None
    ended_at: datetime | None = None
    status: StepStatus = StepStatus.ACTIVE
    clock: SlaClock
    past_owner_ids: list[str] = Field(default_factory=list)


class BreachState(BaseModel):
    """The open escalation ladder of one breached clock."""

    clock_id: str
    number: int
    breached_at: datetime
    level: int = 0
    acknowledged: bool = False
    recipient_id: str | None = None


class RequestState(BaseModel):
    plan: RequestPlan
    sequence: int = 0
    status: RequestStatus = RequestStatus.OPEN
    priority: Priority
    owner_id: str = ""
    owner_department_id: str
    submitted_at: datetime | None = None
    stage_index: int = 0
    cycle: int = 1
    steps: dict[str, StepState] = Field(default_factory=dict)
    first_response_clock: SlaClock | None = None
    resolution_clock: SlaClock | None = None
    first_response_at: datetime | None = None
    fired: dict[str, list[float]] = Field(default_factory=dict)
    retargeted_at: datetime | None = None
    breaches: dict[str, BreachState] = Field(default_factory=dict)
    breach_counts: dict[str, int] = Field(default_factory=dict)
    pause_reason: PauseReason | None = None
    resolved_at: datetime | None = None
    reopen_until: datetime | None = None
    resolution_rejected: bool = False
    reopen_count: int = 0
    satisfaction: int | None = None
    note_count: int = 0
    past_owner_ids: list[str] = Field(default_factory=list)
    customer_erased: bool = False
    """The log holds the customer's erasure (``customer_erased``): a second notice writes
    nothing, in this run or a continued one."""

    @property
    def request_id(self) -> str:
        return self.plan.request_id

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def active_steps(self) -> list[StepState]:
        return [s for s in self.steps.values() if s.status is StepStatus.ACTIVE]

    def active_clocks(self) -> dict[str, SlaClock]:
        """Every clock still counting (or paused): the ones timers and pauses act on."""
        found: dict[str, SlaClock] = {}
        if self.first_response_clock and self.first_response_clock.stopped_at is None:
            found[FIRST_RESPONSE] = self.first_response_clock
        if self.resolution_clock and self.resolution_clock.stopped_at is None:
            found[RESOLUTION] = self.resolution_clock
        for step in self.active_steps():
            found[step_clock_id(step.key)] = step.clock
        return found

    def clock_owner(self, clock_id: str) -> tuple[str, str]:
        """(owner id, department id) accountable for ``clock_id``."""
        step_key = step_key_of(clock_id)
        if step_key is not None:
            step = self.steps[step_key]
            return step.owner_id, step.department_id
        return self.owner_id, self.owner_department_id

    def involved_people(self) -> set[str]:
        people = {self.owner_id, *self.past_owner_ids}
        for step in self.steps.values():
            people.add(step.owner_id)
            people.update(step.past_owner_ids)
        return people


def initial_state(plan: RequestPlan) -> RequestState:
    return RequestState(
        plan=plan,
        priority=plan.submission.priority,
        owner_department_id=plan.template.owner_department_id,
    )


class UnbuildableLog(ValueError):
    """A log that does not rebuild a request: it does not begin with the plan pinned on it."""


def rebuild(events: list[DomainEvent]) -> RequestState:
    """The state of the request whose whole log is ``events``, from the log alone."""
    if not events:
        raise UnbuildableLog("an empty log rebuilds no request")
    first = events[0].payload
    if events[0].sequence != 1 or not isinstance(first, ev.PlanPinned):
        raise UnbuildableLog(f"the log of request {events[0].request_id} begins with "
                             f"{events[0].event_type} #{events[0].sequence}, not plan_pinned #1")
    state = initial_state(first.plan)
    for event in events:
        apply(state, event)
    return state


def _replace_clock(state: RequestState, clock_id: str, clock: SlaClock) -> None:
    step_key = step_key_of(clock_id)
    if step_key is not None:
        state.steps[step_key].clock = clock
    elif clock_id == FIRST_RESPONSE:
        state.first_response_clock = clock
    elif clock_id == RESOLUTION:
        state.resolution_clock = clock
    else:
        raise KeyError(f"no clock {clock_id!r}")


def _mark_fired(state: RequestState, clock_id: str, threshold: float) -> None:
    """A warning or breach at ``threshold`` also covers every lower threshold."""
    thresholds = (*state.plan.policy.alert_thresholds, threshold)
    fired = set(state.fired.get(clock_id, []))
    fired.update(t for t in thresholds if t <= threshold)
    state.fired[clock_id] = sorted(fired)


def _plan_pinned(state: RequestState, payload: ev.PlanPinned, _at: datetime) -> None:
    state.plan = payload.plan


def _department_pinned(state: RequestState, payload: ev.DepartmentPinned, _at: datetime) -> None:
    plan = state.plan
    state.plan = plan.model_copy(update={"departments": {
        **plan.departments, payload.department.id: payload.department}})


def _submitted(state: RequestState, payload: ev.Submitted, at: datetime) -> None:
    plan = state.plan
    owner_calendar = plan.departments[state.owner_department_id].calendar
    cap = plan.policy.pause_cap_seconds
    state.submitted_at = at
    state.first_response_clock = clocks.start_clock(
        FIRST_RESPONSE, payload.first_response_target_seconds, owner_calendar, at, cap)
    state.resolution_clock = clocks.start_clock(
        RESOLUTION, payload.resolution_target_seconds, owner_calendar, at, cap)


def _assigned(state: RequestState, payload: ev.Assigned, _at: datetime) -> None:
    if state.owner_id:
        state.past_owner_ids.append(state.owner_id)
    state.owner_id = payload.owner_id


def _step_started(state: RequestState, payload: ev.StepStarted, at: datetime) -> None:
    plan = state.plan
    calendar = plan.departments[payload.department_id].calendar
    state.stage_index = payload.stage_index
    state.steps[payload.step_key] = StepState(
        key=payload.step_key, stage_id=payload.stage_id, stage_index=payload.stage_index,
        name=payload.step_name, department_id=payload.department_id, role=payload.role,
        owner_id=payload.owner_id, cycle=payload.cycle, started_at=at,
        clock=clocks.start_clock(step_clock_id(payload.step_key), payload.target_seconds,
                                 calendar, at, plan.policy.pause_cap_seconds),
    )
    if state.status is RequestStatus.OPEN and state.first_response_at is not None:
        state.status = RequestStatus.IN_PROGRESS


def _claimed(state: RequestState, payload: ev.Claimed, at: datetime) -> None:
    if payload.step_key is not None:
        state.steps[payload.step_key].claimed_at = at
    if payload.first_response and state.first_response_clock is not None:
        state.first_response_at = at
        state.first_response_clock = clocks.stop(state.first_response_clock, at)
    if state.status is RequestStatus.OPEN:
        state.status = RequestStatus.IN_PROGRESS


def _step_completed(state: RequestState, payload: ev.StepCompleted, at: datetime) -> None:
    step = state.steps[payload.step_key]
    step.status = StepStatus.COMPLETED
    step.ended_at = at
    step.clock = clocks.stop(step.clock, at)


def _handed_off(state: RequestState, payload: ev.HandedOff, at: datetime) -> None:
    plan = state.plan
    step = state.steps[payload.step_key]
    step.past_owner_ids.append(step.owner_id)
    step.department_id = payload.to_department_id
    step.owner_id = payload.to_owner_id
    step.role = payload.role
    step.claimed_at = None
    step.clock = clocks.switch_calendar(
        step.clock, at, plan.departments[payload.to_department_id].calendar)


def _reassigned(state: RequestState, payload: ev.Reassigned, _at: datetime) -> None:
    if payload.scope is ev.ReassignScope.REQUEST:
        state.past_owner_ids.append(state.owner_id)
        state.owner_id = payload.to_owner_id
    else:
        step = state.steps[payload.step_key or ""]
        step.past_owner_ids.append(step.owner_id)
        step.owner_id = payload.to_owner_id
        step.claimed_at = None


def _priority_changed(state: RequestState, payload: ev.PriorityChanged, at: datetime) -> None:
    state.priority = payload.to_priority
    state.retargeted_at = at
    targets = {
        FIRST_RESPONSE: payload.first_response_target_seconds,
        RESOLUTION: payload.resolution_target_seconds,
        **{step_clock_id(k): v for k, v in payload.step_target_seconds.items()},
    }
    for clock_id, clock in state.active_clocks().items():
        if clock_id in targets:
            _replace_clock(state, clock_id, clocks.retarget(clock, targets[clock_id]))


def _waiting_on_customer(state: RequestState, payload: ev.WaitingOnCustomer, at: datetime) -> None:
    state.status = RequestStatus.WAITING_ON_CUSTOMER
    state.pause_reason = payload.reason
    for clock_id, clock in state.active_clocks().items():
        if clock_id != FIRST_RESPONSE:
            _replace_clock(state, clock_id, clocks.pause(clock, at, payload.reason))


def _customer_replied(state: RequestState, _payload: ev.CustomerReplied, at: datetime) -> None:
    state.status = RequestStatus.IN_PROGRESS
    state.pause_reason = None
    for clock_id, clock in state.active_clocks().items():
        if clock.pause_reason is not None:
            _replace_clock(state, clock_id, clocks.resume(clock, at))


def _sla_warning(state: RequestState, payload: ev.SlaWarning, _at: datetime) -> None:
    _mark_fired(state, payload.clock_id, payload.threshold)


def _sla_breached(state: RequestState, payload: ev.SlaBreached, _at: datetime) -> None:
    _mark_fired(state, payload.clock_id, 1.0)
    state.breach_counts[payload.clock_id] = payload.breach_number
    state.breaches[payload.clock_id] = BreachState(
        clock_id=payload.clock_id, number=payload.breach_number,
        breached_at=payload.breached_at)


def _sla_retargeted(state: RequestState, payload: ev.SlaRetargeted, _at: datetime) -> None:
    for clock_id in payload.cleared_breaches:
        state.breaches.pop(clock_id, None)
    state.fired.update(payload.fired)


def _escalated(state: RequestState, payload: ev.Escalated, _at: datetime) -> None:
    breach = state.breaches[payload.clock_id]
    breach.level = payload.level
    breach.recipient_id = payload.recipient_id


def _escalation_acknowledged(state: RequestState, payload: ev.EscalationAcknowledged,
                             _at: datetime) -> None:
    state.breaches[payload.clock_id].acknowledged = True


def _note_added(state: RequestState, _payload: ev.NoteAdded, _at: datetime) -> None:
    state.note_count += 1


def _resolved(state: RequestState, payload: ev.Resolved, at: datetime) -> None:
    state.status = RequestStatus.RESOLVED
    state.resolved_at = at
    state.reopen_until = payload.reopen_until
    state.resolution_rejected = False
    if state.resolution_clock is not None:
        state.resolution_clock = clocks.stop(state.resolution_clock, at)


def _reopen_window_restarted(state: RequestState, payload: ev.ReopenWindowRestarted,
                             _at: datetime) -> None:
    state.reopen_until = payload.reopen_until


def _resolution_confirmed(state: RequestState, payload: ev.ResolutionConfirmed,
                          _at: datetime) -> None:
    state.satisfaction = payload.satisfaction


def _resolution_rejected(state: RequestState, payload: ev.ResolutionRejected,
                         _at: datetime) -> None:
    state.satisfaction = payload.satisfaction
    state.resolution_rejected = True


def _reopened(state: RequestState, payload: ev.Reopened, at: datetime) -> None:
    state.status = RequestStatus.IN_PROGRESS
    state.reopen_count = payload.reopen_count
    state.cycle += 1
    state.resolved_at = None
    state.reopen_until = None
    previous = state.resolution_clock
    if previous is not None:
        # The resolution clock goes on from what it had counted, not from zero.
        counted = clocks.elapsed_seconds(previous, at)
        resumed = clocks.start_clock(RESOLUTION, previous.target_seconds,
                                     previous.calendar, at, previous.pause_cap_seconds)
        state.resolution_clock = resumed.model_copy(
            update={"counted_seconds": counted, "started_at": previous.started_at,
                    "segments": previous.segments})


def _closed(state: RequestState, _payload: ev.Closed, _at: datetime) -> None:
    state.status = RequestStatus.CLOSED


def _cancelled(state: RequestState, _payload: ev.Cancelled, at: datetime) -> None:
    state.status = RequestStatus.CANCELLED
    for clock_id, clock in state.active_clocks().items():
        _replace_clock(state, clock_id, clocks.stop(clock, at))
    for step in state.active_steps():
        step.status = StepStatus.CANCELLED
        step.ended_at = at


def _customer_erased(state: RequestState, _payload: ev.CustomerErased, _at: datetime) -> None:
    state.customer_erased = True  # an audit: nothing the request decides on changes


_APPLY: PayloadTable[Callable[[RequestState, Any, datetime], None]] = PayloadTable({
    ev.PlanPinned: _plan_pinned,
    ev.DepartmentPinned: _department_pinned,
    ev.Submitted: _submitted,
    ev.Assigned: _assigned,
    ev.StepStarted: _step_started,
    ev.Claimed: _claimed,
    ev.StepCompleted: _step_completed,
    ev.HandedOff: _handed_off,
    ev.Reassigned: _reassigned,
    ev.PriorityChanged: _priority_changed,
    ev.WaitingOnCustomer: _waiting_on_customer,
    ev.CustomerReplied: _customer_replied,
    ev.SlaWarning: _sla_warning,
    ev.SlaBreached: _sla_breached,
    ev.SlaRetargeted: _sla_retargeted,
    ev.Escalated: _escalated,
    ev.EscalationAcknowledged: _escalation_acknowledged,
    ev.NoteAdded: _note_added,
    ev.Resolved: _resolved,
    ev.ReopenWindowRestarted: _reopen_window_restarted,
    ev.ResolutionConfirmed: _resolution_confirmed,
    ev.ResolutionRejected: _resolution_rejected,
    ev.Reopened: _reopened,
    ev.Closed: _closed,
    ev.Cancelled: _cancelled,
    ev.CustomerErased: _customer_erased,
})


def apply(state: RequestState, event: DomainEvent) -> None:
    """Moves ``state`` past ``event`` (which must be the next in sequence)."""
    if event.sequence != state.sequence + 1:
        raise ValueError(
            f"event {event.sequence} applied to request {state.request_id} at {state.sequence}"
        )
    state.sequence = event.sequence
    handler = _APPLY.handler(type(event.payload))
    if handler is not None:
        handler(state, event.payload, event.occurred_at)
