"""Outbound messages: what an event tells a destination outside caseflow (a person's log or
inbox, a webhook, later an ERP or CRM subscriber), and when a failed delivery is tried again.

A message is one event for one destination. The store writes it in the transaction that
appends the event (the outbox), and a dispatcher delivers it; nothing here does I/O."""

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.events import DomainEvent, Escalated, EventType
from domain.personal import without_personal_fields

DESTINATION_LENGTH = 64
KEY_LENGTH = 200


class Subscription(BaseModel):
    """A destination and the event types it is sent."""

    model_config = ConfigDict(frozen=True)

    destination: str = Field(min_length=1, max_length=DESTINATION_LENGTH)
    event_types: frozenset[EventType] = Field(min_length=1)


class OutboundMessage(BaseModel):
    """One event told to one destination. ``key`` is the same for every delivery of the
    message, so a receiver that dedups on it sees the message once."""

    model_config = ConfigDict(frozen=True)

    destination: str = Field(min_length=1, max_length=DESTINATION_LENGTH)
    key: str = Field(min_length=1, max_length=KEY_LENGTH)
    request_id: str
    sequence: int = Field(ge=1)
    event_type: EventType
    recipient_id: str | None = None
    subject: str
    body: str
    event: dict[str, Any]
    """The event as stored (its JSON form), for receivers that want more than the text."""


def escalation_key(request_id: str, escalated: Escalated) -> str:
    """The idempotency key of an escalation's notification (the same as before the outbox, so
    receivers dedup across the change)."""
    return f"{request_id}:{escalated.clock_id}:{escalated.breach_number}:{escalated.level}"


def message_key(event: DomainEvent) -> str:
    """The key of the message for ``event``: escalations keep their historical key, every
    other event is named by its place in the log."""
    typed = event.payload
    if isinstance(typed, Escalated):
        return escalation_key(event.request_id, typed)
    return f"{event.request_id}:{event.sequence}"


def messages_for(event: DomainEvent,
                 subscriptions: Sequence[Subscription]) -> list[OutboundMessage]:
    """The messages ``event`` gives, one per subscription to its type, in subscription order.
    A message names the request by id and carries the event without the customer's personal
    fields: the outbox is a plain table outside the sealed log, and a receiver (the escalation
    webhook too) gets what happened, not what the customer wrote."""
    wanted = [s.destination for s in subscriptions if event.event_type in s.event_types]
    if not wanted:
        return []
    recipient, subject, body = _text(event)
    key = message_key(event)
    stored = event.model_dump(mode="json")
    stored["payload"] = without_personal_fields(event.event_type, stored["payload"])
    return [OutboundMessage(destination=destination, key=key, request_id=event.request_id,
                            sequence=event.sequence, event_type=event.event_type,
                            recipient_id=recipient, subject=subject, body=body, event=stored)
            for destination in wanted]


def without_personal_text(message: OutboundMessage) -> OutboundMessage:
    """``message`` as ``messages_for`` writes it today: a message written before messages
    held no personal data quoted the request's subject after its ``[…]`` tag and carried the
    event whole; both are cut (what erasure does to the outbox's old rows)."""
    tag, closing, _ = message.subject.partition("] ")
    subject = f"{tag}] {message.request_id}" if closing else message.request_id
    event = {**message.event, "payload": without_personal_fields(
        message.event_type, dict(message.event.get("payload", {})))}
    return message.model_copy(update={"subject": subject, "event": event})


def _text(event: DomainEvent) -> tuple[str | None, str, str]:
    typed = event.payload
    if isinstance(typed, Escalated):
        return (typed.recipient_id, f"[SLA {typed.level_name}] {event.request_id}",
                f"SLA {typed.clock_id} of request {event.request_id} is breached "
                f"(escalation level {typed.level}, event {event.sequence}).")
    return (None, f"[{event.event_type.value}] {event.request_id}",
            f"Request {event.request_id}: {event.event_type.value} (event {event.sequence}).")


class DeliveryPolicy(BaseModel):
    """Bounded retries with exponential backoff: after ``max_attempts`` failed deliveries a
    message is dead-lettered until an operator asks for it again."""

    model_config = ConfigDict(frozen=True)

    max_attempts: int = Field(default=10, ge=1)
    initial_delay_seconds: float = Field(default=1.0, gt=0)
    backoff_coefficient: float = Field(default=2.0, ge=1)
    max_delay_seconds: float = Field(default=300.0, gt=0)

    def delay_after(self, attempts: int) -> float | None:
        """Seconds to wait after the ``attempts``-th failed delivery; None: dead-letter it."""
        if attempts >= self.max_attempts:
            return None
        delay = self.initial_delay_seconds * self.backoff_coefficient ** (attempts - 1)
        return min(delay, self.max_delay_seconds)
