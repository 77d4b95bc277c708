"""The KPI collector against a real store (PostgreSQL and SQLite): realistic request logs are
appended, one pass is taken at a fixed time, and every gauge is compared with values worked out
by hand from the scenario below. Then the process itself: serving, SIGTERM, bad settings."""

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.events import StepStarted
from eventstore.append import append_events
from eventstore.engine import create_engine
from kpi.collector import KpiCollector
from kpi.snapshot import KpiSnapshot, Roster, snapshot_queries
from stack.paths import REPO_ROOT
from stack.ports import free_port
from tests.integration.event_factory import DEPARTMENTS, RequestLog
from tests.paths import FAST_CONFIG

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
MARCH = datetime(2026, 3, 1, tzinfo=UTC)
ROSTER = Roster.of(DEPARTMENTS, {"finance": ["specialist", "approver"],
                                 "logistics": ["specialist"], "legal": ["specialist"]})
SLA = ("on_track", "warning", "breached")


def _complete(log: RequestLog, key: str, department: str, owner: str, *, at: datetime,
              breached: bool = False, role: str = "specialist") -> None:
    started = next(e for e in reversed(log.events)
                   if isinstance(e.payload, StepStarted) and e.payload.step_key == key)
    wall = (at - started.occurred_at).total_seconds()
    log.step_completed(key, department, owner, started_at=started.occurred_at,
                       wall_seconds=wall, business_seconds=wall * 0.5, breached=breached,
                       role=role, after=at - log.at)


def scenario() -> list[RequestLog]:
    """Eleven requests; the comment of each says what it contributes at NOW."""
    logs: list[RequestLog] = []

    # R1 submitted 10 days ago, in progress, step verify.1 active in finance (zhang.wei).
    r1 = RequestLog(at=NOW - timedelta(days=10))
    r1.submitted()
    r1.assigned("wang.fang")
    r1.claimed("wang.fang", "service", first_response=True)
    r1.step_started("verify.1", "finance", "zhang.wei")
    logs.append(r1)

    # R2 two days old, owned by logistics, waiting on the customer; its step has a warning.
    r2 = RequestLog(at=NOW - timedelta(days=2))
    r2.submitted()
    r2.assigned("sun.hao", "logistics")
    r2.claimed("sun.hao", "logistics", first_response=True)
    r2.step_started("ship.1", "logistics", "sun.hao")
    r2.warning("step:ship.1", "sun.hao", "logistics")
    r2.waiting()
    logs.append(r2)

    # R3 five hours old, nobody claimed it: open, first response breached.
    r3 = RequestLog(at=NOW - timedelta(hours=5))
    r3.submitted()
    r3.assigned("zhao.lei")
    r3.warning("first_response", "zhao.lei", "service")
    r3.breached("first_response", "zhao.lei", "service")
    logs.append(r3)

    # R4 four days old, resolved (not backlog); finance's step breached (March), legal's met.
    r4 = RequestLog(at=NOW - timedelta(days=4))
    r4.submitted()
    r4.assigned("wang.fang")
    r4.claimed("wang.fang", "service", first_response=True)
    r4.step_started("refund.1", "finance", "chen.jing")
    r4.breached("step:refund.1", "chen.jing", "finance")
    _complete(r4, "refund.1", "finance", "chen.jing", at=r4.at + timedelta(hours=2),
              breached=True)
    r4.step_started("review.1", "legal", "wu.qiang")
    _complete(r4, "review.1", "legal", "wu.qiang", at=r4.at + timedelta(hours=1))
    r4.resolved()
    logs.append(r4)

    # R5 closed; an approval step in finance, role approver, met in March.
    r5 = RequestLog(at=NOW - timedelta(days=8))
    r5.submitted()
    r5.assigned("li.na")
    r5.claimed("li.na", "service", first_response=True)
    r5.step_started("approve.1", "finance", "liu.yang", role="approver")
    _complete(r5, "approve.1", "finance", "liu.yang", at=r5.at + timedelta(hours=1),
              role="approver")
    r5.resolved()
    r5.confirmed(5)
    r5.closed()
    logs.append(r5)

    # R6 closed; its breached finance step ended one second before March: not this month.
    r6 = RequestLog(at=datetime(2026, 2, 28, 20, 0, tzinfo=UTC))
    r6.submitted()
    r6.assigned("zhao.lei")
    r6.claimed("zhao.lei", "service", first_response=True)
    r6.step_started("verify.1", "finance", "zhang.wei")
    _complete(r6, "verify.1", "finance", "zhang.wei", at=MARCH - timedelta(seconds=1),
              breached=True)
    r6.resolved()
    r6.closed()
    logs.append(r6)

    # R7 cancelled while its logistics step was active: nothing open remains.
    r7 = RequestLog(at=NOW - timedelta(days=1, hours=1))
    r7.submitted()
    r7.assigned("wang.fang")
    r7.claimed("wang.fang", "service", first_response=True)
    r7.step_started("ship.1", "logistics", "zhou.min")
    r7.cancelled()
    logs.append(r7)

    # R8 three days old; finance handed its step to legal (wu.qiang), where it breached.
    r8 = RequestLog(at=NOW - timedelta(days=3, hours=2))
    r8.submitted()
    r8.assigned("li.na")
    r8.claimed("li.na", "service", first_response=True)
    r8.step_started("verify.1", "finance", "liu.yang")
    r8.handed_off("verify.1", ("finance", "liu.yang"), ("legal", "wu.qiang"))
    r8.breached("step:verify.1", "wu.qiang", "legal")
    logs.append(r8)

    # R9 six hours old: a finance step met today, then refund.1 reassigned to chen.jing; the
    # request moved from zhao.lei to wang.fang (same department).
    r9 = RequestLog(at=NOW - timedelta(hours=6))
    r9.submitted()
    r9.assigned("zhao.lei")
    r9.claimed("zhao.lei", "service", first_response=True)
    r9.step_started("verify.1", "finance", "zhang.wei")
    _complete(r9, "verify.1", "finance", "zhang.wei", at=r9.at + timedelta(minutes=40))
    r9.step_started("refund.1", "finance", "zhang.wei")
    r9.reassigned("zhang.wei", "chen.jing", "finance", "refund.1")
    r9.reassigned("zhao.lei", "wang.fang", "service")
    logs.append(r9)

    # R10 half an hour old; a step in a department the roster does not know.
    r10 = RequestLog(at=NOW - timedelta(minutes=30))
    r10.submitted()
    r10.assigned("wang.fang")
    r10.claimed("wang.fang", "service", first_response=True)
    r10.step_started("pick.1", "warehouse", "ma.chao", role="picker")
    logs.append(r10)

    # R11 closed; its logistics step ended exactly at the start of March: this month.
    r11 = RequestLog(at=datetime(2026, 2, 28, 20, 0, tzinfo=UTC))
    r11.submitted()
    r11.assigned("zhao.lei")
    r11.claimed("zhao.lei", "service", first_response=True)
    r11.step_started("ship.1", "logistics", "zhou.min")
    _complete(r11, "ship.1", "logistics", "zhou.min", at=MARCH)
    r11.resolved()
    r11.closed()
    logs.append(r11)

    for log in logs:
        assert all(event.occurred_at <= NOW for event in log.events), log.events[-1]
    return logs


def samples(registry: CollectorRegistry, name: str) -> dict[tuple[str, ...], float]:
    """Label values (in the gauge's label order) -> value, for every sample of ``name``."""
    found: dict[tuple[str, ...], float] = {}
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sample.labels.values())] = sample.value
    return found


def grid(departments: dict[str, tuple[str, ...]], third: tuple[str, ...] | None
         ) -> dict[tuple[str, ...], float]:
    zeros: dict[tuple[str, ...], float] = {}
    for department, values in departments.items():
        for value in values:
            if third is None:
                zeros[(department, value)] = 0.0
            else:
                zeros.update({(department, value, state): 0.0 for state in third})
    return zeros


async def test_one_pass_reports_every_gauge(engine: AsyncEngine) -> None:
    await append_events(engine, [event for log in scenario() for event in log.events])
    collector = KpiCollector(engine, ROSTER, clock=lambda: NOW)
    registry = CollectorRegistry()
    registry.register(collector)

    await collector.refresh()

    departments = ("service", "finance", "logistics", "legal")
    statuses = ("open", "in_progress", "waiting_on_customer", "resolved")
    expected_requests = grid(dict.fromkeys(departments, statuses), SLA)
    expected_requests.update({
        ("service", "in_progress", "on_track"): 3,  # R1, R9, R10
        ("logistics", "waiting_on_customer", "on_track"): 1,  # R2
        ("service", "open", "breached"): 1,  # R3
        ("service", "resolved", "breached"): 1,  # R4
        ("service", "in_progress", "breached"): 1,  # R8
    })
    assert samples(registry, "caseflow_open_requests") == expected_requests

    expected_backlog = grid(dict.fromkeys(departments, ("lt_1d", "1d_3d", "3d_7d", "gt_7d")),
                            None)
    expected_backlog.update({
        ("service", "lt_1d"): 3,  # R3 (5 h), R9 (6 h), R10 (30 min)
        ("service", "3d_7d"): 1,  # R8 (3 d 2 h)
        ("service", "gt_7d"): 1,  # R1 (10 d)
        ("logistics", "1d_3d"): 1,  # R2 (2 d); R4 is resolved, not backlog
    })
    assert samples(registry, "caseflow_backlog_requests") == expected_backlog

    expected_steps = grid({"finance": ("approver", "specialist"), "logistics": ("specialist",),
                           "legal": ("specialist",)}, SLA)
    expected_steps.update({
        ("finance", "specialist", "on_track"): 2,  # R1 verify.1, R9 refund.1
        ("logistics", "specialist", "warning"): 1,  # R2 ship.1
        ("legal", "specialist", "breached"): 1,  # R8 verify.1 after the handoff
        ("warehouse", "picker", "on_track"): 1,  # R10, outside the roster
    })
    assert samples(registry, "caseflow_open_steps") == expected_steps

    expected_load = grid(dict(DEPARTMENTS), None)
    expected_load.update({
        ("finance", "zhang.wei"): 1,  # R1
        ("finance", "chen.jing"): 1,  # R9 (reassigned from zhang.wei)
        ("logistics", "sun.hao"): 1,  # R2
        ("legal", "wu.qiang"): 1,  # R8 (handed off from liu.yang)
        ("warehouse", "ma.chao"): 1,  # R10
    })
    assert samples(registry, "caseflow_open_load") == expected_load

    assert samples(registry, "caseflow_month_sla_compliance_ratio") == {
        ("finance", "specialist"): 0.5,  # R4 refund.1 breached, R9 verify.1 met (R6: February)
        ("finance", "approver"): 1.0,  # R5
        ("legal", "specialist"): 1.0,  # R4 review.1
        ("logistics", "specialist"): 1.0,  # R11, ended at 00:00 on March 1st
    }
    assert samples(registry, "caseflow_kpi_collector_last_success_timestamp_seconds") == {
        (): NOW.timestamp()}
    assert samples(registry, "caseflow_kpi_collector_refresh_failures_total") == {(): 0.0}
    snapshot = collector.snapshot
    assert snapshot is not None
    assert snapshot.month_completed == {("finance", "approver"): 1, ("finance", "specialist"): 2,
                                        ("legal", "specialist"): 1,
                                        ("logistics", "specialist"): 1}


async def test_a_failed_pass_keeps_the_last_figures(engine: AsyncEngine) -> None:
    await append_events(engine, scenario()[0].events)
    collector = KpiCollector(engine, ROSTER, clock=lambda: NOW)
    registry = CollectorRegistry()
    registry.register(collector)
    assert await collector.refresh_logged()
    good = collector.snapshot

    broken = create_engine("postgresql+asyncpg://caseflow:secret@127.0.0.1:1/nowhere")
    collector.engine = broken
    try:
        assert not await collector.refresh_logged()
    finally:
        await broken.dispose()

    assert collector.snapshot is good
    assert collector.failures == 1
    assert samples(registry, "caseflow_kpi_collector_refresh_failures_total") == {(): 1.0}
    assert samples(registry, "caseflow_kpi_collector_last_success_timestamp_seconds") == {
        (): NOW.timestamp()}
    assert samples(registry, "caseflow_open_load")[("finance", "zhang.wei")] == 1


class _CountingCollector(KpiCollector):
    """A collector that says when it has published its third snapshot."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.published = 0
        self.third_published = asyncio.Event()

    def publish(self, snapshot: KpiSnapshot) -> None:
        super().publish(snapshot)
        self.published += 1
        if self.published == 3:
            self.third_published.set()


async def test_run_refreshes_until_stopped(engine: AsyncEngine) -> None:
    ticks = iter(NOW + timedelta(seconds=n) for n in range(1000))
    collector = _CountingCollector(engine, ROSTER, clock=lambda: next(ticks))
    stop = asyncio.Event()
    running = asyncio.create_task(collector.run(stop, interval=0.05))
    await asyncio.wait_for(collector.third_published.wait(), timeout=30)
    stop.set()
    await asyncio.wait_for(running, timeout=5)
    assert collector.failures == 0
    assert collector.snapshot is not None
    assert collector.snapshot.taken_at >= NOW + timedelta(seconds=2)  # three passes or more


@pytest.mark.parametrize(("query_name", "index"), [
    ("open_requests", "ix_requests_open"),
    ("open_steps", "ix_request_steps_ended_at"),
    ("month_steps", "ix_request_steps_ended_at"),
])
async def test_each_snapshot_query_can_use_its_index(pg_store_url: str, query_name: str,
                                                     index: str) -> None:
    """On PostgreSQL, with sequential scans priced out, each query of a pass is answered
    through its index. ix_requests_open is partial: PostgreSQL uses it only where the query's
    predicate, as sent, implies the index's, so the statuses must reach it as literals."""
    engine = create_engine(pg_store_url)
    query = getattr(snapshot_queries(NOW), query_name)
    try:
        async with engine.connect() as conn:
            as_sent = str(query.compile(dialect=conn.dialect,
                                        compile_kwargs={"render_postcompile": True}))
            await conn.exec_driver_sql("SET enable_seqscan = off")
            sql = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
            plan = "\n".join(row[0] for row in await conn.exec_driver_sql(f"EXPLAIN {sql}"))
    finally:
        await engine.dispose()
    assert index in plan, plan
    if query_name == "open_requests":
        assert "status NOT IN ('cancelled', 'closed')" in as_sent, as_sent


# -- the process --------------------------------------------------------------------------------


def _start(url: str, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "CASEFLOW_DATABASE_URL": url, "CASEFLOW_METRICS_PORT": str(port),
           "CASEFLOW_CONFIG_DIR": str(FAST_CONFIG)}
    return subprocess.Popen([sys.executable, "-m", "kpi.collector", "--interval", "0.5",
                             "--address", "127.0.0.1"],
                            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _scrape(port: int, process: subprocess.Popen[str], timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as answer:
                return str(answer.read().decode())
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                _, err = process.communicate(timeout=5)
                raise AssertionError(
                    f"collector not serving (exit {process.returncode}): {err}") from None
            time.sleep(0.1)


async def test_the_process_serves_and_stops_on_sigterm(engine: AsyncEngine,
                                                       store_url: str) -> None:
    await append_events(engine, scenario()[0].events)
    port = free_port()
    process = _start(store_url, port)
    try:
        text = await asyncio.to_thread(_scrape, port, process)
        # The fast configuration's roster: a member with nothing open is exported as 0.
        assert 'caseflow_open_load{department="customer_service",person="zhang.wei"} 0.0' in text
        # R1's step, in a department the fast configuration does not have.
        assert 'caseflow_open_load{department="finance",person="zhang.wei"} 1.0' in text
        last = next(line for line in text.splitlines()
                    if line.startswith("caseflow_kpi_collector_last_success_timestamp_seconds "))
        assert abs(float(last.split()[1]) - time.time()) < 60
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.to_thread(process.communicate, timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "KPI collector stopped" in err


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+asyncpg://caseflow:secret@127.0.0.1:1/nowhere", "Connect call failed"),
        ("mysql://caseflow:secret@db/caseflow", "unsupported driver 'mysql'"),
    ],
)
def test_bad_settings_end_the_process_in_one_line(url: str, expected: str) -> None:
    env = {**os.environ, "CASEFLOW_CONFIG_DIR": str(FAST_CONFIG)}
    result = subprocess.run([sys.executable, "-m", "kpi.collector", "--database-url", url,
                             "--port", str(free_port())],
                            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("caseflow kpi collector: event store ")
    assert expected in lines[0]
    assert "secret" not in lines[0]


def test_an_unmigrated_database_is_named_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "CASEFLOW_CONFIG_DIR": str(FAST_CONFIG)}
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    result = subprocess.run([sys.executable, "-m", "kpi.collector", "--database-url", url,
                             "--port", str(free_port())],
                            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "no such table" in result.stderr
    assert "python -m eventstore.migrate" in result.stderr
