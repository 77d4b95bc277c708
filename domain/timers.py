"""What time alone does to a request: SLA warnings and breaches, the escalation ladder, and the
end of the reopen window. ``due`` says what is due at ``now``; ``next_due_at`` says when the
workflow must wake next. Both read the state and change nothing."""

from datetime import datetime

from pydantic import BaseModel

from domain import calendar as business_time
from domain import sla_clock as clocks
from domain.events import (
    Assigned,
    Claimed,
    Closed,
    DepartmentPinned,
    Escalated,
    EventPayload,
    NoteAdded,
    Reassigned,
    ReopenWindowRestarted,
    ResolutionConfirmed,
    ResolutionRejected,
    SlaBreached,
    SlaWarning,
)
from domain.policy import EscalationLevel
from domain.staffing import Purpose, StaffingNeed
from domain.state import BreachState, RequestState, RequestStatus, step_key_of


class DueWork(BaseModel):
    payloads: list[EventPayload] = []
    needs: list[StaffingNeed] = []


def _alert_payloads(state: RequestState, now: datetime) -> list[EventPayload]:
    thresholds = state.plan.policy.alert_thresholds
    found: list[EventPayload] = []
    for clock_id, clock in state.active_clocks().items():
        to_emit, _ = clocks.due_thresholds(clock, now, thresholds, state.fired.get(clock_id, []))
        if to_emit is None:
            continue
        owner_id, department_id = state.clock_owner(clock_id)
        elapsed = clocks.elapsed_seconds(clock, now)
        if to_emit >= 1.0:
            found.append(SlaBreached(
                clock_id=clock_id, breach_number=state.breach_counts.get(clock_id, 0) + 1,
                breached_at=_breach_instant(state, clock, now),
                elapsed_seconds=elapsed, target_seconds=clock.target_seconds,
                department_id=department_id, owner_id=owner_id))
        else:
            found.append(SlaWarning(
                clock_id=clock_id, threshold=to_emit, elapsed_seconds=elapsed,
                target_seconds=clock.target_seconds, department_id=department_id,
                owner_id=owner_id))
    return found


def _breach_instant(state: RequestState, clock: clocks.SlaClock, now: datetime) -> datetime:
    """When the target was crossed: a late-noticed breach (after an outage) keeps its real
    instant so the ladder catches up; one caused by a new target dates from the change, so a
    retarget never sets off the whole ladder at once."""
    crossed = clocks.instant_of(clock, 1.0) or now
    if state.retargeted_at is not None and crossed < state.retargeted_at:
        return state.retargeted_at
    return min(crossed, now)


def _next_level(
    state: RequestState, breach: BreachState, active: dict[str, clocks.SlaClock]
) -> tuple[EscalationLevel, datetime] | None:
    """The ladder's next level for ``breach`` and when it is due, or None when it has stopped:
    acknowledged, at the top, or its clock no longer running (step done, request resolved)."""
    if breach.acknowledged or breach.level >= EscalationLevel.HEAD:
        return None
    clock = active.get(breach.clock_id)
    if clock is None:
        return None
    level = EscalationLevel(breach.level + 1)
    delay = state.plan.policy.escalation.delay_before(level)
    at = business_time.add_business_seconds(clock.calendar, breach.breached_at, delay)
    return level, at


def _escalations(state: RequestState, now: datetime) -> DueWork:
    work = DueWork()
    policy = state.plan.policy.escalation
    active = state.active_clocks()  # asked once: each call builds the mapping anew
    for breach in state.breaches.values():
        upcoming = _next_level(state, breach, active)
        if upcoming is None or upcoming[1] > now:
            continue
        level = upcoming[0]
        owner_id, department_id = state.clock_owner(breach.clock_id)
        department = state.plan.departments[department_id]
        recipient = {EscalationLevel.OWNER: owner_id,
                     EscalationLevel.SUPERVISOR: department.supervisor_id,
                     EscalationLevel.HEAD: department.head_id}[level]
        work.payloads.append(Escalated(
            clock_id=breach.clock_id, breach_number=breach.number, level=level,
            level_name=level.label, recipient_id=recipient, department_id=department_id))
        if policy.auto_reassign_at == level:
            step_key = step_key_of(breach.clock_id)
            role = state.steps[step_key].role if step_key else state.plan.template.owner_role
            work.needs.append(StaffingNeed(
                purpose=Purpose.REASSIGN, department_id=department_id, role=role,
                step_key=step_key, exclude=frozenset({owner_id}),
                reason=f"automatic reassignment on {level.label} escalation of {breach.clock_id}"))
    return work


def due(state: RequestState, now: datetime) -> DueWork:
    """Events due at ``now``. Alerts come first: a breach found now is escalated on the next
    pass, once the breach is part of the state."""
    if state.is_final:
        return DueWork()
    alerts = _alert_payloads(state, now)
    if alerts:
        return DueWork(payloads=alerts)
    ladder = _escalations(state, now)
    if ladder.payloads:
        return ladder
    if (state.status is RequestStatus.RESOLVED and state.reopen_until is not None
            and now >= state.reopen_until):
        wall = (now - (state.submitted_at or now)).total_seconds()
        return DueWork(payloads=[Closed(reason="reopen window ended", wall_seconds=wall)])
    return DueWork()


LATE_APPLY_SECONDS = 1.0
"""A resolution applied this much after it was decided was held up (the store was down)."""


def late_resolution(state: RequestState, applied_at: datetime) -> list[EventPayload]:
    """The reopen window of a resolution that reached the log only at ``applied_at`` runs
    again from then, so a request never closes, and refuses feedback, because the system
    itself was down; nothing when it was applied in time."""
    if state.status is not RequestStatus.RESOLVED or state.resolved_at is None:
        return []
    late = (applied_at - state.resolved_at).total_seconds()
    if late < LATE_APPLY_SECONDS:
        return []
    calendar = state.plan.departments[state.owner_department_id].calendar
    until = business_time.add_business_seconds(calendar, applied_at,
                                               state.plan.policy.reopen_window_seconds)
    return [ReopenWindowRestarted(reopen_until=until, late_seconds=late)]


def next_due_at(state: RequestState) -> datetime | None:
    """The earliest instant at which ``due`` may return work, or None if only a message can."""
    if state.is_final:
        return None
    candidates: list[datetime] = []
    thresholds = state.plan.policy.alert_thresholds
    active = state.active_clocks()  # asked once: each call builds the mapping anew
    for clock_id, clock in active.items():
        at = clocks.next_threshold_instant(clock, thresholds, state.fired.get(clock_id, []))
        if at is not None:
            candidates.append(at)
    for breach in state.breaches.values():
        upcoming = _next_level(state, breach, active)
        if upcoming is not None:
            candidates.append(upcoming[1])
    if state.status is RequestStatus.RESOLVED and state.reopen_until is not None:
        candidates.append(state.reopen_until)
    return min(candidates, default=None)


_OWNERS_NOTES_SATISFACTION = (Assigned, Reassigned, NoteAdded, ResolutionConfirmed,
                              ResolutionRejected, DepartmentPinned)


def moves_no_timer(payload: EventPayload) -> bool:
    """Whether applying ``payload`` leaves ``next_due_at`` as it was: it changes owners, notes,
    satisfaction or a pinned department, or claims without a first response, and no clock,
    threshold, breach or resolution. Lets a replay skip asking again after such an event."""
    if isinstance(payload, Claimed):
        return not payload.first_response
    return isinstance(payload, _OWNERS_NOTES_SATISFACTION)
