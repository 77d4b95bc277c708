"""The event vocabulary of a request: one immutable event per transition, each with a payload
schema. The workflow produces them, the store validates and appends them, projections and
metrics read them."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
)

from domain.actors import ActorRef
from domain.org import Department
from domain.plan import RequestPlan
from domain.request import Channel, Customer, Priority
from domain.sla_clock import PauseReason


class EventType(StrEnum):
    PLAN_PINNED = "plan_pinned"
    DEPARTMENT_PINNED = "department_pinned"
    SUBMITTED = "submitted"
    ASSIGNED = "assigned"
    CLAIMED = "claimed"
    STEP_STARTED = "step_started"
    STEP_COMPLETED = "step_completed"
    HANDED_OFF = "handed_off"
    REASSIGNED = "reassigned"
    PRIORITY_CHANGED = "priority_changed"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    CUSTOMER_REPLIED = "customer_replied"
    SLA_WARNING = "sla_warning"
    SLA_BREACHED = "sla_breached"
    SLA_RETARGETED = "sla_retargeted"
    ESCALATED = "escalated"
    ESCALATION_ACKNOWLEDGED = "escalation_acknowledged"
    NOTE_ADDED = "note_added"
    RESOLVED = "resolved"
    RESOLUTION_CONFIRMED = "resolution_confirmed"
    RESOLUTION_REJECTED = "resolution_rejected"
    REOPENED = "reopened"
    REOPEN_WINDOW_RESTARTED = "reopen_window_restarted"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    CUSTOMER_ERASED = "customer_erased"


class EventPayload(BaseModel):
    """The body of one event type (and the parts it nests): immutable, no unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Deadlines(EventPayload):
    """Deadlines an event moved: None for a clock that is paused with no cap (no deadline);
    a key left out is unchanged, and stays left out when the event is stored."""

    first_response: datetime | None = None
    resolution: datetime | None = None
    steps: dict[str, datetime | None] = Field(default_factory=dict)

    @model_serializer(mode="wrap")
    def _only_given(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        dumped: dict[str, Any] = handler(self)
        return {key: value for key, value in dumped.items() if key in self.model_fields_set}


class Submitted(EventPayload):
    customer: Customer
    channel: Channel
    request_type: str
    priority: Priority
    subject: str
    description: str
    submitted_by: str
    template_id: str
    template_version: int
    policy_id: str
    policy_version: int
    owner_department_id: str
    first_response_target_seconds: float
    resolution_target_seconds: float
    deadlines: Deadlines


class Assigned(EventPayload):
    """The request's accountable owner was named."""

    owner_id: str
    department_id: str
    role: str
    rule: str


class Claimed(EventPayload):
    """A person took up the request or a step: the first claim is the first response."""

    step_key: str | None
    first_response: bool
    business_seconds: float | None = None


class StepStarted(EventPayload):
    step_key: str
    stage_id: str
    stage_index: int
    step_name: str
    department_id: str
    role: str
    owner_id: str
    rule: str
    target_seconds: float
    cycle: int = 1
    deadlines: Deadlines


class StepCompleted(EventPayload):
    step_key: str
    stage_id: str
    department_id: str
    role: str
    owner_id: str
    started_at: datetime
    wall_seconds: float
    business_seconds: float
    paused_seconds: float
    target_seconds: float
    breached: bool
    outcome: str = ""


class HandedOff(EventPayload):
    step_key: str
    from_department_id: str
    to_department_id: str
    from_owner_id: str
    to_owner_id: str
    role: str
    rule: str
    reason: str
    deadlines: Deadlines


class ReassignScope(StrEnum):
    REQUEST = "request"
    STEP = "step"


class Reassigned(EventPayload):
    scope: ReassignScope
    step_key: str | None
    from_owner_id: str
    to_owner_id: str
    department_id: str
    reason: str
    automatic: bool = False


class PriorityChanged(EventPayload):
    from_priority: Priority
    to_priority: Priority
    first_response_target_seconds: float
    resolution_target_seconds: float
    step_target_seconds: dict[str, float]
    reason: str
    deadlines: Deadlines


class SlaRetargeted(EventPayload):
    """Alerts follow a priority change's new targets: per clock, the thresholds that count as
    passed under its new target, and the breaches whose ladder stops because the new target is
    not reached (a later breach of it starts a new ladder)."""

    fired: dict[str, list[float]]
    cleared_breaches: list[str] = Field(default_factory=list)


class WaitingOnCustomer(EventPayload):
    reason: PauseReason
    question: str
    deadlines: Deadlines


class CustomerReplied(EventPayload):
    paused_seconds: float
    message: str = ""
    deadlines: Deadlines


class SlaWarning(EventPayload):
    clock_id: str
    threshold: float
    elapsed_seconds: float
    target_seconds: float
    department_id: str
    owner_id: str


class SlaBreached(EventPayload):
    """``breached_at`` is when the target was crossed, which may be before the event was
    recorded (after a worker outage); the escalation ladder counts from it."""

    clock_id: str
    breach_number: int
    breached_at: datetime
    elapsed_seconds: float
    target_seconds: float
    department_id: str
    owner_id: str


class Escalated(EventPayload):
    clock_id: str
    breach_number: int
    level: int = Field(ge=1, le=3)
    level_name: str
    recipient_id: str
    department_id: str


class EscalationAcknowledged(EventPayload):
    clock_id: str
    breach_number: int
    level: int


class NoteAdded(EventPayload):
    text: str = Field(min_length=1, max_length=20_000)


class Resolved(EventPayload):
    summary: str
    business_seconds: float
    wall_seconds: float
    reopen_until: datetime


class ResolutionConfirmed(EventPayload):
    satisfaction: int = Field(ge=1, le=5)
    comment: str = ""


class ResolutionRejected(EventPayload):
    satisfaction: int = Field(ge=1, le=5)
    comment: str = ""


class Reopened(EventPayload):
    reason: str
    reopen_count: int
    deadlines: Deadlines


class ReopenWindowRestarted(EventPayload):
    """A resolution that reached the log late (the store was down) gets its whole reopen window
    from the moment it did: the customer never had the time the outage took."""

    reopen_until: datetime
    late_seconds: float


class PlanPinned(EventPayload):
    """What the request is worked by, pinned at submission (template, SLA policy, the calendars
    and rosters of its departments): its first event, so the log alone rebuilds its state."""

    plan: RequestPlan


class DepartmentPinned(EventPayload):
    """A department the request is handed to for the first time, as configured at that moment."""

    department: Department


class Closed(EventPayload):
    reason: str
    wall_seconds: float


class Cancelled(EventPayload):
    reason: str = Field(min_length=1)


class CustomerErased(EventPayload):
    """The customer's personal fields were erased (their data key destroyed): the audit of it in
    the request's own log, holding no erased datum. The event's actor is the officer who asked
    and its time when; the request's state only records that it is there, and projections are
    not changed by it."""

    customer_id: str = Field(min_length=1)
    basis: str = Field(min_length=1)
    """The legal basis: ``request`` (the customer asked) or ``retention``."""


PAYLOAD_TYPES: dict[EventType, type[EventPayload]] = {
    EventType.PLAN_PINNED: PlanPinned,
    EventType.DEPARTMENT_PINNED: DepartmentPinned,
    EventType.SUBMITTED: Submitted,
    EventType.ASSIGNED: Assigned,
    EventType.CLAIMED: Claimed,
    EventType.STEP_STARTED: StepStarted,
    EventType.STEP_COMPLETED: StepCompleted,
    EventType.HANDED_OFF: HandedOff,
    EventType.REASSIGNED: Reassigned,
    EventType.PRIORITY_CHANGED: PriorityChanged,
    EventType.WAITING_ON_CUSTOMER: WaitingOnCustomer,
    EventType.CUSTOMER_REPLIED: CustomerReplied,
    EventType.SLA_WARNING: SlaWarning,
    EventType.SLA_BREACHED: SlaBreached,
    EventType.SLA_RETARGETED: SlaRetargeted,
    EventType.ESCALATED: Escalated,
    EventType.ESCALATION_ACKNOWLEDGED: EscalationAcknowledged,
    EventType.NOTE_ADDED: NoteAdded,
    EventType.RESOLVED: Resolved,
    EventType.RESOLUTION_CONFIRMED: ResolutionConfirmed,
    EventType.RESOLUTION_REJECTED: ResolutionRejected,
    EventType.REOPENED: Reopened,
    EventType.REOPEN_WINDOW_RESTARTED: ReopenWindowRestarted,
    EventType.CLOSED: Closed,
    EventType.CANCELLED: Cancelled,
    EventType.CUSTOMER_ERASED: CustomerErased,
}
_TYPE_OF_PAYLOAD = {payload: event_type for event_type, payload in PAYLOAD_TYPES.items()}

SCHEMA_VERSION = 1


class InvalidEvent(ValueError):
    """An event the log refuses: unknown type, payload not matching its schema, no actor."""


class DomainEvent(BaseModel):
    """One immutable entry of a request's log. ``sequence`` starts at 1 and has no gaps."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str = Field(min_length=1)
    sequence: int = Field(ge=1)
    event_type: EventType
    schema_version: int = SCHEMA_VERSION
    actor: ActorRef
    occurred_at: datetime
    payload: SerializeAsAny[EventPayload]
    """The payload as its event type's model, however the event arrives (a decision, a stored
    row, an activity's input); it is stored and sent as that model's JSON, as before."""

    @field_validator("payload", mode="before")
    @classmethod
    def _typed(cls, payload: Any, info: ValidationInfo) -> EventPayload:
        event_type = info.data.get("event_type")
        if event_type is None:
            raise ValueError("no payload schema without a valid event_type")
        schema = PAYLOAD_TYPES[event_type]
        if isinstance(payload, schema):
            return payload
        return schema.model_validate(payload)


def new_event(
    request_id: str, sequence: int, actor: ActorRef, occurred_at: datetime, payload: EventPayload
) -> DomainEvent:
    """An event for ``payload``; the event type follows from the payload's class."""
    return DomainEvent(
        request_id=request_id,
        sequence=sequence,
        event_type=_TYPE_OF_PAYLOAD[type(payload)],
        actor=actor,
        occurred_at=occurred_at,
        payload=payload,
    )


def validate_event(raw: dict[str, Any]) -> DomainEvent:
    """Parses an event from outside (an activity input, a log row) or raises InvalidEvent
    naming what is wrong."""
    event_type = raw.get("event_type")
    if event_type not in EventType.__members__.values():
        raise InvalidEvent(f"unknown event type {event_type!r}")
    if not raw.get("actor"):
        raise InvalidEvent(f"{event_type} event has no actor")
    try:
        event = DomainEvent.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidEvent(f"{event_type} event: {where}: {first['msg']}") from error
    return event
