"""What was written on a request, in order, from its event log: the description, notes,
questions to the customer, the customer's replies, the resolution summary and the customer's
verdict, each with its author and time."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.events import EventType
from eventstore.engine import read_transaction
from eventstore.personal import PersonalData
from schema.tables import events


class EntryKind(StrEnum):
    DESCRIPTION = "description"
    NOTE = "note"
    QUESTION = "question"
    REPLY = "reply"
    RESOLUTION = "resolution"
    FEEDBACK = "feedback"


class ConversationEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    sequence: int
    kind: EntryKind
    author_id: str
    author_kind: str
    at: datetime
    text: str
    satisfaction: int | None = None
    accepted: bool | None = None


# Event type -> (entry kind, the payload field holding the text).
_WRITTEN: dict[str, tuple[EntryKind, str]] = {
    EventType.SUBMITTED.value: (EntryKind.DESCRIPTION, "description"),
    EventType.NOTE_ADDED.value: (EntryKind.NOTE, "text"),
    EventType.WAITING_ON_CUSTOMER.value: (EntryKind.QUESTION, "question"),
    EventType.CUSTOMER_REPLIED.value: (EntryKind.REPLY, "message"),
    EventType.RESOLVED.value: (EntryKind.RESOLUTION, "summary"),
    EventType.RESOLUTION_CONFIRMED.value: (EntryKind.FEEDBACK, "comment"),
    EventType.RESOLUTION_REJECTED.value: (EntryKind.FEEDBACK, "comment"),
}


def _entry(row: Any, payload: dict[str, Any]) -> ConversationEntry:
    kind, field = _WRITTEN[row.event_type]
    feedback = kind is EntryKind.FEEDBACK
    return ConversationEntry(
        sequence=row.sequence, kind=kind, author_id=row.actor_id, author_kind=row.actor_kind,
        at=row.occurred_at, text=str(payload.get(field, "")),
        satisfaction=payload.get("satisfaction") if feedback else None,
        accepted=(row.event_type == EventType.RESOLUTION_CONFIRMED.value) if feedback else None)


async def conversation(engine: AsyncEngine, request_id: str) -> list[ConversationEntry]:
    """Every written entry of ``request_id`` in log order (empty for an unknown request);
    an erased customer's text reads as erased."""
    async with read_transaction(engine) as conn:
        rows = await conn.execute(
            select(events.c.request_id, events.c.sequence, events.c.event_type,
                   events.c.actor_id, events.c.actor_kind, events.c.occurred_at,
                   events.c.payload)
            .where(events.c.request_id == request_id,
                   events.c.event_type.in_(list(_WRITTEN)))
            .order_by(events.c.sequence))
        personal = PersonalData(conn)
        return [_entry(row, await personal.opened_payload(
                    row.request_id, row.sequence, row.event_type, row.payload))
                for row in rows]
