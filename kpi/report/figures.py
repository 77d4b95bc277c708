"""The report's arithmetic: averages, nearest-rank percentiles, ratios, and the whole report
assembled from a month's rows (filters, groups per person and role, the overview)."""

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.calendar import known_timezone
from domain.state import FINAL_STATUSES, RequestStatus
from kpi.report.model import (
    AgeCount,
    DayCount,
    Figures,
    HandoffLine,
    MonthlyReport,
    Overview,
    PersonFigures,
    ReportNames,
    RequestLine,
    RoleFigures,
    StepLine,
)
from kpi.snapshot import AGE_LABELS, age_bucket, compliance_ratio, month_bounds


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
    wall = [step.wall_seconds for step in steps if step.wall_seconds is not None]
    breaches = sum(1 for step in steps if step.breached)
    first = [r.first_response_seconds for r in requests_ if r.first_response_seconds is not None]
    resolved = sum(1 for request in requests_ if request.ever_resolved)
    reopened = sum(1 for request in requests_ if request.reopen_count > 0)
    scores = [float(r.satisfaction) for r in requests_ if r.satisfaction is not None]
    return Figures(
        steps_handled=len(steps),
        handling_avg_seconds=mean(handling),
        handling_p50_seconds=nearest_rank(handling, 50),
        handling_p90_seconds=nearest_rank(handling),
        wall_avg_seconds=mean(wall),
        wall_p50_seconds=nearest_rank(wall, 50),
        wall_p90_seconds=nearest_rank(wall),
        handoffs=sum(step.handoff_count for step in steps),
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


def backlog(requests_: Iterable[RequestLine], now: datetime) -> tuple[AgeCount, ...]:
    """Requests neither resolved nor closed nor cancelled, by wall-clock age at ``now``
    (the collector's buckets, every bucket listed)."""
    ages = Counter(age_bucket(now - r.submitted_at) for r in requests_
                   if r.resolved_at is None and r.status not in FINAL_STATUSES)
    return tuple(AgeCount(age=label, requests=ages[label]) for label in AGE_LABELS)


def assemble(all_requests: Sequence[RequestLine], completed: Sequence[StepLine],
             month_handoffs: Sequence[HandoffLine] = (), *,
             month: date, department: str | None, role: str | None, tz: str,
             names: ReportNames, now: datetime, person: str | None = None) -> MonthlyReport:
    """The report from the month's requests (with their steps), the steps completed and the
    handoffs made in the month, all unfiltered: the pure part of ``build_report``. ``person``
    narrows it to one person's own work: the steps they handled and the requests they own or
    have a step in."""
    zone_info = zone(tz)
    start, end = month_bounds(month, zone_info)

    def step_matches(step: StepLine) -> bool:
        return ((department is None or step.department_id == department)
                and (role is None or step.role == role)
                and (person is None or step.owner_id == person))

    def owned_here(request: RequestLine) -> bool:
        return ((department is None or request.owner_department_id == department)
                and (person is None or request.owner_id == person))

    def request_matches(request: RequestLine) -> bool:
        if department is None and role is None and person is None:
            return True
        if role is None and owned_here(request):
            return True
        return any(step_matches(step) for step in request.steps)

    def handoff_matches(handoff: HandoffLine) -> bool:
        return ((department is None
                 or department in (handoff.from_department_id, handoff.to_department_id))
                and (role is None or handoff.role == role)
                and (person is None or person in (handoff.from_owner_id, handoff.to_owner_id)))

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
    for someone in people_ids:
        theirs = steps_by_person.get(someone, [])
        owned = owned_by.get(someone, [])
        departments = {step.department_id for step in theirs}
        departments |= {r.owner_department_id for r in owned}
        people.append(PersonFigures(person_id=someone, name=names.person(someone),
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
        backlog=backlog(chosen, now),
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
        handoffs=tuple(h for h in month_handoffs if handoff_matches(h)),
        person=person,
    )
