"""How a request's submission, commands and passing time become writes: the one loop that the
workflow runs with activities and the unit tests' driver runs in memory, so the two cannot
drift. Each function is a generator of effects: ``Staff`` is answered with the people chosen
for its needs, ``Commit`` (its events written and applied to the state) with nothing; between
effects it reads the state, which the runner has changed by then."""

from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime

from domain import commands as cmd
from domain.actors import SYSTEM, ActorKind, ActorRef
from domain.assignment import Assignment
from domain.decisions import Decision, decide
from domain.events import DepartmentPinned, EventPayload
from domain.org import Department
from domain.staffing import StaffingNeed, submission_needs, submission_payloads, with_staffing
from domain.state import RequestState
from domain.timers import due, late_resolution

Clock = Callable[[], datetime]
"""The time of the runner's current step: a workflow's ``workflow.now``, or a test's clock."""


@dataclass(frozen=True)
class Staff:
    """People for ``needs``, by the rules of their departments in ``departments``."""

    needs: list[StaffingNeed]
    departments: dict[str, Department]


@dataclass(frozen=True)
class Commit:
    """``payloads`` written as the request's next events by ``actor``, then applied."""

    actor: ActorRef
    payloads: list[EventPayload]


Effect = Staff | Commit
Writes = Generator[Effect, list[Assignment], None]


def submission(state: RequestState, now: Clock) -> Writes:
    """The owner and the first stage's people chosen, then one commit: the plan pinned, the
    request submitted and staffed."""
    plan = state.plan
    owner_need, first_stage = submission_needs(plan)
    owner, *first_owners = yield Staff([owner_need, *first_stage], plan.departments)
    actor = submitter(state)
    submitted = submission_payloads(plan, now(), owner)
    yield Commit(actor, with_staffing(state, actor, submitted, first_stage, first_owners, now()))


def due_work(state: RequestState, now: Clock) -> Writes:
    """Everything time has made due (warnings, breaches, escalations and the reassignments
    they bring), one commit each, until nothing more is."""
    while (work := due(state, now())).payloads:
        chosen = (yield Staff(work.needs, state.plan.departments)) if work.needs else []
        yield Commit(SYSTEM, with_staffing(state, SYSTEM, work.payloads, work.needs, chosen,
                                           now(), automatic=True))


def command_writes(state: RequestState, command: cmd.RequestCommand, decision: Decision,
                   now: Clock, *, late_resolution_window: Callable[[], bool]) -> Writes:
    """A decided command: its people chosen first, then one commit (a validator never sees
    half a command); a resolution applied late also commits what the delay made due
    (``late_resolution_window`` says whether this request's version does)."""
    departments = departments_after(state, decision.payloads)
    chosen = (yield Staff(decision.needs, departments)) if decision.needs else []
    yield Commit(decision.actor, with_staffing(state, decision.actor, decision.payloads,
                                               decision.needs, chosen, now()))
    if isinstance(command, cmd.Resolve) and late_resolution_window():
        yield Commit(SYSTEM, late_resolution(state, now()))


def with_department_pinned(state: RequestState, command: cmd.HandOff, department: Department,
                           at: datetime) -> Decision:
    """A handoff to a department the request has not involved yet, decided with that
    department's current calendar and roster pinned (``DepartmentPinned``, written with it)."""
    plan = state.plan
    pinned = plan.model_copy(update={"departments": {**plan.departments,
                                                     department.id: department}})
    decision = decide(state.model_copy(update={"plan": pinned}), command, at)
    return decision.model_copy(update={
        "payloads": [DepartmentPinned(department=department), *decision.payloads]})


def submitter(state: RequestState) -> ActorRef:
    submission = state.plan.submission
    department = next((d.id for d in state.plan.departments.values()
                       if d.member(submission.submitted_by)), None)
    return ActorRef(id=submission.submitted_by, kind=ActorKind.STAFF, role="submitter",
                    department_id=department)


def departments_after(state: RequestState,
                      payloads: list[EventPayload]) -> dict[str, Department]:
    """The request's departments once ``payloads`` are applied: a handoff may pin one."""
    pinned = {p.department.id: p.department for p in payloads if isinstance(p, DepartmentPinned)}
    return {**state.plan.departments, **pinned}
