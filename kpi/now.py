"""The departments' work as it stands: who owns what now (each person's active steps and the
open requests they own), what is breaching or has breached (the work queues' read model), and
the backlog by age; what a manager's page shows beside the monthly figures.

Read from the projections in one read-only snapshot; every item names its request, so a page
drills down to the person (``person``) and to the request (``GET /api/v1/requests/{id}``)."""

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.report_visibility import RequestFacts, facts_of
from domain.state import StepStatus
from eventstore.engine import read_transaction
from eventstore.queues import Filters, Queue, QueueItem, Viewer, queue_page
from kpi.report.model import AgeCount, ReportNames
from kpi.report.withheld import WITHHELD
from kpi.snapshot import AGE_LABELS, age_bucket
from schema.tables import OPEN_REQUEST, request_steps, requests

BREACHING_LIMIT = 200
"""At most this many breached and this many breaching requests are listed (nearest first)."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class OwnedStep(_Model):
    request_id: str
    step_key: str
    step_name: str
    department_id: str
    role: str
    started_at: datetime
    claimed_at: datetime | None
    deadline: datetime | None
    sla_state: str
    subject: str
    customer_name: str
    priority: str


class OwnedRequest(_Model):
    request_id: str
    owner_department_id: str
    status: str
    priority: str
    sla_state: str
    submitted_at: datetime
    resolution_deadline: datetime | None
    subject: str
    customer_name: str


class OwnerNow(_Model):
    person_id: str
    name: str
    steps: tuple[OwnedStep, ...]
    """Their active steps in the departments shown, oldest first."""
    requests: tuple[OwnedRequest, ...]
    """The open requests they own for those departments, oldest first."""


class WorkNow(_Model):
    as_of: datetime
    departments: tuple[str, ...]
    person: str | None
    """Set when only this person's work is shown."""
    backlog: tuple[AgeCount, ...]
    """Open requests owned by the departments, not resolved, by wall-clock age since
    submission."""
    owners: tuple[OwnerNow, ...]
    """Most active steps first."""
    breached: tuple[QueueItem, ...]
    breaching: tuple[QueueItem, ...]
    """Not yet breached, a deadline within the horizon."""
    personal_fields_withheld: int
    """Items whose customer name and subject the reader may not see."""


async def work_now(engine: AsyncEngine, departments: Sequence[str], *,
                   horizons: dict[str, datetime], now: datetime, names: ReportNames,
                   may_see: Callable[[RequestFacts], bool],
                   person: str | None = None) -> WorkNow:
    """The work of ``departments`` now (of ``person`` only, when given); ``horizons`` per
    department is the instant the breaching list looks ahead to. Personal fields of an item
    for whose facts ``may_see`` is false read ``WITHHELD``."""
    step_where: list[ColumnElement[bool]] = [
        request_steps.c.status == StepStatus.ACTIVE.value,
        request_steps.c.department_id.in_(list(departments))]
    request_where: list[ColumnElement[bool]] = [
        OPEN_REQUEST, requests.c.owner_department_id.in_(list(departments))]
    if person is not None:
        step_where.append(request_steps.c.owner_id == person)
        request_where.append(requests.c.owner_id == person)
    step_columns = [request_steps.c[name] for name in OwnedStep.model_fields
                    if name not in ("subject", "customer_name", "priority")]
    steps_query = (
        select(*step_columns, request_steps.c.owner_id, requests.c.subject,
               requests.c.customer_name, requests.c.priority, requests.c.owner_id.label("ro"),
               requests.c.owner_department_id)
        .join(requests, requests.c.request_id == request_steps.c.request_id)
        .where(*step_where)
        .order_by(request_steps.c.started_at, request_steps.c.request_id,
                  request_steps.c.step_key))
    requests_query = (
        select(*(requests.c[name] for name in OwnedRequest.model_fields), requests.c.owner_id,
               requests.c.resolved_at)
        .where(*request_where)
        .order_by(requests.c.submitted_at, requests.c.request_id))
    async with read_transaction(engine) as conn:
        step_rows = (await conn.execute(steps_query)).all()
        request_rows = (await conn.execute(requests_query)).all()
    viewer = Viewer(person_id=person or "", roles_by_department={d: frozenset()
                                                                 for d in departments},
                    horizons=horizons)
    breached = await _queue(engine, Queue.BREACHED, viewer, person)
    breaching = await _queue(engine, Queue.BREACHING, viewer, person)

    withheld = 0

    def shown(facts: RequestFacts, fields: dict[str, object]) -> dict[str, object]:
        nonlocal withheld
        if may_see(facts):
            return fields
        withheld += 1
        return {**fields, "subject": WITHHELD, "customer_name": WITHHELD}

    steps_of: dict[str, list[OwnedStep]] = {}
    for row in step_rows:
        facts = facts_of(row.ro, row.owner_department_id, [(row.department_id, row.owner_id)])
        fields = {name: getattr(row, name) for name in OwnedStep.model_fields}
        steps_of.setdefault(row.owner_id, []).append(
            OwnedStep.model_validate(shown(facts, fields)))
    owned_by: dict[str, list[OwnedRequest]] = {}
    ages: Counter[str] = Counter()
    for row in request_rows:
        if row.resolved_at is None:
            ages[age_bucket(now - row.submitted_at)] += 1
        if row.owner_id is None:
            continue
        facts = facts_of(row.owner_id, row.owner_department_id, ())
        fields = {name: getattr(row, name) for name in OwnedRequest.model_fields}
        owned_by.setdefault(row.owner_id, []).append(
            OwnedRequest.model_validate(shown(facts, fields)))
    owners = [OwnerNow(person_id=p, name=names.person(p), steps=tuple(steps_of.get(p, ())),
                       requests=tuple(owned_by.get(p, ())))
              for p in set(steps_of) | set(owned_by)]
    owners.sort(key=lambda o: (-len(o.steps), -len(o.requests), o.person_id))

    def queue_items(items: list[QueueItem]) -> tuple[QueueItem, ...]:
        return tuple(
            QueueItem.model_validate(shown(
                facts_of(i.owner_id, i.owner_department_id, ()), i.model_dump()))
            for i in items)

    return WorkNow(
        as_of=now, departments=tuple(departments), person=person,
        backlog=tuple(AgeCount(age=label, requests=ages[label]) for label in AGE_LABELS),
        owners=tuple(owners), breached=queue_items(breached), breaching=queue_items(breaching),
        personal_fields_withheld=withheld)


async def _queue(engine: AsyncEngine, queue: Queue, viewer: Viewer,
                 person: str | None) -> list[QueueItem]:
    page = await queue_page(engine, queue, viewer, Filters(), limit=BREACHING_LIMIT)
    return [item for item in page.items if person is None or item.owner_id == person]
