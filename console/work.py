"""My work: the person's queues with counts, each row with its customer, channel, priority,
current step and owner and an SLA badge per running clock; nearest deadline first; search."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.gateway import Refusal, TemporalDown
from api.queues import viewer_of
from console.badges import Badge, running_badges
from console.context import PREFIX, ConsoleDep, SessionDep
from domain.state import StepStatus
from eventstore.feed import latest_position
from eventstore.queues import Filters, Queue, QueueItem, queue_page
from workflows.messages import RequestView

router = APIRouter()
QUEUES = (Queue.MINE, Queue.OWNED, Queue.DEPARTMENT, Queue.BREACHING, Queue.BREACHED,
          Queue.WAITING)
_PAGE = 50
_COUNT_UP_TO = 200


@dataclass(frozen=True)
class Row:
    item: QueueItem
    steps: list[tuple[str, str]]
    """(step name, owner) of each active step."""
    badges: list[Badge]


async def _live(console: ConsoleDep, request_id: str) -> RequestView | None:
    try:
        return await console.services.gateway.status(request_id)
    except (Refusal, TemporalDown):
        return None  # the row still shows what the projections hold


async def rows_of(console: ConsoleDep, items: list[QueueItem]) -> list[Row]:
    views = await asyncio.gather(*(_live(console, item.request_id) for item in items))
    thresholds = tuple(console.services.catalog.policy.warning_thresholds)
    now = datetime.now(UTC)
    return [Row(item=item,
                steps=[] if view is None else [(step.name, step.owner_id) for step in view.steps
                                               if step.status is StepStatus.ACTIVE],
                badges=[] if view is None else running_badges(view.clocks, thresholds, now))
            for item, view in zip(items, views, strict=True)]


@router.get("/", include_in_schema=False)
async def home() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/work", status_code=303)


@router.get("/work", response_class=HTMLResponse, name="work")
async def work(request: Request, console: ConsoleDep, session: SessionDep,
               queue: Queue = Queue.MINE,
               q: Annotated[str | None, Query(max_length=200)] = None) -> HTMLResponse:
    services = console.services
    viewer = viewer_of(services.catalog, session.person_id, within_hours=4,
                       now=datetime.now(UTC))
    filters = Filters(text=q.strip() or None if q else None)
    position = await latest_position(services.engine)
    pages = await asyncio.gather(*(queue_page(services.engine, each, viewer, filters,
                                              limit=_PAGE if each is queue else _COUNT_UP_TO)
                                   for each in QUEUES))
    counts = {each: (len(page.items), page.next_cursor is not None)
              for each, page in zip(QUEUES, pages, strict=True)}
    shown = pages[QUEUES.index(queue)] if queue in QUEUES else await queue_page(
        services.engine, queue, viewer, filters, limit=_PAGE)
    return console.renderer.page(
        request, "work.html", csrf=session.csrf, queues=QUEUES, queue=queue, counts=counts,
        rows=await rows_of(console, shown.items), search=q or "", position=position,
        person=session.person_id)
