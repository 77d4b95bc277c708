"""Round robin stays fair under concurrency: the staffing activity reserves the next person in
the transaction that reads the department's cursor, so 50 requests staffed at once (on a real
PostgreSQL, then SQLite) are spread in turn instead of all reading the same last assignee."""

import asyncio
from collections import Counter

from sqlalchemy.ext.asyncio import AsyncEngine

from activities.contracts import StaffingInput
from activities.staffing import StaffingActivities
from domain.catalog import Catalog
from domain.plan import plan_request
from domain.staffing import submission_needs
from eventstore.migrate import upgrade
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
