"""Where the time goes, on varied logs appended through caseflow's own append path to a real
PostgreSQL and read back by ``analysis.store``; every figure is recomputed here from the raw
``events`` rows by a different route: SQL for the handoffs, and for each step the closed
formulas the generator's shape allows (it claims a step once, right after it starts; a handoff
or reassignment leaves it unclaimed to the end; a pause happens only after that)."""

import random
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from analysis.paths import END, START, analyse_paths, trace_requests
from analysis.store import logs_submitted_between
from domain.calendar import always_open
from eventstore.append import append_events
from eventstore.engine import create_engine
from schema.tables import events
from stack.paths import REPO_ROOT
from tests.integration.event_factory import DEPARTMENTS, T0, random_lifecycle

CALENDARS = {department: always_open() for department in DEPARTMENTS}
UNTIL = T0 + timedelta(days=60)


async def fill(engine: AsyncEngine, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    logs = [random_lifecycle(rng) for _ in range(count)]
    for start in range(0, count, 25):
        await append_events(engine, [e for log in logs[start:start + 25] for e in log.events])


async def raw_rows(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(events).order_by(
            events.c.request_id, events.c.sequence))).all())


def expected_steps(rows: list[Any]) -> dict[tuple[str, str], dict[str, float]]:
    """(request, step) -> wall, queue, waiting_customer, working, from the raw rows."""
    found: dict[tuple[str, str], dict[str, float]] = {}
    marks: dict[tuple[str, str], dict[str, datetime]] = defaultdict(dict)
    for row in rows:
        key = (row.request_id, row.payload.get("step_key"))
        at = row.occurred_at
        if row.event_type == "step_started":
            marks[key]["start"] = at
        elif row.event_type == "claimed" and key[1]:
            marks[key].setdefault("claim", at)
        elif row.event_type in ("handed_off", "reassigned") and key[1]:
            marks[key].setdefault("reset", at)
        elif row.event_type == "waiting_on_customer":
            open_key = next(k for k in marks if k[0] == row.request_id and "end" not in marks[k]
                            and "start" in marks[k])
            marks[open_key]["paused"] = at
        elif row.event_type == "customer_replied":
            open_key = next(k for k in marks if k[0] == row.request_id and "paused" in marks[k]
                            and "end" not in marks[k])
            marks[open_key]["replied"] = at
        elif row.event_type == "step_completed":
            marks[key]["end"] = at
    for key, m in marks.items():
        if "start" not in m:
            continue
        wall = (m["end"] - m["start"]).total_seconds()
        pause = (m["replied"] - m["paused"]).total_seconds() if "paused" in m else 0.0
        queue = (m["claim"] - m["start"]).total_seconds()
        if "reset" in m:
            queue += (m["end"] - m["reset"]).total_seconds() - pause
        found[key] = {"wall": wall, "queue": queue, "waiting_customer": pause,
                      "working": wall - queue - pause}
    return found


def analysis_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
async def engine(pg_store_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(pg_store_url)
    yield engine
    await engine.dispose()


async def test_paths_agree_with_the_raw_log(pg_store_url: str, engine: AsyncEngine,
                                            tmp_path: Path) -> None:
    await fill(engine, 120)
    logs = await logs_submitted_between(engine, T0, T0 + timedelta(days=40))
    assert len(logs) == 120
    paths, skipped = trace_requests(logs, CALENDARS, UNTIL)
    assert skipped == []
    rows = await raw_rows(engine)

    expected = expected_steps(rows)
    traced = {(p.request_id, s.step_key): s for p in paths for s in p.steps}
    assert traced.keys() == expected.keys()
    for key, figures in expected.items():
        split = traced[key].split
        assert split.outside_hours == 0
        assert split.wall == figures["wall"], key
        for part in ("queue", "waiting_customer", "working"):
            assert abs(getattr(split, part) - figures[part]) < 1e-6, (key, part)

    report = analyse_paths(paths, {})
    (flow,) = report.flows
    # Handoffs, counted by the database.
    source = events.c.payload["from_department_id"].as_string()
    target = events.c.payload["to_department_id"].as_string()
    async with engine.connect() as conn:
        pairs = (await conn.execute(
            select(source, target, func.count()).where(events.c.event_type == "handed_off")
            .group_by(source, target).order_by(source, target))).all()
    assert [(h.from_department_id, h.to_department_id, h.count) for h in flow.handoffs] == [
        tuple(p) for p in pairs]
    # Edges: each request's stages in the order they started, per cycle.
    edges: Counter[tuple[str, str]] = Counter()
    by_request: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_request[row.request_id].append(row)
    for request_rows in by_request.values():
        visits: list[tuple[int, str]] = []
        for row in request_rows:
            if row.event_type == "step_started":
                visit = (row.payload["cycle"], row.payload["stage_id"])
                if visit not in visits:
                    visits.append(visit)
        stages = [START, *(stage for _, stage in visits)]
        last = [r.event_type for r in request_rows if r.event_type in (
            "resolved", "closed", "cancelled", "reopened")]
        if visits and last and last[-1] != "reopened":
            stages.append(END)
        edges.update(pairwise(stages))
    assert {(e.source, e.target): e.count for e in flow.edges} == dict(edges)
    assert flow.reopens == sum(1 for r in rows if r.event_type == "reopened")
    assert sum(b.steps for b in report.bottlenecks) == len(expected)

    result = analysis_command("paths", "--month", "2026-03", "--tz", "UTC",
                              "--database-url", pg_store_url,
                              "--config-dir", str(REPO_ROOT / "config"),
                              "--svg-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Process billing_dispute" in result.stdout
    svg = tmp_path / "paths-2026-03-billing_dispute.svg"
    assert str(svg) in result.stdout
    assert ET.fromstring(svg.read_text(encoding="utf-8")).tag.endswith("svg")
