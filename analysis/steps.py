"""Where a request's time went, step by step, from its log alone: every instant of a step's life
is outside business hours (of the department holding the step then), or waiting on the customer
or a third party (the request is paused), or waiting in a queue (nobody has claimed the step
since it started or last changed hands), or working. The four add up to the step's wall time.

Business time is counted with ``domain.calendar``, the code the SLA clocks use."""

from collections.abc import Mapping, Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from domain.calendar import CalendarSpec, business_seconds_between
from domain.events import (
    Cancelled,
    Claimed,
    CustomerReplied,
    DomainEvent,
    HandedOff,
    Reassigned,
    StepCompleted,
    StepStarted,
    WaitingOnCustomer,
)
from domain.sla_clock import PauseReason


class TimeSplit(BaseModel):
    """Seconds of one step (or a sum of steps) by what they were spent on."""

    model_config = ConfigDict(frozen=True)

    working: float = 0.0
    queue: float = 0.0
    waiting_customer: float = 0.0
    waiting_third_party: float = 0.0  # a third party or an approval
    outside_hours: float = 0.0

    @property
    def wall(self) -> float:
        return (self.working + self.queue + self.waiting_customer + self.waiting_third_party
                + self.outside_hours)

    @property
    def business(self) -> float:
        return self.wall - self.outside_hours

    def plus(self, other: "TimeSplit") -> "TimeSplit":
        return TimeSplit(**{name: getattr(self, name) + getattr(other, name)
                            for name in TimeSplit.model_fields})

    def largest(self) -> str:
        """The name of the part that took most of the business time."""
        parts = {name: getattr(self, name) for name in TimeSplit.model_fields
                 if name != "outside_hours"}
        return max(parts, key=lambda name: parts[name])


class StepVisit(BaseModel):
    """One step from its start to its end (or to the horizon, if still active)."""

    model_config = ConfigDict(frozen=True)

    request_id: str
    step_key: str
    stage_id: str
    stage_index: int
    cycle: int
    department_id: str  # where it ended
    role: str
    departments: tuple[str, ...]  # every department that held it, in order
    started_at: datetime
    ended_at: datetime
    finished: bool
    split: TimeSplit


class _Open:
    """A step being traced: who holds it and since when its current state holds."""

    def __init__(self, started: StepStarted, at: datetime) -> None:
        self.start = at
        self.since = at
        self.stage_id = started.stage_id
        self.stage_index = started.stage_index
        self.cycle = started.cycle
        self.department_id = started.department_id
        self.role = started.role
        self.departments = [self.department_id]
        self.claimed = False
        self.split = TimeSplit()


def _part(step: _Open, pause: PauseReason | None) -> str:
    if pause is PauseReason.CUSTOMER:
        return "waiting_customer"
    if pause is not None:
        return "waiting_third_party"
    return "working" if step.claimed else "queue"


class UnknownCalendar(ValueError):
    """A step is held by a department whose calendar is not known."""


def _close_segment(step: _Open, at: datetime, pause: PauseReason | None,
                   calendars: Mapping[str, CalendarSpec]) -> None:
    if at <= step.since:
        return
    calendar = calendars.get(step.department_id)
    if calendar is None:
        raise UnknownCalendar(f"department {step.department_id!r} has no known calendar")
    wall = (at - step.since).total_seconds()
    business = min(business_seconds_between(calendar, step.since, at), wall)
    part = _part(step, pause)
    step.split = step.split.plus(TimeSplit(**{part: business, "outside_hours": wall - business}))
    step.since = at


def trace_steps(events: Sequence[DomainEvent], calendars: Mapping[str, CalendarSpec],
                until: datetime) -> list[StepVisit]:
    """Every step of one request's log, in the order they started; steps still active are
    traced up to ``until``."""
    open_steps: dict[str, _Open] = {}
    visits: dict[str, StepVisit] = {}
    order: list[str] = []
    pause: PauseReason | None = None

    def close_all(at: datetime) -> None:
        for step in open_steps.values():
            _close_segment(step, at, pause, calendars)

    def finish(key: str, at: datetime, finished: bool) -> None:
        step = open_steps.pop(key)
        visits[key] = StepVisit(
            request_id=events[0].request_id, step_key=key, stage_id=step.stage_id,
            stage_index=step.stage_index, cycle=step.cycle, department_id=step.department_id,
            role=step.role, departments=tuple(step.departments), started_at=step.start,
            ended_at=at, finished=finished, split=step.split)

    for event in events:
        at = event.occurred_at
        payload = event.payload
        if isinstance(payload, StepStarted):
            open_steps[payload.step_key] = _Open(payload, at)
            order.append(payload.step_key)
            continue
        close_all(at)  # every state change below takes effect from ``at``
        match payload:
            case Claimed(step_key=str() as key) if key in open_steps:
                open_steps[key].claimed = True
            case HandedOff() if payload.step_key in open_steps:
                step = open_steps[payload.step_key]
                step.department_id = payload.to_department_id
                step.role = payload.role
                step.departments.append(step.department_id)
                step.claimed = False
            case Reassigned(step_key=str() as key) if key in open_steps:
                open_steps[key].claimed = False
            case WaitingOnCustomer():
                pause = payload.reason
            case CustomerReplied():
                pause = None
            case StepCompleted() if payload.step_key in open_steps:
                finish(payload.step_key, at, finished=True)
            case Cancelled():
                for open_key in list(open_steps):
                    finish(open_key, at, finished=False)
    close_all(max(until, events[-1].occurred_at) if events else until)
    for open_key in list(open_steps):
        finish(open_key, open_steps[open_key].since, finished=False)
    return [visits[key] for key in order if key in visits]
