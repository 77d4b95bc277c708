"""Signed links for customers: a token bound to one request and one customer, with an expiry,
signed (HMAC-SHA256 JWT) with a secret kept in the state folder. Holding one lets the customer
read the request's public status, reply, confirm or reject its resolution, and reopen it."""

import time
from pathlib import Path

import jwt

from api.principals import CustomerPrincipal
from runtime.state_secrets import load_or_create_secret

LINK_PREFIX = "cfl_"
SECRET_FILE = "api-link-secret"
_AUDIENCE = "caseflow-customer-link"
DEFAULT_LIFETIME_SECONDS = 14 * 24 * 3600


class LinkRejected(Exception):
    pass


class CustomerLinks:
    def __init__(self, state_dir: Path) -> None:
        self._secret = load_or_create_secret(state_dir / SECRET_FILE)

    def issue(self, request_id: str, customer_id: str, *,
              lifetime_seconds: int = DEFAULT_LIFETIME_SECONDS,
              now: float | None = None) -> tuple[str, int]:
        """The link token and when it expires (Unix seconds)."""
        issued = int(time.time() if now is None else now)
        expires = issued + lifetime_seconds
        token = jwt.encode({"aud": _AUDIENCE, "sub": customer_id, "request_id": request_id,
                            "iat": issued, "exp": expires}, self._secret, algorithm="HS256")
        return LINK_PREFIX + token, expires

    def principal(self, token: str) -> CustomerPrincipal:
        try:
            claims = jwt.decode(token.removeprefix(LINK_PREFIX), self._secret,
                                algorithms=["HS256"], audience=_AUDIENCE, leeway=30,
                                options={"require": ["exp", "sub", "request_id"]})
        except jwt.ExpiredSignatureError as error:
            raise LinkRejected("the customer link has expired") from error
        except jwt.PyJWTError as error:
            raise LinkRejected("the customer link is not valid") from error
        return CustomerPrincipal(customer_id=str(claims["sub"]),
                                 request_id=str(claims["request_id"]))
