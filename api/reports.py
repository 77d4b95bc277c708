"""The managers' figures over HTTP, for staff, as each reader may see them
(``domain.report_visibility``): the monthly report (``kpi.report``) as JSON, CSV or HTML, and the
departments' work now (``kpi.now``): who owns what, what is breaching, the backlog by age."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import HTMLResponse, Response

from api.dependencies import PrincipalDep, ServicesDep
from api.principals import StaffPrincipal
from api.problems import ApiProblem, FieldProblem
from api.queues import horizons_of
from api.routes_common import PROBLEMS
from domain.report_visibility import NotVisible, Reader, reader_of
from kpi.now import WorkNow, work_now
from kpi.report.csv_files import CSV_ENCODING, csv_tables, csv_text
from kpi.report.figures import parse_month, zone
from kpi.report.model import DEFAULT_TZ, MonthlyReport, ReportNames
from kpi.report.page import render_html
from kpi.report.queries import build_report
from kpi.report.withheld import withhold_personal_fields

router = APIRouter(tags=["reports"])
_ID = Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"
    HTML = "html"


class Table(StrEnum):
    REQUESTS = "requests"
    STEPS = "steps"
    PEOPLE = "people"
    ROLES = "roles"
    HANDOFFS = "handoffs"


_MEDIA = {Format.CSV: "text/csv", Format.HTML: "text/html"}
_MONTHLY_RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEMS, 200: {"description": "the report: JSON, or with `format=csv` (one `table`) or "
                                     "`format=html` (the page) a download",
                      "content": {"text/csv": {}, "text/html": {}}}}


def _reader(services: ServicesDep, principal: PrincipalDep) -> Reader:
    if not isinstance(principal, StaffPrincipal):
        raise ApiProblem(403, "reports are for staff")
    reader = reader_of(services.catalog.departments.values(), principal.person_id)
    if reader is None:
        raise ApiProblem(403, f"{principal.person_id} is on no roster")
    return reader


def _negotiated(format_: Format | None, accept: str | None) -> Format:
    if format_ is not None:
        return format_
    for media in (accept or "").split(","):
        kind = media.split(";")[0].strip()
        for candidate, name in _MEDIA.items():
            if kind == name:
                return candidate
    return Format.JSON


def _bad_query(name: str, error: ValueError) -> ApiProblem:
    reason = str(error).removeprefix("--")
    return ApiProblem(422, reason, errors=[FieldProblem(field=f"query.{name}", reason=reason)])


@router.get("/reports/monthly", response_model=MonthlyReport, responses=_MONTHLY_RESPONSES,
            summary="The monthly report, as the caller may see it")
async def monthly_report(
    services: ServicesDep, principal: PrincipalDep,
    month: Annotated[str, Query(max_length=7, description="YYYY-MM, e.g. 2026-11")],
    department: Annotated[str | None, _ID] = None,
    role: Annotated[str | None, _ID] = None,
    tz: Annotated[str, Query(max_length=64, description="zone of the month's bounds")] =
    DEFAULT_TZ,
    format_: Annotated[Format | None, Query(alias="format", description=(
        "json, csv or html; without it the Accept header decides (text/csv, text/html), "
        "else JSON"))] = None,
    table: Annotated[Table, Query(description="which CSV table (format=csv)")] = Table.ROLES,
    rows: Annotated[bool, Query(description=(
        "JSON: false leaves out the `requests` and `steps` lists (the figures only; a month "
        "of a few thousand requests is megabytes)"))] = True,
    accept: Annotated[str | None, Header()] = None,
) -> MonthlyReport | Response:
    """The same figures as ``python -m kpi.report`` for the month (definitions in
    docs/kpis.md), narrowed to what the caller may see: everything for the role `reporting`,
    their departments for a supervisor or head (the one they lead when they name none), their
    own work for anyone else. Customers' names and subjects read `[无权查看]` where the
    caller's role does not need them (`personal_fields_withheld` counts them)."""
    reader = _reader(services, principal)
    try:
        first = parse_month(month)
    except ValueError as error:
        raise _bad_query("month", error) from error
    try:
        zone(tz)
    except ValueError as error:
        raise _bad_query("tz", error) from error
    try:
        scope = reader.report_scope(department, role)
    except NotVisible as error:
        raise ApiProblem(403, str(error)) from error
    report = await build_report(services.engine, first, department=scope.department,
                                role=scope.role, person=scope.person, tz=tz,
                                names=ReportNames.from_catalog(services.catalog))
    report = withhold_personal_fields(report, reader.sees_personal_fields)
    chosen = _negotiated(format_, accept)
    if chosen is Format.HTML:
        # Inline: the console shows the page in place; the name serves "save as".
        return HTMLResponse(render_html(report), headers={
            "Content-Disposition": f'inline; filename="{report.file_stem}.html"'})
    if chosen is Format.CSV:
        header, cells = csv_tables(report)[f"{table.value}.csv"]
        return Response(csv_text(header, cells).encode(CSV_ENCODING),
                        media_type="text/csv; charset=utf-8", headers={
                            "Content-Disposition":
                                f'attachment; filename="{report.file_stem}-{table.value}.csv"'})
    return report if rows else report.model_copy(update={"requests": (), "steps": ()})


@router.get("/reports/now", response_model=WorkNow, responses=PROBLEMS,
            summary="Who owns what now, what is breaching, the backlog by age")
async def reports_now(
    services: ServicesDep, principal: PrincipalDep,
    department: Annotated[str | None, _ID] = None,
    person: Annotated[str | None, Query(max_length=64, description=(
        "only this person's work (drill-down)"))] = None,
    within_hours: Annotated[float, Query(
        gt=0, le=720, description="breaching: deadline within this many business hours")] = 4,
) -> WorkNow:
    """The work of a department as it stands, under the same rights as the monthly report:
    a supervisor or head sees their department's (and may narrow it to one `person`), the
    role `reporting` any department's (all when none is named), anyone else their own. Each
    item names its request: `GET /api/v1/requests/{request_id}` drills down to it."""
    reader = _reader(services, principal)
    try:
        scope = reader.report_scope(department, None)
    except NotVisible as error:
        raise ApiProblem(403, str(error)) from error
    if scope.person is not None:
        if person not in (None, scope.person):
            raise ApiProblem(403, f"{reader.person_id} may see their own work only, not "
                                  f"{person}'s")
        person = scope.person
    if scope.department is not None:
        if scope.department not in services.catalog.departments:
            raise ApiProblem(404, f"unknown department {scope.department}")
        departments = [scope.department]
    elif scope.person is not None:
        departments = sorted(reader.member_of)
    else:
        departments = sorted(services.catalog.departments)
    now = datetime.now(UTC)
    return await work_now(
        services.engine, departments, now=now, person=person,
        horizons=horizons_of(services.catalog, departments, within_hours=within_hours,
                             now=now),
        names=ReportNames.from_catalog(services.catalog), may_see=reader.sees_personal_fields)
