"""The console's live feed: the API's Server-Sent Events of the event log, for the signed-in
person (a browser's EventSource cannot send a bearer token, so the session cookie names them).
Pages start it after the log position they were rendered at, so nothing between is missed."""

from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from api.principals import StaffPrincipal
from api.streams import events_response
from console.context import ConsoleDep, SessionDep

router = APIRouter()


@router.get("/live", name="live")
async def live(console: ConsoleDep, session: SessionDep,
               after: Annotated[int, Query(ge=0)] = 0,
               request_id: Annotated[str | None, Query(
                   max_length=64, pattern=r"^[0-9a-f-]{1,64}$")] = None,
               last_event_id: Annotated[str | None, Header(max_length=20)] = None,
               ) -> StreamingResponse:
    if last_event_id is not None and last_event_id.isdigit():
        after = int(last_event_id)  # the browser reconnecting: resume where it stopped
    return events_response(console.services, StaffPrincipal(person_id=session.person_id),
                           after=after, request_id=request_id)
