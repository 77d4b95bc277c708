"""Facts about a customer over HTTP: a tier change (the CRM with an API key scoped to
``customer_tier``, or a manager), a merge of a suggested duplicate and its unmerge (managers).
Each is idempotent by the ``Idempotency-Key`` header. What may be recorded is
domain.customers'; these routes only translate."""

from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from analysis import customer_facts
from api.api_keys import Operation
from api.dependencies import PrincipalDep, ServicesDep
from api.principals import IntegrationPrincipal, Principal, StaffPrincipal
from api.problems import ApiProblem, FieldProblem
from api.routes_common import PROBLEMS, refused
from domain.authorization import Refused
from domain.catalog import Catalog
from domain.customers import CustomerEvent, MergeReason, check_customer_manager
from domain.request import CustomerTier

router = APIRouter(tags=["customers"])

CUSTOMER_ID = Path(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$",
                   description="the customer's id")
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    **{status: PROBLEMS[status] for status in (401, 403, 422, 429, 503)},
    400: {**PROBLEMS[422], "description": "the Idempotency-Key header is missing"},
    404: {**PROBLEMS[404], "description": "no request of that customer, or no such merge"},
    409: {**PROBLEMS[409], "description": "conflicts with the customer's facts (already "
                                          "merged, not suggested, key used for another fact)"}}
KeyHeader = Annotated[str | None, Header(
    description="required: the same key and body record one fact; the same key with another "
                "body is refused", max_length=64)]


class TierBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tier: CustomerTier = Field(description="the customer's tier from now on")


class MergeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    duplicate_id: str = Field(min_length=1, max_length=64,
                              description="the suggested duplicate merged into this customer")
    reason: MergeReason = Field(description="why the two ids are one customer (a code: the "
                                            "facts hold no personal data)")


class UnmergeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    merge_key: str = Field(min_length=1, max_length=64,
                           description="the Idempotency-Key of the merge to reverse")


class CustomerFact(BaseModel):
    """The fact as recorded; ``recorded`` is False when the key had already recorded it."""

    fact: CustomerEvent
    recorded: bool


def _key(header: str | None) -> str:
    if header is None or not header.strip():
        raise ApiProblem(400, "the Idempotency-Key header is required", errors=[
            FieldProblem(field="header.idempotency-key", reason="required")])
    return header.strip()


def _manager(catalog: Catalog, principal: Principal) -> str:
    if not isinstance(principal, StaffPrincipal):
        raise ApiProblem(403, "merges, unmerges and tier changes are for managers (staff "
                              "tokens) and the CRM's key")
    try:
        check_customer_manager(catalog, principal.person_id)
    except Refused as error:
        raise refused(error) from error
    return principal.person_id


def _tier_writer(catalog: Catalog, principal: Principal) -> str:
    if isinstance(principal, IntegrationPrincipal):
        if Operation.CUSTOMER_TIER not in principal.operations:
            raise ApiProblem(403, f"integration {principal.integration_id} may not change "
                                  f"tiers (its key lacks the {Operation.CUSTOMER_TIER} scope)")
        return principal.name
    return _manager(catalog, principal)


async def _answer(done: Awaitable[tuple[CustomerEvent, bool]],
                  response: Response) -> CustomerFact:
    try:
        fact, recorded = await done
    except Refused as error:
        raise refused(error) from error
    response.status_code = 201 if recorded else 200
    return CustomerFact(fact=fact, recorded=recorded)


@router.post("/customers/{customer_id}/tier", response_model=CustomerFact,
             responses=_PROBLEMS, status_code=201,
             summary="Record a customer's change of tier (the CRM's key, or managers)")
async def tier(customer_id: Annotated[str, CUSTOMER_ID], body: TierBody,
               services: ServicesDep, principal: PrincipalDep, response: Response,
               idempotency_key: KeyHeader = None) -> CustomerFact:
    key = _key(idempotency_key)
    by = _tier_writer(services.catalog, principal)
    return await _answer(customer_facts.change_tier(
        services.engine, customer_id, body.tier, key=key, by=by, now=datetime.now(UTC)),
        response)


@router.post("/customers/{customer_id}/merge", response_model=CustomerFact,
             responses=_PROBLEMS, status_code=201,
             summary="Merge a suggested duplicate into this customer (managers)")
async def merge(customer_id: Annotated[str, CUSTOMER_ID], body: MergeBody,
                services: ServicesDep, principal: PrincipalDep, response: Response,
                idempotency_key: KeyHeader = None) -> CustomerFact:
    key = _key(idempotency_key)
    by = _manager(services.catalog, principal)
    return await _answer(customer_facts.merge(
        services.engine, customer_id, body.duplicate_id, body.reason, key=key, by=by,
        now=datetime.now(UTC)), response)


@router.post("/customers/{customer_id}/unmerge", response_model=CustomerFact,
             responses=_PROBLEMS, status_code=201,
             summary="Reverse one merge of this customer (managers)")
async def unmerge(customer_id: Annotated[str, CUSTOMER_ID], body: UnmergeBody,
                  services: ServicesDep, principal: PrincipalDep, response: Response,
                  idempotency_key: KeyHeader = None) -> CustomerFact:
    key = _key(idempotency_key)
    by = _manager(services.catalog, principal)
    return await _answer(customer_facts.unmerge(
        services.engine, customer_id, body.merge_key, key=key, by=by,
        now=datetime.now(UTC)), response)
