"""Applies one event to the read projections (``requests``, ``request_steps``,
``owner_workload``, ``escalations``, ``handoffs``), held in memory by ``ProjectionRows``.

``project`` runs inside the transaction that appends the event (``eventstore.append``) or
replays the log (``eventstore.rebuild``), whose ``ProjectionRows`` writes the changes back
before it commits, so the projections never disagree with the log. It is a pure function of
the log: no wall clock (``updated_at`` is the event's ``occurred_at``), no randomness, so a
rebuild reproduces every row exactly.

Workload counters move with the owner recorded in the projection (not the ``from_*`` fields of
a payload), so they stay balanced even if a payload names a stale owner."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from domain.dispatch import PayloadTable
from domain.events import (
    PAYLOAD_TYPES,
    Assigned,
    Cancelled,
    Claimed,
    Closed,
    CustomerErased,
    CustomerReplied,
    Deadlines,
    DepartmentPinned,
    DomainEvent,
    Escalated,
    EscalationAcknowledged,
    EventPayload,
    HandedOff,
    NoteAdded,
    PlanPinned,
    PriorityChanged,
    Reassigned,
    ReassignScope,
    Reopened,
    ReopenWindowRestarted,
    ResolutionConfirmed,
    ResolutionRejected,
    Resolved,
    SlaBreached,
    SlaRetargeted,
    SlaWarning,
    StepCompleted,
    StepStarted,
    Submitted,
    WaitingOnCustomer,
)
from domain.state import FINAL_STATUSES, RequestStatus, StepStatus, step_key_of
from eventstore.projection_rows import ProjectionRows, Values

ON_TRACK = "on_track"
WARNING = "warning"
BREACHED = "breached"

_Values = Values


def project(rows: ProjectionRows, event: DomainEvent) -> None:
    """Applies ``event`` (already validated and appended) to ``rows``, which the caller
    writes before committing."""
    payload = event.payload
    projection = _Projection(rows, event)
    handler = PROJECTIONS.handler(type(payload))
    values = None if handler is None else handler(projection, payload)
    if values is not None:  # None: the handler wrote the request row itself
        projection.update_request(values)


def _not_breached(state: str, new: str) -> str:
    """``new`` unless the SLA state is already breached (a breach is never downgraded)."""
    return state if state == BREACHED else new


class _Projection:
    """The projection changes of one event; each handler returns the ``requests`` values to
    set besides ``last_sequence`` and ``updated_at``."""

    def __init__(self, rows: ProjectionRows, event: DomainEvent) -> None:
        self.rows = rows
        self.event = event
        self.request_id = event.request_id
        self.at: datetime = event.occurred_at.astimezone(UTC)

    # -- reads -----------------------------------------------------------------------------

    def request_row(self) -> _Values | None:
        return self.rows.request(self.request_id)

    def step_row(self, step_key: str) -> _Values | None:
        return self.rows.step(self.request_id, step_key)

    # -- writes ----------------------------------------------------------------------------

    def update_request(self, values: _Values) -> None:
        self.rows.set_request(self.request_id, {**values, "last_sequence": self.event.sequence,
                                                "updated_at": self.at})

    def update_step(self, step_key: str, **values: Any) -> None:
        self.rows.set_step(self.request_id, step_key, values)

    def workload(
        self, person_id: str | None, department_id: str | None, *, steps: int = 0,
        requests_: int = 0,
    ) -> None:
        """Moves the open-step / open-request counters of one person in one department."""
        if person_id and department_id and (steps or requests_):
            self.rows.workload.add(person_id, department_id, steps, requests_)

    def deadlines(self, deadlines: Deadlines, *, skip_step: str | None = None) -> _Values:
        """Applies the step deadlines an event moved; returns the request deadline values.
        Only keys present in the payload change ("a key left out is unchanged")."""
        values: _Values = {}
        if "first_response" in deadlines.model_fields_set:
            values["first_response_deadline"] = deadlines.first_response
        if "resolution" in deadlines.model_fields_set:
            values["resolution_deadline"] = deadlines.resolution
        for step_key, deadline in deadlines.steps.items():
            if step_key != skip_step:
                self.update_step(step_key, deadline=deadline)
        return values

    # -- handlers --------------------------------------------------------------------------

    def submitted(self, payload: Submitted) -> None:
        if self.request_row() is not None:  # as ON CONFLICT DO NOTHING
            return
        self.rows.add_request({
            "request_id": self.request_id,
            "status": RequestStatus.OPEN.value,
            "request_type": payload.request_type,
            "channel": payload.channel.value,
            "customer_id": payload.customer.id,
            "customer_name": payload.customer.name,
            "customer_tier": payload.customer.tier.value,
            "priority": payload.priority.value,
            "subject": payload.subject,
            "owner_id": None,
            "owner_department_id": payload.owner_department_id,
            "current_step_keys": [],
            "submitted_at": self.at,
            "first_response_at": None,
            "first_response_deadline": payload.deadlines.first_response,
            "resolution_deadline": payload.deadlines.resolution,
            "resolved_at": None,
            "closed_at": None,
            "sla_state": ON_TRACK,
            "breach_count": 0,
            "escalation_count": 0,
            "reopen_count": 0,
            "satisfaction": None,
            "last_sequence": self.event.sequence,
            "updated_at": self.at,
        })

    def assigned(self, payload: Assigned) -> _Values:
        row = self.request_row()
        if row is None:
            return {}
        self._move_request_owner(row, payload.owner_id, payload.department_id)
        return {"owner_id": payload.owner_id, "owner_department_id": payload.department_id}

    def _move_request_owner(self, row: _Values, owner_id: str, department_id: str) -> None:
        if (row["owner_id"], row["owner_department_id"]) == (owner_id, department_id):
            return
        if row["status"] in FINAL_STATUSES:
            return
        self.workload(row["owner_id"], row["owner_department_id"], requests_=-1)
        self.workload(owner_id, department_id, requests_=+1)

    def claimed(self, payload: Claimed) -> _Values:
        if payload.step_key is not None:
            self.update_step(payload.step_key, claimed_at=self.at)
        row = self.request_row()
        if row is None:
            return {}
        values: _Values = {}
        if row["status"] == RequestStatus.OPEN:
            values["status"] = RequestStatus.IN_PROGRESS.value
        if payload.first_response and row["first_response_at"] is None:
            values["first_response_at"] = self.at
        return values

    def step_started(self, payload: StepStarted) -> _Values:
        row = self.request_row()
        if row is None:
            return {}
        previous = self.step_row(payload.step_key)
        # The same step started again (a new cycle): the row shows the latest run.
        if previous is not None and previous["status"] == StepStatus.ACTIVE:
            self.workload(previous["owner_id"], previous["department_id"], steps=-1)
        self.rows.put_step({
            "request_id": self.request_id,
            "step_key": payload.step_key,
            "stage_id": payload.stage_id,
            "stage_index": payload.stage_index,
            "step_name": payload.step_name,
            "department_id": payload.department_id,
            "role": payload.role,
            "owner_id": payload.owner_id,
            "cycle": payload.cycle,
            "started_at": self.at,
            "claimed_at": None,
            "ended_at": None,
            "deadline": payload.deadlines.steps.get(payload.step_key),
            "target_seconds": payload.target_seconds,
            "wall_seconds": None,
            "business_seconds": None,
            "paused_seconds": None,
            "breached": False,
            "sla_state": ON_TRACK,
            "escalation_count": 0,
            "handoff_count": 0,
            "reassign_count": 0,
            "status": StepStatus.ACTIVE.value,
        })
        self.workload(payload.owner_id, payload.department_id, steps=+1)
        values = self.deadlines(payload.deadlines, skip_step=payload.step_key)
        keys = list(row["current_step_keys"] or [])
        if payload.step_key not in keys:
            keys.append(payload.step_key)
        values["current_step_keys"] = keys
        if row["status"] == RequestStatus.OPEN and row["first_response_at"] is not None:
            values["status"] = RequestStatus.IN_PROGRESS.value
        return values

    def step_completed(self, payload: StepCompleted) -> _Values:
        step = self.step_row(payload.step_key)
        if step is not None:
            was_active = step["status"] == StepStatus.ACTIVE
            values: _Values = {
                "ended_at": self.at,
                "wall_seconds": payload.wall_seconds,
                "business_seconds": payload.business_seconds,
                "paused_seconds": payload.paused_seconds,
                "target_seconds": payload.target_seconds,
                "status": StepStatus.COMPLETED.value,
            }
            if payload.breached:
                values.update(breached=True, sla_state=BREACHED)
            self.update_step(payload.step_key, **values)
            if was_active:
                self.workload(step["owner_id"], step["department_id"], steps=-1)
        return self._drop_current_steps({payload.step_key})

    def _drop_current_steps(self, step_keys: set[str]) -> _Values:
        row = self.request_row()
        if row is None:
            return {}
        keys = [key for key in row["current_step_keys"] or [] if key not in step_keys]
        return {"current_step_keys": keys}

    def handed_off(self, payload: HandedOff) -> _Values:
        step = self.step_row(payload.step_key)
        values = self.deadlines(payload.deadlines)
        if step is None:
            return values
        before = dict(step)
        self.update_step(
            payload.step_key,
            department_id=payload.to_department_id,
            owner_id=payload.to_owner_id,
            role=payload.role,
            claimed_at=None,
            handoff_count=before["handoff_count"] + 1,
        )
        if before["status"] == StepStatus.ACTIVE:
            self.workload(before["owner_id"], before["department_id"], steps=-1)
            self.workload(payload.to_owner_id, payload.to_department_id, steps=+1)
        self.rows.add_handoff({
            "request_id": self.request_id,
            "sequence": self.event.sequence,
            "step_key": payload.step_key,
            "from_department_id": payload.from_department_id,
            "to_department_id": payload.to_department_id,
            "from_owner_id": payload.from_owner_id,
            "to_owner_id": payload.to_owner_id,
            "occurred_at": self.at,
            "reason": payload.reason,
        })
        return values

    def reassigned(self, payload: Reassigned) -> _Values:
        if payload.scope is ReassignScope.REQUEST:
            row = self.request_row()
            if row is None:
                return {}
            self._move_request_owner(row, payload.to_owner_id, payload.department_id)
            return {"owner_id": payload.to_owner_id, "owner_department_id": payload.department_id}
        if payload.step_key is None:
            return {}
        step = self.step_row(payload.step_key)
        if step is None:
            return {}
        before = dict(step)
        self.update_step(
            payload.step_key,
            owner_id=payload.to_owner_id,
            department_id=payload.department_id,
            claimed_at=None,
            reassign_count=before["reassign_count"] + 1,
        )
        if before["status"] == StepStatus.ACTIVE:
            self.workload(before["owner_id"], before["department_id"], steps=-1)
            self.workload(payload.to_owner_id, payload.department_id, steps=+1)
        return {}

    def priority_changed(self, payload: PriorityChanged) -> _Values:
        for step_key, target in payload.step_target_seconds.items():
            step = self.step_row(step_key)
            if step is not None and step["status"] == StepStatus.ACTIVE:
                self.update_step(step_key, target_seconds=target)
        values = self.deadlines(payload.deadlines)
        values["priority"] = payload.to_priority.value
        return values

    def sla_warning(self, payload: SlaWarning) -> _Values:
        step_key = step_key_of(payload.clock_id)
        if step_key is not None:
            step = self.step_row(step_key)
            if step is not None:
                self.update_step(step_key, sla_state=_not_breached(step["sla_state"], WARNING))
            return {}
        row = self.request_row()
        return {} if row is None else {"sla_state": _not_breached(row["sla_state"], WARNING)}

    def sla_breached(self, payload: SlaBreached) -> _Values:
        step_key = step_key_of(payload.clock_id)
        if step_key is not None:
            self.update_step(step_key, sla_state=BREACHED, breached=True)
        row = self.request_row()
        return {} if row is None else {"sla_state": BREACHED,
                                       "breach_count": row["breach_count"] + 1}

    def escalated(self, payload: Escalated) -> _Values:
        self.rows.add_escalation({
            "request_id": self.request_id,
            "sequence": self.event.sequence,
            "clock_id": payload.clock_id,
            "breach_number": payload.breach_number,
            "level": payload.level,
            "level_name": payload.level_name,
            "recipient_id": payload.recipient_id,
            "department_id": payload.department_id,
            "occurred_at": self.at,
            "acknowledged_at": None,
        })
        step_key = step_key_of(payload.clock_id)
        step = None if step_key is None else self.step_row(step_key)
        if step_key is not None and step is not None:
            self.update_step(step_key, escalation_count=step["escalation_count"] + 1)
        row = self.request_row()
        return {} if row is None else {"escalation_count": row["escalation_count"] + 1}

    def escalation_acknowledged(self, payload: EscalationAcknowledged) -> _Values:
        of_breach = [row for row in self.rows.escalations_of(self.request_id)
                     if (row["clock_id"], row["breach_number"])
                     == (payload.clock_id, payload.breach_number)]
        if of_breach:
            latest = max(of_breach, key=lambda row: int(row["sequence"]))
            if latest["acknowledged_at"] is None:
                self.rows.set_escalation(self.request_id, latest["sequence"],
                                         {"acknowledged_at": self.at})
        return {}

    def waiting_on_customer(self, payload: WaitingOnCustomer) -> _Values:
        return {**self.deadlines(payload.deadlines),
                "status": RequestStatus.WAITING_ON_CUSTOMER.value}

    def customer_replied(self, payload: CustomerReplied) -> _Values:
        return {**self.deadlines(payload.deadlines), "status": RequestStatus.IN_PROGRESS.value}

    def note_added(self, _payload: NoteAdded) -> _Values:
        return {}

    def only_sequenced(self, _payload: EventPayload) -> _Values:
        """An event no column shows (the log keeps it): only the request's last sequence moves."""
        return {}

    def resolved(self, _payload: Resolved) -> _Values:
        return {"status": RequestStatus.RESOLVED.value, "resolved_at": self.at}

    def customer_feedback(self, payload: ResolutionConfirmed | ResolutionRejected) -> _Values:
        return {"satisfaction": payload.satisfaction}

    def reopened(self, payload: Reopened) -> _Values:
        row = self.request_row()
        if row is None:
            return {}
        return {
            **self.deadlines(payload.deadlines),
            "status": RequestStatus.IN_PROGRESS.value,
            "reopen_count": row["reopen_count"] + 1,
            "resolved_at": None,
        }

    def closed(self, _payload: Closed) -> _Values:
        row = self.request_row()
        if row is None or row["status"] in FINAL_STATUSES:
            return {}
        self.workload(row["owner_id"], row["owner_department_id"], requests_=-1)
        return {"status": RequestStatus.CLOSED.value, "closed_at": self.at}

    def cancelled(self, _payload: Cancelled) -> _Values:
        row = self.request_row()
        if row is None or row["status"] in FINAL_STATUSES:
            return {}
        self.workload(row["owner_id"], row["owner_department_id"], requests_=-1)
        for step in self.rows.steps_of(self.request_id):
            if step["status"] == StepStatus.ACTIVE:
                self.workload(step["owner_id"], step["department_id"], steps=-1)
                self.update_step(step["step_key"], status=StepStatus.CANCELLED.value,
                                 ended_at=self.at)
        return {"status": RequestStatus.CANCELLED.value, "closed_at": self.at,
                "current_step_keys": []}


PROJECTIONS: PayloadTable[Callable[[_Projection, Any], _Values | None]] = PayloadTable({
    Submitted: _Projection.submitted,
    Assigned: _Projection.assigned,
    Claimed: _Projection.claimed,
    StepStarted: _Projection.step_started,
    StepCompleted: _Projection.step_completed,
    HandedOff: _Projection.handed_off,
    Reassigned: _Projection.reassigned,
    PriorityChanged: _Projection.priority_changed,
    WaitingOnCustomer: _Projection.waiting_on_customer,
    CustomerReplied: _Projection.customer_replied,
    SlaWarning: _Projection.sla_warning,
    SlaBreached: _Projection.sla_breached,
    Escalated: _Projection.escalated,
    EscalationAcknowledged: _Projection.escalation_acknowledged,
    NoteAdded: _Projection.note_added,
    Resolved: _Projection.resolved,
    ResolutionConfirmed: _Projection.customer_feedback,
    ResolutionRejected: _Projection.customer_feedback,
    Reopened: _Projection.reopened,
    Closed: _Projection.closed,
    Cancelled: _Projection.cancelled,
    DepartmentPinned: _Projection.only_sequenced,
    ReopenWindowRestarted: _Projection.only_sequenced,
    SlaRetargeted: _Projection.only_sequenced,
    CustomerErased: _Projection.only_sequenced,
}, ignored=[PlanPinned])  # the plan lives in the log; the request's row begins with Submitted

UNPROJECTED = frozenset(
    event_type.value for event_type, kind in PAYLOAD_TYPES.items()
    if PROJECTIONS.handler(kind) is None)
"""Event types no projection shows: a rebuild need not even parse them."""
