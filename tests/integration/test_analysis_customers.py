"""The customer's story, duplicates and segments on a real PostgreSQL filled through caseflow's
own append path, cross-checked against the raw ``events`` rows and the ``requests``
projection; then the three commands."""

import random
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from analysis.customer_facts import merge
from analysis.customers import customer_story, kpis_by, summarise
from analysis.duplicates import latest_names, suggest_duplicates
from analysis.store import customers_submitted, logs_of_customers, logs_submitted_between
from domain.customers import MergeReason
from domain.request import Customer, CustomerTier
from eventstore.append import append_events
from eventstore.engine import create_engine
from schema.tables import events, requests
from stack.paths import REPO_ROOT
from tests.integration.event_factory import T0, RequestLog, random_lifecycle

TWIN = Customer(id="C-2001", name="上海星河贸易 有限公司", tier=CustomerTier.KEY)


def analysis_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
async def engine(pg_store_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(pg_store_url)
    rng = random.Random(11)
    logs = [random_lifecycle(rng) for _ in range(60)]
    twin = RequestLog(at=T0 + timedelta(days=3))
    twin.submitted(customer=TWIN)
    logs.append(twin)
    for start in range(0, len(logs), 20):
        await append_events(engine, [e for log in logs[start:start + 20] for e in log.events])
    yield engine
    await engine.dispose()


async def test_the_story_of_each_customer_agrees_with_the_log(engine: AsyncEngine,
                                                              pg_store_url: str) -> None:
    async with engine.connect() as conn:
        per_customer: dict[str, int] = dict((await conn.execute(
            select(requests.c.customer_id, func.count()).group_by(requests.c.customer_id)
        )).all())
        breaches = Counter(row.request_id for row in (await conn.execute(
            select(events.c.request_id).where(events.c.event_type == "sla_breached"))).all())
        ratings = (await conn.execute(
            select(events.c.request_id, events.c.payload["satisfaction"].as_integer())
            .where(events.c.event_type.in_(["resolution_confirmed", "resolution_rejected"]))
            .order_by(events.c.occurred_at))).all()
    now = T0 + timedelta(days=60)
    for customer_id, count in per_customer.items():
        logs = await logs_of_customers(engine, [customer_id])
        story = customer_story(customer_id, [summarise(log) for log in logs], now)
        assert len(story.requests) == count
        mine = {r.request_id for r in story.requests}
        assert story.breached_requests == sum(1 for rid in mine if breaches[rid])
        assert [r.satisfaction for r in story.ratings] == [s for rid, s in ratings if rid in mine]
        assert story.last_contact_at <= now

    names = latest_names(await customers_submitted(engine))
    assert names.keys() == per_customer.keys()
    suggestions = suggest_duplicates(names)
    assert [(s.customer_ids, s.reason) for s in suggestions] == [
        (("C-1001", "C-2001"), "same name once normalised")]

    month = await logs_submitted_between(engine, T0 - timedelta(days=2), T0 + timedelta(days=40))
    by_tier = kpis_by([summarise(log) for log in month], lambda s: s.tier)
    async with engine.connect() as conn:
        tiers: dict[str, int] = dict((await conn.execute(
            select(requests.c.customer_tier, func.count()).group_by(requests.c.customer_tier)
        )).all())
    assert {k.segment: k.requests for k in by_tier} == tiers

    printed = analysis_command("customer", "C-1001", "--database-url", pg_store_url,
                               "--as-of", now.isoformat())
    assert printed.returncode == 0, printed.stderr
    assert f"requests: {per_customer['C-1001']} " in printed.stdout
    duplicates = analysis_command("duplicates", "--database-url", pg_store_url)
    assert duplicates.returncode == 0, duplicates.stderr
    assert "C-1001" in duplicates.stdout
    assert "same name once normalised" in duplicates.stdout
    segments = analysis_command("segments", "--month", "2026-03", "--database-url", pg_store_url)
    assert segments.returncode == 0, segments.stderr
    assert "By customer tier" in segments.stdout
    assert "By channel" in segments.stdout
    assert "Longest waits" in segments.stdout

    # A supervisor's merge: the command line follows it as the API does.
    _, written = await merge(engine, "C-1001", "C-2001", MergeReason.SAME_COMPANY,
                             key="M-2001-1001", by="zhou.min", now=now)
    assert written
    merged = analysis_command("customer", "C-2001", "--database-url", pg_store_url,
                              "--as-of", now.isoformat())
    assert merged.returncode == 0, merged.stderr
    assert "Customer C-1001" in merged.stdout
    assert "merged into it: C-2001" in merged.stdout
    total = per_customer["C-1001"] + per_customer["C-2001"]
    assert f"requests: {total} " in merged.stdout
    after = analysis_command("duplicates", "--database-url", pg_store_url)
    assert after.returncode == 0, after.stderr
    assert "C-2001" not in after.stdout, "a merged pair is no longer suggested"
    unknown = analysis_command("customer", "C-9999", "--database-url", pg_store_url)
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == \
        "caseflow analysis: no requests of customer 'C-9999' in the log"
