"""What every console route receives: the API's services, the console's own parts, and the
signed-in person (or a redirect to the sign-in page)."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from api.services import Services
from console.rendering import Renderer
from console.sessions import Session, Sessions, same_token
from console.settings import ConsoleSettings

PREFIX = "/console"


class SignInRequired(Exception):
    """No valid session: the handler sends the browser to the sign-in page."""


class BadForm(Exception):
    """A form post without the session's CSRF token: refused, nothing done."""


@dataclass
class Console:
    services: Services
    settings: ConsoleSettings
    sessions: Sessions
    renderer: Renderer


def console(request: Request) -> Console:
    found: Console = request.app.state.console
    return found


ConsoleDep = Annotated[Console, Depends(console)]


def signed_in(request: Request) -> Session:
    session = console(request).sessions.current(request)
    if session is None:
        raise SignInRequired()
    return session


SessionDep = Annotated[Session, Depends(signed_in)]


def check_csrf(session: Session, given: object) -> None:
    if not same_token(session.csrf, given if isinstance(given, str) else None):
        raise BadForm()
