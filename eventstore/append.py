"""Appends events to the log and updates the projections in the same transaction.

Appending is idempotent: an activity retried by Temporal re-delivers events the log may
already hold. An event whose sequence the log already has must be identical to the stored one
(it is skipped) or the call fails with SequenceConflict; new events must continue each
request's log without a gap (SequenceGap). Either error, or an invalid event, writes nothing.

Concurrency: two callers appending to the same request race on the unique key
(request_id, sequence). The loser's transaction fails with an IntegrityError, is rolled back
and the whole call runs again, now seeing the winner's events as duplicates or conflicts.
On SQLite writers take the write lock up front (BEGIN IMMEDIATE) and simply queue.

Outbound effects: the messages the given subscriptions want for the new events are written to
the outbox in the same transaction, so a message exists exactly when its event does."""

import logging
import warnings
from collections.abc import Sequence

from sqlalchemy import func, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.events import DomainEvent, EventType, InvalidEvent, validate_event
from domain.outbound import OutboundMessage, Subscription, messages_for
from eventstore.engine import classify, describe, transaction
from eventstore.errors import SequenceConflict, SequenceGap, StoreUnavailable
from eventstore.outbox import enqueue
from eventstore.personal import PersonalData
from eventstore.projection_rows import ProjectionRows
from eventstore.projector import project
from schema.tables import ID, events

log = logging.getLogger(__name__)

ATTEMPTS = 3
"""Runs of one call: the first, the re-run after a lost race, one spare for a three-way race."""

_RETRY_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock detected


async def append_events(
    engine: AsyncEngine, events: Sequence[DomainEvent], *,
    subscriptions: Sequence[Subscription] = (),
) -> list[DomainEvent]:
    """Appends ``events`` (of one or several requests), projects them and enqueues the
    messages ``subscriptions`` want for them, all in one transaction; returns the events
    newly appended, in the order given (an exact re-delivery returns ``[]``).

    Raises InvalidEvent, SequenceGap, SequenceConflict or StoreRefused (the database refused
    the data), in which case nothing is written, and StoreUnavailable when the database cannot
    be reached."""
    validated = [_validate(index, event) for index, event in enumerate(events)]
    batches = _batches(validated)
    if not batches:
        return []
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with transaction(engine, write=True) as conn:
                appended = await _append(conn, batches, subscriptions)
        except DBAPIError as error:
            if not _is_race(error):
                raise classify(engine, error) from error
            if attempt == ATTEMPTS:  # busy, not broken: a later retry of the call succeeds
                raise StoreUnavailable(engine.url, f"lost {ATTEMPTS} races to append in a row "
                                       f"({describe(error)})") from error
            log.info("append lost a race (attempt %d), running it again: %s", attempt,
                     type(error.orig).__name__ if error.orig else error)
            continue
        return _in_given_order(validated, appended)
    raise AssertionError("unreachable")  # pragma: no cover


async def append_in(conn: AsyncConnection, events: Sequence[DomainEvent]) -> list[DomainEvent]:
    """``append_events`` inside the caller's transaction ``conn`` (no outbox messages, no
    retry of a lost race: the caller's transaction fails and is rolled back whole)."""
    validated = [_validate(index, event) for index, event in enumerate(events)]
    return await _append(conn, _batches(validated))


def _validate(index: int, event: DomainEvent) -> DomainEvent:
    if not isinstance(event, DomainEvent):
        raise InvalidEvent(f"event #{index} is a {type(event).__name__}, not a DomainEvent")
    try:
        with warnings.catch_warnings():
            # model_construct()-ed garbage warns while serialising; validation says why.
            warnings.simplefilter("ignore")
            raw = event.model_dump(mode="json")
    except Exception as error:  # anything a broken model raises while serialising
        raise InvalidEvent(f"event #{index} cannot be serialised: {error}") from error
    checked = validate_event(raw)
    where = f"{checked.event_type} event {checked.request_id}#{checked.sequence}"
    if checked.occurred_at.utcoffset() is None:
        raise InvalidEvent(f"{where}: occurred_at {checked.occurred_at} has no timezone")
    for name, value in (
        ("request_id", checked.request_id),
        ("actor.id", checked.actor.id),
        ("actor.role", checked.actor.role),
        ("actor.department_id", checked.actor.department_id),
    ):
        if value is not None and len(value) > ID:
            raise InvalidEvent(f"{where}: {name} is longer than {ID} characters")
    return checked


def _batches(validated: list[DomainEvent]) -> dict[str, list[DomainEvent]]:
    """Per request, its events of this call in sequence order, duplicates within the call
    dropped; refuses a call whose events of one request are not contiguous."""
    by_request: dict[str, dict[int, DomainEvent]] = {}
    for event in validated:
        seen = by_request.setdefault(event.request_id, {})
        earlier = seen.get(event.sequence)
        if earlier is None:
            seen[event.sequence] = event
            continue
        difference = _difference(earlier, event)
        if difference:
            raise SequenceConflict(
                event.request_id, event.sequence, f"given twice in one call: {difference}"
            )
    batches: dict[str, list[DomainEvent]] = {}
    for request_id in sorted(by_request):  # one lock order for every caller
        sequences = sorted(by_request[request_id])
        for offset, sequence in enumerate(sequences):
            if sequence != sequences[0] + offset:
                raise SequenceGap(request_id, sequences[0] + offset, sequences)
        batches[request_id] = [by_request[request_id][s] for s in sequences]
    return batches


def _difference(stored: DomainEvent, given: DomainEvent) -> str:
    """What differs between two events of the same request and sequence ('' if nothing)."""
    if stored.event_type != given.event_type:
        return f"stored {stored.event_type}, given {given.event_type}"
    if stored.actor != given.actor:
        return f"stored actor {stored.actor.id!r}, given {given.actor.id!r}"
    if stored.occurred_at != given.occurred_at:
        return (
            f"stored occurred_at {stored.occurred_at.isoformat()}, "
            f"given {given.occurred_at.isoformat()}"
        )
    if stored.payload != given.payload:
        return f"{given.event_type} payloads differ"
    return ""


async def _append(
    conn: AsyncConnection, batches: dict[str, list[DomainEvent]],
    subscriptions: Sequence[Subscription] = (),
) -> list[DomainEvent]:
    new: list[DomainEvent] = []
    personal = PersonalData(conn)
    last = await _last_sequences(conn, list(batches))
    await personal.prime([event for batch in batches.values() for event in batch])
    for request_id, batch in batches.items():
        new.extend(await _new_events(conn, personal, request_id, batch, last.get(request_id, 0)))
    if new:
        await conn.execute(insert(events), await personal.rows_of(new))
        # Read after the insert: a racing append to the same requests has committed or lost.
        rows = ProjectionRows()
        await rows.load(conn, batches, escalations_of={
            event.request_id for event in new
            if event.event_type == EventType.ESCALATION_ACKNOWLEDGED})
        for event in new:
            project(rows, event)
        await rows.write(conn)
        await enqueue(conn, _outbound(new, subscriptions))
    return new


def _outbound(new: list[DomainEvent],
              subscriptions: Sequence[Subscription]) -> list[OutboundMessage]:
    return [message for event in new for message in messages_for(event, subscriptions)]


async def _last_sequences(conn: AsyncConnection, request_ids: list[str]) -> dict[str, int]:
    """Each request's last sequence in the log (absent: none yet), in one query."""
    rows = await conn.execute(
        select(events.c.request_id, func.max(events.c.sequence))
        .where(events.c.request_id.in_(request_ids))
        .group_by(events.c.request_id))
    return {request_id: int(last) for request_id, last in rows}


async def _new_events(
    conn: AsyncConnection, personal: PersonalData, request_id: str, batch: list[DomainEvent],
    last: int,
) -> list[DomainEvent]:
    """The events of ``batch`` the log does not hold yet (it holds up to ``last``); checks
    the ones it does."""
    first = batch[0].sequence
    if first > last + 1:
        raise SequenceGap(request_id, last + 1, [event.sequence for event in batch])
    known = [event for event in batch if event.sequence <= last]
    if known:
        rows = await conn.execute(
            select(events)
            .where(
                events.c.request_id == request_id,
                events.c.sequence.between(known[0].sequence, known[-1].sequence),
            )
            .order_by(events.c.sequence)
        )
        stored = {row.sequence: row for row in rows}
        for event in known:
            row = stored.get(event.sequence)
            if row is None:  # pragma: no cover - the log has no gaps by construction
                raise SequenceConflict(request_id, event.sequence, "missing from the log")
            difference = _difference(await personal.event_of(row), event)
            if difference:
                raise SequenceConflict(request_id, event.sequence, difference)
    return [event for event in batch if event.sequence > last]


def _is_race(error: DBAPIError) -> bool:
    """A failure that running the whole call again resolves."""
    if isinstance(error, IntegrityError):
        return True
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate in _RETRY_SQLSTATES:
        return True
    return isinstance(error, OperationalError) and "locked" in str(error.orig)


def _in_given_order(validated: list[DomainEvent], appended: list[DomainEvent]) -> list[DomainEvent]:
    fresh = {(event.request_id, event.sequence) for event in appended}
    result: list[DomainEvent] = []
    for event in validated:
        key = (event.request_id, event.sequence)
        if key in fresh:
            fresh.discard(key)
            result.append(event)
    return result
