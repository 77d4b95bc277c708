"""A customer's whole story for managers: every request across channels and departments with
the tier as of each, satisfaction over time, SLA outcomes, reopens and the time since the last
contact. The story and who may read it are analysis's (``analysis.queries.story``,
``analysis.access``), the same as the API's ``GET /customers/{id}``."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from analysis import queries
from analysis.access import NotAManager, check_manager
from console.context import ConsoleDep, SessionDep

router = APIRouter()
CustomerId = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/customers/{customer_id}", response_class=HTMLResponse, name="customer_story")
async def customer_story(request: Request, customer_id: CustomerId, console: ConsoleDep,
                         session: SessionDep) -> HTMLResponse:
    try:
        check_manager(console.services.catalog, session.person_id)
    except NotAManager:
        return console.renderer.page(request, "not_a_leader.html", status_code=403,
                                     person=session.person_id, csrf=session.csrf)
    story = await queries.story(console.services.engine, customer_id, datetime.now(UTC))
    if story is None:
        return console.renderer.page(request, "no_customer.html", status_code=404,
                                     customer_id=customer_id, person=session.person_id,
                                     csrf=session.csrf)
    departments = {d.id: d.name for d in console.services.catalog.departments.values()}
    return console.renderer.page(request, "customer_story.html", story=story,
                                 departments=departments, person=session.person_id,
                                 csrf=session.csrf)
