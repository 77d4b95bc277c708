"""The service itself: probes, OpenAPI and docs, problem+json errors, the body limit, and 503
with Retry-After when the store is down."""

import dataclasses
import socket
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from api.services import open_services
from domain.commands import ACTIONS
from tests.integration.api.conftest import Api, serving

pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_probes_openapi_and_docs(api: Api) -> None:
    assert (await api.http.get("/healthz")).json() == {"status": "ok"}
    ready = await api.http.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"temporal": "ok", "store": "ok"}
    spec = (await api.http.get("/openapi.json")).json()
    for action in ACTIONS:
        operation = spec["paths"][f"/api/v1/requests/{{request_id}}/{action}"]["post"]
        assert "requestBody" in operation, action
    hand_off = spec["components"]["schemas"]["HandOffBody"]
    assert {"step_key", "to_department_id", "reason"} <= set(hand_off["required"])
    assert "actor" not in hand_off.get("required", [])
    docs = await api.http.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


async def test_errors_are_problem_json_naming_each_field(api: Api) -> None:
    missing = await api.http.get("/api/v1/nowhere", headers=api.staff("wang.fang"))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    huge = "客" * 5000
    bad = await api.http.post("/api/v1/requests", headers={
        **api.staff("wang.fang"), "Idempotency-Key": "K-bad"}, json={
        "customer": {"id": "", "name": huge}, "channel": "fax", "request_type": "x",
        "priority": "P9", "subject": "s"})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == PROBLEM
    problem = bad.json()
    assert {"type", "title", "status", "detail", "errors"} <= set(problem)
    fields = {error["field"] for error in problem["errors"]}
    assert {"body.customer.id", "body.customer.name", "body.channel", "body.priority"} <= fields
    assert huge not in bad.text, "the long value was echoed back"
    assert "Traceback" not in bad.text


async def test_a_body_over_the_limit_is_refused(api: Api) -> None:
    limit = api.services.settings.max_body_bytes
    response = await api.http.post(
        "/api/v1/requests", headers={**api.staff("wang.fang"), "Idempotency-Key": "K-big",
                                     "content-type": "application/json"},
        content=b'{"subject": "' + b"x" * (limit + 1) + b'"}')
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert await api.event_count() == 0


async def test_store_down_is_503_with_retry_after(
        api: Api, temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    request_id = (await api.submit())["request_id"]
    dead = f"postgresql+asyncpg://caseflow@127.0.0.1:{_closed_port()}/caseflow"
    settings = api.services.settings
    down = dataclasses.replace(settings, base=dataclasses.replace(settings.base,
                                                                  database_url=dead))
    async with open_services(down, catalog=api.services.catalog) as services, serving(
            services) as http:
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.headers["retry-after"]
        assert ready.json()["checks"] == {"temporal": "ok", "store": "unreachable"}
        read = await http.get(f"/api/v1/requests/{request_id}", headers=api.staff("wang.fang"))
        assert read.status_code == 503, read.text
        assert read.headers["content-type"] == PROBLEM
        assert read.headers["retry-after"]
