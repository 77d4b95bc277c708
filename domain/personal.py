"""Where a customer's personal information lives in the events (PIPL): these fields are sealed
per customer in the store and read back as erased once the customer is erased, so the log's
digest leaves them out (an erased field rightly reads back unlike what was written)."""

import copy
from typing import Any

from domain.events import EventType

FieldPath = tuple[str, ...]

_SUBMISSION: tuple[FieldPath, ...] = (("customer", "name"), ("subject",), ("description",))

PERSONAL_FIELDS: dict[EventType, tuple[FieldPath, ...]] = {
    EventType.PLAN_PINNED: tuple(("plan", "submission", *path) for path in _SUBMISSION),
    EventType.SUBMITTED: _SUBMISSION,
    EventType.STEP_COMPLETED: (("outcome",),),
    EventType.HANDED_OFF: (("reason",),),
    EventType.REASSIGNED: (("reason",),),
    EventType.PRIORITY_CHANGED: (("reason",),),
    EventType.WAITING_ON_CUSTOMER: (("question",),),
    EventType.CUSTOMER_REPLIED: (("message",),),
    EventType.NOTE_ADDED: (("text",),),
    EventType.RESOLVED: (("summary",),),
    EventType.RESOLUTION_CONFIRMED: (("comment",),),
    EventType.RESOLUTION_REJECTED: (("comment",),),
    EventType.REOPENED: (("reason",),),
    EventType.CANCELLED: (("reason",),),
}
"""Per event type, where its personal text lives in the payload."""


def without_personal_fields(event_type: EventType, payload: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``payload`` with each personal field present in it set to None."""
    fields = PERSONAL_FIELDS.get(event_type, ())
    if not fields:
        return payload
    masked = copy.deepcopy(payload)
    for path in fields:
        holder: Any = masked
        for key in path[:-1]:
            holder = holder.get(key) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and path[-1] in holder:
            holder[path[-1]] = None
    return masked
