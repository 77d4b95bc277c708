"""The mail gateway's door: ``POST /api/v1/channels/email/inbound`` with a parsed mail. A mail
naming a known open request (its id in the subject, or in ``In-Reply-To``/``References``)
resumes it through the ``customer_replied`` signal; any other mail becomes a new request with
the gateway's channel defaults, idempotent by its Message-ID (a gateway that retries creates
nothing twice)."""

import hashlib
import re
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from api.api_keys import Operation
from api.dependencies import PrincipalDep, ServicesDep
from api.gateway import Refusal
from api.principals import IntegrationPrincipal
from api.problems import ApiProblem
from api.routes_common import PROBLEMS, refused
from domain.actors import Actor, ActorKind
from domain.authorization import RefusalKind
from domain.commands import RecordCustomerReply
from domain.request import Channel, Customer, RequestSubmission
from eventstore.timeline import UnknownRequest, request_timeline

router = APIRouter(tags=["channels"])
_REQUEST_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_FINAL = {"closed", "cancelled"}
_SUBJECT_MAX = 200


class InboundMail(BaseModel):
    """A mail as the gateway parsed it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    from_address: Annotated[str, Field(min_length=3, max_length=254,
                                       pattern=r"^[^@\s]+@[^@\s]+$")]
    from_name: str = Field(default="", max_length=200)
    subject: str = Field(default="", max_length=998)
    message_id: str = Field(min_length=1, max_length=998)
    in_reply_to: str | None = Field(default=None, max_length=998)
    references: list[Annotated[str, Field(max_length=998)]] = Field(default=[], max_length=50)
    body: str = Field(default="", max_length=20_000)


class MailOutcome(StrEnum):
    REPLY_RELAYED = "reply_relayed"
    REQUEST_CREATED = "request_created"


class InboundResult(BaseModel):
    outcome: MailOutcome
    request_id: str


def _referenced(mail: InboundMail) -> list[str]:
    """Request ids the mail names, the subject's first, then its reply headers'."""
    found: list[str] = []
    for text in (mail.subject, mail.in_reply_to or "", *mail.references):
        for match in _REQUEST_ID.findall(text.lower()):
            if match not in found:
                found.append(match)
    return found


def _customer_id(address: str) -> str:
    """A stable customer id for a sender the organisation has no id for yet."""
    return "email-" + hashlib.sha256(address.lower().encode()).hexdigest()[:24]


@router.post("/channels/email/inbound", response_model=InboundResult, responses=PROBLEMS,
             summary="A mail from the mail gateway: a reply, or a new request")
async def inbound_mail(mail: InboundMail, services: ServicesDep, principal: PrincipalDep,
                       response: Response) -> InboundResult:
    if not (isinstance(principal, IntegrationPrincipal)
            and Operation.EMAIL_INBOUND in principal.operations
            and principal.channel is Channel.EMAIL):
        raise ApiProblem(403, "only the mail gateway's API key (channel email, operation "
                              "email_inbound) may deliver mail")
    for request_id in _referenced(mail):
        try:
            timeline = await request_timeline(services.engine, request_id)
        except UnknownRequest:
            continue
        if timeline.request.status in _FINAL:
            continue
        reply = RecordCustomerReply(
            actor=Actor(id=timeline.request.customer_id, kind=ActorKind.CUSTOMER),
            message=mail.body)
        try:
            await services.gateway.relay_customer_reply(request_id, reply)
        except Refusal as error:
            if error.kind is RefusalKind.NOT_FOUND:  # closed meanwhile: a new request
                break
            raise refused(error) from error
        response.status_code = 202
        return InboundResult(outcome=MailOutcome.REPLY_RELAYED, request_id=request_id)
    defaults = principal.defaults
    if defaults is None:
        raise ApiProblem(422, f"integration {principal.integration_id} has no channel defaults "
                              "for new requests (defaults in the API keys file)")
    submission = RequestSubmission(
        idempotency_key="email:" + hashlib.sha256(mail.message_id.encode()).hexdigest()[:40],
        customer=Customer(id=_customer_id(mail.from_address),
                          name=(mail.from_name or mail.from_address)[:200], tier=defaults.tier),
        channel=Channel.EMAIL, request_type=defaults.request_type, priority=defaults.priority,
        subject=(mail.subject or "(无主题)")[:_SUBJECT_MAX], description=mail.body,
        submitted_by=principal.submit_as)
    try:
        submitted = await services.gateway.submit(submission)
    except Refusal as error:
        raise refused(error) from error
    return InboundResult(outcome=MailOutcome.REQUEST_CREATED, request_id=submitted.request_id)


