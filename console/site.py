"""The API and the console served together: the API's application with the console's routes
under /console and its assets under /console/static (served by the app itself; nothing is
loaded from the internet)."""

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.app import create_app
from api.services import Services
from console import (
    customer,
    live,
    manage,
    new_request,
    request_page,
    signin,
    story,
    time_page,
    whatif_page,
    work,
)
from console.context import PREFIX, BadForm, Console, SignInRequired
from console.rendering import Renderer
from console.sessions import Sessions
from console.settings import ConsoleSettings, console_settings_from_env

_STATIC = Path(__file__).parent / "static"


def create_site(services: Services, settings: ConsoleSettings | None = None) -> FastAPI:
    settings = settings or console_settings_from_env()
    app = create_app(services)
    renderer = Renderer()
    app.state.console = Console(services=services, settings=settings, renderer=renderer,
                                sessions=Sessions(services.settings.state_dir,
                                                  secure=settings.secure_cookies))

    async def to_signin(request: Request, _: Exception) -> Response:
        if request.headers.get("accept", "").startswith("text/event-stream"):
            return Response(status_code=401)
        return RedirectResponse(f"{PREFIX}/signin", status_code=303)

    async def bad_form(request: Request, _: Exception) -> HTMLResponse:
        return renderer.page(request, "bad_form.html", status_code=403)

    app.add_exception_handler(SignInRequired, to_signin)
    app.add_exception_handler(BadForm, bad_form)
    for module in (signin, work, request_page, new_request, customer, live, manage, story,
                   time_page, whatif_page):
        app.include_router(module.router, prefix=PREFIX, include_in_schema=False)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=_STATIC), name="console_static")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=303)

    return app
