"""The request workflow's input and what its queries and updates answer."""

from datetime import datetime

from pydantic import BaseModel

from domain import sla_clock as clocks
from domain.plan import RequestPlan
from domain.sla_clock import SlaClock
from domain.state import RequestState, RequestStatus, StepStatus

WORKFLOW_NAME = "CustomerRequest"


class RequestWorkflowInput(BaseModel):
    """A new request carries its plan; a continued-as-new run carries its whole state too."""

    plan: RequestPlan
    state: RequestState | None = None


class ClockView(BaseModel):
    """A clock as of its view's ``as_of``; ``clock`` lets a reader compute the figures again
    at the moment it reads them (``read_at``)."""

    clock_id: str
    elapsed_seconds: float
    remaining_seconds: float
    target_seconds: float
    paused: bool
    deadline: datetime | None
    clock: SlaClock


class StepView(BaseModel):
    step_key: str
    name: str
    department_id: str
    role: str
    owner_id: str
    status: StepStatus
    started_at: datetime
    claimed_at: datetime | None
    ended_at: datetime | None


class BreachView(BaseModel):
    clock_id: str
    level: int
    recipient_id: str | None
    acknowledged: bool


class RequestView(BaseModel):
    """A request as its owner sees it at ``as_of`` (a workflow answers as of its last task;
    ``read_at`` brings the clocks to the moment of reading)."""

    as_of: datetime
    request_id: str
    subject: str
    customer_name: str
    status: RequestStatus
    priority: str
    owner_id: str
    owner_department_id: str
    sequence: int
    steps: list[StepView]
    clocks: list[ClockView]
    breaches: list[BreachView]
    reopen_until: datetime | None
    satisfaction: int | None
    parked: str | None = None
    """Why the request is parked for an operator (its log disagrees with it), else None."""


def view_of(state: RequestState, now: datetime) -> RequestView:
    submission = state.plan.submission
    return RequestView(
        as_of=now, request_id=state.request_id, subject=submission.subject,
        customer_name=submission.customer.name, status=state.status,
        priority=state.priority.value, owner_id=state.owner_id,
        owner_department_id=state.owner_department_id, sequence=state.sequence,
        steps=[StepView(step_key=s.key, name=s.name, department_id=s.department_id,
                        role=s.role, owner_id=s.owner_id, status=s.status,
                        started_at=s.started_at, claimed_at=s.claimed_at, ended_at=s.ended_at)
               for s in state.steps.values()],
        clocks=[_clock_view(cid, c, now) for cid, c in state.active_clocks().items()],
        breaches=[BreachView(clock_id=b.clock_id, level=b.level, recipient_id=b.recipient_id,
                             acknowledged=b.acknowledged) for b in state.breaches.values()],
        reopen_until=state.reopen_until, satisfaction=state.satisfaction,
    )


def read_at(view: RequestView, now: datetime) -> RequestView:
    """``view`` with its clocks' elapsed and remaining time as of ``now`` (never earlier than
    the view itself): what a reader shows at the moment it reads."""
    if now <= view.as_of:
        return view
    return view.model_copy(update={
        "as_of": now,
        "clocks": [_clock_view(c.clock_id, c.clock, now) for c in view.clocks]})


def _clock_view(clock_id: str, clock: SlaClock, now: datetime) -> ClockView:
    return ClockView(clock_id=clock_id, elapsed_seconds=clocks.elapsed_seconds(clock, now),
                     remaining_seconds=clocks.remaining_seconds(clock, now),
                     target_seconds=clock.target_seconds, paused=clock.pause_reason is not None,
                     deadline=clocks.deadline(clock), clock=clock)
