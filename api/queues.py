"""Work queues over HTTP, for staff: ``GET /api/v1/requests?queue=mine`` and the others of
``eventstore.queues.Queue``, with filters, nearest deadline first, a page at a time."""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.dependencies import PrincipalDep, ServicesDep
from api.principals import StaffPrincipal
from api.problems import ApiProblem, FieldProblem
from api.routes_common import PROBLEMS
from domain.calendar import NoWorkingTimeError, add_business_seconds
from domain.catalog import Catalog
from domain.request import Channel, CustomerTier, Priority
from domain.state import RequestStatus
from eventstore.queues import BadCursor, Filters, Queue, QueuePage, Viewer, queue_page

router = APIRouter(tags=["queues"])


def horizons_of(catalog: Catalog, department_ids: Iterable[str], *, within_hours: float,
                now: datetime) -> dict[str, datetime]:
    """Per department: the instant ``within_hours`` business hours from ``now`` in its
    calendar (what ``breaching`` looks ahead to)."""
    horizons = {}
    for department_id in department_ids:
        try:
            horizons[department_id] = add_business_seconds(
                catalog.departments[department_id].calendar, now, within_hours * 3600)
        except NoWorkingTimeError:
            continue  # a calendar with no working time ahead: nothing breaches there
    return horizons


def viewer_of(catalog: Catalog, person_id: str, *, within_hours: float,
              now: datetime) -> Viewer:
    roles = {department.id: member.roles for department in catalog.departments.values()
             if (member := department.member(person_id)) is not None}
    return Viewer(person_id=person_id, roles_by_department=roles,
                  horizons=horizons_of(catalog, roles, within_hours=within_hours, now=now))


@router.get("/requests", response_model=QueuePage, responses=PROBLEMS,
            summary="A work queue, nearest deadline first")
async def list_requests(
    services: ServicesDep, principal: PrincipalDep,
    queue: Annotated[Queue, Query(description="which queue")] = Queue.MINE,
    within_hours: Annotated[float, Query(
        gt=0, le=720, description="breaching: deadline within this many business hours")] = 4,
    status: RequestStatus | None = None,
    department: Annotated[str | None, Query(max_length=64)] = None,
    priority: Priority | None = None,
    tier: CustomerTier | None = None,
    channel: Channel | None = None,
    customer_id: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=200, description="part of the subject")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> QueuePage:
    if not isinstance(principal, StaffPrincipal):
        raise ApiProblem(403, "queues are for staff")
    viewer = viewer_of(services.catalog, principal.person_id, within_hours=within_hours,
                       now=datetime.now(UTC))
    filters = Filters(status=status, department_id=department,
                      priority=None if priority is None else priority.value,
                      tier=None if tier is None else tier.value,
                      channel=None if channel is None else channel.value,
                      customer_id=customer_id, text=q)
    try:
        return await queue_page(services.engine, queue, viewer, filters, limit=limit,
                                cursor=cursor)
    except BadCursor as error:
        raise ApiProblem(422, str(error), errors=[FieldProblem(field="query.cursor",
                                                               reason=str(error))]) from error
