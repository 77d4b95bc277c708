"""The API on a real uvicorn bound to a loopback port, in front of a real worker, the real
Temporal dev server and a fresh PostgreSQL store; httpx as the client."""

import asyncio
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from api.api_keys import new_key
from api.server import server_for
from api.services import Services, open_services
from api.settings import ApiSettings
from api.staff_tokens import DevIssuer
from domain.catalog import Catalog
from runtime.settings import Settings
from schema.tables import events
from tests.integration.conftest import Caseflow, running
from tests.integration.requests import billing_dispute, patient, temporal_address
from tests.paths import FAST_CONFIG


@dataclass
class Keys:
    phone: str
    phone_next: str
    web: str
    web_reader: str
    mail: str
    crm: str


IDP_ISSUER = "https://idp.xinghe.test/realms/staff"
IDP_KID = "idp-key-1"


@dataclass
class IdentityProvider:
    """A stand-in for the company's identity provider: an RSA key published as a JWKS file."""

    key: rsa.RSAPrivateKey
    jwks_file: Path

    def token(self, person_id: str, **claims: object) -> str:
        now = int(time.time())
        body: dict[str, object] = {"iss": IDP_ISSUER, "aud": "caseflow", "sub": "u-1",
                                   "preferred_username": person_id, "iat": now, "nbf": now,
                                   "exp": now + 600}
        return jwt.encode({**body, **claims}, self.key, algorithm="RS256",
                          headers={"kid": IDP_KID})


def identity_provider(folder: Path) -> IdentityProvider:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    path = folder / "jwks.json"
    path.write_text(json.dumps({"keys": [{**public, "kid": IDP_KID, "alg": "RS256",
                                          "use": "sig"}]}))
    return IdentityProvider(key=key, jwks_file=path)


@dataclass
class Api:
    http: httpx.AsyncClient
    flow: Caseflow
    services: Services
    issuer: DevIssuer
    keys: Keys
    state_dir: Path
    idp: IdentityProvider

    def staff(self, person_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.issue(person_id)}"}

    def bearer(self, credential: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {credential}"}

    def submission_body(self, **changes: object) -> dict[str, object]:
        body = billing_dispute(self.flow.catalog).model_dump(
            mode="json", exclude={"idempotency_key", "submitted_by"})
        return {**body, **changes}

    async def submit(self, *, key: str | None = None, person: str = "wang.fang",
                     **changes: object) -> dict[str, Any]:
        """A new request submitted by ``person``; its view."""
        response = await self.http.post("/api/v1/requests", json=self.submission_body(**changes),
                                        headers={**self.staff(person), "Idempotency-Key":
                                                 key or f"K-{uuid.uuid4().hex[:12]}"})
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        return view

    async def event_count(self) -> int:
        async with self.flow.engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(events)) or 0)


def _keys_file(folder: Path) -> tuple[Path, Keys]:
    phone, phone_hash = new_key()
    phone_next, phone_next_hash = new_key()
    web, web_hash = new_key()
    web_reader, web_reader_hash = new_key()
    mail, mail_hash = new_key()
    crm, crm_hash = new_key()
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

[[integrations]]
id = "mail-gateway"
channel = "email"
operations = ["email_inbound"]
submit_as = "wang.fang"
key_sha256 = ["{mail_hash}"]
defaults = {{ request_type = "billing_dispute", priority = "P3" }}

[[integrations]]
id = "crm"
channel = "api"
operations = ["customer_tier"]
submit_as = "wang.fang"
key_sha256 = ["{crm_hash}"]
''', encoding="utf-8")
    return path, Keys(phone=phone, phone_next=phone_next, web=web, web_reader=web_reader,
                      mail=mail, crm=crm)


def api_settings(env: WorkflowEnvironment, flow: Caseflow, state_dir: Path,
                 **overrides: object) -> ApiSettings:
    base = Settings(temporal_address=temporal_address(env), task_queue=flow.task_queue,
                    database_url=flow.engine.url.render_as_string(hide_password=False),
                    state_dir=state_dir, config_dir=FAST_CONFIG)
    return ApiSettings(base=base, **overrides)  # type: ignore[arg-type]


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
async def api_on(env: WorkflowEnvironment, url: str, catalog: Catalog, state_dir: Path, *,
                 check_logs: bool = True, **overrides: object) -> AsyncIterator[Api]:
    keys_path, keys = _keys_file(state_dir)
    idp = identity_provider(state_dir)
    async with running(env, url, catalog, task_queue=f"caseflow-api-{uuid.uuid4().hex[:8]}",
                       check_logs=check_logs) as flow:
        settings = api_settings(env, flow, state_dir, api_keys_file=keys_path,
                                jwks=str(idp.jwks_file), issuer=IDP_ISSUER,
                                **{"dev_mode": True, **overrides})
        async with open_services(settings, catalog=catalog) as services, serving(
                services) as http:
            yield Api(http=http, flow=flow, services=services,
                      issuer=DevIssuer(state_dir, settings.audience), keys=keys,
                      state_dir=state_dir, idp=idp)


@pytest.fixture
async def api(temporal_env: WorkflowEnvironment, pg_store_url: str, fast_catalog: Catalog,
              tmp_path: Path) -> AsyncIterator[Api]:
    """The API with hour-long SLA targets: only the tests' calls write events."""
    async with api_on(temporal_env, pg_store_url, patient(fast_catalog), tmp_path) as ready:
        yield ready
