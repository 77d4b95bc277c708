"""The monthly report against a real store (PostgreSQL and SQLite), cross-checked against an
independent computation: the test reads the raw ``events`` table, parses each payload with
``domain.events``, replays the requests itself and recomputes every figure from the definitions
in kpi/report/__init__.py's docstring. Report and recomputation must agree exactly. Then the
HTML page (parsed), the CSVs (read back with ``csv``) and the command line."""

import csv
import math
import os
import random
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.events import (
    Assigned,
    Cancelled,
    Claimed,
    Closed,
    CustomerReplied,
    DomainEvent,
    Escalated,
    HandedOff,
    Reassigned,
    ReassignScope,
    Reopened,
    ResolutionConfirmed,
    ResolutionRejected,
    Resolved,
    SlaBreached,
    StepCompleted,
    StepStarted,
    Submitted,
    WaitingOnCustomer,
)
from eventstore.append import append_events
from eventstore.engine import create_engine
from eventstore.personal import PersonalData
from kpi.report.csv_files import write_csvs
from kpi.report.model import MonthlyReport, ReportNames
from kpi.report.page import render_html
from kpi.report.queries import build_report, month_queries
from kpi.snapshot import month_bounds
from presentation.text import format_duration
from schema.tables import events
from stack.paths import REPO_ROOT
from tests.integration.event_factory import CUSTOMERS, RequestLog, random_lifecycle

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONTH = date(2026, 11, 1)
START = datetime(2026, 11, 1, tzinfo=SHANGHAI)  # 2026-10-31 16:00 UTC
END = datetime(2026, 12, 1, tzinfo=SHANGHAI)  # 2026-11-30 16:00 UTC
# Events carry UTC times, as the workflow records them.
START_UTC, END_UTC = START.astimezone(UTC), END.astimezone(UTC)
NAMES = ReportNames(
    people={"wang.fang": "王芳", "li.na": "李娜", "zhao.lei": "赵磊", "zhang.wei": "张伟",
            "chen.jing": "陈静", "liu.yang": "刘洋", "sun.hao": "孙浩", "zhou.min": "周敏",
            "wu.qiang": "吴强"},
    departments={"service": "客户服务部", "finance": "财务部", "logistics": "物流部",
                 "legal": "法务部"},
)


# -- the month's events ------------------------------------------------------------------------


def _complete(log: RequestLog, key: str, department: str, owner: str, *,
              after: timedelta, breached: bool = False, role: str = "specialist") -> None:
    started = next(e for e in reversed(log.events)
                   if isinstance(e.payload, StepStarted) and e.payload.step_key == key)
    end = log.at + after
    wall = (end - started.occurred_at).total_seconds()
    log.step_completed(key, department, owner, started_at=started.occurred_at,
                       wall_seconds=wall, business_seconds=round(wall * 0.7, 1),
                       breached=breached, role=role, after=after)


def handmade() -> list[RequestLog]:
    """Requests on the month's edges and what random_lifecycle does not produce: a request
    owned by finance, an approver role, a handoff into finance, a request reopened twice, a
    step run twice."""
    logs: list[RequestLog] = []
    # One second before the month in Shanghai (2026-10-31 15:59:59 UTC): not of the month;
    # its step completes in the month, so it counts among the steps handled.
    before = RequestLog(at=START_UTC - timedelta(seconds=1))
    before.submitted(subject="月初之前的请求", customer=CUSTOMERS[1])
    before.assigned("li.na")
    before.claimed("li.na", "service", first_response=True)
    before.step_started("verify.1", "finance", "chen.jing")
    _complete(before, "verify.1", "finance", "chen.jing", after=timedelta(hours=3))
    logs.append(before)
    # The first instant of the month (still October 31st in UTC): of the month.
    first = RequestLog(at=START_UTC)
    first.submitted(subject="月初第一个请求", customer=CUSTOMERS[2])
    first.assigned("zhao.lei")
    first.claimed("zhao.lei", "service", first_response=True, after=timedelta(minutes=7))
    logs.append(first)
    # Steps completing one second before and exactly at the end of the month.
    for offset, key in ((timedelta(seconds=-1), "ship.1"), (timedelta(0), "review.1")):
        edge = RequestLog(at=END_UTC - timedelta(hours=5))
        edge.submitted(subject="月末步骤", customer=CUSTOMERS[3])
        edge.assigned("wang.fang")
        edge.claimed("wang.fang", "service", first_response=True)
        edge.step_started(key, "logistics", "zhou.min")
        edge.step_completed(key, "logistics", "zhou.min", started_at=edge.at, wall_seconds=1,
                            business_seconds=4 * 3600.0 + offset.total_seconds(),
                            after=END_UTC + offset - edge.at)
        logs.append(edge)
    # Owned by finance; an approval, then a legal review handed off into finance.
    for n in range(6):
        owned = RequestLog(at=START_UTC + timedelta(days=3 + 4 * n, hours=n))
        owned.submitted(subject="发票金额错误", customer=CUSTOMERS[n % len(CUSTOMERS)])
        owned.assigned("liu.yang", "finance")
        owned.claimed("liu.yang", "finance", first_response=True,
                      after=timedelta(minutes=13 * (n + 1)))
        owned.step_started("approve.1", "finance", "chen.jing", role="approver")
        if n % 3 == 0:
            owned.breached("step:approve.1", "chen.jing", "finance")
            owned.escalated("step:approve.1", "zhang.wei", "finance")
            owned.escalated("step:approve.1", "liu.yang", "finance", level=2)
        _complete(owned, "approve.1", "finance", "chen.jing", after=timedelta(hours=n + 1),
                  breached=n % 3 == 0, role="approver")
        owned.step_started("review.1", "legal", "wu.qiang", stage_index=1)
        owned.handed_off("review.1", ("legal", "wu.qiang"), ("finance", "zhang.wei"))
        _complete(owned, "review.1", "finance", "zhang.wei", after=timedelta(hours=2))
        owned.resolved()
        owned.confirmed(4 if n % 2 else 5)
        logs.append(owned)
    # Reopened twice: one reopened request, not two.
    again = RequestLog(at=START_UTC + timedelta(days=12))
    again.submitted(subject="发货延迟投诉", customer=CUSTOMERS[4])
    again.assigned("li.na")
    again.claimed("li.na", "service", first_response=True)
    for reopen in (1, 2):
        again.resolved()
        again.rejected(2)
        again.reopened(reopen_count=reopen)
    again.resolved()
    again.confirmed(4)
    logs.append(again)
    # A step run twice: the report sees its last run only (the projection keeps one row).
    twice = RequestLog(at=START_UTC + timedelta(days=9))
    twice.submitted(subject="合同续签咨询", customer=CUSTOMERS[0])
    twice.assigned("wang.fang")
    twice.claimed("wang.fang", "service", first_response=True)
    twice.step_started("verify.1", "finance", "zhang.wei")
    twice.breached("step:verify.1", "zhang.wei", "finance")
    _complete(twice, "verify.1", "finance", "zhang.wei", after=timedelta(hours=5),
              breached=True)
    twice.resolved()
    twice.rejected(1)
    twice.reopened()
    twice.step_started("verify.1", "finance", "liu.yang", cycle=2)
    twice.waiting()
    twice.replied(1800)
    _complete(twice, "verify.1", "finance", "liu.yang", after=timedelta(hours=1))
    twice.resolved()
    twice.confirmed(3)
    twice.closed()
    logs.append(twice)
    return logs


def month_of_logs(count: int, seed: int) -> list[RequestLog]:
    """``count`` random lifecycles arriving from three days before the month to a little
    after it, plus the handmade ones."""
    rng = random.Random(seed)
    early = START_UTC - timedelta(days=3)
    late = START_UTC + timedelta(days=20)
    logs = [random_lifecycle(rng, start=early if i % 5 else late) for i in range(count)]
    return logs + handmade()


async def fill(engine: AsyncEngine, logs: list[RequestLog]) -> None:
    for start in range(0, len(logs), 25):
        await append_events(engine, [e for log in logs[start:start + 25] for e in log.events])


# -- the independent computation ---------------------------------------------------------------


@dataclass
class Step:
    request_id: str
    key: str
    stage: str
    department: str
    role: str
    owner: str
    started_at: datetime
    status: str = "active"
    ended_at: datetime | None = None
    business: float | None = None
    wall: float | None = None
    breached: bool = False
    escalations: int = 0
    handoffs: int = 0


@dataclass
class Request:
    id: str
    subject: str
    customer: str
    owner_department: str
    submitted_at: datetime
    owner: str | None = None
    status: str = "open"
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    reopens: int = 0
    satisfaction: int | None = None
    steps: dict[str, Step] = field(default_factory=dict)
    handoffs: list["Handoff"] = field(default_factory=list)


@dataclass
class Handoff:
    request_id: str
    sequence: int
    step_key: str
    from_department: str
    from_owner: str
    to_department: str
    to_owner: str
    at: datetime


async def read_log(engine: AsyncEngine) -> list[DomainEvent]:
    """Every event of the raw log, opened as an authorised reader does, in log order."""
    async with engine.connect() as conn:
        rows = (await conn.execute(
            select(events).order_by(events.c.request_id, events.c.sequence))).all()
        personal = PersonalData(conn)
        return [await personal.event_of(row) for row in rows]


def replay(log: list[DomainEvent]) -> dict[str, Request]:
    """Requests and their steps (last run of each step key) as the events say."""
    found: dict[str, Request] = {}
    for event in log:
        p = event.payload
        at = event.occurred_at
        if isinstance(p, Submitted):
            found[event.request_id] = Request(
                id=event.request_id, subject=p.subject, customer=p.customer.name,
                owner_department=p.owner_department_id, submitted_at=at)
            continue
        r = found[event.request_id]
        if isinstance(p, Assigned):
            r.owner, r.owner_department = p.owner_id, p.department_id
        elif isinstance(p, Claimed):
            if r.status == "open":
                r.status = "in_progress"
            if p.first_response and r.first_response_at is None:
                r.first_response_at = at
        elif isinstance(p, StepStarted):
            r.steps[p.step_key] = Step(event.request_id, p.step_key, p.stage_id,
                                       p.department_id, p.role, p.owner_id, at)
        elif isinstance(p, StepCompleted):
            s = r.steps[p.step_key]
            s.status, s.ended_at, s.business = "completed", at, p.business_seconds
            s.wall = p.wall_seconds
            s.breached = s.breached or p.breached
        elif isinstance(p, HandedOff):
            s = r.steps[p.step_key]
            s.department, s.owner, s.role = p.to_department_id, p.to_owner_id, p.role
            s.handoffs += 1
            r.handoffs.append(Handoff(event.request_id, event.sequence, p.step_key,
                                      p.from_department_id, p.from_owner_id,
                                      p.to_department_id, p.to_owner_id, at))
        elif isinstance(p, Reassigned):
            if p.scope is ReassignScope.REQUEST:
                r.owner, r.owner_department = p.to_owner_id, p.department_id
            else:
                assert p.step_key is not None
                r.steps[p.step_key].owner = p.to_owner_id
                r.steps[p.step_key].department = p.department_id
        elif isinstance(p, WaitingOnCustomer):
            r.status = "waiting_on_customer"
        elif isinstance(p, CustomerReplied):
            r.status = "in_progress"
        elif isinstance(p, SlaBreached) and p.clock_id.startswith("step:"):
            r.steps[p.clock_id.removeprefix("step:")].breached = True
        elif isinstance(p, Escalated) and p.clock_id.startswith("step:"):
            r.steps[p.clock_id.removeprefix("step:")].escalations += 1
        elif isinstance(p, Resolved):
            r.status, r.resolved_at = "resolved", at
        elif isinstance(p, ResolutionConfirmed | ResolutionRejected):
            r.satisfaction = p.satisfaction
        elif isinstance(p, Reopened):
            r.status, r.resolved_at = "in_progress", None
            r.reopens += 1
        elif isinstance(p, Closed):
            r.status = "closed"
        elif isinstance(p, Cancelled):
            r.status = "cancelled"
            for s in r.steps.values():
                if s.status == "active":
                    s.status, s.ended_at = "cancelled", at
    return found


def p90(values: list[float], share: Fraction = Fraction(9, 10)) -> float | None:
    ordered = sorted(values)
    return ordered[math.ceil(share * len(ordered)) - 1] if ordered else None


def p50(values: list[float]) -> float | None:
    return p90(values, Fraction(1, 2))


def avg(values: list[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def expected_figures(steps: list[Step], reqs: list[Request]) -> dict[str, Any]:
    handling = [s.business for s in steps if s.business is not None]
    wall = [s.wall for s in steps if s.wall is not None]
    breaches = sum(s.breached for s in steps)
    first = [(r.first_response_at - r.submitted_at).total_seconds() for r in reqs
             if r.first_response_at is not None]
    resolved = [r for r in reqs if r.resolved_at is not None or r.reopens > 0]
    reopened = [r for r in reqs if r.reopens > 0]
    scores = [float(r.satisfaction) for r in reqs if r.satisfaction is not None]
    return {
        "steps_handled": len(steps),
        "handling_avg_seconds": avg(handling),
        "handling_p50_seconds": p50(handling),
        "handling_p90_seconds": p90(handling),
        "wall_avg_seconds": avg(wall),
        "wall_p50_seconds": p50(wall),
        "wall_p90_seconds": p90(wall),
        "handoffs": sum(s.handoffs for s in steps),
        "breaches": breaches,
        "sla_compliance": (len(steps) - breaches) / len(steps) if steps else None,
        "escalations": sum(s.escalations for s in steps),
        "requests": len(reqs),
        "first_responses": len(first),
        "first_response_avg_seconds": avg(first),
        "first_response_p90_seconds": p90(first),
        "resolved_requests": len(resolved),
        "reopened_requests": len(reopened),
        "reopen_rate": len(reopened) / len(resolved) if resolved else None,
        "csat_responses": len(scores),
        "csat_average": avg(scores),
    }


@dataclass
class Expected:
    requests: list[Request]
    steps: list[Step]
    people: dict[str, dict[str, Any]]
    roles: dict[tuple[str, str], dict[str, Any]]
    totals: dict[str, Any]
    handoffs: list[Handoff]


def expected(found: dict[str, Request], department: str | None = None,
             role: str | None = None) -> Expected:
    """The report's figures recomputed from the replayed events."""
    def step_ok(s: Step) -> bool:
        return ((department is None or s.department == department)
                and (role is None or s.role == role))

    def owned_here(r: Request) -> bool:
        return department is None or r.owner_department == department

    month = [r for r in found.values() if START <= r.submitted_at < END]
    reqs = [r for r in month
            if (department is None and role is None)
            or (role is None and owned_here(r))
            or any(step_ok(s) for s in r.steps.values())]
    steps = [s for r in found.values() for s in r.steps.values()
             if s.status == "completed" and s.ended_at is not None
             and START <= s.ended_at < END and step_ok(s)]
    people_ids = {s.owner for s in steps}
    if role is None:
        people_ids |= {r.owner for r in reqs if r.owner and owned_here(r)}
    people = {
        person: expected_figures([s for s in steps if s.owner == person],
                                 [r for r in reqs if r.owner == person and owned_here(r)])
        for person in people_ids
    }
    role_keys = {(s.department, s.role) for s in steps}
    role_keys |= {(s.department, s.role) for r in reqs for s in r.steps.values() if step_ok(s)}
    roles = {
        key: expected_figures(
            [s for s in steps if (s.department, s.role) == key],
            [r for r in reqs if any((s.department, s.role) == key for s in r.steps.values())])
        for key in role_keys
    }
    steps_by_key = {(s.request_id, s.key): s for r in found.values() for s in r.steps.values()}
    handoffs = [h for r in found.values() for h in r.handoffs
                if START <= h.at < END
                and (department is None or department in (h.from_department, h.to_department))
                and (role is None or steps_by_key[(h.request_id, h.step_key)].role == role)]
    return Expected(reqs, steps, people, roles, expected_figures(steps, reqs), handoffs)


def assert_matches(report: MonthlyReport, want: Expected) -> None:
    got_requests = {r.request_id for r in report.requests}
    assert got_requests == {r.id for r in want.requests}
    assert len(report.requests) == len(want.requests)
    assert {(s.request_id, s.step_key) for s in report.steps} == \
        {(s.request_id, s.key) for s in want.steps}
    by_id = {r.id: r for r in want.requests}
    for line in report.requests:
        r = by_id[line.request_id]
        assert (line.owner_id, line.owner_department_id, line.status, line.subject,
                line.customer_name, line.submitted_at, line.first_response_at,
                line.resolved_at, line.reopen_count, line.satisfaction) == \
            (r.owner, r.owner_department, r.status, r.subject, r.customer, r.submitted_at,
             r.first_response_at, r.resolved_at, r.reopens, r.satisfaction), r.id
        assert [(s.step_key, s.department_id, s.role, s.owner_id, s.status, s.business_seconds,
                 s.breached) for s in sorted(line.steps, key=lambda s: s.step_key)] == \
            [(s.key, s.department, s.role, s.owner, s.status, s.business, s.breached)
             for _, s in sorted(r.steps.items())], r.id

    o = report.overview
    assert o.arrived == len(want.requests)
    assert o.resolved == sum(r.resolved_at is not None for r in want.requests)
    assert o.resolved_in_month == sum(r.resolved_at is not None and r.resolved_at < END
                                      for r in want.requests)
    assert o.cancelled == sum(r.status == "cancelled" for r in want.requests)
    assert o.unresolved == sum(r.resolved_at is None and r.status not in ("closed", "cancelled")
                               for r in want.requests)
    assert o.by_status == dict(Counter(r.status for r in want.requests))
    arrivals = Counter(r.submitted_at.astimezone(SHANGHAI).date() for r in want.requests)
    assert {d.day: d.arrived for d in o.days if d.arrived} == dict(arrivals)
    assert len(o.days) == 30

    assert [(h.request_id, h.sequence, h.step_key, h.from_department_id, h.from_owner_id,
             h.to_department_id, h.to_owner_id, h.occurred_at) for h in report.handoffs] == \
        sorted(((h.request_id, h.sequence, h.step_key, h.from_department, h.from_owner,
                 h.to_department, h.to_owner, h.at) for h in want.handoffs),
               key=lambda h: (h[7], h[0], h[1]))
    assert report.totals.model_dump() == want.totals
    assert {p.person_id: p.figures.model_dump() for p in report.people} == want.people
    assert {(r.department_id, r.role): r.figures.model_dump() for r in report.roles} == \
        want.roles


async def test_report_figures_match_an_independent_computation_from_the_events(
        engine: AsyncEngine) -> None:
    logs = month_of_logs(320, seed=202611)
    await fill(engine, logs)
    found = replay(await read_log(engine))
    assert len(found) == len(logs)

    report = await build_report(engine, MONTH, names=NAMES)
    want = expected(found)
    # The data exercise what the figures are about.
    assert 250 < report.overview.arrived < len(logs)
    assert len(report.steps) > 400
    assert report.totals.breaches > 0
    assert report.totals.escalations > 0
    assert report.totals.reopened_requests > 0
    assert report.totals.csat_responses > 0
    assert {"cancelled", "closed", "resolved"} <= set(report.overview.by_status)
    assert report.period_start == START
    assert report.period_end == END
    assert_matches(report, want)

    # The month's edges in Shanghai time.
    subjects = {r.subject for r in report.requests}
    assert "月初第一个请求" in subjects
    assert "月初之前的请求" not in subjects
    def ids(subject: str) -> set[str]:
        return {log.request_id for log in logs
                if log.events[0].payload.model_dump()["subject"] == subject}

    edge_steps = {s.step_key for s in report.steps if s.request_id in ids("月末步骤")}
    assert edge_steps == {"ship.1"}  # ended 1 s before the month's end; review.1 at the end
    assert {s.request_id for s in report.steps} & ids("月初之前的请求")
    # The step run twice counts once, with its last run (not breached, liu.yang).
    twice = [s for s in report.steps if s.request_id == logs[-1].request_id]
    assert [(s.owner_id, s.cycle, s.breached) for s in twice] == [("liu.yang", 2, False)]
    # Owned by finance, an approver role, a handoff into finance.
    assert ("finance", "approver") in {(r.department_id, r.role) for r in report.roles}

    for department, role in (("finance", None), (None, "approver"), ("finance", "specialist"),
                             ("legal", None), ("nowhere", None)):
        narrowed = await build_report(engine, MONTH, department=department, role=role,
                                      names=NAMES)
        assert_matches(narrowed, expected(found, department, role))
    finance = await build_report(engine, MONTH, department="finance")
    assert "liu.yang" in {p.person_id for p in finance.people}  # owns finance's requests
    assert all(s.department_id == "finance" for s in finance.steps)


async def test_the_report_queries_use_the_month_indexes(pg_store_url: str) -> None:
    """On PostgreSQL, with sequential scans priced out, the month's requests are found through
    ix_requests_submitted_at, their steps through the steps' primary key and the month's
    completed steps through ix_request_steps_ended_at."""
    engine = create_engine(pg_store_url)
    queries = month_queries(*month_bounds(MONTH, SHANGHAI))
    expected_indexes = {
        "requests": ["ix_requests_submitted_at"],
        "request_steps": ["ix_requests_submitted_at", "pk_request_steps"],
        "completed_steps": ["ix_request_steps_ended_at"],
        "handoffs": ["ix_handoffs_occurred_at", "pk_request_steps"],
    }
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("SET enable_seqscan = off")
            for name, indexes in expected_indexes.items():
                sql = getattr(queries, name).compile(dialect=conn.dialect,
                                                     compile_kwargs={"literal_binds": True})
                plan = "\n".join(row[0] for row in await conn.exec_driver_sql(f"EXPLAIN {sql}"))
                for index in indexes:
                    assert index in plan, (name, plan)
    finally:
        await engine.dispose()


# -- the page and the files --------------------------------------------------------------------


class PageParser(HTMLParser):
    """Collects the text, the tables (rows of cell texts), the tags and every URL."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.tags: Counter[str] = Counter()
        self.urls: list[str] = []
        self.open: list[str] = []
        self._depth = 0  # nesting of <table>
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.urls += [value or "" for name, value in attrs if name in ("src", "href")]
        if tag not in ("meta", "br"):
            self.open.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag not in ("meta", "br"):
            assert self.open[-1:] == [tag], (tag, self.open[-5:])
            self.open.pop()
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def read_csv(path: Path) -> list[dict[str, str]]:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf"), f"{path.name} has no BOM"
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))


def num(cell: str) -> float | None:
    return None if cell == "" else float(cell)


def rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


async def test_html_page_and_csvs(engine: AsyncEngine, tmp_path: Path) -> None:
    logs = month_of_logs(50, seed=7)
    await fill(engine, logs)
    report = await build_report(engine, MONTH, names=NAMES)
    want = expected(replay(await read_log(engine)))
    assert_matches(report, want)

    page = render_html(report)
    parser = PageParser()
    parser.feed(page)
    parser.close()
    assert parser.open == [], parser.open  # every element closed, properly nested
    text = "".join(parser.text)
    assert "caseflow 月度绩效报告 · 2026年11月" in text
    for name in ("王芳", "李娜", "陈静", "财务部", "上海星河贸易有限公司", "法务审核"):
        assert name in text, name
    assert parser.tags["script"] == 0
    assert parser.tags["link"] == 0
    assert parser.tags["img"] == 0
    assert parser.urls == []  # nothing fetched
    assert parser.tags["svg"] == 3
    for svg in page.split("<svg")[1:]:
        ET.fromstring("<svg" + svg.split("</svg>")[0] + "</svg>")  # well-formed
    tables = {rows[0][0]: rows for rows in parser.tables if rows}
    assert len(tables["请求"]) - 1 == report.overview.arrived
    assert len(tables["人员"]) - 1 == len(report.people)
    assert len(tables["部门"]) - 1 == len(report.roles)
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page

    written = write_csvs(report, tmp_path / "csv")
    assert [p.name for p in written] == ["requests.csv", "steps.csv", "people.csv", "roles.csv",
                                         "handoffs.csv"]
    # Handoffs on the page and in their CSV: who handed which step to whom, and when.
    assert want.handoffs
    assert len(tables["时间"]) - 1 == len(report.handoffs) == len(want.handoffs)
    handoff_rows = read_csv(tmp_path / "csv" / "handoffs.csv")
    assert sorted((row["request_id"], int(row["sequence"]), row["from_owner"], row["to_owner"],
                   row["from_department"], row["to_department"],
                   datetime.fromisoformat(row["occurred_at"])) for row in handoff_rows) == \
        sorted((h.request_id, h.sequence, h.from_owner, h.to_owner, h.from_department,
                h.to_department, h.at) for h in want.handoffs)
    given = next(h for h in report.handoffs if NAMES.person(h.from_owner_id))
    assert f"由 {NAMES.person(given.from_owner_id)} ({given.from_owner_id}) 转交" in text

    request_rows = read_csv(tmp_path / "csv" / "requests.csv")
    assert [row["id"] for row in request_rows] == [r.request_id for r in report.requests]
    by_id = {r.id: r for r in want.requests}
    for row in request_rows:
        r = by_id[row["id"]]
        assert (row["subject"], row["customer"], row["owner"], row["status"]) == \
            (r.subject, r.customer, r.owner or "", r.status)
        assert datetime.fromisoformat(row["submitted_at"]) == r.submitted_at
        assert row["submitted_at"].endswith("+08:00")
        resolved = datetime.fromisoformat(row["resolved_at"]) if row["resolved_at"] else None
        assert resolved == r.resolved_at
        line = next(x for x in report.requests if x.request_id == r.id)
        expected_steps = [
            f"{s.stage_id}@{s.department_id}/{s.owner_id} ("
            + (f"{format_duration(s.business_seconds)} / {format_duration(s.wall_seconds)}"
               if s.status == "completed" else s.status) + ")"
            for s in line.steps]
        assert row["steps"] == "; ".join(expected_steps)
        assert {part.split(" (")[0] for part in row["steps"].split("; ") if part} == \
            {f"{s.stage}@{s.department}/{s.owner}" for s in r.steps.values()}

    step_rows = read_csv(tmp_path / "csv" / "steps.csv")
    assert {(row["request_id"], row["step_key"]) for row in step_rows} == \
        {(s.request_id, s.key) for s in want.steps}
    steps_by_key = {(s.request_id, s.key): s for s in want.steps}
    for row in step_rows:
        s = steps_by_key[(row["request_id"], row["step_key"])]
        assert (row["owner"], row["department"], row["role"]) == (s.owner, s.department, s.role)
        assert num(row["business_seconds"]) == rounded(s.business, 3)
        assert num(row["wall_seconds"]) == rounded(s.wall, 3)
        assert row["breached"] == ("true" if s.breached else "false")
        assert row["owner_name"] == NAMES.people.get(s.owner, "")

    def check_figures(row: dict[str, str], want_figures: dict[str, Any]) -> None:
        for key, value in want_figures.items():
            if key.endswith("_seconds"):
                assert num(row[key]) == rounded(value, 3), key
            elif key in ("sla_compliance", "reopen_rate", "csat_average"):
                assert num(row[key]) == rounded(value, 4), key
            else:
                assert int(row[key]) == value, key

    people_rows = read_csv(tmp_path / "csv" / "people.csv")
    assert {row["person"] for row in people_rows} == set(want.people)
    for row in people_rows:
        check_figures(row, want.people[row["person"]])
        assert row["name"] == NAMES.people.get(row["person"], "")
    # Volumes recount from steps.csv.
    volumes = Counter(row["owner"] for row in step_rows)
    assert {row["person"]: int(row["steps_handled"]) for row in people_rows
            if int(row["steps_handled"])} == dict(volumes)

    role_rows = read_csv(tmp_path / "csv" / "roles.csv")
    assert {(row["department"], row["role"]) for row in role_rows} == set(want.roles)
    for row in role_rows:
        check_figures(row, want.roles[(row["department"], row["role"])])
        assert row["department_name"] == NAMES.department(row["department"])


# -- the command line -----------------------------------------------------------------------


def _report(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kpi.report", *args], cwd=REPO_ROOT,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=120)


async def test_the_command_writes_the_page_and_the_csvs(engine: AsyncEngine, store_url: str,
                                                        tmp_path: Path) -> None:
    await fill(engine, handmade())
    result = _report("--month", "2026-11", "--department", "finance", "--role", "approver",
                     "--out", str(tmp_path), env={"CASEFLOW_DATABASE_URL": store_url})
    assert result.returncode == 0, result.stderr
    stem = "caseflow-report-2026-11-finance-approver"
    assert result.stdout.split() == [str(tmp_path / f"{stem}.html"),
                                     *(str(tmp_path / stem / name) for name in
                                       ("requests.csv", "steps.csv", "people.csv", "roles.csv",
                                        "handoffs.csv", "segments.csv", "longest_waits.csv",
                                        "bottlenecks.csv"))]
    page = (tmp_path / f"{stem}.html").read_text(encoding="utf-8")
    assert "部门：财务部 (finance)，角色：approver" in page  # names from the configuration
    rows = read_csv(tmp_path / stem / "steps.csv")
    assert len(rows) == 6
    assert {row["role"] for row in rows} == {"approver"}
    assert {row["owner_name"] for row in rows} == {"陈静"}  # chen.jing in config/

    # The analysis sections cover the whole month, whatever the filter: each tier's and each
    # channel's requests as the raw submissions count them.
    async with engine.connect() as conn:
        submitted = [row.payload for row in await conn.execute(
            select(events.c.payload).where(events.c.event_type == "submitted",
                                           events.c.occurred_at >= START_UTC,
                                           events.c.occurred_at < END_UTC))]
    segments = read_csv(tmp_path / stem / "segments.csv")
    for kind, counted in (("tier", Counter(p["customer"]["tier"] for p in submitted)),
                          ("channel", Counter(p["channel"] for p in submitted))):
        assert {row["segment"]: int(row["requests"]) for row in segments
                if row["segment_kind"] == kind} == dict(counted), kind
    waits = read_csv(tmp_path / stem / "longest_waits.csv")
    assert 0 < len(waits) <= min(10, len(submitted))
    assert [float(w["wait_seconds"]) for w in waits] == sorted(
        (float(w["wait_seconds"]) for w in waits), reverse=True)
    assert read_csv(tmp_path / stem / "bottlenecks.csv"), "steps were worked in the month"
    assert "流程路径与瓶颈" in page
    assert "<svg" in page


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--month", "2026-13"], "--month '2026-13': expected YYYY-MM"),
        (["--month", "2026-11", "--tz", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (["--month", "2026-11", "--database-url", "postgresql://u:secret@127.0.0.1:1/x"],
         "Connect call failed"),
        (["--month", "2026-11", "--config-dir", "/nonexistent"],
         "configuration directory not found"),
    ],
)
def test_bad_arguments_end_in_one_line(args: list[str], expected: str) -> None:
    result = _report(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("caseflow report: ")
    assert expected in lines[0]
    assert "secret" not in lines[0]
