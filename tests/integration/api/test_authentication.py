"""The authentication matrix: every kind of bad or misused credential is refused (401 when it
proves nothing, 403 when it proves someone who may not do this), and the event log does not
change. Then the good credentials of each kind work, and the development issuer is refused
outside development mode."""

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
from temporalio.testing import WorkflowEnvironment

from api.staff_tokens import DevIssuer
from domain.catalog import Catalog
from stack.paths import REPO_ROOT
from tests.integration.api.conftest import Api, api_on
from tests.integration.requests import patient
from tests.paths import FAST_CONFIG

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Attempt:
    name: str
    method: str
    path: str
    headers: dict[str, str]
    body: Mapping[str, object] | None
    status: int


async def test_bad_credentials_are_refused_and_nothing_is_written(api: Api,
                                                                  tmp_path: Path) -> None:
    request_id = str((await api.submit())["request_id"])
    other_request = str((await api.submit())["request_id"])
    link = (await api.http.post(f"/api/v1/requests/{other_request}/customer-links",
                                headers=api.staff("wang.fang"), json={})).json()["token"]
    owner = str((await api.http.get(f"/api/v1/requests/{request_id}",
                                    headers=api.staff("wang.fang"))).json()["live"]["owner_id"])
    before = await api.event_count()
    stranger = DevIssuer(tmp_path / "elsewhere", "caseflow")
    note = f"/api/v1/requests/{request_id}/add_note"
    read = f"/api/v1/requests/{request_id}"
    text = {"text": "内部备注"}
    phone = api.submission_body()
    attempts = [
        Attempt("no token", "POST", note, {}, text, 401),
        Attempt("not a bearer token", "POST", note, {"Authorization": "Basic d2FuZzp4"}, text,
                401),
        Attempt("garbage token", "POST", note, api.bearer("not.a.jwt"), text, 401),
        Attempt("bad signature", "POST", note, api.bearer(stranger.issue(owner)), text, 401),
        Attempt("expired", "POST", note, api.bearer(api.issuer.issue(
            owner, now=time.time() - 7200, lifetime_seconds=3600)), text, 401),
        Attempt("not yet valid", "POST", note, api.bearer(api.issuer.issue(
            owner, now=time.time() + 3600)), text, 401),
        Attempt("wrong audience", "POST", note, api.bearer(
            DevIssuer(api.state_dir, "billing-system").issue(owner)), text, 401),
        Attempt("identity provider, wrong audience", "POST", note, api.bearer(
            api.idp.token(owner, aud="erp")), text, 401),
        Attempt("identity provider, wrong issuer", "POST", note, api.bearer(
            api.idp.token(owner, iss="https://evil.test")), text, 401),
        Attempt("identity provider, expired", "POST", note, api.bearer(
            api.idp.token(owner, exp=int(time.time()) - 300)), text, 401),
        Attempt("unknown person", "POST", note, api.staff("nobody.here"), text, 403),
        Attempt("body names another actor", "POST", note, api.staff(owner),
                {**text, "actor": {"id": "zhou.min"}}, 403),
        Attempt("unknown API key", "POST", "/api/v1/requests",
                {**api.bearer("cfk_" + "x" * 43), "Idempotency-Key": "K-1"}, phone, 401),
        Attempt("API key for another channel", "POST", "/api/v1/requests",
                {**api.bearer(api.keys.web), "Idempotency-Key": "K-2"}, phone, 403),
        Attempt("API key without submit", "POST", "/api/v1/requests",
                {**api.bearer(api.keys.web_reader), "Idempotency-Key": "K-3"},
                {**phone, "channel": "web"}, 403),
        Attempt("API key naming another submitter", "POST", "/api/v1/requests",
                {**api.bearer(api.keys.phone), "Idempotency-Key": "K-4"},
                {**phone, "submitted_by": "zhou.min"}, 403),
        Attempt("API key acting on a request", "POST", note, api.bearer(api.keys.phone), text,
                403),
        Attempt("API key reading another channel", "GET", read, api.bearer(api.keys.web_reader),
                None, 403),
        Attempt("customer link for another request, read", "GET", read, api.bearer(link), None,
                403),
        Attempt("customer link for another request, reply", "POST",
                f"/api/v1/requests/{request_id}/record_customer_reply", api.bearer(link),
                {"message": "好的"}, 403),
        Attempt("customer link, staff action", "POST", f"/api/v1/requests/{other_request}/cancel",
                api.bearer(link), {"reason": "不要了"}, 403),
        Attempt("customer link tampered", "GET", f"/api/v1/requests/{other_request}",
                api.bearer(link[:-4] + "AAAA"), None, 401),
        Attempt("customer link submitting", "POST", "/api/v1/requests",
                {**api.bearer(link), "Idempotency-Key": "K-5"}, phone, 403),
    ]
    failures = []
    for attempt in attempts:
        response = await api.http.request(attempt.method, attempt.path, headers=attempt.headers,
                                          json=attempt.body)
        if response.status_code != attempt.status:
            failures.append(f"{attempt.name}: {response.status_code} {response.text[:200]}")
        elif response.headers["content-type"] != "application/problem+json":
            failures.append(f"{attempt.name}: not problem+json")
    assert not failures, "\n".join(failures)
    assert await api.event_count() == before, "a refused call wrote events"


async def test_each_kind_of_good_credential_works(api: Api) -> None:
    request_id = str((await api.submit())["request_id"])
    read = f"/api/v1/requests/{request_id}"
    by_idp = await api.http.get(read, headers=api.bearer(api.idp.token("zhou.min")))
    assert by_idp.status_code == 200, by_idp.text
    for key in (api.keys.phone, api.keys.phone_next):  # both keys of a rotation are valid
        response = await api.http.post("/api/v1/requests", json=api.submission_body(),
                                       headers={**api.bearer(key), "Idempotency-Key": key[-12:]})
        assert response.status_code == 200, response.text
    assert (await api.http.get(read, headers=api.bearer(api.keys.phone))).status_code == 200
    link = (await api.http.post(f"{read}/customer-links", headers=api.staff("wang.fang"),
                                json={"lifetime_hours": 1})).json()
    public = await api.http.get(link["url"].removeprefix(str(api.http.base_url)))
    assert public.status_code == 200, public.text
    assert public.json()["subject"] == "发票金额错误"
    assert "live" not in public.json()


async def test_the_development_issuer_is_refused_outside_development_mode(
        temporal_env: WorkflowEnvironment, pg_store_url: str, fast_catalog: Catalog,
        tmp_path: Path) -> None:
    async with api_on(temporal_env, pg_store_url, patient(fast_catalog), tmp_path,
                      dev_mode=False) as api:
        response = await api.http.get("/api/v1/requests/0000",
                                      headers=api.staff("wang.fang"))
        assert response.status_code == 401
        assert "issuer" in response.json()["detail"]


def test_the_token_command_needs_development_mode(tmp_path: Path) -> None:
    env = {**os.environ, "CASEFLOW_STATE_DIR": str(tmp_path), "CASEFLOW_CONFIG_DIR":
           str(FAST_CONFIG)}
    env.pop("CASEFLOW_API_DEV_MODE", None)
    refused = subprocess.run([sys.executable, "-m", "api", "token", "wang.fang"], env=env,
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert "CASEFLOW_API_DEV_MODE=1" in refused.stderr
    printed = subprocess.run([sys.executable, "-m", "api", "token", "wang.fang"],
                             env={**env, "CASEFLOW_API_DEV_MODE": "1"}, cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=60)
    assert printed.returncode == 0, printed.stderr
    claims = jwt.decode(printed.stdout.strip(), DevIssuer(tmp_path, "caseflow").public_key,
                        algorithms=["EdDSA"], audience="caseflow")
    assert claims["preferred_username"] == "wang.fang"
