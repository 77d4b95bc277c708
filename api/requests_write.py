"""Commands over HTTP: submit a request (idempotent by the ``Idempotency-Key`` header), and one
route per action in ``domain.commands.ACTIONS``, whose actor is the authenticated caller."""

import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel, ValidationError

from api.api_keys import Operation
from api.bodies import ACTION_BODIES, CustomerLink, CustomerLinkBody, SubmitBody
from api.dependencies import PrincipalDep, ServicesDep
from api.gateway import Refusal
from api.principals import (
    CustomerPrincipal,
    IntegrationPrincipal,
    Principal,
    StaffPrincipal,
    actor_of,
)
from api.problems import ApiProblem, FieldProblem, invalid
from api.read_rights import check_may_read
from api.routes_common import PROBLEMS, REQUEST_ID, refused
from domain.actors import Actor
from domain.commands import ACTIONS
from domain.request import RequestSubmission
from eventstore.submission_claims import StillBeingCreated, claimed
from workflows.messages import RequestView

router = APIRouter(tags=["requests"])

CUSTOMER_ACTIONS = frozenset({"record_customer_reply", "customer_feedback", "reopen"})
"""What a customer's signed link may do, besides reading."""


def _submitter(principal: Principal, body: SubmitBody) -> str:
    if isinstance(principal, StaffPrincipal):
        submitter = principal.person_id
    elif isinstance(principal, IntegrationPrincipal):
        if Operation.SUBMIT not in principal.operations:
            raise ApiProblem(403, f"API key of {principal.integration_id} may not submit")
        if body.channel != principal.channel:
            raise ApiProblem(403, f"API key of {principal.integration_id} submits only on "
                                  f"channel {principal.channel.value}, not {body.channel.value}")
        submitter = principal.submit_as
    else:
        raise ApiProblem(403, "a customer link may not submit requests")
    if body.submitted_by is not None and body.submitted_by != submitter:
        raise ApiProblem(403, f"submitted_by names {body.submitted_by[:64]!r}, but the caller "
                              f"is {submitter}")
    return submitter


@router.post("/requests", response_model=RequestView, responses=PROBLEMS,
             summary="Submit a customer request (idempotent)")
async def submit(body: SubmitBody, services: ServicesDep, principal: PrincipalDep,
                 response: Response,
                 idempotency_key: Annotated[str | None, Header(
                     description="required: the same key and body return the same request",
                     max_length=128)] = None) -> RequestView:
    if idempotency_key is None or not idempotency_key.strip():
        raise ApiProblem(400, "the Idempotency-Key header is required", errors=[
            FieldProblem(field="header.idempotency-key", reason="required")])
    submitter = _submitter(principal, body)
    try:
        submission = RequestSubmission.model_validate({
            **body.model_dump(exclude={"submitted_by"}), "submitted_by": submitter,
            "idempotency_key": idempotency_key.strip()})
    except ValidationError as error:
        raise invalid(error) from error
    key = submission.idempotency_key
    try:
        async with claimed(services.engine, key):
            submitted = await services.gateway.submit(submission)
    except StillBeingCreated as error:
        raise ApiProblem(409, f"a request with idempotency key {key[:128]!r} is still being "
                              "created; retry shortly", headers={"Retry-After": "1"}) from error
    except Refusal as error:
        raise refused(error) from error
    response.headers["Location"] = f"/api/v1/requests/{submitted.request_id}"
    return submitted.view


def _actor(principal: Principal, action: str, request_id: str) -> Actor:
    if isinstance(principal, IntegrationPrincipal):
        raise ApiProblem(403, f"API key of {principal.integration_id} may not {action}: "
                              "actions need a person or the customer")
    if isinstance(principal, CustomerPrincipal):
        if principal.request_id != request_id:
            raise ApiProblem(403, "this customer link is for another request")
        if action not in CUSTOMER_ACTIONS:
            raise ApiProblem(403, f"a customer link may not {action}")
    return actor_of(principal)


def _action_endpoint(action: str, body_model: type[BaseModel]) -> Callable[
        ..., Awaitable[RequestView]]:
    command_model = ACTIONS[action]

    async def endpoint(request_id: str, body: Any, services: ServicesDep,
                       principal: PrincipalDep) -> RequestView:
        actor = _actor(principal, action, request_id)
        named = getattr(body, "actor", None)
        if named is not None and named != actor:
            raise ApiProblem(403, f"the body names actor {named.id!r}, but the caller is "
                                  f"{actor.id}")
        try:
            command = command_model.model_validate(
                {**body.model_dump(exclude={"actor"}), "actor": actor})
        except ValidationError as error:
            raise invalid(error) from error
        try:
            return await services.gateway.act(request_id, action, command)
        except Refusal as error:
            raise refused(error) from error

    # FastAPI reads the body's model from the signature: give it this action's.
    signature = inspect.signature(endpoint)
    endpoint.__signature__ = signature.replace(parameters=[  # type: ignore[attr-defined]
        parameter.replace(annotation=body_model) if name == "body"
        else parameter.replace(annotation=Annotated[str, REQUEST_ID])
        if name == "request_id" else parameter
        for name, parameter in signature.parameters.items()])
    return endpoint


for _action, _body in ACTION_BODIES.items():
    router.add_api_route(
        f"/requests/{{request_id}}/{_action}", _action_endpoint(_action, _body),
        methods=["POST"], response_model=RequestView, responses=PROBLEMS,
        summary=f"{_action.replace('_', ' ').capitalize()}",
        description=_body.__doc__ or "", name=_action)


@router.post("/requests/{request_id}/customer-links", response_model=CustomerLink,
             responses=PROBLEMS, tags=["customers"],
             summary="A signed link for the request's customer")
async def customer_link(request_id: Annotated[str, REQUEST_ID], body: CustomerLinkBody,
                        services: ServicesDep, principal: PrincipalDep,
                        request: Request) -> CustomerLink:
    if not isinstance(principal, StaffPrincipal):
        raise ApiProblem(403, "only staff may issue customer links")
    # A link lets its holder read the request: only someone who may read it may hand one out.
    await check_may_read(services, principal.person_id, request_id)
    try:
        submission = await services.gateway.submission(request_id)
    except Refusal as error:
        raise refused(error) from error
    token, expires = services.links.issue(request_id, submission.customer.id,
                                          lifetime_seconds=body.lifetime_hours * 3600)
    url = str(request.url_for("read_request", request_id=request_id))
    return CustomerLink(token=token, expires_at=expires, url=f"{url}?link={token}")
