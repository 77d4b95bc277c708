"""Assignment stays fair under concurrency: the staffing activity reserves each choice in the
transaction that reads what it depends on (round robin's cursor, least loaded's open load), so
50 requests staffed at once (on a real PostgreSQL, then SQLite) spread out instead of all
reading the same last assignee or the same least-loaded person."""

import asyncio
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.contracts import StaffingInput
from activities.staffing import StaffingActivities
from domain.catalog import Catalog
from domain.org import AssignmentRule
from domain.plan import plan_request
from domain.staffing import Purpose, StaffingNeed, submission_needs
from eventstore.append import append_events
from eventstore.migrate import upgrade
from eventstore.reservations import open_load
from schema.tables import assignment_reservations
from tests.integration.event_factory import RequestLog
from tests.integration.requests import billing_dispute

CONCURRENT = 50


async def test_fifty_concurrent_submissions_are_staffed_in_turn(
        engine: AsyncEngine, store_url: str, fast_catalog: Catalog) -> None:
    await upgrade(store_url)
    catalog = fast_catalog
    plan = plan_request("r-1", billing_dispute(catalog), templates=catalog.templates,
                        policy=catalog.policy, departments=catalog.departments)
    owner, _ = submission_needs(plan)
    staffing = StaffingInput(needs=[owner], departments=plan.departments)
    activities = StaffingActivities(engine, catalog.departments)

    results = await asyncio.gather(*(activities.choose(staffing) for _ in range(CONCURRENT)))

    picks = Counter(a.person_id for result in results for a in result.assignments)
    agents = {m.id for m in catalog.departments["customer_service"].members
              if "agent" in m.roles and m.available}
    # Each submission's owner, a customer service agent: 50 in turn.
    assert sum(picks.values()) == CONCURRENT
    assert set(picks) == agents
    assert max(picks.values()) - min(picks.values()) <= 1, picks


async def test_fifty_concurrent_least_loaded_choices_spread_out(
        engine: AsyncEngine, store_url: str, fast_catalog: Catalog) -> None:
    """Least loaded reads the open load under the cursor's lock and reserves its choice, so 50
    steps staffed at once over empty projections spread evenly instead of all going to the
    first least-loaded person; once the steps are appended, the reservations give way to the
    projected load (counted once, not twice)."""
    await upgrade(store_url)
    catalog = fast_catalog
    department = catalog.departments["technical_support"]
    assert department.assignment is AssignmentRule.LEAST_LOADED
    role = max({role for m in department.members for role in m.roles},
               key=lambda r: len([m for m in department.with_role(r) if m.available]))
    people = {m.id for m in department.with_role(role) if m.available}
    assert len(people) >= 2
    need = StaffingNeed(purpose=Purpose.START_STEP, department_id=department.id, role=role,
                        step_key="diagnose.1")
    staffing = StaffingInput(needs=[need], departments=catalog.departments)
    activities = StaffingActivities(engine, catalog.departments)

    results = await asyncio.gather(*(activities.choose(staffing) for _ in range(CONCURRENT)))

    picks = Counter(a.person_id for result in results for a in result.assignments)
    assert set(picks) == people
    assert max(picks.values()) - min(picks.values()) <= 1, picks
    reserved = await open_load(engine, department.id)
    assert reserved == dict(picks)

    # Project the steps chosen: the load then comes from the projections alone.
    logs = []
    for n, (person, count) in enumerate(sorted(picks.items())):
        for k in range(count):
            log = RequestLog(request_id=f"req-least-{n}-{k}")
            log.submitted()
            log.assigned("wang.fang")
            log.step_started("diagnose.1", department.id, person, role=role)
            logs.append(log)
    for log in logs:
        await append_events(engine, log.events)
    assert await open_load(engine, department.id) == dict(picks)
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(
            assignment_reservations)) == 0
