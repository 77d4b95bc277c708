"""Events to rows of the ``events`` table and back."""

from typing import Any

from sqlalchemy import Row

from domain.events import DomainEvent, validate_event


def event_to_row(event: DomainEvent) -> dict[str, Any]:
    """The ``events`` row of ``event`` (without the generated ``id`` and ``recorded_at``)."""
    return {
        "request_id": event.request_id,
        "sequence": event.sequence,
        "event_type": event.event_type.value,
        "schema_version": event.schema_version,
        "actor_id": event.actor.id,
        "actor_kind": event.actor.kind.value,
        "actor_role": event.actor.role,
        "actor_department_id": event.actor.department_id,
        "occurred_at": event.occurred_at,
        "payload": event.payload.model_dump(mode="json"),
    }


def raw_event(row: Row[Any]) -> dict[str, Any]:
    """A stored row as the raw dict ``validate_event`` takes."""
    return {
        "request_id": row.request_id,
        "sequence": row.sequence,
        "event_type": row.event_type,
        "schema_version": row.schema_version,
        "actor": {
            "id": row.actor_id,
            "kind": row.actor_kind,
            "role": row.actor_role,
            "department_id": row.actor_department_id,
        },
        "occurred_at": row.occurred_at,
        "payload": row.payload,
    }


def event_from_row(row: Row[Any]) -> DomainEvent:
    """The event a stored row holds, validated (InvalidEvent if the log holds garbage)."""
    return validate_event(raw_event(row))
