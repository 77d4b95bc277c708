"""Pages from Jinja2 templates, in the viewer's language and time zone. Autoescaping is on:
every customer's text reaches the page as text, never as markup."""

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from console.i18n import LOCALES, Formatter, locale_of, timezone_of, translations
from domain.events import EventType

_TEMPLATES = Path(__file__).parent / "templates"


def _environment(locale: str) -> Environment:
    environment = Environment(loader=FileSystemLoader(_TEMPLATES),
                              autoescape=select_autoescape(default=True),
                              extensions=["jinja2.ext.i18n"], trim_blocks=True,
                              lstrip_blocks=True)
    environment.install_gettext_translations(translations(locale),  # type: ignore[attr-defined]
                                             newstyle=True)
    # The live script listens for each of these by name (SSE frames are named by event type).
    environment.globals["event_types"] = " ".join(sorted(t.value for t in EventType))
    return environment


class Renderer:
    def __init__(self) -> None:
        self._environments = {locale: _environment(locale) for locale in LOCALES}

    def gettext(self, request: Request) -> Any:
        return translations(locale_of(request)).gettext

    def formatter(self, request: Request) -> Formatter:
        return Formatter(locale_of(request), timezone_of(request))

    def page(self, request: Request, template: str, status_code: int = 200,
             **context: Any) -> HTMLResponse:
        locale = locale_of(request)
        body = self._environments[locale].get_template(template).render(
            locale=locale, lang=locale.replace("_", "-"), fmt=self.formatter(request),
            path=request.url.path, query=str(request.url.query), **context)
        return HTMLResponse(body, status_code=status_code,
                            headers={"Cache-Control": "no-store",
                                 # a customer's page has their link in its address
                                 "Referrer-Policy": "no-referrer",
                                     "Content-Security-Policy": "default-src 'self'; "
                                     "frame-ancestors 'none'; form-action 'self'"})
