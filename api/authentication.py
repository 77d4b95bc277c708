"""From the credentials on an HTTP request to a principal: a staff bearer token, an
integration's API key, or a customer's signed link. 401 when the credentials are missing or
not valid, 403 when they are valid but name nobody on the roster; 429 past the caller's rate."""

from fastapi import Request

from api.api_keys import KEY_PREFIX, ApiKeys
from api.customer_links import LINK_PREFIX, CustomerLinks, LinkRejected
from api.principals import Principal, StaffPrincipal
from api.problems import ApiProblem
from api.rate_limit import RateLimiter
from api.staff_tokens import StaffTokenVerifier, TokenRejected

LINK_QUERY_PARAMETER = "link"
_MISSING = ("authentication required: send 'Authorization: Bearer <token>' with a staff token, "
            "an API key or a customer link")


class Authenticator:
    def __init__(self, *, staff: StaffTokenVerifier, api_keys: ApiKeys, links: CustomerLinks,
                 roster: frozenset[str], limiter: RateLimiter) -> None:
        self._staff = staff
        self._keys = api_keys
        self._links = links
        self._roster = roster
        self._limiter = limiter

    async def principal(self, request: Request) -> Principal:
        principal = await self._identify(request)
        wait = self._limiter.retry_after(principal.name)
        if wait is not None:
            raise ApiProblem(429, "too many requests from this caller; try again later",
                             headers={"Retry-After": str(wait)})
        return principal

    async def _identify(self, request: Request) -> Principal:
        header = request.headers.get("authorization")
        credential: str | None = None
        if header is not None:
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise ApiProblem(401, "the Authorization header must be 'Bearer <token>'")
            credential = value.strip()
        else:
            credential = request.query_params.get(LINK_QUERY_PARAMETER)
        if not credential:
            raise ApiProblem(401, _MISSING)
        if len(credential) > 8192:
            raise ApiProblem(401, "the credential is too long to be valid")
        if credential.startswith(KEY_PREFIX):
            integration = self._keys.principal(credential)
            if integration is None:
                raise ApiProblem(401, "unknown API key")
            return integration
        if credential.startswith(LINK_PREFIX):
            try:
                return self._links.principal(credential)
            except LinkRejected as error:
                raise ApiProblem(401, str(error)) from error
        return await self.staff(credential)

    async def staff(self, token: str) -> StaffPrincipal:
        """The roster person a staff token names (the console's sign-in verifies the identity
        provider's token with this too); ApiProblem 401/403 otherwise."""
        try:
            person = await self._staff.person(token)
        except TokenRejected as error:
            raise ApiProblem(401, str(error)) from error
        if person not in self._roster:
            raise ApiProblem(403, f"{person[:64]!r} is not a person on any roster")
        return StaffPrincipal(person_id=person)
