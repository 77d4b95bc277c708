"""Work queues read from the projections: a person's active steps, the requests they own,
their departments' requests, steps of their role not yet theirs, requests breaching soon or
breached, requests waiting on the customer, requests parked for an operator (each item says
whether it is parked and why, from ``parked_requests``); with filters, sorted by the nearest
deadline, one page at a time (keyset pagination on the deadline and the request id)."""

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.state import RequestStatus, StepStatus
from eventstore.engine import read_transaction
from eventstore.projector import BREACHED
from schema.tables import (
    OPEN_REQUEST,
    UtcDateTime,
    parked_requests,
    request_steps,
    requests,
)

_NO_DEADLINE = datetime(9999, 12, 31, tzinfo=UTC)


class Queue(StrEnum):
    MINE = "mine"
    """Requests with an active step I own."""
    OWNED = "owned"
    """Open requests I own."""
    DEPARTMENT = "department"
    """Open requests owned by, or with an active step in, one of my departments."""
    ROLE = "role"
    """Requests with an active step of my role in my department that someone else owns."""
    BREACHING = "breaching"
    """My departments' open requests not yet breached whose deadline falls within the horizon."""
    BREACHED = "breached"
    """My departments' open requests that breached."""
    WAITING = "waiting"
    """My departments' requests waiting on the customer."""
    PARKED = "parked"
    """My departments' requests parked for an operator (their log disagrees with them)."""


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class Filters:
    status: RequestStatus | None = None
    department_id: str | None = None
    priority: str | None = None
    tier: str | None = None
    channel: str | None = None
    customer_id: str | None = None
    text: str | None = None
    """Part of the subject."""


@dataclass(frozen=True)
class Viewer:
    """The person a queue is for: their id and, per department they belong to, their roles."""

    person_id: str
    roles_by_department: dict[str, frozenset[str]]
    horizons: dict[str, datetime] = field(default_factory=dict)
    """Per department: the instant N business hours from now in its calendar (``breaching``)."""


class QueueItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: str
    subject: str
    status: str
    priority: str
    customer_id: str
    customer_name: str
    customer_tier: str
    channel: str
    request_type: str
    owner_id: str | None
    owner_department_id: str
    sla_state: str
    submitted_at: datetime
    nearest_deadline: datetime | None
    parked_reason: str | None = None
    """Why the request is parked for an operator (``refused``, ``digest_mismatch``), else
    None; every action on it is refused until an operator looks."""
    parked_detail: str | None = None


class QueuePage(BaseModel):
    items: list[QueueItem]
    next_cursor: str | None


# The deadline that comes first: first response while unanswered, else resolution.
nearest_deadline = case(
    (and_(requests.c.first_response_at.is_(None),
          requests.c.first_response_deadline.is_not(None)), requests.c.first_response_deadline),
    else_=requests.c.resolution_deadline)
_sort_key = func.coalesce(nearest_deadline, literal(_NO_DEADLINE, UtcDateTime()))


def encode_cursor(deadline: datetime, request_id: str) -> str:
    raw = json.dumps([deadline.isoformat(), request_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        deadline, request_id = json.loads(raw)
        return datetime.fromisoformat(deadline), str(request_id)
    except (ValueError, TypeError, binascii.Error) as error:
        raise BadCursor("the cursor is not one this API returned") from error


def _active_step_where(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return requests.c.request_id.in_(
        select(request_steps.c.request_id).where(
            request_steps.c.status == StepStatus.ACTIVE.value, *conditions))


def _queue_where(queue: Queue, viewer: Viewer) -> ColumnElement[bool]:
    departments = list(viewer.roles_by_department)
    in_departments = requests.c.owner_department_id.in_(departments)
    if queue is Queue.MINE:
        return _active_step_where(request_steps.c.owner_id == viewer.person_id)
    if queue is Queue.OWNED:
        return and_(OPEN_REQUEST, requests.c.owner_id == viewer.person_id)
    if queue is Queue.DEPARTMENT:
        return and_(OPEN_REQUEST, or_(in_departments, _active_step_where(
            request_steps.c.department_id.in_(departments))))
    if queue is Queue.ROLE:
        return _active_step_where(
            request_steps.c.owner_id != viewer.person_id,
            or_(False, *(and_(request_steps.c.department_id == department,
                              request_steps.c.role.in_(sorted(roles)))
                         for department, roles in viewer.roles_by_department.items())))
    if queue is Queue.BREACHING:
        return and_(OPEN_REQUEST, requests.c.sla_state != BREACHED, or_(False, *(
            and_(requests.c.owner_department_id == department, nearest_deadline <= horizon)
            for department, horizon in viewer.horizons.items())))
    if queue is Queue.BREACHED:
        return and_(OPEN_REQUEST, in_departments, requests.c.sla_state == BREACHED)
    if queue is Queue.PARKED:
        return and_(in_departments, parked_requests.c.request_id.is_not(None))
    return and_(in_departments,
                requests.c.status == RequestStatus.WAITING_ON_CUSTOMER.value)


def _filter_where(filters: Filters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    for column, value in ((requests.c.status, filters.status),
                          (requests.c.owner_department_id, filters.department_id),
                          (requests.c.priority, filters.priority),
                          (requests.c.customer_tier, filters.tier),
                          (requests.c.channel, filters.channel),
                          (requests.c.customer_id, filters.customer_id)):
        if value is not None:
            where.append(column == str(value))
    if filters.text:
        escaped = (filters.text.replace("\\", "\\\\").replace("%", "\\%")
                   .replace("_", "\\_"))
        where.append(requests.c.subject.like(f"%{escaped}%", escape="\\"))
    return where


async def queue_page(engine: AsyncEngine, queue: Queue, viewer: Viewer, filters: Filters, *,
                     limit: int, cursor: str | None = None) -> QueuePage:
    """One page of ``queue`` for ``viewer``, nearest deadline first."""
    where = [_queue_where(queue, viewer), *_filter_where(filters)]
    if cursor is not None:
        after_deadline, after_id = decode_cursor(cursor)
        where.append(tuple_(_sort_key, requests.c.request_id) > tuple_(
            literal(after_deadline, UtcDateTime()), literal(after_id)))
    columns = [requests.c[name] for name in QueueItem.model_fields
               if name in requests.c and name != "nearest_deadline"]
    statement = (select(*columns, nearest_deadline.label("nearest_deadline"),
                        parked_requests.c.reason.label("parked_reason"),
                        parked_requests.c.detail.label("parked_detail"),
                        _sort_key.label("sort_key"))
                 .select_from(requests.outerjoin(
                     parked_requests, parked_requests.c.request_id == requests.c.request_id))
                 .where(*where).order_by(_sort_key, requests.c.request_id).limit(limit + 1))
    async with read_transaction(engine) as conn:
        rows = (await conn.execute(statement)).all()
    items = [QueueItem.model_validate({k: v for k, v in row._asdict().items() if k != "sort_key"})
             for row in rows[:limit]]
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    return QueuePage(items=items, next_cursor=None if last is None else encode_cursor(
        last.sort_key, last.request_id))
