"""A digest of log entries: the workflow compares the digest of the events it built with that of
what the store holds at the same sequences, so state is only ever applied from a log that
agrees with it."""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from domain.events import DomainEvent
from domain.personal import without_personal_fields


def log_digest(events: Sequence[DomainEvent], *, personal: bool = True) -> str:
    """SHA-256 of ``events`` in a canonical form: payloads through their typed schema and
    instants in UTC, so one event has one digest however a store spells it. Without
    ``personal`` the personal fields are left out: once their customer is erased they read
    back as erased, not as written."""
    canonical = [
        {
            "request_id": event.request_id,
            "sequence": event.sequence,
            "event_type": event.event_type.value,
            "schema_version": event.schema_version,
            "actor": event.actor.model_dump(mode="json"),
            "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
            "payload": _payload(event, personal=personal),
        }
        for event in events
    ]
    text = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _payload(event: DomainEvent, *, personal: bool) -> dict[str, Any]:
    payload = event.payload.model_dump(mode="json")
    return payload if personal else without_personal_fields(event.event_type, payload)
