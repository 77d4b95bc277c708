"""Decision analyses over HTTP, for managers (a department's supervisor or head): SLA what-if,
where the time goes, segments and the longest waits, a customer's whole story, customer
search, duplicate customers. The analyses and who may read them are analysis's; these routes
only translate."""

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from analysis import queries
from analysis.access import NotAManager, check_manager
from analysis.customers import CustomerStory
from analysis.period import month_range, parse_month
from analysis.proposal import proposed_from_files
from analysis.search import CustomerMatch
from analysis.whatif import WhatIfReport
from api.dependencies import PrincipalDep, ServicesDep
from api.principals import Principal, StaffPrincipal
from api.problems import ApiProblem
from api.routes_common import PROBLEMS
from catalog.problems import ConfigError
from domain.catalog import Catalog

router = APIRouter(tags=["analysis"])

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: PROBLEMS[status] for status in (401, 403, 422, 429, 503)}
_STORY_PROBLEMS = {**_PROBLEMS, 404: {**PROBLEMS[404], "description": "no request of that "
                                                                       "customer in the log"}}
MONTH = Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
              description="YYYY-MM: the requests submitted in this month")
TZ = Query(max_length=64, description="IANA time zone of the month's boundaries")
AS_OF = Query(description="time runs up to this instant (default now); ISO 8601 with offset")
CUSTOMER_ID = Path(min_length=1, max_length=64, description="the customer's id")


def _manager(catalog: Catalog, principal: Principal) -> None:
    if not isinstance(principal, StaffPrincipal):
        raise ApiProblem(403, "the analyses are for managers (staff tokens only)")
    try:
        check_manager(catalog, principal.person_id)
    except NotAManager as error:
        raise ApiProblem(403, str(error)) from error


def _period(month: str, tz: str) -> tuple[date, datetime, datetime]:
    try:
        first = parse_month(month)
        start, end = month_range(first, tz)
    except ValueError as error:
        raise ApiProblem(422, str(error).replace("--month", "month")) from error
    return first, start, end


def _instant(as_of: datetime | None) -> datetime:
    if as_of is None:
        return datetime.now(UTC)
    if as_of.tzinfo is None:
        raise ApiProblem(422, "as_of: give the offset, e.g. +08:00 or Z")
    return as_of.astimezone(UTC)


class WhatIfBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
                       description="YYYY-MM: the requests submitted in this month")
    tz: str = Field("Asia/Shanghai", max_length=64,
                    description="IANA time zone of the month's boundaries")
    as_of: datetime | None = Field(None, description="replay time up to here (default now)")
    proposal: dict[str, Annotated[str, Field(max_length=200_000)]] = Field(
        max_length=32, description="the files the proposal changes, by name relative to the "
        "configuration folder (sla.toml, organisation.toml, processes/NAME.toml) -> TOML "
        "text in the format of config/; the files it lacks are today's")
    limit: int = Field(100, ge=0, le=10_000,
                       description="at most this many flips and escalation changes listed")


class WhatIfAnalysis(BaseModel):
    """The what-if report with its lists of flips and escalation changes cut to ``limit``;
    the totals say how many there are."""

    report: WhatIfReport
    flips_total: int
    escalation_changes_total: int


@router.post("/analysis/whatif", response_model=WhatIfAnalysis, responses=_PROBLEMS,
             summary="Replay a month's SLA clocks under a proposed policy (managers)")
async def whatif(body: WhatIfBody, services: ServicesDep,
                 principal: PrincipalDep) -> WhatIfAnalysis:
    _manager(services.catalog, principal)
    month, start, end = _period(body.month, body.tz)
    as_of = _instant(body.as_of)
    try:
        proposed = proposed_from_files(services.settings.base.config_dir, body.proposal, month)
    except (ValueError, ConfigError) as error:
        raise ApiProblem(422, f"proposal: {error}") from error
    report = await queries.whatif(services.engine, services.catalog, proposed, start, end,
                                  as_of)
    return WhatIfAnalysis(
        report=report.model_copy(update={
            "flips": report.flips[:body.limit],
            "escalation_changes": report.escalation_changes[:body.limit]}),
        flips_total=len(report.flips), escalation_changes_total=len(report.escalation_changes))


@router.get("/analysis/paths", response_model=queries.PathsAnalysis, responses=_PROBLEMS,
            summary="Where the time goes: paths, time split, handoffs, bottlenecks (managers)")
async def paths(services: ServicesDep, principal: PrincipalDep,
                month: Annotated[str, MONTH], tz: Annotated[str, TZ] = "Asia/Shanghai",
                as_of: Annotated[datetime | None, AS_OF] = None) -> queries.PathsAnalysis:
    _manager(services.catalog, principal)
    _, start, end = _period(month, tz)
    return await queries.paths(services.engine, services.catalog, start, end, _instant(as_of))


@router.get("/analysis/segments", response_model=queries.SegmentsAnalysis, responses=_PROBLEMS,
            summary="KPIs by customer tier and channel, and the longest waits (managers)")
async def segments(services: ServicesDep, principal: PrincipalDep,
                   month: Annotated[str, MONTH], tz: Annotated[str, TZ] = "Asia/Shanghai",
                   as_of: Annotated[datetime | None, AS_OF] = None,
                   longest: Annotated[int, Query(ge=0, le=1000)] = 10,
                   ) -> queries.SegmentsAnalysis:
    _manager(services.catalog, principal)
    _, start, end = _period(month, tz)
    return await queries.segments(services.engine, services.catalog, start, end,
                                  _instant(as_of), longest=longest)


@router.get("/analysis/duplicates", response_model=queries.Duplicates, responses=_PROBLEMS,
            summary="Customer ids that may be one customer; suggestions only (managers)")
async def duplicates(services: ServicesDep, principal: PrincipalDep) -> queries.Duplicates:
    _manager(services.catalog, principal)
    return await queries.duplicates(services.engine)


@router.get("/customers", response_model=tuple[CustomerMatch, ...], responses=_PROBLEMS,
            summary="Find customers by part of the name or the start of the id (managers)")
async def search(services: ServicesDep, principal: PrincipalDep,
                 q: Annotated[str, Query(min_length=1, max_length=100,
                                         description="part of the name, or the id's start")],
                 limit: Annotated[int, Query(ge=1, le=200)] = 20,
                 ) -> tuple[CustomerMatch, ...]:
    _manager(services.catalog, principal)
    return await queries.search(services.engine, q, limit=limit)


@router.get("/customers/{customer_id}", response_model=CustomerStory,
            responses=_STORY_PROBLEMS,
            summary="A customer's whole story across channels and departments (managers)")
async def customer(customer_id: Annotated[str, CUSTOMER_ID], services: ServicesDep,
                   principal: PrincipalDep,
                   as_of: Annotated[datetime | None, AS_OF] = None) -> CustomerStory:
    _manager(services.catalog, principal)
    story = await queries.story(services.engine, customer_id, _instant(as_of))
    if story is None:
        raise ApiProblem(404, f"no request of customer {customer_id} in the log")
    return story
