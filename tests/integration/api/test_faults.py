"""Faults at the front door: Temporal going away answers 503 with Retry-After (never an
internal phrase) and writes nothing, and the API process refuses bad settings and an
unreachable Temporal in one line with exit status 2."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from domain.catalog import Catalog
from runtime.converter import DATA_CONVERTER
from stack.paths import REPO_ROOT
from stack.ports import free_port
from stack.temporal_server import start_dev_server
from tests.integration.api.conftest import api_on
from tests.integration.requests import patient
from tests.paths import FAST_CONFIG

pytestmark = pytest.mark.integration


async def test_temporal_down_is_503_and_nothing_is_written(
        pg_store_url: str, fast_catalog: Catalog, tmp_path: Path) -> None:
    env = await start_dev_server(data_converter=DATA_CONVERTER)
    try:
        async with api_on(env, pg_store_url, patient(fast_catalog), tmp_path,
                          check_logs=False) as api:  # its server is taken down
            view = await api.submit()
            owner = api.staff(view["owner_id"])
            before = await api.event_count()
            await env.shutdown()
            ready = await api.http.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"]["temporal"] == "unreachable"
            for response in (
                await api.http.post(f"/api/v1/requests/{view['request_id']}/claim",
                                    headers=owner, json={}),
                await api.http.post("/api/v1/requests", json=api.submission_body(),
                                    headers={**owner, "Idempotency-Key": "K-while-down"}),
            ):
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"]
                assert response.headers["content-type"] == "application/problem+json"
                assert "Activity task failed" not in response.text
            assert await api.event_count() == before
    finally:
        await env.shutdown()


def _api(*args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CASEFLOW_CONFIG_DIR": str(FAST_CONFIG), **settings}
    return subprocess.run([sys.executable, "-m", "api", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("settings", "expected"), [
    ({"CASEFLOW_API_PORT": "eighty"}, "CASEFLOW_API_PORT='eighty' is not a TCP port"),
    ({"CASEFLOW_API_DEV_MODE": "maybe"}, "CASEFLOW_API_DEV_MODE='maybe' is not a boolean"),
    ({"CASEFLOW_API_JWKS": "/nonexistent/jwks.json", "CASEFLOW_API_ISSUER": "https://idp"},
     "is not a readable JWKS file"),
    ({"CASEFLOW_API_KEYS_FILE": "/nonexistent/keys.toml"}, "CASEFLOW_API_KEYS_FILE"),
    ({"CASEFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"}, "cannot reach Temporal"),
])
def test_the_api_process_refuses_bad_settings_in_one_line(
        settings: dict[str, str], expected: str, tmp_path: Path) -> None:
    result = _api(CASEFLOW_STATE_DIR=str(tmp_path), **settings)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
