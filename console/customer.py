"""The customer's page, opened from their signed link: the request's public status and
conversation (no internal notes, no owners), a reply, and confirming or rejecting the
resolution with a satisfaction score of 1 to 5. The link itself is the credential; its forms
carry a CSRF token bound to it. Staff issue the link from the request page."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.customer_links import LinkRejected
from api.gateway import Refusal, TemporalDown
from api.principals import CustomerPrincipal, actor_of
from api.requests_read import PUBLIC_ENTRIES
from api.routes_common import REQUEST_ID
from console.context import PREFIX, ConsoleDep, SessionDep, check_csrf
from console.refusals import translated
from console.sessions import same_token
from domain.commands import CustomerFeedback, RecordCustomerReply
from eventstore.conversation import conversation
from eventstore.timeline import UnknownRequest, request_timeline

router = APIRouter()
RequestId = Annotated[str, REQUEST_ID]
LinkField = Annotated[str, Form(max_length=8192)]


def _customer(console: ConsoleDep, request_id: str, link: str) -> CustomerPrincipal | None:
    try:
        principal = console.services.links.principal(link)
    except LinkRejected:
        return None
    return principal if principal.request_id == request_id else None


async def _page(request: Request, console: ConsoleDep, request_id: str, link: str, *,
                error: str | None = None, status_code: int = 200) -> HTMLResponse:
    _ = console.renderer.gettext(request)
    if _customer(console, request_id, link) is None:
        return console.renderer.page(request, "customer_denied.html", status_code=403)
    try:
        timeline = await request_timeline(console.services.engine, request_id)
        live = await console.services.gateway.status(request_id)
    except UnknownRequest:
        return console.renderer.page(request, "customer_denied.html", status_code=404)
    except (Refusal, TemporalDown) as failure:
        return console.renderer.page(request, "customer_denied.html", status_code=503,
                                     error=translated(str(failure), _))
    entries = [entry for entry in await conversation(console.services.engine, request_id)
               if entry.kind in PUBLIC_ENTRIES]
    return console.renderer.page(
        request, "customer.html", status_code=status_code, request_id=request_id,
        subject=timeline.request.subject, status=live.status.value,
        submitted_at=timeline.request.submitted_at, resolved_at=timeline.request.resolved_at,
        reopen_until=live.reopen_until, satisfaction=live.satisfaction, entries=entries,
        link=link, csrf=console.sessions.link_csrf(link), error=error)


@router.get("/c/{request_id}", response_class=HTMLResponse, name="customer_page")
async def customer_page(request: Request, request_id: RequestId, console: ConsoleDep,
                        link: str = "") -> HTMLResponse:
    return await _page(request, console, request_id, link)


async def _customer_act(request: Request, console: ConsoleDep, request_id: str, link: str,
                        csrf: str, action: str, fields: dict[str, object]) -> Response:
    _ = console.renderer.gettext(request)
    principal = _customer(console, request_id, link)
    if principal is None or not same_token(console.sessions.link_csrf(link), csrf):
        return console.renderer.page(request, "customer_denied.html", status_code=403)
    model = RecordCustomerReply if action == "record_customer_reply" else CustomerFeedback
    try:
        command = model.model_validate({**fields, "actor": actor_of(principal)})
        await console.services.gateway.act(request_id, action, command)
    except ValidationError:
        return await _page(request, console, request_id, link, status_code=422,
                           error=_("Please check what you entered."))
    except (Refusal, TemporalDown) as refusal:
        return await _page(request, console, request_id, link, status_code=409,
                           error=translated(str(refusal), _))
    return RedirectResponse(str(request.url_for("customer_page", request_id=request_id)
                                .include_query_params(link=link)), status_code=303)


@router.post("/c/{request_id}/reply", name="customer_reply")
async def customer_reply(request: Request, request_id: RequestId, console: ConsoleDep,
                         link: LinkField, csrf: Annotated[str, Form(max_length=100)],
                         message: Annotated[str, Form(max_length=20_000)]) -> Response:
    return await _customer_act(request, console, request_id, link, csrf,
                               "record_customer_reply", {"message": message})


@router.post("/c/{request_id}/feedback", name="customer_feedback")
async def customer_feedback(request: Request, request_id: RequestId, console: ConsoleDep,
                            link: LinkField, csrf: Annotated[str, Form(max_length=100)],
                            accepted: Annotated[str, Form(pattern="^(true|false)$")],
                            satisfaction: Annotated[int, Form(ge=1, le=5)],
                            comment: Annotated[str, Form(max_length=20_000)] = "") -> Response:
    return await _customer_act(request, console, request_id, link, csrf, "customer_feedback",
                               {"accepted": accepted == "true", "satisfaction": satisfaction,
                                "comment": comment})


@router.post("/requests/{request_id}/customer-link", name="issue_customer_link")
async def issue_customer_link(request: Request, request_id: RequestId, console: ConsoleDep,
                              session: SessionDep) -> Response:
    form = await request.form()
    check_csrf(session, form.get("csrf"))
    try:
        submission = await console.services.gateway.submission(request_id)
    except (Refusal, TemporalDown):
        return RedirectResponse(f"{PREFIX}/requests/{request_id}", status_code=303)
    token, _expires = console.services.links.issue(request_id, submission.customer.id)
    url = request.url_for("customer_page", request_id=request_id).include_query_params(
        link=token)
    return console.renderer.page(request, "link_issued.html", person=session.person_id,
                                 csrf=session.csrf, url=str(url), request_id=request_id)
