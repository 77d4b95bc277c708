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

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.events import (
    DomainEvent,
    EventType,
    InvalidEvent,
    PlanPinned,
    Submitted,
    validate_event,
)
from domain.personal import PERSONAL_FIELDS, FieldPath
from eventstore.codec import event_from_row, event_to_row, raw_event
from privacy.keys import KeyRing, generate_key, ring_from_settings, seal, unseal
from schema.tables import customer_keys, request_customers
from stack.paths import STATE_DIR as DEFAULT_STATE_DIR

MASTER_KEYS_SETTING = "CASEFLOW_STORE_MASTER_KEYS"
SEALED = "_sealed"
ERASED = "[已删除]"
"""What an erased personal field reads as, everywhere."""

Path_ = FieldPath


@functools.cache
def store_master_ring() -> KeyRing:
    """This process's master key ring (KeyRingError naming the setting if unusable)."""
    state_dir = Path(os.environ.get("CASEFLOW_STATE_DIR", str(DEFAULT_STATE_DIR)))
    return ring_from_settings(os.environ, setting=MASTER_KEYS_SETTING,
                              default_file=state_dir / "store-master-keys.json")


def _context(request_id: str, sequence: int) -> bytes:
    return f"event:{request_id}#{sequence}".encode()


def wrap_context(customer_id: str, generation: int) -> bytes:
    return f"customer:{customer_id}:{generation}".encode()


def _take(payload: dict[str, Any], path: Path_) -> Any:
    parent = payload
    for part in path[:-1]:
        parent = parent[part]
    return parent.pop(path[-1], "")


def _copied_along(payload: dict[str, Any], fields: tuple[Path_, ...]) -> dict[str, Any]:
    """A copy of ``payload`` that shares everything but the dicts on the way to ``fields``
    (what ``_put`` writes into), so the caller's payload is left as it was: a deep copy of
    every payload took a fifth of a rebuild's time."""
    copied = dict(payload)
    for path in fields:
        parent = copied
        for part in path[:-1]:
            if not isinstance(parent.get(part), dict):
                break
            parent[part] = dict(parent[part])
            parent = parent[part]
    return copied


def _customer_of(event: DomainEvent) -> str | None:
    """The customer a request's first event names (None for its other events)."""
    payload = event.payload
    if isinstance(payload, PlanPinned):
        return payload.plan.submission.customer.id
    if isinstance(payload, Submitted):
        return payload.customer.id
    return None


def _put(payload: dict[str, Any], path: Path_, value: Any) -> None:
    parent = payload
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value


class PersonalData:
    """Seals and opens the personal fields of events within one transaction, fetching each
    customer's data key once.

    A request's personal fields are sealed under the key its customer had when it was
    submitted (a generation of the customer's key). Erasure destroys that key; a customer who
    submits again afterwards gets a key of the next generation, and what is written later on a
    request of an erased generation is kept as ``ERASED``."""

    def __init__(self, conn: AsyncConnection, master: KeyRing | None = None) -> None:
        self.conn = conn
        self.master = master or store_master_ring()
        self._key_of_request: dict[str, tuple[str, int]] = {}
        self._keys: dict[tuple[str, int], bytes | None] = {}
        self._stored: dict[str, Row[Any] | None] = {}  # customer_keys rows read by prime
        self._new_requests: list[dict[str, Any]] = []  # request_customers rows to insert
        self._unrecorded: set[str] = set()  # requests prime found no customer for

    async def prime(self, events: Sequence[DomainEvent]) -> None:
        """Reads what sealing ``events`` needs (their requests' customers and those
        customers' keys) in one or two queries, instead of two a request."""
        unknown = sorted({event.request_id for event in events} - set(self._key_of_request))
        customers = {_customer_of(event) for event in events} - {None}
        if unknown:
            found = await self.conn.execute(
                select(request_customers.c.request_id,
                       request_customers.c.customer_id.label("of_customer"),
                       request_customers.c.generation.label("of_generation"), customer_keys)
                .select_from(request_customers.outerjoin(
                    customer_keys, customer_keys.c.customer_id == request_customers.c.customer_id))
                .where(request_customers.c.request_id.in_(unknown)))
            self._unrecorded.update(unknown)
            for row in found:
                self._unrecorded.discard(row.request_id)
                self._key_of_request[row.request_id] = (row.of_customer, row.of_generation)
                # No key row (outer join) reads as the customer having none, as _stored_key.
                self._stored[row.of_customer] = None if row.customer_id is None else row
        wanted = sorted(str(c) for c in customers if c not in self._stored)
        if wanted:
            self._stored.update(dict.fromkeys(wanted))
            for row in await self.conn.execute(
                    select(customer_keys).where(customer_keys.c.customer_id.in_(wanted))):
                self._stored[row.customer_id] = row

    async def rows_of(self, events: Sequence[DomainEvent]) -> list[dict[str, Any]]:
        """The ``events`` rows of ``events``, personal fields sealed. A request's submitted
        event records its customer (and gives the customer a data key if they have none)."""
        rows = []
        for event in events:
            row = event_to_row(event)
            # plan_pinned is a request's first event; submitted in logs without a pinned plan
            customer_id = _customer_of(event)
            if customer_id is not None:
                await self._record_customer(event.request_id, customer_id)
            fields = PERSONAL_FIELDS.get(event.event_type, ())
            if fields:
                row["payload"] = await self._sealed_payload(event, fields)
            rows.append(row)
        if self._new_requests:
            await self.conn.execute(insert(request_customers), self._new_requests)
            self._new_requests = []
        return rows

    async def event_of(self, row: Row[Any]) -> DomainEvent:
        """The event a stored row holds, personal fields opened, or ERASED when the key they
        were sealed under is destroyed (rows written before sealing pass through)."""
        if not isinstance(row.payload, dict) or SEALED not in row.payload:
            return event_from_row(row)
        raw = raw_event(row)
        raw["payload"] = await self.opened_payload(row.request_id, row.sequence, row.event_type,
                                                   row.payload)
        return validate_event(raw)

    async def opened_payload(self, request_id: str, sequence: int, event_type: str,
                             payload: dict[str, Any]) -> dict[str, Any]:
        """A stored payload with its personal fields opened (ERASED when their key is
        destroyed); a payload without sealed fields as it is."""
        if SEALED not in payload:
            return payload
        fields = PERSONAL_FIELDS[EventType(event_type)]
        opened = _copied_along(payload, fields)
        sealed = opened.pop(SEALED)
        key = await self._data_key(sealed["customer_id"], sealed["generation"])
        if key is None:
            values = {".".join(path): ERASED for path in fields}
        else:
            values = json.loads(unseal(key, base64.b64decode(sealed["data"]),
                                       context=_context(request_id, sequence),
                                       what=f"event {request_id}#{sequence}"))
        for path in fields:
            _put(opened, path, values.get(".".join(path), ""))
        return opened

    async def _sealed_payload(self, event: DomainEvent,
                              fields: tuple[Path_, ...]) -> dict[str, Any]:
        payload: dict[str, Any] = event.payload.model_dump(mode="json")
        values = {".".join(path): _take(payload, path) for path in fields}
        customer_id, generation = await self._request_key(event.request_id)
        key = await self._data_key(customer_id, generation)
        if key is None:  # that key is erased: what arrives now is not kept either
            for path in fields:
                _put(payload, path, ERASED if values[".".join(path)] else "")
            return payload
        sealed = seal(key, json.dumps(values, ensure_ascii=False).encode(),
                      context=_context(event.request_id, event.sequence))
        payload[SEALED] = {"customer_id": customer_id, "generation": generation,
                           "data": base64.b64encode(sealed).decode()}
        return payload

    async def _record_customer(self, request_id: str, customer_id: str) -> None:
        if await self._known_request(request_id) is not None:
            return
        generation = await self._live_generation(customer_id)
        self._new_requests.append(
            {"request_id": request_id, "customer_id": customer_id, "generation": generation})
        self._unrecorded.discard(request_id)
        self._key_of_request[request_id] = (customer_id, generation)

    async def _known_request(self, request_id: str) -> tuple[str, int] | None:
        if request_id in self._unrecorded:
            return None
        if request_id not in self._key_of_request:
            found = (await self.conn.execute(
                select(request_customers.c.customer_id, request_customers.c.generation)
                .where(request_customers.c.request_id == request_id))).first()
            if found is None:
                return None
            self._key_of_request[request_id] = (found.customer_id, found.generation)
        return self._key_of_request[request_id]

    async def _request_key(self, request_id: str) -> tuple[str, int]:
        known = await self._known_request(request_id)
        if known is None:
            raise InvalidEvent(f"request {request_id} has no submitted event in the log: its "
                               "customer, whose key seals its personal fields, is unknown")
        return known

    async def _stored_key(self, customer_id: str) -> Row[Any] | None:
        if customer_id in self._stored:
            return self._stored[customer_id]
        return (await self.conn.execute(select(customer_keys).where(
            customer_keys.c.customer_id == customer_id))).first()

    async def _live_generation(self, customer_id: str) -> int:
        """The generation of the customer's live key, made now if they have none (never had
        one, or it was erased)."""
        stored = await self._stored_key(customer_id)
        if stored is not None and stored.wrapped_key is not None:
            generation: int = stored.generation
            return generation
        generation = 1 if stored is None else stored.generation + 1
        key = generate_key()
        master_key_id, wrapped = self.master.encrypt(
            key, context=wrap_context(customer_id, generation))
        values = {"generation": generation, "master_key_id": master_key_id,
                  "wrapped_key": wrapped, "created_at": datetime.now(UTC), "erased_at": None}
        if stored is None:
            await self.conn.execute(insert(customer_keys).values(customer_id=customer_id,
                                                                 **values))
        else:
            await self.conn.execute(update(customer_keys).where(
                customer_keys.c.customer_id == customer_id).values(**values))
        self._stored.pop(customer_id, None)
        self._keys[(customer_id, generation)] = key
        return generation

    async def _data_key(self, customer_id: str, generation: int) -> bytes | None:
        """That generation of the customer's data key; None once it is erased."""
        if (customer_id, generation) not in self._keys:
            stored = await self._stored_key(customer_id)
            key = None
            if stored is not None and stored.wrapped_key is not None \
                    and stored.generation == generation:
                key = self.master.decrypt(stored.master_key_id, stored.wrapped_key,
                                          context=wrap_context(customer_id, generation))
            self._keys[(customer_id, generation)] = key
        return self._keys[(customer_id, generation)]
