"""A small real identity provider on loopback for the console's sign-in: an authorize endpoint
with a login form, and a token endpoint that checks the PKCE verifier against the challenge and
issues an RS256 access token the API's staff-token verification trusts (its JWKS file)."""

import asyncio
import base64
import hashlib
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from html import escape
from typing import Annotated
from urllib.parse import urlencode

import uvicorn
from fastapi import FastAPI, Form
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from api.server import QuietServer
from tests.integration.api.conftest import IdentityProvider

CLIENT_ID = "caseflow-console"


@dataclass
class Grant:
    person: str
    challenge: str
    redirect_uri: str


@dataclass
class LoopbackIdp:
    url: str
    grants: dict[str, Grant] = field(default_factory=dict)
    exchanged: list[str] = field(default_factory=list)
    """The people whose codes were exchanged, in order."""


def _idp_app(keys: IdentityProvider, state: LoopbackIdp) -> FastAPI:
    app = FastAPI()

    @app.get("/authorize", response_class=HTMLResponse)
    async def authorize(response_type: str, client_id: str, redirect_uri: str, state: str,
                        code_challenge: str, code_challenge_method: str,
                        scope: str = "") -> str:
        assert (response_type, client_id, code_challenge_method) == ("code", CLIENT_ID, "S256")
        hidden = "".join(f'<input type="hidden" name="{k}" value="{escape(v)}">' for k, v in (
            ("redirect_uri", redirect_uri), ("state", state), ("challenge", code_challenge)))
        return (f'<form method="post" action="/authorize">{hidden}<label for="u">Username'
                f'</label><input id="u" name="username"><button>Log in</button></form>')

    @app.post("/authorize")
    async def login(username: Annotated[str, Form()], redirect_uri: Annotated[str, Form()],
                    state: Annotated[str, Form()],
                    challenge: Annotated[str, Form()]) -> RedirectResponse:
        code = secrets.token_urlsafe(16)
        grants.grants[code] = Grant(person=username, challenge=challenge,
                                    redirect_uri=redirect_uri)
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}",
                                status_code=303)

    @app.post("/token")
    async def token(grant_type: Annotated[str, Form()], code: Annotated[str, Form()],
                    redirect_uri: Annotated[str, Form()], client_id: Annotated[str, Form()],
                    code_verifier: Annotated[str, Form()]) -> JSONResponse:
        grant = grants.grants.pop(code, None)
        digest = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest())
        if (grant is None or grant_type != "authorization_code" or client_id != CLIENT_ID
                or grant.redirect_uri != redirect_uri
                or digest.rstrip(b"=").decode() != grant.challenge):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        grants.exchanged.append(grant.person)
        return JSONResponse({"access_token": keys.token(grant.person), "token_type": "Bearer",
                             "expires_in": 600})

    grants = state
    return app


@asynccontextmanager
async def loopback_idp(keys: IdentityProvider) -> AsyncIterator[LoopbackIdp]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    state = LoopbackIdp(url=f"http://127.0.0.1:{sock.getsockname()[1]}")
    server = QuietServer(uvicorn.Config(_idp_app(keys, state), log_level="warning",
                                           lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield state
    finally:
        server.should_exit = True
        await task
        sock.close()
