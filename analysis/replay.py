"""Replaying one request's SLA clocks under a policy world: the recorded log's actions (claims,
steps, handoffs, pauses, priority changes, resolutions) are applied again with ``domain.state``,
and what time makes due in between (warnings, breaches, escalations) is decided again by
``domain.timers``, exactly as the live workflow decides it, but with the world's targets,
thresholds, pause cap, escalation delays and calendars.

Pure and in memory: nothing is written, and live requests are never touched. Owners and
automatic reassignments follow the recorded log (a replay cannot staff anyone)."""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from analysis.history import what_happened
from domain.actors import SYSTEM
from domain.events import (
    Closed,
    DomainEvent,
    Escalated,
    EscalationAcknowledged,
    EventPayload,
    EventType,
    PriorityChanged,
    SlaBreached,
    SlaWarning,
    StepStarted,
    Submitted,
    new_event,
)
from domain.org import Department
from domain.plan import RequestPlan
from domain.policy import SlaPolicy, SlaTargets
from domain.process import ProcessTemplate
from domain.request import CustomerTier, Priority, RequestSubmission
from domain.state import (
    FIRST_RESPONSE,
    RESOLUTION,
    RequestState,
    apply,
    initial_state,
    step_clock_id,
)
from domain.timers import due, moves_no_timer, next_due_at

_NEVER = datetime.max.replace(tzinfo=UTC)

TIME_DRIVEN = frozenset({EventType.SLA_WARNING, EventType.SLA_BREACHED, EventType.ESCALATED})
"""What time alone wrote in the recorded log; a replay decides these again."""


class PolicyWorld(Protocol):
    """What a replay measures against: a configuration catalog satisfies it."""

    @property
    def departments(self) -> Mapping[str, Department]: ...
    @property
    def templates(self) -> Mapping[str, ProcessTemplate]: ...
    @property
    def policy(self) -> SlaPolicy: ...


class NotReplayable(ValueError):
    """A request's log that cannot be replayed under a world; the message says why."""


class ClockOutcome(BaseModel):
    """One SLA clock of a replayed request, attributed to whoever was accountable at the end."""

    model_config = ConfigDict(frozen=True)

    clock_id: str
    department_id: str
    role: str
    breached: bool
    breached_at: datetime | None = None
    warned: bool = False  # a warning threshold was reached (whether or not it then breached)


class FiredEscalation(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: str
    clock_id: str
    breach_number: int
    level: int
    recipient_id: str
    department_id: str
    at: datetime


class Breach(BaseModel):
    model_config = ConfigDict(frozen=True)

    clock_id: str
    number: int
    at: datetime


class ReplayedRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: str
    tier: CustomerTier
    clocks: tuple[ClockOutcome, ...]
    breaches: tuple[Breach, ...]
    escalations: tuple[FiredEscalation, ...]

    def breach_keys(self) -> set[tuple[str, int]]:
        """(clock id, breach number) of every breach, comparable with ``recorded_breaches``."""
        return {(b.clock_id, b.number) for b in self.breaches}

    def escalation_keys(self) -> set[tuple[str, int, int]]:
        """(clock id, breach number, level), comparable with ``recorded_escalations``."""
        return {(e.clock_id, e.breach_number, e.level) for e in self.escalations}


def recorded_breaches(events: Sequence[DomainEvent]) -> set[tuple[str, int]]:
    """(clock id, breach number) of the breaches the recorded log holds."""
    return {(e.payload.clock_id, e.payload.breach_number)
            for e in events if isinstance(e.payload, SlaBreached)}


def recorded_escalations(events: Sequence[DomainEvent]) -> set[tuple[str, int, int]]:
    """(clock id, breach number, level) of the escalations the recorded log holds."""
    return {(e.payload.clock_id, e.payload.breach_number, e.payload.level)
            for e in events if isinstance(e.payload, Escalated)}


def _plan(request_id: str, submitted: Submitted, world: PolicyWorld) -> RequestPlan:
    template = world.templates.get(submitted.template_id)
    if template is None:
        raise NotReplayable(f"process template {submitted.template_id!r} is not in the policy")
    try:
        submission = RequestSubmission(
            idempotency_key=request_id, customer=submitted.customer, channel=submitted.channel,
            request_type=submitted.request_type, priority=submitted.priority,
            subject=submitted.subject, submitted_by=submitted.submitted_by)
    except ValidationError as error:
        raise NotReplayable(f"submission does not validate: {error.errors()[0]['msg']}") from error
    plan = RequestPlan(request_id=request_id, submission=submission, template=template,
                       policy=world.policy, departments=dict(world.departments))
    for priority in Priority:
        _targets(plan, priority)
    return plan


def _targets(plan: RequestPlan, priority: Priority | str) -> SlaTargets:
    submission = plan.submission
    targets = plan.policy.targets_for(submission.request_type, Priority(priority),
                                      submission.customer.tier)
    if targets is None:
        raise NotReplayable(f"policy {plan.policy.id} has no targets for "
                            f"{submission.request_type} {priority} {submission.customer.tier}")
    return targets


def _retargeted(event: DomainEvent, state: RequestState) -> EventPayload | None:
    """The payload of ``event`` with the targets the replayed policy sets (None: unchanged).
    Copied without validating again: a month of events goes through here."""
    payload = event.payload
    plan = state.plan
    match payload:
        case Submitted():
            targets = _targets(plan, payload.priority)
            return payload.model_copy(update={
                "first_response_target_seconds": targets.first_response_seconds,
                "resolution_target_seconds": targets.resolution_seconds})
        case StepStarted():
            target = _targets(plan, state.priority).step_target(payload.stage_id)
            return payload.model_copy(update={"target_seconds": target})
        case PriorityChanged():
            targets = _targets(plan, payload.to_priority)
            steps = {key: targets.step_target(state.steps[key].stage_id)
                     for key in payload.step_target_seconds if key in state.steps}
            return payload.model_copy(update={
                "first_response_target_seconds": targets.first_response_seconds,
                "resolution_target_seconds": targets.resolution_seconds,
                "step_target_seconds": steps})
    return None


def _still_applies(event: DomainEvent, state: RequestState) -> bool:
    """Whether a recorded action still makes sense in the replay: an acknowledgement needs
    the breach it acknowledged."""
    acknowledged = event.payload
    if isinstance(acknowledged, EscalationAcknowledged):
        breach = state.breaches.get(acknowledged.clock_id)
        return breach is not None and breach.number == acknowledged.breach_number
    return True


class _Replayer:
    def __init__(self, plan: RequestPlan) -> None:
        self.state = initial_state(plan)
        self.at: datetime | None = None
        self.escalations: list[FiredEscalation] = []
        self.breaches: list[Breach] = []
        self.warned: set[str] = set()
        self.quiet_until: datetime | None = None
        """Nothing falls due before this instant (None: not known), as ``next_due_at`` last
        said; kept over recorded events that move no timer."""

    def _emit(self, payload: EventPayload, at: datetime) -> None:
        state = self.state
        self.quiet_until = None
        apply(state, new_event(state.request_id, state.sequence + 1, SYSTEM, at, payload))
        if isinstance(payload, SlaBreached):
            self.breaches.append(Breach(clock_id=payload.clock_id,
                                        number=payload.breach_number, at=payload.breached_at))
        elif isinstance(payload, SlaWarning):
            self.warned.add(payload.clock_id)
        elif isinstance(payload, Escalated):
            self.escalations.append(FiredEscalation(
                request_id=state.request_id, clock_id=payload.clock_id,
                breach_number=payload.breach_number, level=payload.level,
                recipient_id=payload.recipient_id, department_id=payload.department_id, at=at))

    def advance(self, until: datetime) -> None:
        """Fires what time makes due up to ``until``, as the workflow's timer loop would."""
        state = self.state
        if self.quiet_until is not None and until < self.quiet_until:
            return
        while not state.is_final:
            wake = next_due_at(state)
            if wake is None or wake > until:
                self.quiet_until = _NEVER if wake is None else wake
                return
            now = wake if self.at is None or wake > self.at else self.at
            # The end of the reopen window is left to the log: it recorded whether and when
            # the request closed.
            payloads = [p for p in due(state, now).payloads if not isinstance(p, Closed)]
            if not payloads:
                return
            for payload in payloads:
                self._emit(payload, now)

    def recorded(self, event: DomainEvent) -> None:
        """Applies a recorded action once time has caught up with it."""
        state = self.state
        if self.at is None or event.occurred_at > self.at:
            # Events of one instant were one commit: the workflow looks at its timers only
            # after the whole commit, never between its events.
            self.advance(event.occurred_at)
        if not _still_applies(event, state):
            return
        payload = _retargeted(event, state)
        update: dict[str, Any] = {"sequence": state.sequence + 1}
        if payload is not None:
            update["payload"] = payload
        apply(state, event.model_copy(update=update))
        self.at = event.occurred_at
        if not moves_no_timer(event.payload):
            self.quiet_until = None

    def outcome(self) -> ReplayedRequest:
        state = self.state
        owner_role = state.plan.template.owner_role
        clocks: list[tuple[str, str, str]] = []
        if state.first_response_clock is not None:
            clocks.append((FIRST_RESPONSE, state.owner_department_id, owner_role))
        if state.resolution_clock is not None:
            clocks.append((RESOLUTION, state.owner_department_id, owner_role))
        clocks.extend((step_clock_id(step.key), step.department_id, step.role)
                      for step in state.steps.values())
        first_breach: dict[str, datetime] = {}
        for breach in self.breaches:
            first_breach.setdefault(breach.clock_id, breach.at)
        return ReplayedRequest(
            request_id=state.request_id, tier=state.plan.submission.customer.tier,
            clocks=tuple(ClockOutcome(clock_id=clock_id, department_id=department, role=role,
                                      breached=clock_id in first_breach,
                                      breached_at=first_breach.get(clock_id),
                                      warned=clock_id in self.warned)
                         for clock_id, department, role in clocks),
            breaches=tuple(self.breaches), escalations=tuple(self.escalations))


def replay_request(events: Sequence[DomainEvent], world: PolicyWorld,
                   horizon: datetime) -> ReplayedRequest:
    """The SLA outcome of one request's recorded log under ``world``, with time running up to
    ``horizon`` after the last recorded event (a request still open keeps counting)."""
    # The plan the request was pinned to is today's; a replay plans it under ``world`` instead.
    events = what_happened(events)
    if not events or events[0].event_type is not EventType.SUBMITTED:
        raise NotReplayable("its log does not begin with its submission")
    first = events[0]
    submitted = first.payload
    if not isinstance(submitted, Submitted):  # the event type said it was one
        raise NotReplayable("its first event is not a submission")
    replayer = _Replayer(_plan(first.request_id, submitted, world))
    try:
        for event in events:
            if event.event_type not in TIME_DRIVEN:
                replayer.recorded(event)
        replayer.advance(horizon)
    except KeyError as error:
        raise NotReplayable(f"the log names {error.args[0]!r}, unknown to the policy") from error
    return replayer.outcome()
