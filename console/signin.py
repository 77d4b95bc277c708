"""Signing in and out: with the identity provider (authorization code + PKCE), or in
development mode by choosing a roster person (the embedded roster of ``bin/demo --serve``);
and choosing the language."""

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.problems import ApiProblem
from console.context import PREFIX, ConsoleDep, SessionDep, check_csrf
from console.i18n import LOCALE_COOKIE, LOCALES
from console.oidc import SignInFailed, challenge, exchange
from console.sessions import same_token

router = APIRouter()
_HOME = f"{PREFIX}/work"


def _redirect_uri(request: Request) -> str:
    return str(request.url_for("oidc_callback"))


def _signin_page(request: Request, console: ConsoleDep, error: str | None = None,
                 status_code: int = 200) -> HTMLResponse:
    csrf = secrets.token_urlsafe(24)
    people = []
    if console.services.settings.dev_mode:
        for department in console.services.catalog.departments.values():
            people += [(member.id, member.name, department.name) for member in department.members]
    response = console.renderer.page(
        request, "signin.html", status_code=status_code, csrf=csrf,
        people=people, oidc=console.settings.oidc is not None, error=error)
    console.sessions.pend(response, {"csrf": csrf})
    return response


@router.get("/signin", response_class=HTMLResponse, name="signin")
async def signin(request: Request, console: ConsoleDep) -> HTMLResponse:
    return _signin_page(request, console)


@router.post("/signin/dev", name="signin_dev")
async def signin_dev(request: Request, console: ConsoleDep,
                     person_id: Annotated[str, Form(max_length=64)],
                     csrf: Annotated[str, Form(max_length=100)]) -> Response:
    _ = console.renderer.gettext(request)
    if not console.services.settings.dev_mode:
        return _signin_page(request, console, _("Development sign-in is off."), 403)
    if not same_token(console.sessions.pending(request).get("csrf", ""), csrf):
        return _signin_page(request, console, _("The form expired; please try again."), 403)
    roster = {m.id for d in console.services.catalog.departments.values() for m in d.members}
    if person_id not in roster:
        return _signin_page(request, console, _("That person is not on any roster."), 422)
    response = RedirectResponse(_HOME, status_code=303)
    console.sessions.start(response, person_id)
    return response


@router.get("/signin/oidc", name="signin_oidc")
async def signin_oidc(request: Request, console: ConsoleDep) -> Response:
    if console.settings.oidc is None:
        return _signin_page(request, console, None, 404)
    found = challenge(console.settings.oidc, _redirect_uri(request))
    response = RedirectResponse(found.url, status_code=303)
    console.sessions.pend(response, {"state": found.state, "verifier": found.verifier})
    return response


@router.get("/signin/callback", name="oidc_callback")
async def oidc_callback(request: Request, console: ConsoleDep, code: str = "",
                        state: str = "") -> Response:
    _ = console.renderer.gettext(request)
    pending = console.sessions.pending(request)
    if console.settings.oidc is None or not code or not same_token(pending.get("state", ""),
                                                                   state):
        return _signin_page(request, console, _("The sign-in expired; please try again."), 400)
    try:
        token = await exchange(console.settings.oidc, code=code,
                               verifier=pending.get("verifier", ""),
                               redirect_uri=_redirect_uri(request))
        principal = await console.services.authenticator.staff(token)
    except SignInFailed as error:
        return _signin_page(request, console, _("Sign-in failed: {reason}").format(
            reason=str(error)), 401)
    except ApiProblem as problem:
        return _signin_page(request, console, _("Sign-in failed: {reason}").format(
            reason=problem.detail), problem.status)
    response = RedirectResponse(_HOME, status_code=303)
    console.sessions.start(response, principal.person_id)
    return response


@router.post("/signout", name="signout")
async def signout(console: ConsoleDep, session: SessionDep,
                  csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    check_csrf(session, csrf)
    response = RedirectResponse(f"{PREFIX}/signin", status_code=303)
    console.sessions.end(response)
    return response


@router.get("/language/{locale}", name="language")
async def language(locale: str, back: str = _HOME) -> Response:
    target = back if back.startswith(f"{PREFIX}/") and "//" not in back else _HOME
    response = RedirectResponse(target, status_code=303)
    if locale in LOCALES:
        response.set_cookie(LOCALE_COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax",
                            path="/", httponly=True)
    return response
