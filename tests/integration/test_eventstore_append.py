"""Appending to the event log: idempotent re-delivery, conflicts, gaps, invalid events and
concurrent appenders, on PostgreSQL and on SQLite."""

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.actors import ActorKind, ActorRef
from domain.events import DomainEvent, EventType, InvalidEvent, NoteAdded, new_event
from eventstore.append import append_events
from eventstore.errors import SequenceConflict, SequenceGap
from eventstore.personal import PersonalData
from schema.tables import events, requests
from tests.integration.event_factory import CUSTOMERS, SUBJECTS, RequestLog, simple_request


async def logged(engine: AsyncEngine, request_id: str | None = None) -> list[tuple[str, int]]:
    """(request id, sequence) of every stored event, in log (id) order."""
    query = select(events.c.request_id, events.c.sequence).order_by(events.c.id)
    if request_id is not None:
        query = query.where(events.c.request_id == request_id)
    async with engine.connect() as conn:
        return [(row.request_id, row.sequence) for row in await conn.execute(query)]


async def last_sequence(engine: AsyncEngine, request_id: str) -> int | None:
    async with engine.connect() as conn:
        value = await conn.scalar(
            select(requests.c.last_sequence).where(requests.c.request_id == request_id)
        )
        return None if value is None else int(value)


def changed(event: DomainEvent, **update: Any) -> DomainEvent:
    return event.model_copy(update=update)


async def test_append_then_exact_redelivery_appends_nothing(engine: AsyncEngine) -> None:
    log = simple_request(8)

    first = await append_events(engine, log.events)
    second = await append_events(engine, log.events)

    assert first == log.events
    assert second == []
    assert await logged(engine) == [(log.request_id, n) for n in range(1, 9)]
    assert await last_sequence(engine, log.request_id) == 8


async def test_stored_events_read_back_identical(engine: AsyncEngine) -> None:
    log = simple_request(5)
    await append_events(engine, log.events)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(events).order_by(events.c.sequence))).all()
        personal = PersonalData(conn)
        assert [await personal.event_of(row) for row in rows] == log.events
    assert "name" not in rows[0].payload["customer"]  # sealed under the customer's key
    assert all(row.occurred_at.tzinfo is not None for row in rows)
    assert all(row.recorded_at is not None for row in rows)


async def test_partially_duplicated_batch_appends_only_the_new_tail(engine: AsyncEngine) -> None:
    log = simple_request(8)
    await append_events(engine, log.events[:5])

    appended = await append_events(engine, log.events[2:])

    assert [e.sequence for e in appended] == [6, 7, 8]
    assert await logged(engine) == [(log.request_id, n) for n in range(1, 9)]
    assert await last_sequence(engine, log.request_id) == 8


async def test_events_given_out_of_order_or_twice_are_appended_once(engine: AsyncEngine) -> None:
    log = simple_request(6)
    shuffled = [log.events[3], log.events[0], log.events[2], log.events[1], log.events[0],
                log.events[5], log.events[4]]

    appended = await append_events(engine, shuffled)

    assert sorted(e.sequence for e in appended) == [1, 2, 3, 4, 5, 6]
    assert await logged(engine) == [(log.request_id, n) for n in range(1, 7)]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"payload": {"text": "另一条备注"}}, id="payload"),
        pytest.param({"occurred_at_shift": timedelta(seconds=1)}, id="occurred_at"),
        pytest.param({"actor": ActorRef(id="li.na", kind=ActorKind.STAFF)}, id="actor"),
        pytest.param({"event_type": EventType.CANCELLED, "payload": {"reason": "撤回"}},
                     id="type"),
    ],
)
async def test_conflicting_duplicate_is_refused_and_writes_nothing(
    engine: AsyncEngine, change: dict[str, Any]
) -> None:
    log = simple_request(6)
    await append_events(engine, log.events[:5])
    original = log.events[4]
    assert original.event_type is EventType.NOTE_ADDED
    update = dict(change)
    if "occurred_at_shift" in update:
        update = {"occurred_at": original.occurred_at + update.pop("occurred_at_shift")}
    conflicting = changed(original, **update)

    with pytest.raises(SequenceConflict, match=rf"{log.request_id}.*sequence 5") as caught:
        await append_events(engine, [conflicting, log.events[5]])

    assert caught.value.request_id == log.request_id
    assert caught.value.sequence == 5
    assert await logged(engine) == [(log.request_id, n) for n in range(1, 6)]
    assert await last_sequence(engine, log.request_id) == 5


async def test_same_instant_in_another_timezone_is_a_duplicate(engine: AsyncEngine) -> None:
    from zoneinfo import ZoneInfo

    log = simple_request(3)
    await append_events(engine, log.events)
    shanghai = changed(log.events[2],
                       occurred_at=log.events[2].occurred_at.astimezone(ZoneInfo("Asia/Shanghai")))

    assert await append_events(engine, [shanghai]) == []


async def test_gap_after_the_log_is_refused_and_writes_nothing(engine: AsyncEngine) -> None:
    log = simple_request(6)
    await append_events(engine, log.events[:3])

    with pytest.raises(SequenceGap, match=rf"{log.request_id}.*expects sequence 4.*5-6") as caught:
        await append_events(engine, log.events[4:])

    assert (caught.value.request_id, caught.value.expected) == (log.request_id, 4)
    assert await logged(engine) == [(log.request_id, n) for n in range(1, 4)]


async def test_gap_within_a_call_is_refused(engine: AsyncEngine) -> None:
    log = simple_request(6)
    await append_events(engine, log.events[:3])

    with pytest.raises(SequenceGap, match="4, 6"):
        await append_events(engine, [log.events[3], log.events[5]])

    assert len(await logged(engine)) == 3


async def test_new_request_must_start_at_sequence_one(engine: AsyncEngine) -> None:
    log = simple_request(3)

    with pytest.raises(SequenceGap, match="expects sequence 1"):
        await append_events(engine, log.events[1:])

    assert await logged(engine) == []


async def test_one_bad_request_in_a_call_writes_nothing_for_the_others(
    engine: AsyncEngine,
) -> None:
    good, bad = simple_request(4), simple_request(4)

    with pytest.raises(SequenceGap):
        await append_events(engine, [*good.events, *bad.events[1:]])

    assert await logged(engine) == []
    assert await last_sequence(engine, good.request_id) is None


def _unknown_type(event: DomainEvent) -> DomainEvent:
    return DomainEvent.model_construct(**{**dict(event), "event_type": "teleported"})


def _bad_payload(event: DomainEvent) -> DomainEvent:
    return changed(event, payload={"text": ""})


def _extra_payload_field(event: DomainEvent) -> DomainEvent:
    return changed(event, payload={**event.payload.model_dump(mode="json"), "mood": "愤怒"})


def _missing_actor(event: DomainEvent) -> DomainEvent:
    return DomainEvent.model_construct(**{**dict(event), "actor": None})


def _naive_time(event: DomainEvent) -> DomainEvent:
    return changed(event, occurred_at=event.occurred_at.replace(tzinfo=None))


def _long_request_id(event: DomainEvent) -> DomainEvent:
    return changed(event, request_id="r" * 65)


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        pytest.param(_unknown_type, "unknown event type 'teleported'", id="unknown-type"),
        pytest.param(_bad_payload, r"note_added event: .*text", id="bad-payload"),
        pytest.param(_extra_payload_field, r"mood", id="extra-field"),
        pytest.param(_missing_actor, "has no actor", id="missing-actor"),
        pytest.param(_naive_time, "no timezone", id="naive-time"),
        pytest.param(_long_request_id, "longer than 64", id="long-id"),
    ],
)
async def test_invalid_event_is_refused_and_writes_nothing(
    engine: AsyncEngine, corrupt: Any, message: str
) -> None:
    log = simple_request(6)
    other = simple_request(3)
    batch = [*other.events, *log.events[:5], corrupt(log.events[5])]

    with pytest.raises(InvalidEvent, match=message):
        await append_events(engine, batch)

    assert await logged(engine) == []


async def test_many_requests_appending_concurrently(engine: AsyncEngine) -> None:
    logs = [simple_request(10, customer=CUSTOMERS[n % 5], subject=SUBJECTS[n % 5])
            for n in range(20)]

    async def append_in_chunks(log: RequestLog) -> int:
        appended = 0
        for start in range(0, 10, 3):
            appended += len(await append_events(engine, log.events[start:start + 3]))
        return appended

    counts = await asyncio.gather(*(append_in_chunks(log) for log in logs))

    assert counts == [10] * 20
    stored = await logged(engine)
    assert len(stored) == 200
    for log in logs:
        in_log_order = [sequence for rid, sequence in stored if rid == log.request_id]
        assert in_log_order == list(range(1, 11))
        assert await last_sequence(engine, log.request_id) == 10


async def test_same_request_appended_by_two_concurrent_callers(engine: AsyncEngine) -> None:
    log = simple_request(10)
    await append_events(engine, log.events[:2])

    results = await asyncio.gather(*(append_events(engine, log.events) for _ in range(2)))

    assert sorted(len(r) for r in results) == [0, 8]
    assert await logged(engine) == [(log.request_id, n) for n in range(1, 11)]
    assert await last_sequence(engine, log.request_id) == 10


async def test_concurrent_callers_with_different_next_events_one_wins(
    engine: AsyncEngine,
) -> None:
    log = simple_request(4)
    await append_events(engine, log.events)
    at: datetime = log.at + timedelta(minutes=1)

    def note(text: str) -> DomainEvent:
        return new_event(log.request_id, 5, log.events[-1].actor, at, NoteAdded(text=text))

    results = await asyncio.gather(
        append_events(engine, [note("甲方的备注")]),
        append_events(engine, [note("乙方的备注")]),
        return_exceptions=True,
    )

    conflicts = [r for r in results if isinstance(r, SequenceConflict)]
    wins = [r for r in results if isinstance(r, list)]
    assert len(conflicts) == 1, results
    assert len(wins) == 1
    assert len(wins[0]) == 1
    async with engine.connect() as conn:
        count = await conn.scalar(select(func.count()).select_from(events))
        row = (await conn.execute(select(events).where(events.c.sequence == 5))).one()
        stored = await PersonalData(conn).event_of(row)
    assert count == 5
    assert stored.payload == wins[0][0].payload


async def test_append_racing_an_uncommitted_writer_runs_again(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """A deterministic lost race: another transaction holds sequences 3-5 uncommitted while
    this call reads the log at 2; after the other commits, the call runs again and appends
    only sequence 6 (PostgreSQL: unique violation and re-run; SQLite: the write lock waits)."""
    from eventstore.append import _append, _batches
    from eventstore.engine import transaction

    log = simple_request(6)
    await append_events(engine, log.events[:2])
    caplog.set_level("INFO", logger="eventstore.append")
    # Where the racing call must be before the other commits: on PostgreSQL inserting (it
    # read the log at 2), on SQLite waiting for the write lock.
    waiting_at = "INSERT INTO events " if engine.dialect.name == "postgresql" else "BEGIN IMMEDIATE"
    arrived = asyncio.Event()

    def on_statement(*args: Any) -> None:
        if args[2].startswith(waiting_at):
            arrived.set()

    async with transaction(engine, write=True) as other:
        await _append(other, _batches(log.events[2:5]))
        sqlalchemy_event.listen(engine.sync_engine, "before_cursor_execute", on_statement)
        try:
            racing = asyncio.create_task(append_events(engine, log.events[2:]))
            await asyncio.wait_for(arrived.wait(), timeout=30)
        finally:
            sqlalchemy_event.remove(engine.sync_engine, "before_cursor_execute", on_statement)
        assert not racing.done()

    assert [e.sequence for e in await racing] == [6]
    assert await logged(engine) == [(log.request_id, n) for n in range(1, 7)]
    assert await last_sequence(engine, log.request_id) == 6
    if engine.dialect.name == "postgresql":
        assert "lost a race" in caplog.text

