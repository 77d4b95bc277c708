"""The report's reads: four queries over the projections in one read-only snapshot."""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from analysis import queries as analysis_queries
from domain.catalog import Catalog
from domain.state import StepStatus
from eventstore.engine import read_transaction
from kpi.report.figures import assemble, zone
from kpi.report.model import (
    DEFAULT_TZ,
    HandoffLine,
    MonthlyReport,
    ReportNames,
    RequestLine,
    StepLine,
)
from kpi.snapshot import Query, month_bounds
from schema.tables import handoffs, request_steps, requests

_STEP_COLUMNS = list(StepLine.model_fields)
_REQUEST_COLUMNS = [name for name in RequestLine.model_fields if name != "steps"]
_HANDOFF_COLUMNS = [handoffs.c[name] for name in HandoffLine.model_fields
                    if name not in ("step_name", "role")]
LONGEST_WAITS = 10


@dataclass(frozen=True)
class MonthQueries:
    requests: Query
    """The requests submitted in ``[start, end)`` (index ``ix_requests_submitted_at``)."""
    request_steps: Query
    """Their steps, joined on the steps' primary key (request_id, step_key)."""
    completed_steps: Query
    """Steps completed in ``[start, end)`` (index ``ix_request_steps_ended_at``)."""
    handoffs: Query
    """Handoffs made in ``[start, end)`` (index ``ix_handoffs_occurred_at``) with their step's
    name and role (the steps' primary key)."""


def month_queries(start: datetime, end: datetime) -> MonthQueries:
    """The report's four queries for the period ``[start, end)``."""
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
        handoffs=(
            select(*_HANDOFF_COLUMNS, request_steps.c.step_name, request_steps.c.role)
            .join(request_steps, (request_steps.c.request_id == handoffs.c.request_id)
                  & (request_steps.c.step_key == handoffs.c.step_key))
            .where(handoffs.c.occurred_at >= start, handoffs.c.occurred_at < end)
            .order_by(handoffs.c.occurred_at, handoffs.c.request_id, handoffs.c.sequence)
        ),
    )


async def build_report(engine: AsyncEngine, month: date, *, department: str | None = None,
                       role: str | None = None, tz: str = DEFAULT_TZ,
                       names: ReportNames | None = None, now: datetime | None = None,
                       person: str | None = None) -> MonthlyReport:
    """The report of the month containing ``month``, in time zone ``tz``, optionally narrowed
    to a ``department``, a ``role`` and/or one ``person``'s own work (see the module docstring
    for every definition).

    Four queries in one read-only snapshot: the month's requests (``submitted_at`` index),
    their steps (joined on the primary key), the steps completed in the month (``ended_at``
    index) and the handoffs made in it (``occurred_at`` index). Raises StoreUnavailable if
    the store cannot be reached, ValueError for a bad ``tz``."""
    start, end = month_bounds(month, zone(tz))
    queries = month_queries(start, end)
    async with read_transaction(engine) as conn:
        request_rows = (await conn.execute(queries.requests)).all()
        step_rows = (await conn.execute(queries.request_steps)).all()
        completed_rows = (await conn.execute(queries.completed_steps)).all()
        handoff_rows = (await conn.execute(queries.handoffs)).all()
    steps_of: dict[str, list[StepLine]] = {}
    for row in step_rows:
        steps_of.setdefault(row.request_id, []).append(StepLine.model_validate(row._asdict()))
    all_requests = [
        RequestLine.model_validate({**row._asdict(),
                                    "steps": tuple(steps_of.get(row.request_id, ()))})
        for row in request_rows
    ]
    completed = [StepLine.model_validate(row._asdict()) for row in completed_rows]
    month_handoffs = [HandoffLine.model_validate(row._asdict()) for row in handoff_rows]
    return assemble(
        all_requests, completed, month_handoffs, month=month, department=department,
        role=role, tz=tz, names=names or ReportNames(), now=now or datetime.now(UTC),
        person=person,
    )


async def with_analysis(engine: AsyncEngine, report: MonthlyReport,
                        catalog: Catalog) -> MonthlyReport:
    """``report`` with its decision-analysis sections (segments and the longest waits; where
    the time went) computed from the event log of the same month, as of its generation."""
    start, end, as_of = report.period_start, report.period_end, report.generated_at
    segments = await analysis_queries.segments(engine, catalog, start, end, as_of,
                                               longest=LONGEST_WAITS)
    paths = await analysis_queries.paths(engine, catalog, start, end, as_of)
    return report.model_copy(update={"segments": segments, "process": paths.report})
