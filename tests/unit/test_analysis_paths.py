"""Where the time goes, on a hand-written log whose every figure is worked out below: the split
of each step (checked again minute by minute with ``is_working_time``), the directly-follows
graph with its loop, handoffs with their pickup time, deviations, bottlenecks, and the SVG."""

import xml.etree.ElementTree as ET
from datetime import time, timedelta

import pytest

from analysis.graph_svg import render_flow_svg
from analysis.paths import END, START, analyse_paths, trace_request
from analysis.steps import TimeSplit, UnknownCalendar
from domain.calendar import CalendarSpec, always_open, is_working_time
from domain.events import DomainEvent, EventType
from domain.process import Branch, ProcessTemplate, Stage
from tests.integration.event_factory import RequestLog

MINUTE = 60.0
TEMPLATE = ProcessTemplate(
    id="billing_dispute", version=1, name="账单争议", owner_department_id="service",
    owner_role="case_owner",
    stages=(Stage(id="verify", name="核对发票", branches=(Branch(department_id="finance",
                                                               role="specialist"),)),
            Stage(id="refund", name="财务退款", branches=(Branch(department_id="finance",
                                                               role="specialist"),))))
OFFICE = CalendarSpec(name="上海办公时间", timezone="Asia/Shanghai",
                      weekly_hours={d: [(time(9), time(12)), (time(13), time(18))]
                                    for d in range(5)})
ALWAYS = {d: always_open() for d in ("service", "finance", "legal")}
SHANGHAI = dict.fromkeys(("service", "finance", "legal"), OFFICE)


def worked_log() -> list[DomainEvent]:
    """From 09:00 Shanghai on Monday 2 March 2026 (01:00 UTC)."""
    log = RequestLog()
    log.submitted()
    log.assigned("wang.fang")
    log.claimed("wang.fang", "service", first_response=True)
    started = log.step_started("verify.1", "finance", "zhang.wei")  # 09:07
    log.claimed("zhang.wei", "finance", "verify.1", after=timedelta(minutes=20))  # queue 20
    log.waiting(after=timedelta(minutes=30))  # working 30
    log.replied(3600)  # waiting on the customer 60
    log.handed_off("verify.1", ("finance", "zhang.wei"), ("legal", "wu.qiang"))  # working 10
    log.claimed("wu.qiang", "legal", "verify.1", after=timedelta(minutes=15))  # queue 15
    log.step_completed("verify.1", "legal", "wu.qiang", started_at=started.occurred_at,
                       wall_seconds=0, business_seconds=0,
                       after=timedelta(minutes=45))  # working 45, to 12:07 (7 over lunch)
    started = log.step_started("refund.1", "finance", "chen.jing", stage_index=1)
    log.step_completed("refund.1", "finance", "chen.jing", started_at=started.occurred_at,
                       wall_seconds=0, business_seconds=0, after=timedelta(minutes=30))
    log.resolved()
    log.rejected()
    log.reopened()
    started = log.step_started("refund.1.r2", "finance", "chen.jing", stage_index=1, cycle=2)
    log.claimed("chen.jing", "finance", "refund.1.r2", after=timedelta(minutes=5))
    log.step_completed("refund.1.r2", "finance", "chen.jing", started_at=started.occurred_at,
                       wall_seconds=0, business_seconds=0, after=timedelta(minutes=25))
    log.resolved()
    log.closed()
    return log.events


def test_a_steps_time_is_split_into_queue_working_waiting_and_outside_hours() -> None:
    events = worked_log()
    path = trace_request(events, ALWAYS, events[-1].occurred_at)
    verify = path.steps[0]
    assert verify.step_key == "verify.1"
    assert verify.departments == ("finance", "legal")
    assert verify.split == TimeSplit(working=85 * MINUTE, queue=35 * MINUTE,
                                     waiting_customer=60 * MINUTE)
    assert verify.split.wall == (verify.ended_at - verify.started_at).total_seconds()
    office = trace_request(events, SHANGHAI, events[-1].occurred_at).steps[0]
    assert office.split == TimeSplit(working=78 * MINUTE, queue=35 * MINUTE,
                                     waiting_customer=60 * MINUTE, outside_hours=7 * MINUTE)
    never_claimed = path.steps[1]
    assert never_claimed.split == TimeSplit(queue=30 * MINUTE)


def minute_by_minute(events: list[DomainEvent], step_key: str,
                     calendars: dict[str, CalendarSpec]) -> TimeSplit:
    """The split again, classifying each minute of the step from the raw events before it."""
    own = [e for e in events if e.payload.model_dump().get("step_key") == step_key]
    start, end = own[0].occurred_at, own[-1].occurred_at
    counts = dict.fromkeys(TimeSplit.model_fields, 0.0)
    at = start
    while at < end:
        before = [e for e in events if e.occurred_at <= at]
        mine = [e for e in before if e.payload.model_dump().get("step_key") == step_key]
        department = next(str(e.payload.model_dump().get("to_department_id")
                              or e.payload.model_dump()["department_id"])
                          for e in reversed(mine) if e.event_type in (
                              EventType.STEP_STARTED, EventType.HANDED_OFF))
        pauses = [e.event_type for e in before if e.event_type in (
            EventType.WAITING_ON_CUSTOMER, EventType.CUSTOMER_REPLIED)]
        claimed = mine[-1].event_type is EventType.CLAIMED
        if not is_working_time(calendars[department], at):
            counts["outside_hours"] += MINUTE
        elif pauses and pauses[-1] is EventType.WAITING_ON_CUSTOMER:
            counts["waiting_customer"] += MINUTE
        else:
            counts["working" if claimed else "queue"] += MINUTE
        at += timedelta(minutes=1)
    return TimeSplit(**counts)


@pytest.mark.parametrize("calendars", [ALWAYS, SHANGHAI], ids=["24x7", "shanghai"])
def test_the_split_agrees_with_a_minute_by_minute_count(
        calendars: dict[str, CalendarSpec]) -> None:
    events = worked_log()
    for step in trace_request(events, calendars, events[-1].occurred_at).steps:
        assert step.split == minute_by_minute(events, step.step_key, calendars), step.step_key


def test_the_graph_counts_paths_loops_and_handoffs() -> None:
    events = worked_log()
    path = trace_request(events, ALWAYS, events[-1].occurred_at)
    assert [(v.stage_id, v.cycle) for v in path.stages] == [
        ("verify", 1), ("refund", 1), ("refund", 2)]
    assert path.ended
    assert path.reopens == 1
    (handoff,) = path.handoffs
    assert (handoff.from_department_id, handoff.to_department_id) == ("finance", "legal")
    assert handoff.pickup_seconds == 15 * MINUTE

    report = analyse_paths([path, path.model_copy(update={"request_id": "twin"})],
                           {TEMPLATE.id: TEMPLATE})
    (flow,) = report.flows
    edges = {(e.source, e.target): e for e in flow.edges}
    assert set(edges) == {(START, "verify"), ("verify", "refund"), ("refund", "refund"),
                          ("refund", END)}
    assert all(e.count == 2 for e in edges.values())
    assert edges[("refund", "refund")].loop
    assert not edges[("verify", "refund")].loop
    assert edges[("verify", "refund")].median_seconds == MINUTE  # started a minute later
    assert flow.loops == 2
    assert flow.reopens == 2
    assert [(h.from_department_id, h.to_department_id, h.count, h.median_pickup_seconds)
            for h in flow.handoffs] == [("finance", "legal", 2, 15 * MINUTE)]
    nodes = {n.stage_id: n for n in flow.nodes}
    assert [n.stage_id for n in flow.nodes] == ["verify", "refund"]
    assert nodes["refund"].visits == 4
    assert nodes["verify"].name == "核对发票"
    assert nodes["verify"].split.waiting_customer == 2 * 60 * MINUTE
    assert [d.reasons for d in flow.deviations] == [
        ("1 handoff(s)", "repeated refund", "ended outside the planned department: verify")] * 2


def test_the_bottleneck_names_each_roles_costliest_stage_and_what_took_the_time() -> None:
    events = worked_log()
    path = trace_request(events, ALWAYS, events[-1].occurred_at)
    report = analyse_paths([path], {TEMPLATE.id: TEMPLATE})
    finance = next(b for b in report.bottlenecks if b.department_id == "finance")
    assert (finance.role, finance.steps, finance.stage_id) == ("specialist", 2, "refund")
    assert finance.stage_business_seconds == 60 * MINUTE  # 30 in queue, then 5 + 25
    legal = next(b for b in report.bottlenecks if b.department_id == "legal")
    assert legal.stage_id == "verify"
    assert legal.split.largest() == "working"


def test_an_open_step_is_traced_to_the_horizon() -> None:
    events = worked_log()[:5]  # the verify step claimed, nothing more
    path = trace_request(events, ALWAYS, events[-1].occurred_at + timedelta(hours=2))
    (step,) = path.steps
    assert not step.finished
    assert step.split == TimeSplit(queue=20 * MINUTE, working=120 * MINUTE)
    assert not path.ended


def test_a_department_without_a_calendar_is_named() -> None:
    with pytest.raises(UnknownCalendar, match="'legal'"):
        trace_request(worked_log(), {"service": OFFICE, "finance": OFFICE},
                      worked_log()[-1].occurred_at)


def test_the_svg_draws_every_stage_and_edge() -> None:
    events = worked_log()
    report = analyse_paths([trace_request(events, ALWAYS, events[-1].occurred_at)],
                           {TEMPLATE.id: TEMPLATE})
    svg = render_flow_svg(report.flows[0])
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    stages = [g.get("data-stage") for g in root.iter(f"{ns}g")]
    assert stages == [START, "verify", "refund", END]
    drawn = {(p.get("data-source"), p.get("data-target"), p.get("data-count"))
             for p in root.iter(f"{ns}path") if p.get("class") == "edge"}
    assert drawn == {(START, "verify", "1"), ("verify", "refund", "1"),
                     ("refund", "refund", "1"), ("refund", END, "1")}
    assert "核对发票" in svg
    assert "http://" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
