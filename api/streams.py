"""Server-Sent Events of the event log: ``GET /api/v1/requests/{id}/events`` and
``GET /api/v1/events``. Each event's ``id`` is its position in the log, so a client that
reconnects with ``Last-Event-ID`` misses nothing and sees nothing twice. Staff see the events of
the requests they may read (``domain.visibility``), judged batch by batch, so a request handed
to their department shows from then on; an integration allowed to read sees its channel's
requests; a customer's link sees its request's public events, with only what was written to or
by them."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from api.api_keys import Operation
from api.dependencies import PrincipalDep, ServicesDep
from api.principals import CustomerPrincipal, IntegrationPrincipal, Principal, StaffPrincipal
from api.problems import ApiProblem
from api.read_rights import check_may_read, readable
from api.routes_common import PROBLEMS, REQUEST_ID
from api.services import Services
from domain.events import EventType
from eventstore.feed import FeedEvent, events_after, latest_position

router = APIRouter(tags=["events"])
POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 15.0
# What a customer sees of an event: its type, time, and the one text field meant for them.
_PUBLIC_TEXT = {
    EventType.SUBMITTED.value: "description",
    EventType.WAITING_ON_CUSTOMER.value: "question",
    EventType.CUSTOMER_REPLIED.value: "message",
    EventType.RESOLVED.value: "summary",
    EventType.RESOLUTION_CONFIRMED.value: "comment",
    EventType.RESOLUTION_REJECTED.value: "comment",
    EventType.REOPENED.value: None,
    EventType.CLOSED.value: None,
    EventType.CANCELLED.value: None,
}
_STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEMS, 200: {"content": {"text/event-stream": {}},
                      "description": "one `event:` per logged event, `id:` its log position"}}


def _position(last_event_id: str | None, after: int | None, default: int) -> int:
    if last_event_id is not None:
        if not last_event_id.isdigit():
            raise ApiProblem(422, "Last-Event-ID must be an event id this stream sent")
        return int(last_event_id)
    return default if after is None else after


# What a request is worked by (template, policy, calendars, rosters): the log's own record
# for rebuilding state, not news for anyone watching a request.
_BOOKKEEPING = frozenset({EventType.PLAN_PINNED.value, EventType.DEPARTMENT_PINNED.value})


def _visible(principal: Principal, event: FeedEvent) -> dict[str, Any] | None:
    if event.event_type in _BOOKKEEPING:
        return None
    base = {"id": event.id, "request_id": event.request_id, "sequence": event.sequence,
            "event_type": event.event_type, "occurred_at": event.occurred_at.isoformat()}
    if isinstance(principal, CustomerPrincipal):
        if event.event_type not in _PUBLIC_TEXT:
            return None
        field = _PUBLIC_TEXT[event.event_type]
        return {**base, "text": "" if field is None else str(event.payload.get(field, ""))}
    return {**base, "actor_id": event.actor_id, "actor_kind": event.actor_kind,
            "payload": event.payload}


def _frame(event: dict[str, Any]) -> str:
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return f"id: {event['id']}\nevent: {event['event_type']}\ndata: {data}\n\n"


async def _stream(services: Services, principal: Principal, position: int, *,
                  request_id: str | None, channel: str | None) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    quiet = 0.0
    while True:
        batch = await events_after(services.engine, position, request_id=request_id,
                                   channel=channel)
        allowed = None
        if batch and isinstance(principal, StaffPrincipal):
            allowed = await readable(services, principal.person_id,
                                     {event.request_id for event in batch})
        for event in batch:
            position = event.id
            if allowed is not None and event.request_id not in allowed:
                continue
            visible = _visible(principal, event)
            if visible is not None:
                yield _frame(visible)
        if batch:
            quiet = 0.0
            continue
        await asyncio.sleep(POLL_SECONDS)
        quiet += POLL_SECONDS
        if quiet >= HEARTBEAT_SECONDS:
            quiet = 0.0
            yield ": still here\n\n"


def _response(stream: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(stream, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _channel_of(principal: Principal) -> str | None:
    if isinstance(principal, IntegrationPrincipal):
        if Operation.READ not in principal.operations:
            raise ApiProblem(403, f"API key of {principal.integration_id} may not read events")
        return principal.channel.value
    return None


LastEventId = Annotated[str | None, Header(max_length=20, description="resume after this id")]
After = Annotated[int | None, Query(ge=0, description="start after this log position")]


@router.get("/requests/{request_id}/events", responses=_STREAM_RESPONSES,
            response_class=StreamingResponse, summary="Live events of one request (SSE)")
async def request_events(request_id: Annotated[str, REQUEST_ID], services: ServicesDep,
                         principal: PrincipalDep, last_event_id: LastEventId = None,
                         after: After = None) -> StreamingResponse:
    if isinstance(principal, CustomerPrincipal) and principal.request_id != request_id:
        raise ApiProblem(403, "this customer link is for another request")
    if isinstance(principal, StaffPrincipal):
        await check_may_read(services, principal.person_id, request_id)
    channel = _channel_of(principal)
    position = _position(last_event_id, after, 0)
    return _response(_stream(services, principal, position, request_id=request_id,
                             channel=channel))


@router.get("/events", responses=_STREAM_RESPONSES, response_class=StreamingResponse,
            summary="Live events of every request the caller may see (SSE)")
async def all_events(services: ServicesDep, principal: PrincipalDep,
                     last_event_id: LastEventId = None, after: After = None) -> StreamingResponse:
    if isinstance(principal, CustomerPrincipal):
        raise ApiProblem(403, "a customer link follows its own request's events only")
    channel = _channel_of(principal)
    default = await latest_position(services.engine) if (
        last_event_id is None and after is None) else 0
    position = _position(last_event_id, after, default)
    return _response(_stream(services, principal, position, request_id=None, channel=channel))


def events_response(services: Services, principal: Principal, *, after: int,
                    request_id: str | None = None) -> StreamingResponse:
    """The stream the routes above answer with, for another front end in this process (the
    console) that authenticated ``principal`` its own way."""
    return _response(_stream(services, principal, after, request_id=request_id,
                             channel=_channel_of(principal)))
