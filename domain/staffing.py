"""Staffing: the people a request needs chosen by its departments' assignment rules (I/O the
workflow delegates to an activity) as ``StaffingNeed``s, and the events that follow once they
are chosen (``staffed``, ``with_staffing``), so a command is written whole at once; the
submission's first events and needs likewise."""

import copy
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from domain import calendar as business_time
from domain import sla_clock as clocks
from domain.actors import ActorRef
from domain.assignment import Assignment
from domain.events import (
    Assigned,
    Deadlines,
    EventPayload,
    HandedOff,
    PlanPinned,
    Reassigned,
    ReassignScope,
    StepStarted,
    Submitted,
    new_event,
)
from domain.plan import RequestPlan
from domain.sets import SortedSet
from domain.state import RequestState, apply


class Purpose(StrEnum):
    START_STEP = "start_step"
    HAND_OFF = "hand_off"
    REASSIGN = "reassign"


class StaffingNeed(BaseModel):
    """A person to choose in ``department_id`` with ``role`` by that department's rules."""

    model_config = ConfigDict(frozen=True)

    purpose: Purpose
    department_id: str
    role: str
    skills: SortedSet[str] = frozenset()
    exclude: SortedSet[str] = frozenset()
    step_key: str | None = None
    stage_index: int = 0
    reason: str = ""


def step_key_for(stage_id: str, branch_no: int, cycle: int) -> str:
    """``diagnose.1``; a reopened request's steps are ``diagnose.1.r2`` and so on."""
    key = f"{stage_id}.{branch_no}"
    return key if cycle == 1 else f"{key}.r{cycle}"


# --- submission -------------------------------------------------------------------------------

def submission_needs(plan: RequestPlan) -> tuple[StaffingNeed, list[StaffingNeed]]:
    """The request owner to choose, and the first stage's step owners."""
    owner = StaffingNeed(purpose=Purpose.REASSIGN, department_id=plan.template.owner_department_id,
                         role=plan.template.owner_role)
    return owner, stage_needs(plan, 0, 1)


def stage_needs(plan: RequestPlan, stage_index: int, cycle: int) -> list[StaffingNeed]:
    stage = plan.template.stages[stage_index]
    return [
        StaffingNeed(purpose=Purpose.START_STEP, department_id=branch.department_id,
                     role=branch.role, skills=branch.skills, stage_index=stage_index,
                     step_key=step_key_for(stage.id, number, cycle))
        for number, branch in enumerate(stage.branches, start=1)
    ]


def submission_payloads(plan: RequestPlan, at: datetime, owner: Assignment) -> list[EventPayload]:
    """PlanPinned, Submitted and Assigned: the log holds what the request is worked by, and the
    request has a named owner from its first events."""
    submission = plan.submission
    targets = plan.targets(submission.priority)
    calendar = plan.departments[plan.template.owner_department_id].calendar
    return [
        PlanPinned(plan=plan),
        Submitted(
            customer=submission.customer, channel=submission.channel,
            request_type=submission.request_type, priority=submission.priority,
            subject=submission.subject, description=submission.description,
            submitted_by=submission.submitted_by, template_id=plan.template.id,
            template_version=plan.template.version, policy_id=plan.policy.id,
            policy_version=plan.policy.version,
            owner_department_id=plan.template.owner_department_id,
            first_response_target_seconds=targets.first_response_seconds,
            resolution_target_seconds=targets.resolution_seconds,
            deadlines=Deadlines(
                first_response=business_time.add_business_seconds(
                    calendar, at, targets.first_response_seconds),
                resolution=business_time.add_business_seconds(
                    calendar, at, targets.resolution_seconds),
            ),
        ),
        Assigned(owner_id=owner.person_id, department_id=plan.template.owner_department_id,
                 role=plan.template.owner_role, rule=owner.rule),
    ]


# --- staffing -------------------------------------------------------------------------------

def staffed(state: RequestState, needs: list[StaffingNeed], chosen: list[Assignment],
            at: datetime, *, automatic: bool = False) -> list[EventPayload]:
    """The events that follow once ``chosen[i]`` was picked for ``needs[i]``."""
    payloads: list[EventPayload] = []
    plan = state.plan
    targets = plan.targets(state.priority)
    for need, assignment in zip(needs, chosen, strict=True):
        key = need.step_key or ""
        if need.purpose is Purpose.START_STEP:
            stage = plan.template.stages[need.stage_index]
            target = targets.step_target(stage.id)
            calendar = plan.departments[need.department_id].calendar
            payloads.append(StepStarted(
                step_key=key, stage_id=stage.id, stage_index=need.stage_index,
                step_name=stage.name, department_id=need.department_id, role=need.role,
                owner_id=assignment.person_id, rule=assignment.rule, target_seconds=target,
                cycle=state.cycle,
                deadlines=Deadlines(steps={key: business_time.add_business_seconds(
                    calendar, at, target)}),
            ))
        elif need.purpose is Purpose.HAND_OFF:
            step = state.steps[key]
            moved = clocks.switch_calendar(step.clock, at,
                                           plan.departments[need.department_id].calendar)
            payloads.append(HandedOff(
                step_key=key, from_department_id=step.department_id,
                to_department_id=need.department_id, from_owner_id=step.owner_id,
                to_owner_id=assignment.person_id, role=need.role, rule=assignment.rule,
                reason=need.reason, deadlines=Deadlines(steps={key: clocks.deadline(moved)}),
            ))
        else:
            step_owner = state.steps[key].owner_id if need.step_key else state.owner_id
            payloads.append(Reassigned(
                scope=ReassignScope.STEP if need.step_key else ReassignScope.REQUEST,
                step_key=need.step_key, from_owner_id=step_owner,
                to_owner_id=assignment.person_id, department_id=need.department_id,
                reason=need.reason, automatic=automatic,
            ))
    return payloads


def with_staffing(state: RequestState, actor: ActorRef, payloads: list[EventPayload],
                  needs: list[StaffingNeed], chosen: list[Assignment], at: datetime, *,
                  automatic: bool = False) -> list[EventPayload]:
    """``payloads`` followed by the events ``chosen`` people make of ``needs``, these decided
    on the state ``payloads`` leave behind: the whole of a command, for one append."""
    if not needs:
        return payloads
    # The plan never changes by an event: share it rather than copy its calendars.
    after = copy.deepcopy(state, {id(state.plan): state.plan})
    for number, payload in enumerate(payloads, start=1):
        apply(after, new_event(state.request_id, state.sequence + number, actor, at, payload))
    return [*payloads, *staffed(after, needs, chosen, at, automatic=automatic)]
