"""The authorization-code flow with PKCE (RFC 7636, S256) against the identity provider: the
redirect to its authorize endpoint, and the exchange of the code for tokens at its token
endpoint. The token is then verified like any staff bearer token of the API."""

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from console.settings import OidcSettings

_TIMEOUT_SECONDS = 10.0


class SignInFailed(Exception):
    """The identity provider did not give a usable token; the message says why, briefly."""


@dataclass(frozen=True)
class Challenge:
    state: str
    verifier: str
    url: str


def _challenge_of(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def challenge(settings: OidcSettings, redirect_uri: str) -> Challenge:
    state = secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)
    query = urlencode({"response_type": "code", "client_id": settings.client_id,
                       "redirect_uri": redirect_uri, "scope": settings.scope, "state": state,
                       "code_challenge": _challenge_of(verifier),
                       "code_challenge_method": "S256"})
    separator = "&" if "?" in settings.authorize_url else "?"
    return Challenge(state=state, verifier=verifier,
                     url=f"{settings.authorize_url}{separator}{query}")


async def exchange(settings: OidcSettings, *, code: str, verifier: str,
                   redirect_uri: str) -> str:
    """The token naming the person: the access token when it is a JWT, else the ID token."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "client_id": settings.client_id, "code_verifier": verifier}
    try:
        async with httpx.AsyncClient(timeout=_TIMEOUT_SECONDS) as client:
            response = await client.post(settings.token_url, data=form,
                                         headers={"Accept": "application/json"})
    except httpx.HTTPError as error:
        raise SignInFailed(f"the identity provider did not answer ({type(error).__name__})"
                           ) from error
    if response.status_code != 200:
        raise SignInFailed(f"the identity provider refused the code ({response.status_code})")
    try:
        body = response.json()
    except ValueError as error:
        raise SignInFailed("the identity provider's answer is not JSON") from error
    for name in ("access_token", "id_token"):
        token = body.get(name) if isinstance(body, dict) else None
        if isinstance(token, str) and token.count(".") == 2:
            return token
    raise SignInFailed("the identity provider's answer holds no signed token")
