"""Applies one event to the read projections (``requests``, ``request_steps``,
``owner_workload``, ``escalations``, ``handoffs``).

``project`` runs inside the transaction that appends the event (``eventstore.append``) or
replays the log (``eventstore.rebuild``), so the projections never disagree with the log. It
is a pure function of the log: no wall clock (``updated_at`` is the event's ``occurred_at``),
no randomness, so a rebuild reproduces every row exactly.

Workload counters move with the owner recorded in the projection (not the ``from_*`` fields of
a payload), so they stay balanced even if a payload names a stale owner."""

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, and_, case, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from domain.dispatch import PayloadTable
from domain.events import (
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
from eventstore.engine import upsert_insert
from eventstore.reservations import clear_reservations
from schema.tables import escalations, handoffs, owner_workload, request_steps, requests

ON_TRACK = "on_track"
WARNING = "warning"
BREACHED = "breached"

_Values = dict[str, Any]
_Row = Row[*tuple[Any, ...]]


class WorkloadChanges:
    """Open-step and open-request counter moves of one transaction, written last and in
    (person, department) order: transactions that touch the same people then lock their
    workload rows in the same order and cannot deadlock."""

    def __init__(self) -> None:
        self._moves: dict[tuple[str, str], tuple[int, int]] = {}
        self._assigned: dict[tuple[str, str], int] = {}

    def add(self, person_id: str, department_id: str, steps: int, requests_: int) -> None:
        before = self._moves.get((person_id, department_id), (0, 0))
        self._moves[(person_id, department_id)] = (before[0] + steps, before[1] + requests_)
        # Counted apart from the net move: a step ended and one started for the same person in
        # one command cancel out in the counters, yet the new one was a reservation.
        gained = max(steps, 0) + max(requests_, 0)
        if gained:
            key = (person_id, department_id)
            self._assigned[key] = self._assigned.get(key, 0) + gained

    async def write(self, conn: AsyncConnection) -> None:
        # A key whose moves cancel out is still written, so its row exists whether its events
        # were projected in one transaction (rebuild) or in many (live appends).
        for (person_id, department_id), (steps, requests_) in sorted(self._moves.items()):
            statement = upsert_insert(conn, owner_workload).values(
                person_id=person_id, department_id=department_id,
                open_steps=steps, open_requests=requests_,
            )
            await conn.execute(statement.on_conflict_do_update(
                index_elements=[owner_workload.c.person_id, owner_workload.c.department_id],
                set_={
                    "open_steps": owner_workload.c.open_steps + steps,
                    "open_requests": owner_workload.c.open_requests + requests_,
                },
            ))
        for (person_id, department_id), count in sorted(self._assigned.items()):
            await clear_reservations(conn, department_id, person_id, count)
        self._moves.clear()
        self._assigned.clear()


async def project(conn: AsyncConnection, event: DomainEvent, workload: WorkloadChanges) -> None:
    """Applies ``event`` (already validated and appended) to the projections; its workload
    moves go to ``workload``, which the caller writes before committing."""
    payload = event.payload
    projection = _Projection(conn, event, workload)
    handler = PROJECTIONS.handler(type(payload))
    values = None if handler is None else await handler(projection, payload)
    if values is not None:  # None: the handler wrote the request row itself
        await projection.update_request(values)


def _not_breached(column: ColumnElement[Any], state: str) -> ColumnElement[Any]:
    """``state`` unless the SLA state is already breached (a breach is never downgraded)."""
    return case((column == BREACHED, column), else_=state)


class _Projection:
    """The projection changes of one event; each handler returns the ``requests`` values to
    set besides ``last_sequence`` and ``updated_at``."""

    def __init__(self, conn: AsyncConnection, event: DomainEvent,
                 workload: WorkloadChanges) -> None:
        self.conn = conn
        self._workload = workload
        self.event = event
        self.request_id = event.request_id
        # Normalised here: SQL expressions binding it (coalesce) do not pass through UtcDateTime.
        self.at: datetime = event.occurred_at.astimezone(UTC)

    # -- reads -----------------------------------------------------------------------------

    async def request_row(self) -> _Row | None:
        result = await self.conn.execute(
            select(
                requests.c.status,
                requests.c.owner_id,
                requests.c.owner_department_id,
                requests.c.current_step_keys,
            ).where(requests.c.request_id == self.request_id)
        )
        return result.first()

    async def step_row(self, step_key: str) -> _Row | None:
        result = await self.conn.execute(
            select(
                request_steps.c.status,
                request_steps.c.owner_id,
                request_steps.c.department_id,
            ).where(self._step(step_key))
        )
        return result.first()

    def _step(self, step_key: str) -> ColumnElement[bool]:
        return and_(
            request_steps.c.request_id == self.request_id, request_steps.c.step_key == step_key
        )

    # -- writes ----------------------------------------------------------------------------

    async def update_request(self, values: Mapping[str, Any]) -> None:
        await self.conn.execute(
            update(requests)
            .where(requests.c.request_id == self.request_id)
            .values(**values, last_sequence=self.event.sequence, updated_at=self.at)
        )

    async def update_step(self, step_key: str, **values: Any) -> None:
        await self.conn.execute(update(request_steps).where(self._step(step_key)).values(**values))

    async def workload(
        self, person_id: str | None, department_id: str | None, *, steps: int = 0,
        requests_: int = 0,
    ) -> None:
        """Moves the open-step / open-request counters of one person in one department."""
        if person_id and department_id and (steps or requests_):
            self._workload.add(person_id, department_id, steps, requests_)

    async def deadlines(self, deadlines: Deadlines, *, skip_step: str | None = None) -> _Values:
        """Applies the step deadlines an event moved; returns the request deadline values.
        Only keys present in the payload change ("a key left out is unchanged")."""
        values: _Values = {}
        if "first_response" in deadlines.model_fields_set:
            values["first_response_deadline"] = deadlines.first_response
        if "resolution" in deadlines.model_fields_set:
            values["resolution_deadline"] = deadlines.resolution
        for step_key, deadline in deadlines.steps.items():
            if step_key != skip_step:
                await self.update_step(step_key, deadline=deadline)
        return values

    # -- handlers --------------------------------------------------------------------------

    async def submitted(self, payload: Submitted) -> None:
        statement = upsert_insert(self.conn, requests).values(
            request_id=self.request_id,
            status=RequestStatus.OPEN,
            request_type=payload.request_type,
            channel=payload.channel.value,
            customer_id=payload.customer.id,
            customer_name=payload.customer.name,
            customer_tier=payload.customer.tier.value,
            priority=payload.priority.value,
            subject=payload.subject,
            owner_id=None,
            owner_department_id=payload.owner_department_id,
            current_step_keys=[],
            submitted_at=self.at,
            first_response_at=None,
            first_response_deadline=payload.deadlines.first_response,
            resolution_deadline=payload.deadlines.resolution,
            resolved_at=None,
            closed_at=None,
            sla_state=ON_TRACK,
            breach_count=0,
            escalation_count=0,
            reopen_count=0,
            satisfaction=None,
            last_sequence=self.event.sequence,
            updated_at=self.at,
        )
        await self.conn.execute(statement.on_conflict_do_nothing())

    async def assigned(self, payload: Assigned) -> _Values:
        row = await self.request_row()
        if row is None:
            return {}
        await self._move_request_owner(row, payload.owner_id, payload.department_id)
        return {"owner_id": payload.owner_id, "owner_department_id": payload.department_id}

    async def _move_request_owner(
        self, row: _Row, owner_id: str, department_id: str
    ) -> None:
        if (row.owner_id, row.owner_department_id) == (owner_id, department_id):
            return
        if row.status in FINAL_STATUSES:
            return
        await self.workload(row.owner_id, row.owner_department_id, requests_=-1)
        await self.workload(owner_id, department_id, requests_=+1)

    async def claimed(self, payload: Claimed) -> _Values:
        if payload.step_key is not None:
            await self.update_step(payload.step_key, claimed_at=self.at)
        values: _Values = {
            "status": case((requests.c.status == RequestStatus.OPEN, RequestStatus.IN_PROGRESS),
                           else_=requests.c.status)
        }
        if payload.first_response:
            values["first_response_at"] = func.coalesce(requests.c.first_response_at, self.at)
        return values

    async def step_started(self, payload: StepStarted) -> _Values:
        row = await self.request_row()
        if row is None:
            return {}
        previous = await self.step_row(payload.step_key)
        if previous is not None:
            # The same step started again (a new cycle): the row shows the latest run.
            if previous.status == StepStatus.ACTIVE:
                await self.workload(previous.owner_id, previous.department_id, steps=-1)
            await self.conn.execute(delete(request_steps).where(self._step(payload.step_key)))
        await self.conn.execute(
            insert(request_steps).values(
                request_id=self.request_id,
                step_key=payload.step_key,
                stage_id=payload.stage_id,
                stage_index=payload.stage_index,
                step_name=payload.step_name,
                department_id=payload.department_id,
                role=payload.role,
                owner_id=payload.owner_id,
                cycle=payload.cycle,
                started_at=self.at,
                claimed_at=None,
                ended_at=None,
                deadline=payload.deadlines.steps.get(payload.step_key),
                target_seconds=payload.target_seconds,
                wall_seconds=None,
                business_seconds=None,
                paused_seconds=None,
                breached=False,
                sla_state=ON_TRACK,
                escalation_count=0,
                handoff_count=0,
                reassign_count=0,
                status=StepStatus.ACTIVE,
            )
        )
        await self.workload(payload.owner_id, payload.department_id, steps=+1)
        values = await self.deadlines(payload.deadlines, skip_step=payload.step_key)
        keys = list(row.current_step_keys or [])
        if payload.step_key not in keys:
            keys.append(payload.step_key)
        values["current_step_keys"] = keys
        values["status"] = case(
            (
                and_(requests.c.status == RequestStatus.OPEN,
                     requests.c.first_response_at.is_not(None)),
                RequestStatus.IN_PROGRESS,
            ),
            else_=requests.c.status,
        )
        return values

    async def step_completed(self, payload: StepCompleted) -> _Values:
        step = await self.step_row(payload.step_key)
        if step is not None:
            values: _Values = {
                "ended_at": self.at,
                "wall_seconds": payload.wall_seconds,
                "business_seconds": payload.business_seconds,
                "paused_seconds": payload.paused_seconds,
                "target_seconds": payload.target_seconds,
                "status": StepStatus.COMPLETED,
            }
            if payload.breached:
                values.update(breached=True, sla_state=BREACHED)
            await self.update_step(payload.step_key, **values)
            if step.status == StepStatus.ACTIVE:
                await self.workload(step.owner_id, step.department_id, steps=-1)
        return await self._drop_current_steps({payload.step_key})

    async def _drop_current_steps(self, step_keys: set[str]) -> _Values:
        row = await self.request_row()
        if row is None:
            return {}
        keys = [key for key in row.current_step_keys or [] if key not in step_keys]
        return {"current_step_keys": keys}

    async def handed_off(self, payload: HandedOff) -> _Values:
        step = await self.step_row(payload.step_key)
        values = await self.deadlines(payload.deadlines)
        if step is None:
            return values
        await self.update_step(
            payload.step_key,
            department_id=payload.to_department_id,
            owner_id=payload.to_owner_id,
            role=payload.role,
            claimed_at=None,
            handoff_count=request_steps.c.handoff_count + 1,
        )
        if step.status == StepStatus.ACTIVE:
            await self.workload(step.owner_id, step.department_id, steps=-1)
            await self.workload(payload.to_owner_id, payload.to_department_id, steps=+1)
        await self.conn.execute(
            insert(handoffs).values(
                request_id=self.request_id,
                sequence=self.event.sequence,
                step_key=payload.step_key,
                from_department_id=payload.from_department_id,
                to_department_id=payload.to_department_id,
                from_owner_id=payload.from_owner_id,
                to_owner_id=payload.to_owner_id,
                occurred_at=self.at,
                reason=payload.reason,
            )
        )
        return values

    async def reassigned(self, payload: Reassigned) -> _Values:
        if payload.scope is ReassignScope.REQUEST:
            row = await self.request_row()
            if row is None:
                return {}
            await self._move_request_owner(row, payload.to_owner_id, payload.department_id)
            return {"owner_id": payload.to_owner_id, "owner_department_id": payload.department_id}
        if payload.step_key is None:
            return {}
        step = await self.step_row(payload.step_key)
        if step is None:
            return {}
        await self.update_step(
            payload.step_key,
            owner_id=payload.to_owner_id,
            department_id=payload.department_id,
            claimed_at=None,
            reassign_count=request_steps.c.reassign_count + 1,
        )
        if step.status == StepStatus.ACTIVE:
            await self.workload(step.owner_id, step.department_id, steps=-1)
            await self.workload(payload.to_owner_id, payload.department_id, steps=+1)
        return {}

    async def priority_changed(self, payload: PriorityChanged) -> _Values:
        for step_key, target in payload.step_target_seconds.items():
            await self.conn.execute(
                update(request_steps)
                .where(self._step(step_key), request_steps.c.status == StepStatus.ACTIVE)
                .values(target_seconds=target)
            )
        values = await self.deadlines(payload.deadlines)
        values["priority"] = payload.to_priority.value
        return values

    async def sla_warning(self, payload: SlaWarning) -> _Values:
        step_key = step_key_of(payload.clock_id)
        if step_key is not None:
            await self.update_step(
                step_key, sla_state=_not_breached(request_steps.c.sla_state, WARNING)
            )
            return {}
        return {"sla_state": _not_breached(requests.c.sla_state, WARNING)}

    async def sla_breached(self, payload: SlaBreached) -> _Values:
        step_key = step_key_of(payload.clock_id)
        if step_key is not None:
            await self.update_step(step_key, sla_state=BREACHED, breached=True)
        return {"sla_state": BREACHED, "breach_count": requests.c.breach_count + 1}

    async def escalated(self, payload: Escalated) -> _Values:
        await self.conn.execute(
            insert(escalations).values(
                request_id=self.request_id,
                sequence=self.event.sequence,
                clock_id=payload.clock_id,
                breach_number=payload.breach_number,
                level=payload.level,
                level_name=payload.level_name,
                recipient_id=payload.recipient_id,
                department_id=payload.department_id,
                occurred_at=self.at,
                acknowledged_at=None,
            )
        )
        step_key = step_key_of(payload.clock_id)
        if step_key is not None:
            await self.update_step(
                step_key, escalation_count=request_steps.c.escalation_count + 1
            )
        return {"escalation_count": requests.c.escalation_count + 1}

    async def escalation_acknowledged(self, payload: EscalationAcknowledged) -> _Values:
        latest = (
            select(func.max(escalations.c.sequence))
            .where(
                escalations.c.request_id == self.request_id,
                escalations.c.clock_id == payload.clock_id,
                escalations.c.breach_number == payload.breach_number,
            )
            .scalar_subquery()
        )
        await self.conn.execute(
            update(escalations)
            .where(
                escalations.c.request_id == self.request_id,
                escalations.c.sequence == latest,
                escalations.c.acknowledged_at.is_(None),
            )
            .values(acknowledged_at=self.at)
        )
        return {}

    async def waiting_on_customer(self, payload: WaitingOnCustomer) -> _Values:
        return {**await self.deadlines(payload.deadlines),
                "status": RequestStatus.WAITING_ON_CUSTOMER}

    async def customer_replied(self, payload: CustomerReplied) -> _Values:
        return {**await self.deadlines(payload.deadlines), "status": RequestStatus.IN_PROGRESS}

    async def note_added(self, _payload: NoteAdded) -> _Values:
        return {}

    async def only_sequenced(self, _payload: EventPayload) -> _Values:
        """An event no column shows (the log keeps it): only the request's last sequence moves."""
        return {}

    async def resolved(self, _payload: Resolved) -> _Values:
        return {"status": RequestStatus.RESOLVED, "resolved_at": self.event.occurred_at}

    async def customer_feedback(self, payload: ResolutionConfirmed | ResolutionRejected
                                ) -> _Values:
        return {"satisfaction": payload.satisfaction}

    async def reopened(self, payload: Reopened) -> _Values:
        return {
            **await self.deadlines(payload.deadlines),
            "status": RequestStatus.IN_PROGRESS,
            "reopen_count": requests.c.reopen_count + 1,
            "resolved_at": None,
        }

    async def closed(self, _payload: Closed) -> _Values:
        row = await self.request_row()
        if row is None or row.status in FINAL_STATUSES:
            return {}
        await self.workload(row.owner_id, row.owner_department_id, requests_=-1)
        return {"status": RequestStatus.CLOSED, "closed_at": self.at}

    async def cancelled(self, _payload: Cancelled) -> _Values:
        row = await self.request_row()
        if row is None or row.status in FINAL_STATUSES:
            return {}
        await self.workload(row.owner_id, row.owner_department_id, requests_=-1)
        active = await self.conn.execute(
            select(request_steps.c.owner_id, request_steps.c.department_id).where(
                request_steps.c.request_id == self.request_id,
                request_steps.c.status == StepStatus.ACTIVE,
            )
        )
        for step in active.all():
            await self.workload(step.owner_id, step.department_id, steps=-1)
        await self.conn.execute(
            update(request_steps)
            .where(
                request_steps.c.request_id == self.request_id,
                request_steps.c.status == StepStatus.ACTIVE,
            )
            .values(status=StepStatus.CANCELLED, ended_at=self.at)
        )
        return {"status": RequestStatus.CANCELLED, "closed_at": self.at, "current_step_keys": []}


PROJECTIONS: PayloadTable[Callable[[_Projection, Any], Awaitable[_Values | None]]] = PayloadTable({
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
