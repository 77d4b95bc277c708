"""The monthly performance report: what arrived in a month, who owned it, which steps it went
through and how long each took, and per role and per person the volume, handling time, first
response, SLA compliance, breaches, escalations, reopen rate and satisfaction.

    python -m kpi.report --month 2026-11 [--department ID] [--role ROLE] [--tz ZONE]
                         [--out DIR] [--database-url URL] [--config-dir DIR]

writes ``DIR/caseflow-report-2026-11[-ID][-ROLE].html`` (one self-contained UTF-8 page: inline
CSS and SVG charts, no script, nothing fetched) and, in the folder of the same name without
``.html``, ``requests.csv``, ``steps.csv``, ``people.csv`` and ``roles.csv``. Several reports
can share ``DIR`` without overwriting one another's CSVs.

It is computed from the projections (``requests``, ``request_steps``) by ``build_report``; the
rendering (``render_html``, ``write_csvs``) is pure. The definitions, also in docs/kpis.md:

- **Month**: midnight on the 1st to midnight on the 1st of the next month in ``tz`` (default
  Asia/Shanghai), i.e. ``[start, end)``; 2026-11 in Shanghai is 2026-10-31 16:00 UTC to
  2026-11-30 16:00 UTC. Times in the report and the CSVs are shown in ``tz``.
- **Requests of the month**: submitted in the month (``requests.submitted_at``). *Resolved*:
  has a resolution now (``resolved_at`` set: resolved or closed after resolution; a reopened
  request is not resolved until resolved again); *resolved in the month*: its latest resolution
  is before the month's end. Status and owner are as of the report.
- **Steps handled in the month**: steps completed in the month (``request_steps.ended_at`` in
  the month, status ``completed``); a step is counted for the department, role and person that
  owned it when it completed (after any handoff or reassignment). ``steps.csv`` lists exactly
  these, so per-person and per-role figures can be recounted from it.
- **Handling time**: a step's business seconds (its department's calendar, pauses excluded).
- **First response**: wall-clock seconds from submission to the first claim, for requests of the
  month that had one (the projections keep the time, not the business duration; Prometheus'
  ``caseflow_first_response_business_seconds`` is in business seconds).
- **Average**: the arithmetic mean (``math.fsum``). **p90**: nearest rank: the values sorted
  ascending, the ``ceil(0.9 * n)``-th one (1-based), always an observed value; none for n = 0.
- **SLA compliance**: steps handled that did not breach their step SLA / steps handled; a step
  breached if its step clock breached at any time in its last run. **Breaches**: steps handled
  that breached. **Escalations**: escalation events on the step clocks of the steps handled
  (every level).
- **Reopen rate**: requests reopened at least once / requests resolved at least once (resolved
  now, or reopened, which needs an earlier resolution). **CSAT average**: mean of the latest
  satisfaction score (1-5) of the requests that have one.
- **Per person**: steps figures over the steps they handled; first response, reopen rate and
  CSAT over the requests of the month they own (``requests.owner_id``).
- **Per role** (department + role): steps figures over the steps handled in that role; first
  response, reopen rate and CSAT over the requests of the month that have a step in that role.
- **Filters**: ``--department`` keeps steps of that department, and requests owned by it or
  with a step in it; ``--role`` keeps steps in that role and requests with such a step (both
  together: steps in that role of that department). Request owners appear among the people only
  without ``--role``, and only for requests their department owns.

CSVs are UTF-8 with a byte-order mark (``utf-8-sig``): Excel, which Chinese users mostly open
them with, otherwise reads them in the ANSI code page (GBK) and garbles the Chinese text;
Python reads them with ``encoding="utf-8-sig"``. Durations are seconds (3 decimals), ratios
0..1 (4 decimals), times ISO 8601 with the zone offset, empty cells for no value."""

import argparse
import asyncio
import csv
import html
import math
import os
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from catalog.loader import load_catalog_around
from catalog.problems import ConfigError
from domain.calendar import known_timezone
from domain.catalog import Catalog
from domain.state import FINAL_STATUSES, RequestStatus, StepStatus
from eventstore.engine import create_engine, read_transaction, unreadable_schema
from eventstore.errors import DATABASE_URL_SETTING, StoreUnavailable
from eventstore.timeline import display_width, fit_width, format_duration
from kpi.collector import Query, compliance_ratio, month_bounds
from runtime.settings import CONFIG_DIR_SETTING, config_dir_from, store_url_from
from schema.tables import request_steps, requests

DEFAULT_TZ = "Asia/Shanghai"
CSV_ENCODING = "utf-8-sig"

# -- the model -------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class StepLine(_Model):
    """One step (the last run of a step key) as the projection holds it."""

    request_id: str
    step_key: str
    stage_id: str
    stage_index: int
    step_name: str
    cycle: int
    department_id: str
    role: str
    owner_id: str
    status: str
    started_at: datetime
    claimed_at: datetime | None
    ended_at: datetime | None
    target_seconds: float
    business_seconds: float | None
    wall_seconds: float | None
    paused_seconds: float | None
    breached: bool
    escalation_count: int
    handoff_count: int
    reassign_count: int


class RequestLine(_Model):
    """One request of the month with all its steps, in the order they started."""

    request_id: str
    subject: str
    customer_id: str
    customer_name: str
    customer_tier: str
    request_type: str
    priority: str
    channel: str
    status: str
    sla_state: str
    owner_id: str | None
    owner_department_id: str
    submitted_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    breach_count: int
    escalation_count: int
    reopen_count: int
    satisfaction: int | None
    steps: tuple[StepLine, ...] = ()

    @property
    def first_response_seconds(self) -> float | None:
        """Wall-clock seconds from submission to the first claim."""
        if self.first_response_at is None:
            return None
        return (self.first_response_at - self.submitted_at).total_seconds()

    @property
    def ever_resolved(self) -> bool:
        """Resolved now, or reopened (which needs an earlier resolution)."""
        return self.resolved_at is not None or self.reopen_count > 0


class Figures(_Model):
    """The KPIs of one group (everyone, a role, a person); None where there is no data."""

    steps_handled: int
    handling_avg_seconds: float | None
    handling_p90_seconds: float | None
    breaches: int
    sla_compliance: float | None
    escalations: int
    requests: int
    first_responses: int
    first_response_avg_seconds: float | None
    first_response_p90_seconds: float | None
    resolved_requests: int
    reopened_requests: int
    reopen_rate: float | None
    csat_responses: int
    csat_average: float | None


class PersonFigures(_Model):
    person_id: str
    name: str
    departments: tuple[str, ...]
    """Departments of the steps they handled and of the requests they own, sorted."""
    figures: Figures


class RoleFigures(_Model):
    department_id: str
    role: str
    figures: Figures


class DayCount(_Model):
    day: date
    arrived: int
    resolved: int
    """Requests of the month whose latest resolution was that day."""


class Overview(_Model):
    arrived: int
    resolved: int
    resolved_in_month: int
    cancelled: int
    unresolved: int
    """Neither resolved nor closed nor cancelled (still being worked on)."""
    by_status: dict[str, int]
    days: tuple[DayCount, ...]


class ReportNames(_Model):
    """Display names: person id -> name, department id -> name (ids are shown otherwise)."""

    people: dict[str, str] = Field(default_factory=dict)
    departments: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> "ReportNames":
        people: dict[str, str] = {}
        for department in catalog.departments.values():
            for member in department.members:
                people.setdefault(member.id, member.name)
        return cls(people=people,
                   departments={d.id: d.name for d in catalog.departments.values()})

    def person(self, person_id: str | None) -> str:
        return self.people.get(person_id or "", "")

    def department(self, department_id: str) -> str:
        return self.departments.get(department_id, department_id)


class MonthlyReport(_Model):
    month: str
    """``YYYY-MM``."""
    tz: str
    period_start: datetime
    """Start of the month in ``tz`` (inclusive)."""
    period_end: datetime
    """Start of the next month in ``tz`` (exclusive)."""
    department: str | None
    role: str | None
    generated_at: datetime
    names: ReportNames
    overview: Overview
    totals: Figures
    requests: tuple[RequestLine, ...]
    """Requests submitted in the month (filtered), in submission order."""
    steps: tuple[StepLine, ...]
    """Steps completed in the month (filtered), in completion order."""
    people: tuple[PersonFigures, ...]
    """Most steps handled first."""
    roles: tuple[RoleFigures, ...]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def file_stem(self) -> str:
        """``caseflow-report-2026-11[-department][-role]``."""
        parts = ["caseflow-report", self.month]
        parts += [_safe(part) for part in (self.department, self.role) if part]
        return "-".join(parts)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "_", text).strip("._") or "_"


# -- pure arithmetic ------------------------------------------------------------------------


def nearest_rank(values: Iterable[float], percent: int = 90) -> float | None:
    """The ``percent``-th percentile by nearest rank: the values sorted ascending, the
    ``ceil(percent / 100 * n)``-th (1-based), computed in integers so 90 % of 10 is exactly the
    9th; None for no values."""
    if not 0 < percent <= 100:
        raise ValueError(f"percent={percent}: need 0 < percent <= 100")
    ordered = sorted(values)
    if not ordered:
        return None
    rank = -(-percent * len(ordered) // 100)  # ceil without floating point
    return ordered[rank - 1]


def mean(values: Iterable[float]) -> float | None:
    """The arithmetic mean (``math.fsum``: exact sum, independent of order); None if empty."""
    items = list(values)
    if not items:
        return None
    return math.fsum(items) / len(items)


def ratio(part: int, whole: int) -> float | None:
    """``part / whole``; None when ``whole`` is 0."""
    return part / whole if whole else None


def figures(steps: Sequence[StepLine], requests_: Sequence[RequestLine]) -> Figures:
    """The KPIs of ``steps`` (handled) and ``requests_`` (owned or worked on)."""
    handling = [step.business_seconds for step in steps if step.business_seconds is not None]
    breaches = sum(1 for step in steps if step.breached)
    first = [r.first_response_seconds for r in requests_ if r.first_response_seconds is not None]
    resolved = sum(1 for request in requests_ if request.ever_resolved)
    reopened = sum(1 for request in requests_ if request.reopen_count > 0)
    scores = [float(r.satisfaction) for r in requests_ if r.satisfaction is not None]
    return Figures(
        steps_handled=len(steps),
        handling_avg_seconds=mean(handling),
        handling_p90_seconds=nearest_rank(handling),
        breaches=breaches,
        sla_compliance=compliance_ratio(len(steps) - breaches, len(steps)),
        escalations=sum(step.escalation_count for step in steps),
        requests=len(requests_),
        first_responses=len(first),
        first_response_avg_seconds=mean(first),
        first_response_p90_seconds=nearest_rank(first),
        resolved_requests=resolved,
        reopened_requests=reopened,
        reopen_rate=ratio(reopened, resolved),
        csat_responses=len(scores),
        csat_average=mean(scores),
    )


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ValueError naming it if unknown."""
    return ZoneInfo(known_timezone(name))


def parse_month(text: str) -> date:
    """``"2026-11"`` -> ``date(2026, 11, 1)``; ValueError otherwise."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        raise ValueError(f"--month {text!r}: expected YYYY-MM, e.g. 2026-11")
    return date(int(match[1]), int(match[2]), 1)


# -- building -------------------------------------------------------------------------------


_STEP_COLUMNS = list(StepLine.model_fields)
_REQUEST_COLUMNS = [name for name in RequestLine.model_fields if name != "steps"]




@dataclass(frozen=True)
class MonthQueries:
    requests: Query
    """The requests submitted in ``[start, end)`` (index ``ix_requests_submitted_at``)."""
    request_steps: Query
    """Their steps, joined on the steps' primary key (request_id, step_key)."""
    completed_steps: Query
    """Steps completed in ``[start, end)`` (index ``ix_request_steps_ended_at``)."""


def month_queries(start: datetime, end: datetime) -> MonthQueries:
    """The report's three queries for the period ``[start, end)``."""
    in_month = (requests.c.submitted_at >= start, requests.c.submitted_at < end)
    return MonthQueries(
        requests=(
            select(*(requests.c[name] for name in _REQUEST_COLUMNS))
            .where(*in_month)
            .order_by(requests.c.submitted_at, requests.c.request_id)
        ),
        request_steps=(
            select(*(request_steps.c[name] for name in _STEP_COLUMNS))
            .join(requests, requests.c.request_id == request_steps.c.request_id)
            .where(*in_month)
            .order_by(request_steps.c.request_id, request_steps.c.started_at,
                      request_steps.c.stage_index, request_steps.c.step_key)
        ),
        completed_steps=(
            select(*(request_steps.c[name] for name in _STEP_COLUMNS))
            .where(request_steps.c.ended_at >= start, request_steps.c.ended_at < end,
                   request_steps.c.status == StepStatus.COMPLETED)
            .order_by(request_steps.c.ended_at, request_steps.c.request_id,
                      request_steps.c.step_key)
        ),
    )


async def build_report(engine: AsyncEngine, month: date, *, department: str | None = None,
                       role: str | None = None, tz: str = DEFAULT_TZ,
                       names: ReportNames | None = None,
                       now: datetime | None = None) -> MonthlyReport:
    """The report of the month containing ``month``, in time zone ``tz``, optionally narrowed
    to a ``department`` and/or a ``role`` (see the module docstring for every definition).

    Three queries in one read-only snapshot: the month's requests (``submitted_at`` index),
    their steps (joined on the primary key) and the steps completed in the month (``ended_at``
    index). Raises StoreUnavailable if the store cannot be reached, ValueError for a bad
    ``tz``."""
    start, end = month_bounds(month, zone(tz))
    queries = month_queries(start, end)
    async with read_transaction(engine) as conn:
        request_rows = (await conn.execute(queries.requests)).all()
        step_rows = (await conn.execute(queries.request_steps)).all()
        completed_rows = (await conn.execute(queries.completed_steps)).all()
    steps_of: dict[str, list[StepLine]] = {}
    for row in step_rows:
        steps_of.setdefault(row.request_id, []).append(StepLine.model_validate(row._asdict()))
    all_requests = [
        RequestLine.model_validate({**row._asdict(),
                                    "steps": tuple(steps_of.get(row.request_id, ()))})
        for row in request_rows
    ]
    completed = [StepLine.model_validate(row._asdict()) for row in completed_rows]
    return assemble(
        all_requests, completed, month=month, department=department, role=role,
        tz=tz, names=names or ReportNames(), now=now or datetime.now(UTC),
    )


def assemble(all_requests: Sequence[RequestLine], completed: Sequence[StepLine], *,
             month: date, department: str | None, role: str | None, tz: str,
             names: ReportNames, now: datetime) -> MonthlyReport:
    """The report from the month's requests (with their steps) and the steps completed in the
    month, both unfiltered: the pure part of ``build_report``."""
    zone_info = zone(tz)
    start, end = month_bounds(month, zone_info)

    def step_matches(step: StepLine) -> bool:
        return ((department is None or step.department_id == department)
                and (role is None or step.role == role))

    def owned_here(request: RequestLine) -> bool:
        return department is None or request.owner_department_id == department

    def request_matches(request: RequestLine) -> bool:
        if department is None and role is None:
            return True
        if role is None and owned_here(request):
            return True
        return any(step_matches(step) for step in request.steps)

    chosen = [request for request in all_requests if request_matches(request)]
    handled = [step for step in completed if step_matches(step)]

    # Group once: people and roles are then figured in time linear in the month's data.
    steps_by_person: dict[str, list[StepLine]] = defaultdict(list)
    steps_by_role: dict[tuple[str, str], list[StepLine]] = defaultdict(list)
    for step in handled:
        steps_by_person[step.owner_id].append(step)
        steps_by_role[(step.department_id, step.role)].append(step)
    owned_by: dict[str, list[RequestLine]] = defaultdict(list)
    requests_by_role: dict[tuple[str, str], list[RequestLine]] = defaultdict(list)
    for request in chosen:
        if request.owner_id and owned_here(request):
            owned_by[request.owner_id].append(request)
        for key in dict.fromkeys((s.department_id, s.role) for s in request.steps):
            requests_by_role[key].append(request)

    people_ids = set(steps_by_person) | (set(owned_by) if role is None else set())
    people: list[PersonFigures] = []
    for person in people_ids:
        theirs = steps_by_person.get(person, [])
        owned = owned_by.get(person, [])
        departments = {step.department_id for step in theirs}
        departments |= {r.owner_department_id for r in owned}
        people.append(PersonFigures(person_id=person, name=names.person(person),
                                    departments=tuple(sorted(departments)),
                                    figures=figures(theirs, owned)))
    people.sort(key=lambda p: (-p.figures.steps_handled, -p.figures.requests, p.person_id))

    role_keys = set(steps_by_role)
    role_keys |= {(s.department_id, s.role) for r in chosen for s in r.steps if step_matches(s)}
    roles = [
        RoleFigures(department_id=key[0], role=key[1],
                    figures=figures(steps_by_role.get(key, []), requests_by_role.get(key, [])))
        for key in sorted(role_keys)
    ]

    local = [(r, r.submitted_at.astimezone(zone_info).date()) for r in chosen]
    arrived_per_day = Counter(day for _, day in local)
    resolved_per_day = Counter(
        r.resolved_at.astimezone(zone_info).date() for r in chosen
        if r.resolved_at is not None and r.resolved_at < end
    )
    first_day = start.astimezone(zone_info).date()
    last_day = (end.astimezone(zone_info) - timedelta(days=1)).date()
    days = []
    day = first_day
    while day <= last_day:
        days.append(DayCount(day=day, arrived=arrived_per_day[day],
                             resolved=resolved_per_day[day]))
        day += timedelta(days=1)
    overview = Overview(
        arrived=len(chosen),
        resolved=sum(1 for r in chosen if r.resolved_at is not None),
        resolved_in_month=sum(1 for r in chosen if r.resolved_at is not None
                              and r.resolved_at < end),
        cancelled=sum(1 for r in chosen if r.status == RequestStatus.CANCELLED),
        unresolved=sum(1 for r in chosen
                       if r.resolved_at is None and r.status not in FINAL_STATUSES),
        by_status=dict(sorted(Counter(r.status for r in chosen).items())),
        days=tuple(days),
    )
    return MonthlyReport(
        month=f"{month.year:04d}-{month.month:02d}",
        tz=tz,
        period_start=start.astimezone(zone_info),
        period_end=end.astimezone(zone_info),
        department=department,
        role=role,
        generated_at=now,
        names=names,
        overview=overview,
        totals=figures(handled, chosen),
        requests=tuple(chosen),
        steps=tuple(handled),
        people=tuple(people),
        roles=tuple(roles),
    )


# -- CSV ----------------------------------------------------------------------------------------


def _seconds(value: float | None) -> str:
    return "" if value is None else repr(round(value, 3))


def _share(value: float | None) -> str:
    return "" if value is None else repr(round(value, 4))


def _time(value: datetime | None, tz: tzinfo) -> str:
    return "" if value is None else value.astimezone(tz).isoformat(sep=" ", timespec="seconds")


def _optional(value: object) -> str:
    return "" if value is None else str(value)


def step_path(step: StepLine) -> str:
    """``stage@department/owner (duration)``: business duration of a completed step,
    ``active`` or ``cancelled`` otherwise."""
    state = (format_duration(step.business_seconds) if step.status == StepStatus.COMPLETED
             else step.status)
    return f"{step.stage_id}@{step.department_id}/{step.owner_id} ({state})"


REQUEST_HEADER = (
    "id", "subject", "customer", "type", "priority", "channel", "owner", "submitted_at",
    "resolved_at", "status", "steps", "customer_id", "owner_name", "owner_department",
    "first_response_at", "first_response_seconds", "closed_at", "sla_state", "breaches",
    "escalations", "reopens", "satisfaction",
)
STEP_HEADER = (
    "request_id", "step_key", "stage", "step_name", "cycle", "department", "role", "owner",
    "owner_name", "started_at", "claimed_at", "ended_at", "target_seconds", "business_seconds",
    "wall_seconds", "paused_seconds", "breached", "escalations", "handoffs", "reassignments",
)
FIGURE_HEADER = (
    "steps_handled", "handling_avg_seconds", "handling_p90_seconds", "sla_compliance",
    "breaches", "escalations", "requests", "first_responses", "first_response_avg_seconds",
    "first_response_p90_seconds", "resolved_requests", "reopened_requests", "reopen_rate",
    "csat_responses", "csat_average",
)
PEOPLE_HEADER = ("person", "name", "departments", *FIGURE_HEADER)
ROLE_HEADER = ("department", "department_name", "role", *FIGURE_HEADER)


def _figure_cells(f: Figures) -> list[str]:
    return [
        str(f.steps_handled), _seconds(f.handling_avg_seconds), _seconds(f.handling_p90_seconds),
        _share(f.sla_compliance), str(f.breaches), str(f.escalations), str(f.requests),
        str(f.first_responses), _seconds(f.first_response_avg_seconds),
        _seconds(f.first_response_p90_seconds), str(f.resolved_requests),
        str(f.reopened_requests), _share(f.reopen_rate), str(f.csat_responses),
        _share(f.csat_average),
    ]


def csv_tables(report: MonthlyReport) -> dict[str, tuple[Sequence[str], list[list[str]]]]:
    """File name -> (header, rows) of every CSV, as text cells."""
    tz = report.zone
    names = report.names
    request_rows = [
        [r.request_id, r.subject, r.customer_name, r.request_type, r.priority, r.channel,
         r.owner_id or "", _time(r.submitted_at, tz), _time(r.resolved_at, tz), r.status,
         "; ".join(step_path(step) for step in r.steps), r.customer_id,
         names.person(r.owner_id), r.owner_department_id, _time(r.first_response_at, tz),
         _seconds(r.first_response_seconds), _time(r.closed_at, tz), r.sla_state,
         str(r.breach_count), str(r.escalation_count), str(r.reopen_count),
         _optional(r.satisfaction)]
        for r in report.requests
    ]
    step_rows = [
        [s.request_id, s.step_key, s.stage_id, s.step_name, str(s.cycle), s.department_id,
         s.role, s.owner_id, names.person(s.owner_id), _time(s.started_at, tz),
         _time(s.claimed_at, tz), _time(s.ended_at, tz), _seconds(s.target_seconds),
         _seconds(s.business_seconds), _seconds(s.wall_seconds), _seconds(s.paused_seconds),
         "true" if s.breached else "false", str(s.escalation_count), str(s.handoff_count),
         str(s.reassign_count)]
        for s in report.steps
    ]
    people_rows = [
        [p.person_id, p.name, ";".join(p.departments), *_figure_cells(p.figures)]
        for p in report.people
    ]
    role_rows = [
        [r.department_id, names.department(r.department_id), r.role, *_figure_cells(r.figures)]
        for r in report.roles
    ]
    return {
        "requests.csv": (REQUEST_HEADER, request_rows),
        "steps.csv": (STEP_HEADER, step_rows),
        "people.csv": (PEOPLE_HEADER, people_rows),
        "roles.csv": (ROLE_HEADER, role_rows),
    }


def write_csvs(report: MonthlyReport, directory: Path) -> list[Path]:
    """Writes requests.csv, steps.csv, people.csv and roles.csv into ``directory`` (created if
    missing), UTF-8 with BOM; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, (header, rows) in csv_tables(report).items():
        path = directory / name
        with path.open("w", encoding=CSV_ENCODING, newline="") as file:
            writer = csv.writer(file)
            writer.writerow(header)
            writer.writerows(rows)
        written.append(path)
    return written


# -- SVG ------------------------------------------------------------------------------------


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


_CHAR_PX = 7  # one display column at font-size 12


def svg_bar_chart(bars: Sequence[tuple[str, float]], *, title: str,
                  value_label: Callable[[float], str] = lambda v: f"{v:g}",
                  max_value: float | None = None, width: int = 640,
                  bar_height: int = 20) -> str:
    """A horizontal bar chart as an inline ``<svg>`` element: one bar per ``(label, value)``,
    labels and title escaped (and cut to fit), each bar with a tooltip."""
    label_columns = min(max((display_width(label) for label, _ in bars), default=4), 28)
    label_px = label_columns * _CHAR_PX + 12
    value_px = 80
    plot_px = max(width - label_px - value_px, 40)
    top = 28
    height = top + max(len(bars), 1) * (bar_height + 6) + 6
    scale = max_value if max_value is not None else max((v for _, v in bars), default=0.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{_esc(title)}">',
        f"<title>{_esc(title)}</title>",
        f'<text x="0" y="16" class="chart-title">{_esc(fit_width(title, 80))}</text>',
    ]
    if not bars:
        parts.append(f'<text x="0" y="{top + 14}" class="chart-empty">无数据</text>')
    for index, (label, value) in enumerate(bars):
        y = top + index * (bar_height + 6)
        length = 0.0 if scale <= 0 else max(value, 0.0) / scale * plot_px
        shown = value_label(value)
        parts += [
            f'<text x="{label_px - 6}" y="{y + bar_height - 6}" text-anchor="end" '
            f'class="chart-label">{_esc(fit_width(label, label_columns))}</text>',
            f'<rect x="{label_px}" y="{y}" width="{length:.1f}" height="{bar_height}" '
            f'class="chart-bar"><title>{_esc(label)}: {_esc(shown)}</title></rect>',
            f'<text x="{label_px + length + 4:.1f}" y="{y + bar_height - 6}" '
            f'class="chart-value">{_esc(shown)}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def svg_column_chart(columns: Sequence[tuple[str, float]], *, title: str,
                     width: int = 720, height: int = 220) -> str:
    """A vertical column chart as an inline ``<svg>`` (one column per ``(label, value)``, e.g.
    per day), labels and title escaped."""
    top, bottom, left = 28, 30, 32
    plot_h = height - top - bottom
    count = max(len(columns), 1)
    slot = (width - left) / count
    peak = max((v for _, v in columns), default=0.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{_esc(title)}">',
        f"<title>{_esc(title)}</title>",
        f'<text x="0" y="16" class="chart-title">{_esc(fit_width(title, 90))}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width}" y2="{top + plot_h}" '
        'class="chart-axis"/>',
        f'<text x="{left - 4}" y="{top + 10}" text-anchor="end" class="chart-value">'
        f"{_esc(f'{peak:g}')}</text>",
    ]
    for index, (label, value) in enumerate(columns):
        h = 0.0 if peak <= 0 else max(value, 0.0) / peak * plot_h
        x = left + index * slot
        parts.append(
            f'<rect x="{x + slot * 0.15:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{h:.1f}" class="chart-bar">'
            f"<title>{_esc(label)}: {_esc(f'{value:g}')}</title></rect>"
        )
        if len(columns) <= 16 or index % 2 == 0:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{height - 12}" text-anchor="middle" '
                f'class="chart-tick">{_esc(fit_width(label, 6))}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


# -- HTML -------------------------------------------------------------------------------------

STATUS_ZH: dict[str, str] = {
    RequestStatus.OPEN: "待处理", RequestStatus.IN_PROGRESS: "处理中",
    RequestStatus.WAITING_ON_CUSTOMER: "等待客户", RequestStatus.RESOLVED: "已解决",
    RequestStatus.CLOSED: "已关闭", RequestStatus.CANCELLED: "已取消",
}
STEP_STATUS_ZH: dict[str, str] = {
    StepStatus.ACTIVE: "进行中", StepStatus.COMPLETED: "已完成", StepStatus.CANCELLED: "已取消",
}

_CSS = """
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC",
sans-serif;margin:24px;color:#1f2933;font-size:14px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid
#d9e2ec;padding-bottom:4px}.meta{color:#52606d;margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #d9e2ec;border-radius:6px;
padding:10px 14px;min-width:120px}.card b{display:block;font-size:20px}
.card span{color:#52606d;font-size:12px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #d9e2ec;
padding:4px 8px;text-align:left;vertical-align:top}th{background:#f0f4f8}td.n{text-align:right;
white-space:nowrap}.chart{display:block;margin:8px 0}.chart-title{font-size:13px;
font-weight:bold;fill:#1f2933}.chart-label,.chart-value,.chart-tick,.chart-empty{font-size:12px;
fill:#334e68}.chart-bar{fill:#2f80ed}.chart-axis{stroke:#9fb3c8}
.breached{color:#c62828;font-weight:bold}ol.steps{margin:0;padding-left:18px}
dl.defs dt{font-weight:bold;margin-top:6px}dl.defs dd{margin:2px 0 0 16px;color:#334e68}
""".strip()


def duration_zh(seconds: float | None) -> str:
    """``7500`` -> ``"2小时05分"``, ``90`` -> ``"1分"`` (whole minutes, rounded down), under a
    minute ``"42秒"``; ``"-"`` for no value."""
    if seconds is None:
        return "-"
    total = max(seconds, 0.0)
    if total < 60:
        return f"{int(total)}秒"
    minutes = int(total // 60)
    hours, minutes = divmod(minutes, 60)
    if hours >= 24:
        days, hours = divmod(hours, 24)
        return f"{days}天{hours}小时{minutes:02d}分"
    return f"{hours}小时{minutes:02d}分" if hours else f"{minutes}分"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]],
           numeric: Iterable[int] = ()) -> str:
    """A table; header and cells are HTML already escaped by the caller."""
    right = set(numeric)
    head = "".join(f"<th>{cell}</th>" for cell in header)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="n">{cell}</td>' if index in right else f"<td>{cell}</td>"
            for index, cell in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_FIGURE_TH = ("处理步骤", "平均处理时长", "P90 处理时长", "SLA 达标率", "超时", "升级",
              "请求数", "平均首次响应", "P90 首次响应", "重开率", "满意度 (评价数)")


def _figure_tds(f: Figures) -> list[str]:
    csat = "-" if f.csat_average is None else f"{f.csat_average:.2f} ({f.csat_responses})"
    return [str(f.steps_handled), duration_zh(f.handling_avg_seconds),
            duration_zh(f.handling_p90_seconds), percent(f.sla_compliance), str(f.breaches),
            str(f.escalations), str(f.requests), duration_zh(f.first_response_avg_seconds),
            duration_zh(f.first_response_p90_seconds), percent(f.reopen_rate), _esc(csat)]


def _who(names: ReportNames, person_id: str | None) -> str:
    if not person_id:
        return "-"
    name = names.person(person_id)
    return f"{_esc(name)} ({_esc(person_id)})" if name else _esc(person_id)


def render_html(report: MonthlyReport) -> str:
    """The report as one self-contained HTML page (UTF-8; inline CSS and SVG, no script)."""
    tz = report.zone
    names = report.names
    year, month = report.month.split("-")
    scope = []
    if report.department:
        scope.append(f"部门：{names.department(report.department)} ({report.department})")
    if report.role:
        scope.append(f"角色：{report.role}")
    title = f"caseflow 月度绩效报告 · {year}年{int(month)}月"
    if scope:
        title += " · " + "，".join(scope)

    def at(value: datetime | None) -> str:
        return "-" if value is None else value.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    o, t = report.overview, report.totals
    cards = [
        ("到达请求", str(o.arrived)), ("已解决", str(o.resolved)),
        ("本月内解决", str(o.resolved_in_month)), ("未解决", str(o.unresolved)),
        ("已取消", str(o.cancelled)), ("完成步骤", str(t.steps_handled)),
        ("步骤 SLA 达标率", percent(t.sla_compliance)), ("超时步骤", str(t.breaches)),
        ("升级", str(t.escalations)), ("平均首次响应", duration_zh(t.first_response_avg_seconds)),
        ("P90 首次响应", duration_zh(t.first_response_p90_seconds)),
        ("重开率", percent(t.reopen_rate)),
        ("平均满意度", _number(t.csat_average)),
    ]
    status_rows = [(_esc(STATUS_ZH.get(status, status)), _esc(status), str(count))
                   for status, count in o.by_status.items()]
    daily = svg_column_chart(
        [(f"{d.day.day}日", float(d.arrived)) for d in o.days],
        title=f"每日到达请求数（{report.tz}）")
    role_chart = svg_bar_chart(
        [(f"{names.department(r.department_id)} / {r.role}", r.figures.sla_compliance or 0.0)
         for r in report.roles if r.figures.steps_handled],
        title="各角色步骤 SLA 达标率", max_value=1.0, value_label=percent)
    volume_chart = svg_bar_chart(
        [(p.name or p.person_id, float(p.figures.steps_handled))
         for p in report.people if p.figures.steps_handled],
        title="各人员处理步骤数", value_label=lambda v: f"{v:.0f}")
    role_table = _table(
        ("部门", "角色", *_FIGURE_TH),
        ([_esc(names.department(r.department_id)), _esc(r.role), *_figure_tds(r.figures)]
         for r in report.roles),
        numeric=range(2, 13))
    people_table = _table(
        ("人员", "部门", *_FIGURE_TH),
        ([_who(names, p.person_id), _esc("、".join(names.department(d) for d in p.departments)),
          *_figure_tds(p.figures)] for p in report.people),
        numeric=range(2, 13))

    def steps_cell(request: RequestLine) -> str:
        if not request.steps:
            return "-"
        items = []
        for s in request.steps:
            state = (duration_zh(s.business_seconds) if s.status == StepStatus.COMPLETED
                     else STEP_STATUS_ZH.get(s.status, s.status))
            mark = ' <span class="breached">超时</span>' if s.breached else ""
            items.append(f"<li>{_esc(s.step_name)} @ {_esc(names.department(s.department_id))}"
                         f" / {_who(names, s.owner_id)}（{_esc(state)}）{mark}</li>")
        return f'<ol class="steps">{"".join(items)}</ol>'

    request_table = _table(
        ("请求", "主题", "客户", "类型", "优先级", "渠道", "负责人", "提交", "解决", "状态",
         "满意度", "步骤（工作时长）"),
        ([_esc(r.request_id[:8]), _esc(r.subject), _esc(r.customer_name),
          _esc(r.request_type), _esc(r.priority), _esc(r.channel), _who(names, r.owner_id),
          at(r.submitted_at), at(r.resolved_at), _esc(STATUS_ZH.get(r.status, r.status)),
          _optional(r.satisfaction) or "-", steps_cell(r)] for r in report.requests))
    definitions = [
        ("统计月份", f"{at(report.period_start)} 至 {at(report.period_end)}（不含），"
                  f"时区 {report.tz}。"),
        ("到达请求", "本月提交的请求；状态、负责人为报告生成时的数据。"),
        ("已解决 / 本月内解决",
         "当前有解决时间（已解决或解决后关闭）；本月内解决指最近一次解决在月末之前。"),
        ("处理步骤", "本月内完成的步骤，计入完成时的部门、角色和负责人（转交、改派之后）。"),
        ("处理时长", "步骤的工作时长（按部门工作日历，不含暂停）。"),
        ("首次响应",
         "从提交到首次认领的自然时长（人员：其负责的本月请求；角色：有该角色步骤的本月请求）。"),
        ("P90", "最近秩法：将数值从小到大排列，取第 ceil(0.9n) 个（n 为数值个数）。"),
        ("SLA 达标率", "未超时的处理步骤 / 全部处理步骤；超时指步骤时钟在最近一次运行中曾超时。"),
        ("升级", "处理步骤的步骤时钟上的升级次数（各级合计）。"),
        ("重开率", "至少重开一次的请求 / 至少解决过一次的请求。"),
        ("满意度", "请求最近一次满意度评分（1-5 分）的平均值。"),
    ]
    definition_html = "".join(f"<dt>{_esc(term)}</dt><dd>{_esc(text)}</dd>"
                              for term, text in definitions)
    generated = report.generated_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    return "".join([
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_esc(title)}</h1>",
        f'<p class="meta">统计期间 {at(report.period_start)} 至 {at(report.period_end)}'
        f"（{_esc(report.tz)}）· 生成于 {generated}</p>",
        "<h2>概览</h2><div class=\"cards\">",
        "".join(f'<div class="card"><b>{_esc(value)}</b><span>{_esc(label)}</span></div>'
                for label, value in cards),
        "</div>",
        _table(("状态", "代码", "请求数"), status_rows, numeric=[2]),
        daily,
        "<h2>按角色</h2>", role_chart, role_table,
        "<h2>按人员</h2>", volume_chart, people_table,
        f"<h2>请求明细（{len(report.requests)}）</h2>", request_table,
        f'<h2>指标定义</h2><dl class="defs">{definition_html}</dl>',
        "</body></html>\n",
    ])


# -- command line -------------------------------------------------------------------------------


def _parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m kpi.report",
        description="caseflow monthly performance report (HTML and CSV)")
    parser.add_argument("--month", required=True, help="YYYY-MM, e.g. 2026-11")
    parser.add_argument("--department", help="only this department's work")
    parser.add_argument("--role", help="only this role's work")
    parser.add_argument("--tz", default=DEFAULT_TZ,
                        help=f"time zone of the month's boundaries (default {DEFAULT_TZ})")
    parser.add_argument("--out", default=".", help="output directory (default: current)")
    parser.add_argument("--database-url",
                        default=store_url_from(env),
                        help=f"event store URL (default ${DATABASE_URL_SETTING})")
    parser.add_argument("--config-dir",
                        default=str(config_dir_from(env)),
                        help=f"organisation configuration, for names (default "
                             f"${CONFIG_DIR_SETTING})")
    return parser


def write_report(report: MonthlyReport, out: Path) -> list[Path]:
    """Writes ``out/<stem>.html`` and the CSVs in ``out/<stem>/``; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    page = out / f"{report.file_stem}.html"
    page.write_text(render_html(report), encoding="utf-8")
    return [page, *write_csvs(report, out / report.file_stem)]


async def _build(args: argparse.Namespace, names: ReportNames) -> MonthlyReport:
    engine = create_engine(args.database_url)
    try:
        return await build_report(engine, parse_month(args.month), department=args.department,
                                  role=args.role, tz=args.tz, names=names)
    except DBAPIError as error:
        raise unreadable_schema(engine, error) from error
    finally:
        await engine.dispose()


def _names(args: argparse.Namespace) -> ReportNames:
    month = parse_month(args.month)
    zone(args.tz)
    catalog = load_catalog_around(Path(args.config_dir), month)
    if args.department and args.department not in catalog.departments:
        print(f"caseflow report: note: department {args.department!r} is not in the "
              "configuration; reporting what the store holds for it", file=sys.stderr)
    return ReportNames.from_catalog(catalog)


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = _parser(os.environ if environ is None else environ).parse_args(
        sys.argv[1:] if argv is None else argv)
    try:
        names = _names(args)
        written = write_report(asyncio.run(_build(args, names)), Path(args.out))
    except (StoreUnavailable, ConfigError, ValueError, OSError) as error:
        text = " ".join(str(error).split())
        print(f"caseflow report: {text}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
