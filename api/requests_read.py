"""Reading one request: for staff who may read it (``domain.visibility``: the people it
touched and the departments it passed through) and integrations allowed to read their
channel's requests, its live state, timeline and whole conversation; for the customer holding a
link, its public status and the conversation without internal notes."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel

from api.api_keys import Operation
from api.dependencies import PrincipalDep, ServicesDep
from api.gateway import Refusal
from api.principals import CustomerPrincipal, IntegrationPrincipal, StaffPrincipal
from api.problems import ApiProblem
from api.read_rights import check_may_read
from api.routes_common import PROBLEMS, REQUEST_ID, refused
from eventstore.conversation import ConversationEntry, EntryKind, conversation
from eventstore.timeline import RequestTimeline, UnknownRequest, request_timeline
from workflows.messages import RequestView

router = APIRouter(tags=["requests"])
PUBLIC_ENTRIES = frozenset(EntryKind) - {EntryKind.NOTE}


class RequestDetail(BaseModel):
    """A request as staff see it: the workflow's live state (SLA clocks with elapsed and
    target business seconds, deadlines, pauses), the timeline from the projections, and what
    was written on it."""

    live: RequestView
    timeline: RequestTimeline
    conversation: list[ConversationEntry]


class PublicRequest(BaseModel):
    """A request as its customer sees it."""

    request_id: str
    subject: str
    status: str
    submitted_at: datetime
    resolved_at: datetime | None
    reopen_until: datetime | None
    conversation: list[ConversationEntry]


@router.get("/requests/{request_id}", response_model=RequestDetail | PublicRequest,
            responses=PROBLEMS, name="read_request", summary="One request")
async def read_request(request_id: Annotated[str, REQUEST_ID], services: ServicesDep,
                       principal: PrincipalDep) -> RequestDetail | PublicRequest:
    if isinstance(principal, CustomerPrincipal) and principal.request_id != request_id:
        raise ApiProblem(403, "this customer link is for another request")
    if isinstance(principal, IntegrationPrincipal) and Operation.READ not in (
            principal.operations):
        raise ApiProblem(403, f"API key of {principal.integration_id} may not read requests")
    if isinstance(principal, StaffPrincipal):
        await check_may_read(services, principal.person_id, request_id)
    try:
        timeline = await request_timeline(services.engine, request_id)
    except UnknownRequest as error:
        raise ApiProblem(404, f"unknown request {request_id}") from error
    if (isinstance(principal, IntegrationPrincipal)
            and timeline.request.channel != principal.channel.value):
        raise ApiProblem(403, f"API key of {principal.integration_id} reads only requests of "
                              f"channel {principal.channel.value}")
    entries = await conversation(services.engine, request_id)
    try:
        live = await services.gateway.status(request_id)
    except Refusal as error:
        raise refused(error) from error
    if isinstance(principal, CustomerPrincipal):
        return PublicRequest(
            request_id=request_id, subject=timeline.request.subject, status=live.status.value,
            submitted_at=timeline.request.submitted_at, resolved_at=timeline.request.resolved_at,
            reopen_until=live.reopen_until,
            conversation=[entry for entry in entries if entry.kind in PUBLIC_ENTRIES])
    return RequestDetail(live=live, timeline=timeline, conversation=entries)
