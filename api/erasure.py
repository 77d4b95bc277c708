"""Erasure of a customer's personal data over HTTP, for a data protection officer (PIPL):
``POST /api/v1/customers/{customer_id}/erasure``. The rule of who may erase and what erasing
does are eventstore.erasure's (erase_customer refuses anyone but an officer before it
writes); this route only translates."""

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict

from api.dependencies import PrincipalDep, ServicesDep
from api.principals import StaffPrincipal
from api.problems import ApiProblem
from api.routes_common import PROBLEMS
from eventstore.erasure import ErasureRefused, erase_customer
from operations.erasure_notices import tell_live_requests

router = APIRouter(tags=["data protection"])

CUSTOMER_ID = Path(min_length=1, max_length=64, description="the customer's id")
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: PROBLEMS[status] for status in (401, 403, 422, 429, 503)}


class ErasureView(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer_id: str
    requests: int
    """The customer's requests, whose personal fields are now unreadable."""
    erased: bool
    """False when the customer had already been erased (this call changed nothing)."""


@router.post("/customers/{customer_id}/erasure", response_model=ErasureView,
             responses=_PROBLEMS, summary="Erase a customer's personal data (data protection "
                                          "officers only)")
async def erase(services: ServicesDep, principal: PrincipalDep,
                customer_id: Annotated[str, CUSTOMER_ID]) -> ErasureView:
    if not isinstance(principal, StaffPrincipal):
        raise ApiProblem(403, "erasure is for a data protection officer")
    try:
        done = await erase_customer(services.engine, services.catalog, customer_id,
                                    by=principal.person_id)
    except ErasureRefused as error:
        raise ApiProblem(403, str(error)) from error
    await tell_live_requests(services.gateway.client, services.engine, done)
    return ErasureView(customer_id=done.customer_id, requests=done.requests, erased=done.done)
