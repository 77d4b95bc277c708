"""Supervisors' and heads' pages: the month's KPIs of a department or role with charts (the
monthly report's own figures, built in-process by ``kpi.report``), who owns what now and what
is breaching with drill-down to the person and the request, and the report itself to view and
download as HTML or CSV."""

import csv
import io
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from console.context import ConsoleDep, SessionDep
from domain.report_visibility import reader_of
from eventstore.queues import Filters, Queue, Viewer, queue_page
from kpi.report.charts import svg_bar_chart
from kpi.report.csv_files import csv_tables, neutralise_formula
from kpi.report.figures import parse_month
from kpi.report.model import MonthlyReport, ReportNames
from kpi.report.page import percent, render_html
from kpi.report.queries import build_report
from kpi.report.withheld import withhold_personal_fields

router = APIRouter()
Month = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")]
Text = Annotated[str | None, Query(max_length=64)]
TABLES = ("requests", "steps", "people", "roles", "handoffs")


def _led(console: ConsoleDep, person_id: str) -> list[str]:
    return [d.id for d in console.services.catalog.departments.values()
            if person_id in (d.supervisor_id, d.head_id)]


async def _report(console: ConsoleDep, person_id: str, month: str, department: str | None,
                  role: str | None) -> MonthlyReport:
    """The report as the API's ``/reports/monthly`` gives this reader: customers' names and
    subjects withheld where their role does not need them (``domain.report_visibility``)."""
    report = await build_report(console.services.engine, parse_month(month),
                                department=department, role=role or None,
                                names=ReportNames.from_catalog(console.services.catalog))
    reader = reader_of(console.services.catalog.departments.values(), person_id)
    if reader is None:  # a leader named on no roster: the figures, no customer's fields
        return withhold_personal_fields(report, lambda _: False)
    return withhold_personal_fields(report, reader.sees_personal_fields)


def _scope(request: Request, console: ConsoleDep, session: SessionDep, month: str | None,
           department: str | None) -> tuple[str, str] | HTMLResponse:
    led = _led(console, session.person_id)
    if not led:
        return console.renderer.page(request, "not_a_leader.html", status_code=403,
                                     person=session.person_id, csrf=session.csrf)
    return (month or datetime.now(UTC).strftime("%Y-%m"),
            department if department in led else led[0])


@router.get("/manage", response_class=HTMLResponse, name="manage")
async def manage(request: Request, console: ConsoleDep, session: SessionDep,
                 month: Month = None, department: Text = None, role: Text = None,
                 person: Text = None) -> HTMLResponse:
    scope = _scope(request, console, session, month, department)
    if isinstance(scope, HTMLResponse):
        return scope
    month, department = scope
    report = await _report(console, session.person_id, month, department, role)
    names = report.names
    _ = console.renderer.gettext(request)
    roles = sorted({m_role for d in console.services.catalog.departments.values()
                    if d.id == department for m in d.members for m_role in m.roles})
    viewer = Viewer(person_id=session.person_id,
                    roles_by_department={department: frozenset()})
    owned = await queue_page(console.services.engine, Queue.DEPARTMENT, viewer, Filters(),
                             limit=200)
    breached = await queue_page(console.services.engine, Queue.BREACHED, viewer, Filters(),
                                limit=50)
    by_owner: dict[str, int] = {}
    for item in owned.items:
        by_owner[item.owner_id or "-"] = by_owner.get(item.owner_id or "-", 0) + 1
    charts = [Markup(svg_bar_chart(
        [(f"{names.department(r.department_id)} / {r.role}", r.figures.sla_compliance or 0.0)
         for r in report.roles if r.figures.steps_handled],
        title=_("SLA compliance per role"), max_value=1.0, value_label=percent)),
        Markup(svg_bar_chart(
            [(p.name or p.person_id, float(p.figures.steps_handled))
             for p in report.people if p.figures.steps_handled],
            title=_("Steps handled per person"), value_label=lambda v: f"{v:.0f}"))]
    return console.renderer.page(
        request, "manage.html", person=session.person_id, csrf=session.csrf, report=report,
        month=month, department=department, role=role or "", roles=roles,
        departments=[console.services.catalog.departments[d]
                     for d in _led(console, session.person_id)],
        owned=[i for i in owned.items if person is None or i.owner_id == person],
        by_owner=sorted(by_owner.items(), key=lambda kv: -kv[1]), breached=breached.items,
        charts=charts, focus_person=person or "", tables=TABLES)


@router.get("/manage/report.html", name="report_html")
async def report_html(request: Request, console: ConsoleDep, session: SessionDep,
                      month: Month = None, department: Text = None,
                      role: Text = None) -> Response:
    scope = _scope(request, console, session, month, department)
    if isinstance(scope, HTMLResponse):
        return scope
    report = await _report(console, session.person_id, *scope, role)
    return HTMLResponse(render_html(report), headers={
        "Content-Disposition": f'attachment; filename="{report.file_stem}.html"'})


@router.get("/manage/report.csv", name="report_csv")
async def report_csv(request: Request, console: ConsoleDep, session: SessionDep,
                     table: Annotated[str, Query(pattern=f"^({'|'.join(TABLES)})$")],
                     month: Month = None, department: Text = None,
                     role: Text = None) -> Response:
    scope = _scope(request, console, session, month, department)
    if isinstance(scope, HTMLResponse):
        return scope
    report = await _report(console, session.person_id, *scope, role)
    header, rows = csv_tables(report)[f"{table}.csv"]
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows([neutralise_formula(cell) for cell in row] for row in rows)
    # UTF-8 with a byte-order mark, as the report's own files: Excel reads the Chinese right.
    return Response(("\ufeff" + text.getvalue()).encode("utf-8"), media_type="text/csv",
                    headers={"Content-Disposition":
                             f'attachment; filename="{report.file_stem}-{table}.csv"'})
