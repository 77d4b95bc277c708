"""The request page: the customer (tier, their other requests), the conversation, the steps
with owners and durations (business and wall), the timeline (pauses, escalations, handoffs),
and a form for each action the person may take now. A post carries out one action through the
API's gateway as the signed-in person; a refusal comes back in the viewer's language."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from analysis.access import NotAManager, check_manager
from api.gateway import Refusal, TemporalDown
from api.routes_common import REQUEST_ID
from console.badges import running_badges
from console.context import PREFIX, ConsoleDep, SessionDep, check_csrf
from console.forms import action_fields, command_input
from console.refusals import translated
from domain.actors import Actor, ActorKind
from domain.commands import ACTIONS
from domain.offers import offers
from domain.state import FINAL_STATUSES
from eventstore.conversation import conversation
from eventstore.customers import customer_requests
from eventstore.feed import latest_position
from eventstore.timeline import UnknownRequest, request_timeline

router = APIRouter()
RequestId = Annotated[str, REQUEST_ID]


async def _page(request: Request, console: ConsoleDep, person_id: str, request_id: str,
                csrf: str, *, error: str | None = None, status_code: int = 200,
                values: dict[str, Any] | None = None) -> HTMLResponse:
    services = console.services
    _ = console.renderer.gettext(request)
    try:
        timeline = await request_timeline(services.engine, request_id)
    except UnknownRequest:
        return console.renderer.page(request, "missing.html", status_code=404,
                                     request_id=request_id, person=person_id, csrf=csrf)
    position = await latest_position(services.engine)
    entries = await conversation(services.engine, request_id)
    others = [r for r in await customer_requests(services.engine,
                                                 timeline.request.customer_id)
              if r.request_id != request_id]
    state = None
    try:
        live = await services.gateway.status(request_id)
        if live.status not in FINAL_STATUSES and live.parked is None:
            # Only then is there anything to offer; a closed workflow's queries each replay it.
            state = await services.gateway.state(request_id)
    except (Refusal, TemporalDown) as failure:
        live, error = None, error or translated(str(failure), _)
    thresholds = tuple(services.catalog.policy.warning_thresholds)
    try:
        check_manager(services.catalog, person_id)
        story_link = True  # the customer's whole story is a manager's page (console.story)
    except NotAManager:
        story_link = False
    return console.renderer.page(
        request, "request.html", status_code=status_code, person=person_id, csrf=csrf,
        timeline=timeline, entries=entries, others=others, live=live, error=error,
        story_link=story_link,
        clock_badges=[] if live is None else running_badges(live.clocks, thresholds,
                                                      datetime.now(UTC)),
        offers=[] if state is None else offers(state, Actor(id=person_id), datetime.now(UTC)),
        fields=action_fields, values=values or {}, position=position,
        departments=services.catalog.departments,
        calendar_zone=_zone_of(console, timeline.request.owner_department_id))


def _zone_of(console: ConsoleDep, department_id: str) -> str:
    department = console.services.catalog.departments.get(department_id)
    return "" if department is None else department.calendar.timezone


@router.get("/requests/{request_id}", response_class=HTMLResponse, name="request_page")
async def request_page(request: Request, request_id: RequestId, console: ConsoleDep,
                       session: SessionDep) -> HTMLResponse:
    return await _page(request, console, session.person_id, request_id, session.csrf)


@router.post("/requests/{request_id}/act/{action}", name="act")
async def act(request: Request, request_id: RequestId, action: str, console: ConsoleDep,
              session: SessionDep) -> Response:
    form = await request.form()
    check_csrf(session, form.get("csrf"))
    _ = console.renderer.gettext(request)
    if action not in ACTIONS:
        return await _page(request, console, session.person_id, request_id, session.csrf,
                           error=_("Unknown action."), status_code=404)
    raw = {key: value for key, value in form.items() if isinstance(value, str)}
    actor = Actor(id=session.person_id, kind=ActorKind.STAFF)
    try:
        command = ACTIONS[action].model_validate({**command_input(action, raw),
                                                  "actor": actor})
        await console.services.gateway.act(request_id, action, command)
    except ValidationError as invalid:
        message = "; ".join(_("field." + str(e["loc"][0])) + ": " + _("invalid value")
                            for e in invalid.errors() if e["loc"])
        return await _page(request, console, session.person_id, request_id, session.csrf,
                           error=message, status_code=422, values={action: raw})
    except (Refusal, TemporalDown) as refusal:
        return await _page(request, console, session.person_id, request_id, session.csrf,
                           error=translated(str(refusal), _),
                           status_code=503 if isinstance(refusal, TemporalDown) else 409,
                           values={action: raw})
    return RedirectResponse(f"{PREFIX}/requests/{request_id}", status_code=303)
