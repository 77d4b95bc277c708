"""Personal fields of events, sealed per customer (envelope encryption).

Each customer has a data key (AES-256), stored in ``customer_keys`` wrapped under the store's
master key ring (``CASEFLOW_STORE_MASTER_KEYS`` or ``CASEFLOW_STORE_MASTER_KEYS_FILE``, else
``store-master-keys.json`` in the state folder). An event's personal fields (the customer's
name, and free text written by or about the customer) leave the row's payload and are stored
sealed under that key in its ``_sealed`` entry, authenticated with the event's request and
sequence. Erasing the customer destroys the key: the rows stay as they are, and every reader
sees the fields as ``ERASED``."""

import base64
import functools
import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Row, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.events import DomainEvent, EventType, InvalidEvent, validate_event
from eventstore.codec import event_from_row, event_to_row, raw_event
from privacy.keys import KeyRing, generate_key, ring_from_settings, seal, unseal
from schema.tables import customer_keys, request_customers
from stack.paths import STATE_DIR as DEFAULT_STATE_DIR

MASTER_KEYS_SETTING = "CASEFLOW_STORE_MASTER_KEYS"
SEALED = "_sealed"
ERASED = "[已删除]"
"""What an erased personal field reads as, everywhere."""

Path_ = tuple[str, ...]
PERSONAL_FIELDS: dict[EventType, tuple[Path_, ...]] = {
    EventType.SUBMITTED: (("customer", "name"), ("subject",), ("description",)),
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


@functools.cache
def store_master_ring() -> KeyRing:
    """This process's master key ring (KeyRingError naming the setting if unusable)."""
    state_dir = Path(os.environ.get("CASEFLOW_STATE_DIR", str(DEFAULT_STATE_DIR)))
    return ring_from_settings(os.environ, setting=MASTER_KEYS_SETTING,
                              default_file=state_dir / "store-master-keys.json")


def _context(request_id: str, sequence: int) -> bytes:
    return f"event:{request_id}#{sequence}".encode()


def _wrap_context(customer_id: str) -> bytes:
    return f"customer:{customer_id}".encode()


def _take(payload: dict[str, Any], path: Path_) -> Any:
    parent = payload
    for part in path[:-1]:
        parent = parent[part]
    return parent.pop(path[-1], "")


def _put(payload: dict[str, Any], path: Path_, value: Any) -> None:
    parent = payload
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value


class PersonalData:
    """Seals and opens the personal fields of events within one transaction, fetching each
    customer's data key once."""

    def __init__(self, conn: AsyncConnection, master: KeyRing | None = None) -> None:
        self.conn = conn
        self.master = master or store_master_ring()
        self._customer_of: dict[str, str] = {}
        self._keys: dict[str, bytes | None] = {}

    async def rows_of(self, events: Sequence[DomainEvent]) -> list[dict[str, Any]]:
        """The ``events`` rows of ``events``, personal fields sealed. A request's submitted
        event records its customer (and creates the customer's data key if it has none)."""
        rows = []
        for event in events:
            row = event_to_row(event)
            fields = PERSONAL_FIELDS.get(event.event_type, ())
            if event.event_type == EventType.SUBMITTED:
                await self._record_customer(event.request_id, event.payload["customer"]["id"])
            if fields:
                row["payload"] = await self._sealed_payload(event, fields)
            rows.append(row)
        return rows

    async def event_of(self, row: Row[Any]) -> DomainEvent:
        """The event a stored row holds, personal fields opened, or ERASED when the customer's
        key is destroyed (rows written before sealing pass through)."""
        payload = row.payload
        if not isinstance(payload, dict) or SEALED not in payload:
            return event_from_row(row)
        payload = json.loads(json.dumps(payload))
        sealed = payload.pop(SEALED)
        key = await self._data_key(sealed["customer_id"], create=False)
        fields = PERSONAL_FIELDS[EventType(row.event_type)]
        if key is None:
            values = {".".join(path): ERASED for path in fields}
        else:
            values = json.loads(unseal(key, base64.b64decode(sealed["data"]),
                                       context=_context(row.request_id, row.sequence),
                                       what=f"event {row.request_id}#{row.sequence}"))
        for path in fields:
            _put(payload, path, values.get(".".join(path), ""))
        raw = raw_event(row)
        raw["payload"] = payload
        return validate_event(raw)

    async def _sealed_payload(self, event: DomainEvent,
                              fields: tuple[Path_, ...]) -> dict[str, Any]:
        payload: dict[str, Any] = json.loads(json.dumps(event.payload))
        values = {".".join(path): _take(payload, path) for path in fields}
        customer_id = await self._customer(event.request_id)
        key = await self._data_key(customer_id, create=True)
        if key is None:  # the customer is erased: what arrives now is not kept either
            for path in fields:
                _put(payload, path, ERASED if values[".".join(path)] else "")
            return payload
        sealed = seal(key, json.dumps(values, ensure_ascii=False).encode(),
                      context=_context(event.request_id, event.sequence))
        payload[SEALED] = {"customer_id": customer_id,
                           "data": base64.b64encode(sealed).decode()}
        return payload

    async def _record_customer(self, request_id: str, customer_id: str) -> None:
        if await self._known_customer(request_id) is None:
            await self.conn.execute(insert(request_customers).values(
                request_id=request_id, customer_id=customer_id))
        self._customer_of[request_id] = customer_id

    async def _known_customer(self, request_id: str) -> str | None:
        if request_id not in self._customer_of:
            found = await self.conn.scalar(select(request_customers.c.customer_id).where(
                request_customers.c.request_id == request_id))
            if found is None:
                return None
            self._customer_of[request_id] = found
        return self._customer_of[request_id]

    async def _customer(self, request_id: str) -> str:
        customer_id = await self._known_customer(request_id)
        if customer_id is None:
            raise InvalidEvent(f"request {request_id} has no submitted event in the log: its "
                               "customer, whose key seals its personal fields, is unknown")
        return customer_id

    async def _data_key(self, customer_id: str, *, create: bool) -> bytes | None:
        """The customer's data key; None once erased (or, without ``create``, never made)."""
        if customer_id in self._keys:
            return self._keys[customer_id]
        stored = (await self.conn.execute(select(customer_keys).where(
            customer_keys.c.customer_id == customer_id))).first()
        key: bytes | None
        if stored is None and create:
            key = generate_key()
            master_key_id, wrapped = self.master.encrypt(key,
                                                         context=_wrap_context(customer_id))
            await self.conn.execute(insert(customer_keys).values(
                customer_id=customer_id, master_key_id=master_key_id, wrapped_key=wrapped,
                created_at=datetime.now(UTC)))
        elif stored is None or stored.wrapped_key is None:
            key = None
        else:
            key = self.master.decrypt(stored.master_key_id, stored.wrapped_key,
                                      context=_wrap_context(customer_id))
        self._keys[customer_id] = key
        return key

    def forget(self, customer_id: str) -> None:
        self._keys[customer_id] = None

