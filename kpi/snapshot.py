"""A snapshot of the current state of the work, read from the projections in one pass: what
the KPI collector serves as gauges (``kpi.collector``, where the definitions are) and the pure
helpers it and the monthly report share (age buckets, month bounds, compliance)."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from types import MappingProxyType
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.catalog import Catalog
from domain.state import FINAL_STATUSES, RequestStatus, StepStatus
from eventstore.engine import (
    read_transaction,
)
from eventstore.projector import BREACHED, ON_TRACK, WARNING
from schema.tables import OPEN_REQUEST, request_steps, requests

OPEN_STATUSES = tuple(status for status in RequestStatus if status not in FINAL_STATUSES)
"""Request statuses ``caseflow_open_requests`` reports."""
BACKLOG_STATUSES = tuple(status for status in OPEN_STATUSES if status != RequestStatus.RESOLVED)
"""Open statuses that are backlog: everything open except ``resolved``."""
SLA_STATES = (ON_TRACK, WARNING, BREACHED)

DAY = timedelta(days=1)
AGE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("lt_1d", 1 * DAY),
    ("1d_3d", 3 * DAY),
    ("3d_7d", 7 * DAY),
    ("gt_7d", None),
)
"""Backlog age buckets: each label with the exclusive upper bound of its ages (None: no
bound). An age equal to a bound belongs to the next bucket."""
AGE_LABELS = tuple(label for label, _ in AGE_BUCKETS)


# -- pure helpers ---------------------------------------------------------------------------


def age_bucket(age: timedelta) -> str:
    """The backlog bucket of a request ``age`` old (a negative age, from clock skew, is
    ``lt_1d``)."""
    for label, bound in AGE_BUCKETS:
        if bound is None or age < bound:
            return label
    raise AssertionError("unreachable: the last bucket has no bound")  # pragma: no cover


def age_cutoffs(now: datetime) -> list[tuple[datetime, str]]:
    """``(cutoff, label)`` for each bounded bucket, youngest first: a request submitted after
    ``cutoff`` (strictly) is younger than the bucket's bound, so it belongs to the first bucket
    whose cutoff it is after; one submitted at or before every cutoff is in the last bucket.
    The SQL form of ``age_bucket``."""
    return [(now - bound, label) for label, bound in AGE_BUCKETS if bound is not None]


def compliance_ratio(met: int, completed: int) -> float | None:
    """Share of ``completed`` steps that met their SLA (``met`` of them); None when nothing was
    completed (no data, not 100 % nor 0 %)."""
    if completed < 0 or not 0 <= met <= completed:
        raise ValueError(f"met={met} completed={completed}: need 0 <= met <= completed")
    if completed == 0:
        return None
    return met / completed


def month_bounds(month: date, tz: tzinfo = UTC) -> tuple[datetime, datetime]:
    """``[start, end)`` of the calendar month containing ``month``, midnight to midnight in
    ``tz``, as UTC datetimes (a month in Asia/Shanghai starts at 16:00 UTC the day before)."""
    first = month.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    start = datetime(first.year, first.month, 1, tzinfo=tz)
    end = datetime(following.year, following.month, 1, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def current_month(now: datetime) -> tuple[datetime, datetime]:
    """The UTC calendar month containing ``now`` (the collector's month-to-date window)."""
    return month_bounds(now.astimezone(UTC).date(), UTC)


# -- the organisation the gauges cover -------------------------------------------------------


def _frozen(mapping: Mapping[str, Iterable[str]]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({key: tuple(dict.fromkeys(values)) for key, values in mapping.items()})


@dataclass(frozen=True)
class Roster:
    """What the gauges report zeros for: departments, their members and the roles their steps
    are worked in. Figures found in the store outside it are exported as well."""

    members: Mapping[str, tuple[str, ...]]
    """Department id -> person ids of its roster."""
    step_roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Department id -> roles steps are worked in there."""

    @classmethod
    def of(cls, members: Mapping[str, Iterable[str]],
           step_roles: Mapping[str, Iterable[str]] | None = None) -> "Roster":
        return cls(members=_frozen(members), step_roles=_frozen(step_roles or {}))

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> "Roster":
        """Every department and member of ``catalog``; step roles are the roles of the process
        templates' branches in each department (the roles steps are started in)."""
        roles: dict[str, list[str]] = {department: [] for department in catalog.departments}
        for template in catalog.templates.values():
            for stage in template.stages:
                for branch in stage.branches:
                    roles.setdefault(branch.department_id, []).append(branch.role)
        return cls.of(
            {d.id: [member.id for member in d.members] for d in catalog.departments.values()},
            {department: sorted(set(found)) for department, found in roles.items()},
        )

    @property
    def departments(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*self.members, *self.step_roles]))


# -- one pass ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiSnapshot:
    """The figures of one collection pass, keyed by label values in the gauges' label order."""

    taken_at: datetime
    open_requests: Mapping[tuple[str, str, str], int]
    """(department, status, sla_state) -> open requests."""
    open_steps: Mapping[tuple[str, str, str], int]
    """(department, role, sla_state) -> open steps."""
    backlog: Mapping[tuple[str, str], int]
    """(department, age) -> backlog requests."""
    open_load: Mapping[tuple[str, str], int]
    """(department, person) -> open steps."""
    month_compliance: Mapping[tuple[str, str], float]
    """(department, role) -> compliance of this UTC month's completed steps."""
    month_completed: Mapping[tuple[str, str], int]
    """(department, role) -> steps completed this UTC month (the ratio's denominator)."""


def _zeros(*axes: Iterable[str]) -> dict[tuple[str, ...], int]:
    grid: list[tuple[str, ...]] = [()]
    for axis in axes:
        grid = [(*prefix, value) for prefix in grid for value in axis]
    return dict.fromkeys(grid, 0)


Query = Select[*tuple[Any, ...]]


@dataclass(frozen=True)
class SnapshotQueries:
    open_requests: Query
    """(department, status, sla_state, age, n) of open requests."""
    open_steps: Query
    """(department_id, role, sla_state, owner_id, n) of active steps."""
    month_steps: Query
    """(department_id, role, breached, n) of the steps completed this UTC month."""


def snapshot_queries(now: datetime) -> SnapshotQueries:
    """The three grouped queries of a pass at ``now``."""
    month_start, month_end = current_month(now)
    age = case(
        *((requests.c.submitted_at > cutoff, label) for cutoff, label in age_cutoffs(now)),
        else_=AGE_LABELS[-1],
    )
    open_rows = (
        select(requests.c.owner_department_id.label("department"), requests.c.status,
               requests.c.sla_state, age.label("age"))
        .where(OPEN_REQUEST)
        .subquery()
    )
    return SnapshotQueries(
        open_requests=(
            select(open_rows.c.department, open_rows.c.status, open_rows.c.sla_state,
                   open_rows.c.age, func.count().label("n"))
            .group_by(open_rows.c.department, open_rows.c.status, open_rows.c.sla_state,
                      open_rows.c.age)
        ),
        open_steps=(
            select(request_steps.c.department_id, request_steps.c.role,
                   request_steps.c.sla_state, request_steps.c.owner_id,
                   func.count().label("n"))
            .where(request_steps.c.ended_at.is_(None), request_steps.c.status == StepStatus.ACTIVE)
            .group_by(request_steps.c.department_id, request_steps.c.role,
                      request_steps.c.sla_state, request_steps.c.owner_id)
        ),
        month_steps=(
            select(request_steps.c.department_id, request_steps.c.role,
                   request_steps.c.breached, func.count().label("n"))
            .where(request_steps.c.ended_at >= month_start, request_steps.c.ended_at < month_end,
                   request_steps.c.status == StepStatus.COMPLETED)
            .group_by(request_steps.c.department_id, request_steps.c.role,
                      request_steps.c.breached)
        ),
    )


async def read_snapshot(engine: AsyncEngine, roster: Roster, *, now: datetime) -> KpiSnapshot:
    """One collection pass at ``now``: three grouped queries in one read transaction."""
    departments = roster.departments
    open_requests: dict[tuple[str, ...], int] = _zeros(departments, OPEN_STATUSES, SLA_STATES)
    backlog: dict[tuple[str, ...], int] = _zeros(departments, AGE_LABELS)
    open_steps: dict[tuple[str, ...], int] = {}
    for department, roles in roster.step_roles.items():
        open_steps.update(_zeros([department], roles, SLA_STATES))
    open_load: dict[tuple[str, ...], int] = {}
    for department, people in roster.members.items():
        open_load.update(_zeros([department], people))
    completed: dict[tuple[str, str], int] = {}
    met: dict[tuple[str, str], int] = {}
    queries = snapshot_queries(now)
    async with read_transaction(engine) as conn:
        for row in await conn.execute(queries.open_requests):
            n = int(row.n)
            key = (row.department, row.status, row.sla_state)
            open_requests[key] = open_requests.get(key, 0) + n
            if row.status in BACKLOG_STATUSES:
                backlog_key = (row.department, row.age)
                backlog[backlog_key] = backlog.get(backlog_key, 0) + n
        for step_row in await conn.execute(queries.open_steps):
            n = int(step_row.n)
            step_key = (step_row.department_id, step_row.role, step_row.sla_state)
            open_steps[step_key] = open_steps.get(step_key, 0) + n
            load_key = (step_row.department_id, step_row.owner_id)
            open_load[load_key] = open_load.get(load_key, 0) + n
        for month_row in await conn.execute(queries.month_steps):
            group = (month_row.department_id, month_row.role)
            completed[group] = completed.get(group, 0) + int(month_row.n)
            met[group] = met.get(group, 0) + (0 if month_row.breached else int(month_row.n))
    ratios = {group: compliance_ratio(met[group], total) for group, total in completed.items()}
    return KpiSnapshot(
        taken_at=now,
        open_requests=_typed3(open_requests),
        open_steps=_typed3(open_steps),
        backlog=_typed2(backlog),
        open_load=_typed2(open_load),
        month_compliance=MappingProxyType(
            {group: ratio for group, ratio in sorted(ratios.items()) if ratio is not None}
        ),
        month_completed=MappingProxyType(dict(sorted(completed.items()))),
    )


def _typed3(values: dict[tuple[str, ...], int]) -> Mapping[tuple[str, str, str], int]:
    return MappingProxyType({(k[0], k[1], k[2]): v for k, v in sorted(values.items())})


def _typed2(values: dict[tuple[str, ...], int]) -> Mapping[tuple[str, str], int]:
    return MappingProxyType({(k[0], k[1]): v for k, v in sorted(values.items())})
