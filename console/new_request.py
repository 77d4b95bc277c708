"""A new request through the web channel: the form, and its submission as the signed-in
person. Each field's problem is shown beside it in the viewer's language; nothing is submitted
until every field is valid. The idempotency key is fixed when the form is drawn, so posting it
twice yields one request."""

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.gateway import Refusal, TemporalDown
from console.context import PREFIX, ConsoleDep, SessionDep, check_csrf
from console.refusals import translated
from domain.request import Channel, CustomerTier, Priority, RequestSubmission

router = APIRouter()
FIELDS = ("customer_id", "customer_name", "tier", "request_type", "priority", "subject",
          "description")


def problem_text(error: dict[str, Any], gettext: Any) -> str:
    kind = error["type"]
    if kind in ("missing", "string_too_short"):
        return str(gettext("This field is required."))
    if kind == "string_too_long":
        return str(gettext("Too long: at most {limit} characters.")).format(
            limit=error.get("ctx", {}).get("max_length", "?"))
    if kind in ("enum", "literal_error"):
        return str(gettext("Choose one of the listed values."))
    return str(gettext("This value is not valid."))


def _field_of(location: tuple[Any, ...]) -> str:
    if location[:1] == ("customer",) and len(location) > 1:
        return {"id": "customer_id", "name": "customer_name"}.get(str(location[1]),
                                                                   str(location[1]))
    return str(location[0]) if location else "form"


def _form(request: Request, console: ConsoleDep, session: Any, *, values: dict[str, str],
          problems: dict[str, str], error: str | None = None,
          status_code: int = 200) -> HTMLResponse:
    templates = sorted(console.services.catalog.templates.values(), key=lambda t: t.id)
    return console.renderer.page(
        request, "new.html", status_code=status_code, person=session.person_id,
        csrf=session.csrf, values=values, problems=problems, error=error,
        templates=templates, tiers=[t.value for t in CustomerTier],
        priorities=[p.value for p in Priority],
        key=values.get("key") or f"WEB-{uuid.uuid4().hex[:16]}")


@router.get("/new", response_class=HTMLResponse, name="new_request")
async def new_request(request: Request, console: ConsoleDep,
                      session: SessionDep) -> HTMLResponse:
    return _form(request, console, session, values={"priority": "P3", "tier": "standard"},
                 problems={})


@router.post("/new", name="submit_request")
async def submit_request(request: Request, console: ConsoleDep, session: SessionDep) -> Response:
    form = await request.form()
    check_csrf(session, form.get("csrf"))
    gettext = console.renderer.gettext(request)
    values = {name: str(form.get(name, "")).strip() for name in (*FIELDS, "key")}
    try:
        submission = RequestSubmission.model_validate({
            "idempotency_key": values["key"] or f"WEB-{uuid.uuid4().hex[:16]}",
            "customer": {"id": values["customer_id"], "name": values["customer_name"],
                         "tier": values["tier"] or "standard"},
            "channel": Channel.WEB.value, "request_type": values["request_type"],
            "priority": values["priority"], "subject": values["subject"],
            "description": values["description"], "submitted_by": session.person_id})
    except ValidationError as invalid:
        problems: dict[str, str] = {}
        for error in invalid.errors():
            problems.setdefault(_field_of(tuple(error["loc"])), problem_text(dict(error),
                                                                              gettext))
        return _form(request, console, session, values=values, problems=problems,
                     error=gettext("Please correct the marked fields."), status_code=422)
    try:
        submitted = await console.services.gateway.submit(submission)
    except (Refusal, TemporalDown) as refusal:
        return _form(request, console, session, values=values, problems={},
                     error=translated(str(refusal), gettext), status_code=422)
    return RedirectResponse(f"{PREFIX}/requests/{submitted.request_id}", status_code=303)
