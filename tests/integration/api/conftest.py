"""The API on a real uvicorn bound to a loopback port, in front of a real worker, the real
Temporal dev server and a fresh PostgreSQL store; httpx as the client."""

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from api.api_keys import new_key
from api.server import server_for
from api.services import Services, open_services
from api.settings import ApiSettings
from api.staff_tokens import DevIssuer
from domain.configuration import Catalog
from runtime.settings import Settings
from schema.tables import events
from tests.integration.conftest import Caseflow, running
from tests.integration.requests import patient, temporal_address
from tests.paths import FAST_CONFIG


@dataclass
class Keys:
    phone: str
    phone_next: str
    web: str
    web_reader: str


@dataclass
class Api:
    http: httpx.AsyncClient
    flow: Caseflow
    services: Services
    issuer: DevIssuer
    keys: Keys
    state_dir: Path

    def staff(self, person_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.issue(person_id)}"}

    def bearer(self, credential: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {credential}"}

    async def event_count(self) -> int:
        async with self.flow.engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(events)) or 0)


def _keys_file(folder: Path) -> tuple[Path, Keys]:
    phone, phone_hash = new_key()
    phone_next, phone_next_hash = new_key()
    web, web_hash = new_key()
    web_reader, web_reader_hash = new_key()
    path = folder / "api-keys.toml"
    path.write_text(f'''
[[integrations]]
id = "call-centre"
channel = "phone"
operations = ["submit", "read"]
submit_as = "wang.fang"
key_sha256 = ["{phone_hash}", "{phone_next_hash}"]

[[integrations]]
id = "web-form"
channel = "web"
operations = ["submit"]
submit_as = "zhang.wei"
key_sha256 = ["{web_hash}"]

[[integrations]]
id = "web-reader"
channel = "web"
operations = ["read"]
submit_as = "zhang.wei"
key_sha256 = ["{web_reader_hash}"]
''', encoding="utf-8")
    return path, Keys(phone=phone, phone_next=phone_next, web=web, web_reader=web_reader)


def api_settings(env: WorkflowEnvironment, flow: Caseflow, state_dir: Path,
                 **overrides: object) -> ApiSettings:
    base = Settings(temporal_address=temporal_address(env), task_queue=flow.task_queue,
                    database_url=flow.engine.url.render_as_string(hide_password=False),
                    state_dir=state_dir, config_dir=FAST_CONFIG)
    return ApiSettings(base=base, dev_mode=True, **overrides)  # type: ignore[arg-type]


@asynccontextmanager
async def serving(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """The app on a real uvicorn on a loopback port, and an httpx client for it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # connections queue until uvicorn accepts: no waiting for start-up
    port = sock.getsockname()[1]
    server = server_for(services, host="127.0.0.1", port=port)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            yield http
    finally:
        server.should_exit = True
        await task
        sock.close()


@asynccontextmanager
async def api_on(env: WorkflowEnvironment, url: str, catalog: Catalog, state_dir: Path,
                 **overrides: object) -> AsyncIterator[Api]:
    keys_path, keys = _keys_file(state_dir)
    async with running(env, url, catalog, task_queue=f"caseflow-api-{uuid.uuid4().hex[:8]}"
                       ) as flow:
        settings = api_settings(env, flow, state_dir, api_keys_file=keys_path, **overrides)
        async with open_services(settings, catalog=catalog) as services, serving(
                services) as http:
            yield Api(http=http, flow=flow, services=services,
                      issuer=DevIssuer(state_dir, settings.audience), keys=keys,
                      state_dir=state_dir)


@pytest.fixture
async def api(temporal_env: WorkflowEnvironment, pg_store_url: str, fast_catalog: Catalog,
              tmp_path: Path) -> AsyncIterator[Api]:
    """The API with hour-long SLA targets: only the tests' calls write events."""
    async with api_on(temporal_env, pg_store_url, patient(fast_catalog), tmp_path) as ready:
        yield ready
