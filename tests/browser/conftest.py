"""The console in a real Chromium (Debian's, driven by Playwright; one browser per session, a
context per person) against the API process serving it on a loopback port, in front of a real
worker, the Temporal dev server and a fresh PostgreSQL store; a loopback identity provider for
the authorization-code sign-in. Screenshots go to tests/browser/screenshots/ (ignored)."""

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from temporalio.testing import WorkflowEnvironment

from api.server import server_for
from api.services import Services, open_services
from api.staff_tokens import DevIssuer
from console.settings import ConsoleSettings, OidcSettings
from console.site import create_site
from domain.catalog import Catalog
from tests.browser.identity_provider import CLIENT_ID, LoopbackIdp, loopback_idp
from tests.integration.api.conftest import IDP_ISSUER, api_settings, identity_provider
from tests.integration.conftest import fast_catalog, running
from tests.integration.requests import patient

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
__all__ = ["fast_catalog"]  # the session fixture, shared with the integration tests
SCREENSHOTS = Path(__file__).parent / "screenshots"


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                    args=CHROMIUM_FLAGS)
        yield launched
        await launched.close()


@dataclass
class Site:
    url: str
    services: Services
    idp: LoopbackIdp
    issuer: DevIssuer
    browser: Browser
    http: httpx.AsyncClient
    contexts: list[BrowserContext]

    async def person(self, person_id: str | None = None, *, locale: str | None = None,
                     width: int = 1280) -> Page:
        """A fresh browser context (its own cookies), signed in as ``person_id`` through the
        development sign-in page when given."""
        context = await self.browser.new_context(
            base_url=self.url, viewport={"width": width, "height": 900},
            timezone_id="Asia/Shanghai", locale="zh-CN")
        self.contexts.append(context)
        page = await context.new_page()
        if locale is not None:
            await page.goto(f"/console/language/{locale}?back=/console/signin")
        if person_id is not None:
            await page.goto("/console/signin")
            await page.select_option("#person_id", person_id)
            await page.get_by_role("button", name="登录" if locale is None else "Sign in",
                                   exact=True).click()
            await page.wait_for_url("**/console/work")
        return page

    def staff(self, person_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.issue(person_id)}"}

    async def act(self, request_id: str, action: str, person_id: str,
                  body: dict[str, Any]) -> dict[str, Any]:
        """An action through the HTTP API (someone else, at another desk)."""
        response = await self.http.post(f"/api/v1/requests/{request_id}/{action}",
                                        headers=self.staff(person_id), json=body)
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        return view


async def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
async def site(temporal_env: WorkflowEnvironment, pg_store_url: str, fast_catalog: Catalog,
               tmp_path: Path, browser: Browser) -> AsyncIterator[Site]:
    keys = identity_provider(tmp_path)
    catalog = patient(fast_catalog)
    async with loopback_idp(keys) as idp, running(
            temporal_env, pg_store_url, catalog,
            task_queue=f"caseflow-console-{uuid.uuid4().hex[:8]}") as flow:
        settings = api_settings(temporal_env, flow, tmp_path, jwks=str(keys.jwks_file),
                                issuer=IDP_ISSUER, dev_mode=True)
        console = ConsoleSettings(oidc=OidcSettings(
            authorize_url=f"{idp.url}/authorize", token_url=f"{idp.url}/token",
            client_id=CLIENT_ID))
        async with open_services(settings, catalog=catalog) as services:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sock.listen(64)
            url = f"http://127.0.0.1:{sock.getsockname()[1]}"
            server = server_for(services, host="127.0.0.1", port=0,
                                app_factory=lambda s: create_site(s, console))
            task = asyncio.create_task(server.serve(sockets=[sock]))
            contexts: list[BrowserContext] = []
            try:
                async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                    yield Site(url=url, services=services, idp=idp,
                               issuer=DevIssuer(tmp_path, settings.audience),
                               browser=browser, http=http, contexts=contexts)
            finally:
                for context in contexts:
                    await context.close()
                server.should_exit = True
                await task
                sock.close()
