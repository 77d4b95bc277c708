"""Where the time goes, for managers: per process template the paths requests took (the
monthly report's SVG directly-follows graph), handoffs between departments, loops and
deviations, and the bottleneck per department and role with its time split. Computed by the
analysis API's in-process ``analysis.queries.paths`` under its rights (``analysis.access``)."""

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from analysis import queries
from analysis.access import NotAManager, check_manager
from analysis.graph_svg import render_flow_svg
from analysis.period import month_range, parse_month
from console.context import ConsoleDep, SessionDep
from kpi.report.model import DEFAULT_TZ
from kpi.report.sections import SPLIT_ZH

router = APIRouter()
Month = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
SPLIT = tuple(key for key, _ in SPLIT_ZH)


@router.get("/manage/time", response_class=HTMLResponse, name="where_the_time_goes")
async def where_the_time_goes(request: Request, console: ConsoleDep, session: SessionDep,
                              month: Month = None) -> HTMLResponse:
    try:
        check_manager(console.services.catalog, session.person_id)
    except NotAManager:
        return console.renderer.page(request, "not_a_leader.html", status_code=403,
                                     person=session.person_id, csrf=session.csrf)
    now = datetime.now(UTC)
    month = month or now.astimezone(ZoneInfo(DEFAULT_TZ)).strftime("%Y-%m")
    start, end = month_range(parse_month(month), DEFAULT_TZ)
    analysis = await queries.paths(console.services.engine, console.services.catalog, start,
                                   end, now)
    catalog = console.services.catalog
    return console.renderer.page(
        request, "time.html", person=session.person_id, csrf=session.csrf, month=month,
        analysis=analysis, split=SPLIT, as_of=now,
        graphs={flow.template_id: Markup(render_flow_svg(flow))
                for flow in analysis.report.flows},
        departments={d.id: d.name for d in catalog.departments.values()})
