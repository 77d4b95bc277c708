"""The analyses as the command line and the API ask for them: read the logs they need from the
store, run the pure analyses over them, return their reports. The one place that composes
them, so both callers answer the same."""

import asyncio
from collections.abc import Iterable, Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncEngine

from analysis.customers import CustomerStory, SegmentKpis, customer_story, kpis_by, summarise
from analysis.duplicates import DuplicateSuggestion, latest_names, suggest_duplicates
from analysis.paths import ProcessReport, analyse_paths, trace_requests
from analysis.search import CustomerMatch, find_customers
from analysis.store import customers_submitted, logs_of_customers, logs_submitted_between
from analysis.waits import LongWait, longest_waits
from analysis.whatif import Skipped, WhatIfReport, compare
from domain.calendar import CalendarSpec
from domain.catalog import Catalog
from domain.customers import CustomerLinks
from eventstore.customer_facts import customer_links


class PathsAnalysis(BaseModel):
    model_config = ConfigDict(frozen=True)

    report: ProcessReport
    skipped: tuple[Skipped, ...]


class SegmentsAnalysis(BaseModel):
    model_config = ConfigDict(frozen=True)

    by_tier: tuple[SegmentKpis, ...]
    by_channel: tuple[SegmentKpis, ...]
    longest_waits: tuple[LongWait, ...]


class Duplicates(BaseModel):
    model_config = ConfigDict(frozen=True)

    customers: int
    suggestions: tuple[DuplicateSuggestion, ...]


def _calendars(catalog: Catalog) -> Mapping[str, CalendarSpec]:
    return {key: department.calendar for key, department in catalog.departments.items()}


async def whatif(engine: AsyncEngine, current: Catalog, proposed: Catalog, start: datetime,
                 end: datetime, as_of: datetime) -> WhatIfReport:
    """Requests submitted in ``[start, end)`` replayed up to ``as_of`` under both catalogs, in
    this process (a server must not fork itself; ``python -m analysis whatif`` uses every
    core)."""
    logs = await logs_submitted_between(engine, start, end)
    # CPU-bound: off the event loop, so a server keeps answering meanwhile.
    return await asyncio.to_thread(compare, logs, current, proposed, as_of)


async def paths(engine: AsyncEngine, catalog: Catalog, start: datetime, end: datetime,
                as_of: datetime) -> PathsAnalysis:
    """Where the time of the requests submitted in ``[start, end)`` went, up to ``as_of``."""
    logs = await logs_submitted_between(engine, start, end)
    traced, skipped = trace_requests(logs, _calendars(catalog), as_of)
    return PathsAnalysis(report=analyse_paths(traced, catalog.templates),
                         skipped=tuple(Skipped(request_id=request_id, reason=reason)
                                       for request_id, reason in skipped))


async def segments(engine: AsyncEngine, catalog: Catalog, start: datetime, end: datetime,
                   as_of: datetime, *, longest: int) -> SegmentsAnalysis:
    """KPIs by customer tier and channel of the requests submitted in ``[start, end)``, and the
    ``longest`` waits among them with their cause."""
    logs = await logs_submitted_between(engine, start, end)
    summaries = [summarise(log) for log in logs]
    traced, _ = trace_requests(logs, _calendars(catalog), as_of)
    waits = longest_waits(summaries, {p.request_id: p for p in traced}, as_of, limit=longest)
    return SegmentsAnalysis(by_tier=tuple(kpis_by(summaries, lambda s: s.tier)),
                            by_channel=tuple(kpis_by(summaries, lambda s: s.channel)),
                            longest_waits=tuple(waits))


async def story(engine: AsyncEngine, customer_id: str, as_of: datetime) -> CustomerStory | None:
    """The whole story of the customer ``customer_id`` now belongs to (itself, or the survivor
    it was merged into) with every id merged into it, or None if no request of theirs is in
    the log."""
    links = await customer_links(engine)
    survivor = links.survivor(customer_id)
    members = links.members(survivor)
    logs = await logs_of_customers(engine, members)
    if not logs:
        return None
    changes = [(at, tier.value) for at, tier in links.tier_changes.get(survivor, [])]
    return customer_story(survivor, [summarise(log) for log in logs], as_of,
                          merged_ids=members, tier_changes=changes)


def merged_names(links: CustomerLinks, named: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Survivor id -> the name on the latest request of any of its ids, from
    ``customers_submitted`` (oldest first)."""
    return latest_names((links.survivor(customer_id), name) for customer_id, name in named)


async def duplicates(engine: AsyncEngine) -> Duplicates:
    """Customer ids that may be one customer (suggestions only: nothing is merged). Merged ids
    count as their survivor, so a merged pair is no longer suggested; an unmerged one may be."""
    names = merged_names(await customer_links(engine), await customers_submitted(engine))
    return Duplicates(customers=len(names), suggestions=tuple(suggest_duplicates(names)))


async def search(engine: AsyncEngine, query: str, *, limit: int) -> tuple[CustomerMatch, ...]:
    """Customers whose id starts with ``query`` or whose name holds it (see analysis.search);
    a merged id is found as its survivor, once."""
    links = await customer_links(engine)
    named = await customers_submitted(engine)
    names, survivors = latest_names(named), merged_names(links, named)
    found: dict[str, CustomerMatch] = {}
    for match in find_customers(names, query, limit=len(names)):
        survivor = links.survivor(match.customer_id)
        found.setdefault(survivor, CustomerMatch(customer_id=survivor, name=survivors[survivor]))
    return tuple(found.values())[:limit]
