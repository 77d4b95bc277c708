"""The console's session: a signed (HS256) cookie naming the roster person, with a CSRF token
every form posts back, kept HttpOnly, Secure and SameSite=Lax (Lax so that the identity
provider's redirect back to the console still carries the sign-in's own cookie)."""

import hmac
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import jwt
from fastapi import Request, Response

from runtime.state_secrets import load_or_create_secret

SESSION_COOKIE = "caseflow_session"
PENDING_COOKIE = "caseflow_signin"
SECRET_FILE = "console-session-secret"
SESSION_SECONDS = 10 * 3600
PENDING_SECONDS = 600
_AUDIENCE = "caseflow-console"


@dataclass(frozen=True)
class Session:
    person_id: str
    csrf: str


class Sessions:
    def __init__(self, state_dir: Path, *, secure: bool) -> None:
        self._secret = load_or_create_secret(state_dir / SECRET_FILE)
        self._secure = secure

    def _sign(self, claims: dict[str, object], lifetime: int) -> str:
        now = int(time.time())
        return jwt.encode({**claims, "aud": _AUDIENCE, "iat": now, "exp": now + lifetime},
                          self._secret, algorithm="HS256")

    def _read(self, token: str | None, kind: str) -> dict[str, object] | None:
        if not token:
            return None
        try:
            claims: dict[str, object] = jwt.decode(token, self._secret, algorithms=["HS256"],
                                                   audience=_AUDIENCE)
        except jwt.PyJWTError:
            return None
        return claims if claims.get("kind") == kind else None

    def _set(self, response: Response, name: str, value: str, lifetime: int) -> None:
        response.set_cookie(name, value, max_age=lifetime, httponly=True, secure=self._secure,
                            samesite="lax", path="/console")

    def start(self, response: Response, person_id: str) -> None:
        token = self._sign({"kind": "session", "sub": person_id,
                            "csrf": secrets.token_urlsafe(24)}, SESSION_SECONDS)
        self._set(response, SESSION_COOKIE, token, SESSION_SECONDS)
        response.delete_cookie(PENDING_COOKIE, path="/console")

    def end(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/console")

    def current(self, request: Request) -> Session | None:
        claims = self._read(request.cookies.get(SESSION_COOKIE), "session")
        if claims is None:
            return None
        return Session(person_id=str(claims["sub"]), csrf=str(claims["csrf"]))

    def pend(self, response: Response, values: dict[str, str]) -> None:
        """What a sign-in in progress must find again: the CSRF token of the sign-in form, or
        the OIDC state and PKCE verifier."""
        self._set(response, PENDING_COOKIE, self._sign({"kind": "pending", **values},
                                                       PENDING_SECONDS), PENDING_SECONDS)

    def pending(self, request: Request) -> dict[str, str]:
        claims = self._read(request.cookies.get(PENDING_COOKIE), "pending") or {}
        return {key: value for key, value in claims.items()
                if isinstance(value, str) and key not in ("kind", "aud")}

    def link_csrf(self, link: str) -> str:
        """The CSRF token of a customer's page: bound to their link, which only they hold."""
        return hmac.new(self._secret, b"link:" + link.encode(), "sha256").hexdigest()


def same_token(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())
