"""The projections after hand-built request logs, checked against hand-computed values; the
timeline built from them and the assignment queries, on PostgreSQL and on SQLite."""

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.actors import SYSTEM
from domain.events import (
    Deadlines,
    DomainEvent,
    EventType,
    StepStarted,
    WaitingOnCustomer,
    new_event,
)
from domain.request import Priority
from domain.sla_clock import PauseReason
from eventstore.append import append_events
from eventstore.reservations import open_load, reserve_next
from eventstore.timeline import UnknownRequest, format_timeline, request_timeline
from presentation.text import display_width, format_duration
from schema.tables import escalations, handoffs, owner_workload, request_steps, requests
from tests.integration.event_factory import T0, RequestLog


async def request_row(engine: AsyncEngine, request_id: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(requests).where(requests.c.request_id == request_id))
        ).one()
        return row._asdict()


async def step_rows(engine: AsyncEngine, request_id: str) -> dict[str, dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(request_steps).where(request_steps.c.request_id == request_id)
        )
        return {row.step_key: row._asdict() for row in rows}


async def workload(engine: AsyncEngine) -> dict[tuple[str, str], tuple[int, int]]:
    """(person, department) -> (open steps, open requests), rows with any count only."""
    async with engine.connect() as conn:
        rows = await conn.execute(select(owner_workload))
        return {
            (row.person_id, row.department_id): (row.open_steps, row.open_requests)
            for row in rows
            if row.open_steps or row.open_requests
        }


def lifecycle() -> tuple[RequestLog, dict[str, DomainEvent]]:
    """Submitted, assigned, claimed, a step handed off, warned, breached, escalated,
    acknowledged, reassigned and completed; resolved, rejected, reopened with a second-cycle
    step, resolved, confirmed, closed. Returns the log and its events by name."""
    log = RequestLog(request_id="req-lifecycle-0001")
    e: dict[str, DomainEvent] = {}
    e["submitted"] = log.submitted(first_response_hours=2, resolution_hours=24)       # 1
    e["assigned"] = log.assigned("wang.fang", "service")                               # 2
    e["first_claim"] = log.claimed("wang.fang", "service", first_response=True)        # 3
    e["verify"] = log.step_started("verify.1", "finance", "zhang.wei", target_hours=4)  # 4
    e["step_claim"] = log.claimed("zhang.wei", "finance", "verify.1")                  # 5
    e["handoff"] = log.handed_off("verify.1", ("finance", "zhang.wei"),
                                  ("logistics", "sun.hao"), deadline_hours=3)          # 6
    e["warning"] = log.warning("step:verify.1", "sun.hao", "logistics")                # 7
    e["breach"] = log.breached("step:verify.1", "sun.hao", "logistics")                # 8
    e["escalated"] = log.escalated("step:verify.1", "li.na", "service")                # 9
    e["ack"] = log.acknowledged("step:verify.1", "li.na", "service")                   # 10
    e["reassigned"] = log.reassigned("sun.hao", "zhou.min", "logistics", "verify.1")   # 11
    e["verify_done"] = log.step_completed(                                             # 12
        "verify.1", "logistics", "zhou.min", started_at=e["verify"].occurred_at,
        wall_seconds=7500, business_seconds=6000, paused_seconds=0, breached=True,
        after=e["verify"].occurred_at + timedelta(seconds=7500) - log.at)
    e["resolved"] = log.resolved()                                                     # 13
    e["rejected"] = log.rejected(2)                                                    # 14
    e["reopened"] = log.reopened(1)                                                    # 15
    e["refund"] = log.step_started("refund.1.r2", "finance", "chen.jing",              # 16
                                   stage_index=1, cycle=2, target_hours=2)
    e["refund_done"] = log.step_completed(                                             # 17
        "refund.1.r2", "finance", "chen.jing", started_at=e["refund"].occurred_at,
        wall_seconds=3659, business_seconds=3000, paused_seconds=600, target_hours=2,
        after=e["refund"].occurred_at + timedelta(seconds=3659) - log.at)
    e["resolved_again"] = log.resolved()                                               # 18
    e["confirmed"] = log.confirmed(5)                                                  # 19
    e["closed"] = log.closed()                                                         # 20
    return log, e


async def test_lifecycle_midway(engine: AsyncEngine) -> None:
    log, e = lifecycle()
    await append_events(engine, log.events[:11])

    row = await request_row(engine, log.request_id)
    assert row["status"] == "in_progress"
    assert row["owner_id"] == "wang.fang"
    assert row["current_step_keys"] == ["verify.1"]
    assert row["sla_state"] == "breached"
    assert (row["breach_count"], row["escalation_count"]) == (1, 1)
    assert row["last_sequence"] == 11
    assert row["updated_at"] == e["reassigned"].occurred_at
    step = (await step_rows(engine, log.request_id))["verify.1"]
    assert (step["department_id"], step["owner_id"], step["status"]) == (
        "logistics", "zhou.min", "active")
    assert step["claimed_at"] is None  # a reassigned step waits for its new owner's claim
    assert (step["handoff_count"], step["reassign_count"], step["escalation_count"]) == (1, 1, 1)
    assert step["deadline"] == e["handoff"].occurred_at + timedelta(hours=3)
    assert await workload(engine) == {
        ("wang.fang", "service"): (0, 1),
        ("zhou.min", "logistics"): (1, 0),
    }
    assert await open_load(engine, "logistics") == {"sun.hao": 0, "zhou.min": 1}


async def test_lifecycle_to_close(engine: AsyncEngine) -> None:
    log, e = lifecycle()
    await append_events(engine, log.events[:6])
    await append_events(engine, log.events[6:])

    row = await request_row(engine, log.request_id)
    submitted_at = e["submitted"].occurred_at
    assert row == {
        "request_id": "req-lifecycle-0001",
        "status": "closed",
        "request_type": "billing_dispute",
        "channel": "phone",
        "customer_id": "C-1001",
        "customer_name": "上海星河贸易有限公司",
        "customer_tier": "key",
        "priority": "P2",
        "subject": "发票金额错误",
        "owner_id": "wang.fang",
        "owner_department_id": "service",
        "current_step_keys": [],
        "submitted_at": submitted_at,
        "first_response_at": e["first_claim"].occurred_at,
        "first_response_deadline": submitted_at + timedelta(hours=2),
        "resolution_deadline": e["reopened"].occurred_at + timedelta(hours=6),
        "resolved_at": e["resolved_again"].occurred_at,
        "closed_at": e["closed"].occurred_at,
        "sla_state": "breached",
        "breach_count": 1,
        "escalation_count": 1,
        "reopen_count": 1,
        "satisfaction": 5,
        "last_sequence": 20,
        "updated_at": e["closed"].occurred_at,
    }
    steps = await step_rows(engine, log.request_id)
    assert steps["verify.1"] == {
        "request_id": "req-lifecycle-0001",
        "step_key": "verify.1",
        "stage_id": "verify",
        "stage_index": 0,
        "step_name": "核对发票",
        "department_id": "logistics",
        "role": "specialist",
        "owner_id": "zhou.min",
        "cycle": 1,
        "started_at": e["verify"].occurred_at,
        "claimed_at": None,
        "ended_at": e["verify_done"].occurred_at,
        "deadline": e["handoff"].occurred_at + timedelta(hours=3),
        "target_seconds": 14400.0,
        "wall_seconds": 7500.0,
        "business_seconds": 6000.0,
        "paused_seconds": 0.0,
        "breached": True,
        "sla_state": "breached",
        "escalation_count": 1,
        "handoff_count": 1,
        "reassign_count": 1,
        "status": "completed",
    }
    refund = steps["refund.1.r2"]
    assert (refund["cycle"], refund["stage_index"], refund["step_name"]) == (2, 1, "财务退款")
    assert (refund["owner_id"], refund["status"], refund["breached"]) == (
        "chen.jing", "completed", False)
    assert refund["deadline"] == e["refund"].occurred_at + timedelta(hours=2)
    assert await workload(engine) == {}

    async with engine.connect() as conn:
        escalation = (await conn.execute(select(escalations))).one()._asdict()
        handoff = (await conn.execute(select(handoffs))).one()._asdict()
    assert escalation == {
        "request_id": "req-lifecycle-0001", "sequence": 9, "clock_id": "step:verify.1",
        "breach_number": 1, "level": 1, "level_name": "主管", "recipient_id": "li.na",
        "department_id": "service", "occurred_at": e["escalated"].occurred_at,
        "acknowledged_at": e["ack"].occurred_at,
    }
    assert handoff == {
        "request_id": "req-lifecycle-0001", "sequence": 6, "step_key": "verify.1",
        "from_department_id": "finance", "to_department_id": "logistics",
        "from_owner_id": "zhang.wei", "to_owner_id": "sun.hao",
        "occurred_at": e["handoff"].occurred_at, "reason": "需要财务部确认金额",
    }


async def test_request_clock_warning_breach_and_reassignment(engine: AsyncEngine) -> None:
    log = RequestLog()
    log.submitted()
    log.assigned("wang.fang")
    log.step_started("verify.1", "finance", "zhang.wei")
    log.warning("step:verify.1", "zhang.wei", "finance")
    await append_events(engine, log.events)
    assert (await request_row(engine, log.request_id))["sla_state"] == "on_track"
    assert (await step_rows(engine, log.request_id))["verify.1"]["sla_state"] == "warning"

    log.warning("resolution", "wang.fang", "service")
    await append_events(engine, log.events)
    assert (await request_row(engine, log.request_id))["sla_state"] == "warning"

    log.breached("resolution", "wang.fang", "service")
    log.escalated("resolution", "li.na", "service")
    log.escalated("resolution", "zhao.lei", "service", level=2, after=timedelta(hours=1))
    log.acknowledged("resolution", "zhao.lei", "service", level=2)
    log.warning("resolution", "wang.fang", "service")  # a late warning never downgrades
    log.reassigned("wang.fang", "li.na", "service")
    await append_events(engine, log.events)

    row = await request_row(engine, log.request_id)
    assert (row["sla_state"], row["breach_count"], row["escalation_count"]) == ("breached", 1, 2)
    assert row["owner_id"] == "li.na"
    step = (await step_rows(engine, log.request_id))["verify.1"]
    assert (step["breached"], step["escalation_count"]) == (False, 0)
    async with engine.connect() as conn:
        rows = await conn.execute(select(escalations.c.level, escalations.c.acknowledged_at))
        acknowledged = {row.level: row.acknowledged_at for row in rows}
    assert acknowledged == {1: None, 2: log.events[-3].occurred_at}
    assert await workload(engine) == {
        ("li.na", "service"): (0, 1),
        ("zhang.wei", "finance"): (1, 0),
    }


async def test_waiting_priority_and_deadlines(engine: AsyncEngine) -> None:
    log = RequestLog()
    log.submitted()
    log.assigned("wang.fang")
    log.claimed("wang.fang", "service", first_response=True)
    log.step_started("verify.1", "finance", "zhang.wei", target_hours=4)
    log.waiting()
    await append_events(engine, log.events)
    row = await request_row(engine, log.request_id)
    assert row["status"] == "waiting_on_customer"
    assert row["resolution_deadline"] is None  # paused without a cap: no deadline
    assert row["first_response_deadline"] == T0 + timedelta(hours=2)

    replied = log.replied(1800)
    await append_events(engine, log.events)
    row = await request_row(engine, log.request_id)
    assert row["status"] == "in_progress"
    assert row["resolution_deadline"] == replied.occurred_at + timedelta(hours=20)

    changed = log.priority_changed(Priority.P1, step_targets={"verify.1": 7200})
    await append_events(engine, log.events)
    row = await request_row(engine, log.request_id)
    assert row["priority"] == "P1"
    # The priority change's deadline replaces the one the reply set.
    assert row["resolution_deadline"] == changed.occurred_at + timedelta(hours=8)
    assert (await step_rows(engine, log.request_id))["verify.1"]["target_seconds"] == 7200


async def test_cancel_ends_active_steps_and_frees_workload(engine: AsyncEngine) -> None:
    log = RequestLog()
    log.submitted()
    log.assigned("wang.fang")
    started = log.step_started("verify.1", "finance", "zhang.wei")
    log.step_started("ship.1", "logistics", "sun.hao", stage_index=0)
    log.step_completed("ship.1", "logistics", "sun.hao", started_at=started.occurred_at,
                       wall_seconds=600, business_seconds=600)
    log.step_started("refund.1", "finance", "zhang.wei", stage_index=1)
    await append_events(engine, log.events)
    assert await workload(engine) == {
        ("wang.fang", "service"): (0, 1),
        ("zhang.wei", "finance"): (2, 0),
    }
    assert (await request_row(engine, log.request_id))["current_step_keys"] == [
        "verify.1", "refund.1"]

    cancelled = log.cancelled()
    await append_events(engine, log.events)

    row = await request_row(engine, log.request_id)
    assert (row["status"], row["closed_at"], row["current_step_keys"]) == (
        "cancelled", cancelled.occurred_at, [])
    steps = await step_rows(engine, log.request_id)
    assert {key: (s["status"], s["ended_at"]) for key, s in steps.items()} == {
        "verify.1": ("cancelled", cancelled.occurred_at),
        "ship.1": ("completed", log.events[4].occurred_at),
        "refund.1": ("cancelled", cancelled.occurred_at),
    }
    assert await workload(engine) == {}


def _with_payload(event: DomainEvent, payload: dict[str, Any]) -> DomainEvent:
    return DomainEvent.model_validate({**event.model_dump(), "payload": payload})


async def test_deadline_keys_left_out_are_unchanged(engine: AsyncEngine) -> None:
    """Deadlines: "a key left out is unchanged", an explicit None means no deadline."""
    log = RequestLog()
    log.submitted(first_response_hours=2, resolution_hours=24)
    started = log.step_started("verify.1", "finance", "zhang.wei", target_hours=4)
    step_only = StepStarted.model_validate(started.payload.model_dump()).model_copy(
        update={"deadlines": Deadlines(steps={"verify.1": T0 + timedelta(hours=4)})})
    log.events[-1] = _with_payload(started, step_only.model_dump(mode="json", exclude_unset=True))
    assert set(log.events[-1].payload.model_dump(mode="json")["deadlines"]) == {"steps"}
    waiting = log.waiting()
    log.events[-1] = _with_payload(waiting, WaitingOnCustomer(
        reason=PauseReason.CUSTOMER, question="请提供发票",
        deadlines=Deadlines(resolution=None)).model_dump(mode="json", exclude_unset=True))
    await append_events(engine, log.events)

    row = await request_row(engine, log.request_id)
    assert row["first_response_deadline"] == T0 + timedelta(hours=2)
    assert row["resolution_deadline"] is None
    assert (await step_rows(engine, log.request_id))["verify.1"]["deadline"] == (
        T0 + timedelta(hours=4))


async def test_new_event_keeps_request_deadlines_of_a_step_start(engine: AsyncEngine) -> None:
    log = RequestLog()
    log.submitted(first_response_hours=2, resolution_hours=24)
    log.events.append(new_event(
        log.request_id, 2, SYSTEM, T0 + timedelta(minutes=1),
        StepStarted(step_key="verify.1", stage_id="verify", stage_index=0, step_name="核对发票",
                    department_id="finance", role="specialist", owner_id="zhang.wei",
                    rule="least_loaded", target_seconds=14400,
                    deadlines=Deadlines(steps={"verify.1": T0 + timedelta(hours=4)}))))
    await append_events(engine, log.events)

    assert (await request_row(engine, log.request_id))["resolution_deadline"] == (
        T0 + timedelta(hours=24))


async def _last_reserved(engine: AsyncEngine, department_id: str, role: str) -> str | None:
    """The last assignee round robin continues after; reserves "next.person" after them."""
    seen: list[str | None] = []

    def choose(last: str | None) -> str:
        seen.append(last)
        return "next.person"

    assert await reserve_next(engine, department_id, role, choose) == "next.person"
    return seen[0]


async def test_assignment_queries(engine: AsyncEngine) -> None:
    assert await open_load(engine, "finance") == {}
    assert await _last_reserved(engine, "finance", "auditor") is None
    first, second = RequestLog(), RequestLog()
    for log in (first, second):
        log.submitted()
        log.assigned("wang.fang")
    first.step_started("verify.1", "finance", "zhang.wei")
    second.step_started("verify.1", "finance", "chen.jing", after=timedelta(hours=1))
    second.step_started("review.1", "legal", "wu.qiang", role="lawyer")
    first.step_started("refund.1", "finance", "zhang.wei", role="cashier",
                       after=timedelta(hours=3))
    await append_events(engine, [*first.events, *second.events])

    assert await open_load(engine, "finance") == {"chen.jing": 1, "zhang.wei": 2}
    # On first use the cursor starts after the owner of the latest such step, then moves on.
    assert await _last_reserved(engine, "finance", "specialist") == "chen.jing"
    assert await _last_reserved(engine, "finance", "specialist") == "next.person"
    assert await _last_reserved(engine, "finance", "cashier") == "zhang.wei"
    assert await _last_reserved(engine, "legal", "specialist") is None


async def test_timeline_of_a_hand_built_request(engine: AsyncEngine) -> None:
    log, e = lifecycle()
    await append_events(engine, log.events)

    timeline = await request_timeline(engine, log.request_id)

    assert timeline.event_count == 20
    assert timeline.request.customer_name == "上海星河贸易有限公司"
    assert timeline.request.status == "closed"
    assert timeline.request.closed_at == e["closed"].occurred_at
    assert [s.step_key for s in timeline.steps] == ["verify.1", "refund.1.r2"]
    verify, refund = timeline.steps
    assert (verify.wall_seconds, verify.business_seconds, verify.paused_seconds) == (
        7500, 6000, 0)
    assert verify.ended_at is not None
    assert (verify.ended_at - verify.started_at) == timedelta(seconds=7500)
    assert (verify.breached, verify.handoff_count, verify.reassign_count) == (True, 1, 1)
    assert (refund.wall_seconds, refund.paused_seconds) == (3659, 600)
    assert [h.to_owner_id for h in timeline.handoffs] == ["sun.hao"]
    assert [(x.level_name, x.acknowledged_at) for x in timeline.escalations] == [
        ("主管", e["ack"].occurred_at)]

    text = format_timeline(timeline)
    lines = text.splitlines()
    assert lines[0] == "请求 req-lifecycle-0001  发票金额错误"
    assert "上海星河贸易有限公司" in text
    verify_line = next(line for line in lines if line.startswith("核对发票"))
    refund_line = next(line for line in lines if line.startswith("财务退款"))
    header = next(line for line in lines if line.startswith("步骤  "))
    assert "2h 05m" in verify_line  # wall 7500 s
    assert "1h 40m" in verify_line  # business 6000 s

    def column_of(line: str, cell: str) -> int:
        return display_width(line[: line.index(cell)])

    # Columns line up on screen although the step names are Chinese (two columns a character).
    assert column_of(verify_line, "zhou.min") == column_of(refund_line, "chen.jing")
    assert column_of(header, "负责人") == column_of(verify_line, "zhou.min")
    assert column_of(header, "历时") == column_of(verify_line, "2h 05m")
    assert column_of(refund_line, "1h 00m") == column_of(verify_line, "2h 05m")
    assert "0h 10m" in refund_line  # paused 600 s
    assert "(时区 UTC)" in text


def test_durations_and_widths() -> None:
    assert format_duration(7500) == "2h 05m"
    assert format_duration(59) == "0h 00m"
    assert format_duration(26 * 3600 + 61) == "26h 01m"
    assert format_duration(None) == "-"
    assert display_width("核对发票 ab") == 11


async def test_unknown_request(engine: AsyncEngine) -> None:
    with pytest.raises(UnknownRequest, match="no request 'nope' in the event store"):
        await request_timeline(engine, "nope")
    assert issubclass(UnknownRequest, LookupError)


def test_event_vocabulary_is_fully_projected() -> None:
    """Every event type has a handler in the projector (a new type must be added there), but
    the pinned plan, which only the log keeps (the request's row begins with Submitted)."""
    from domain.events import PAYLOAD_TYPES, PlanPinned
    from eventstore.projector import PROJECTIONS

    missing = [t for t, payload in PAYLOAD_TYPES.items()
               if PROJECTIONS.handler(payload) is None and payload is not PlanPinned]
    assert missing == [], missing
    assert len(EventType) == len(PAYLOAD_TYPES)


async def test_times_with_another_offset_project_to_the_same_instant(engine: AsyncEngine) -> None:
    """Events stamped in Shanghai time (UTC+8) land in the projections as the same instant on
    both databases, also where the projector computes with them in SQL."""
    shanghai = ZoneInfo("Asia/Shanghai")
    log = RequestLog(at=datetime(2026, 11, 3, 9, 0, tzinfo=shanghai))
    log.submitted()
    log.assigned("wang.fang")
    claim = log.claimed("wang.fang", "service", first_response=True)
    await append_events(engine, log.events)
    row = await request_row(engine, log.request_id)
    assert row["first_response_at"] == claim.occurred_at
    assert row["first_response_at"].utcoffset() == timedelta(0)
    assert row["submitted_at"] == log.events[0].occurred_at
