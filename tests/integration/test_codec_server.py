"""The codec server on loopback: the Temporal CLI, given its endpoint and the bearer token,
shows a real request's history decoded; without the token nothing is decoded; the shape is
the SDK's documented /encode and /decode."""

import asyncio
import base64
import json
import secrets
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from temporalio.testing import WorkflowEnvironment

from domain.request import workflow_id_for
from runtime.codec_server import (
    DEFAULT_ADDRESS,
    CodecServer,
    CodecServerSettingError,
    CodecServerSettings,
    settings_from,
)
from runtime.converter import EncryptionCodec, process_key_ring
from stack.ports import free_port
from stack.temporal_cli import ensure_temporal_cli
from tests.integration.conftest import Caseflow
from tests.integration.requests import billing_dispute, temporal_address
from workflows import client as calls

TOKEN = secrets.token_urlsafe(32)
UI_ORIGIN = "http://localhost:8233"


@pytest.fixture
def codec_url() -> Iterator[str]:
    settings = CodecServerSettings(host="127.0.0.1", port=free_port(), token=TOKEN,
                                   allow_origin=UI_ORIGIN)
    server = CodecServer(settings, EncryptionCodec(process_key_ring()))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{settings.port}"
    server.shutdown()
    server.server_close()


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def payload_texts(node: object) -> str:
    """The data of every payload in the CLI's JSON output, base64-decoded, one a line."""
    if isinstance(node, list):
        return "".join(payload_texts(each) for each in node)
    if not isinstance(node, dict):
        return ""
    if set(node) >= {"metadata", "data"}:
        return base64.b64decode(node["data"]).decode(errors="replace") + "\n"
    return "".join(payload_texts(each) for each in node.values())


async def show(env: WorkflowEnvironment, workflow_id: str, *codec: str) -> str:
    """The workflow's history as ``temporal workflow show`` prints it, payloads decoded as far
    as the CLI could (with the codec server when given), and anything it said on stderr."""
    process = await asyncio.create_subprocess_exec(
        str(ensure_temporal_cli()), "workflow", "show", "--workflow-id", workflow_id,
        "--address", temporal_address(env), "--output", "json", *codec,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    try:
        return payload_texts(json.loads(out)) + err.decode()
    except ValueError:
        return out.decode() + err.decode()


async def test_the_cli_shows_a_history_decoded_only_with_the_token(
        caseflow: Caseflow, temporal_env: WorkflowEnvironment, codec_url: str) -> None:
    name = f"苏州澄湖精密机械有限公司{secrets.token_hex(3)}"
    submission = billing_dispute(caseflow.catalog)
    submission = submission.model_copy(update={
        "customer": submission.customer.model_copy(update={"name": name})})
    submitted = await calls.submit_request(caseflow.client, caseflow.catalog, submission,
                                             task_queue=caseflow.task_queue)
    workflow_id = workflow_id_for(submitted.request_id)

    assert name not in await show(temporal_env, workflow_id)
    assert name not in await show(temporal_env, workflow_id, "--codec-endpoint", codec_url,
                                  "--codec-auth", "Bearer wrong-token")
    decoded = await show(temporal_env, workflow_id, "--codec-endpoint", codec_url,
                         "--codec-auth", f"Bearer {TOKEN}")
    assert name in decoded


def test_encode_then_decode_round_trips_and_refuses_what_is_wrong(codec_url: str) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    plain = {"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="},
                           "data": "IuadjuWonCI="}]}  # json/plain, "李娜"
    status, _, body = post(f"{codec_url}/encode", json.dumps(plain).encode(), auth)
    assert status == 200
    sealed = json.loads(body)
    assert sealed["payloads"][0]["metadata"]["encoding"] == "YmluYXJ5L2VuY3J5cHRlZA=="
    status, _, body = post(f"{codec_url}/decode", body, auth)
    assert (status, json.loads(body)) == (200, plain)

    assert post(f"{codec_url}/decode", json.dumps(sealed).encode(), {})[0] == 401
    status, _, body = post(f"{codec_url}/decode", b"{not json", auth)
    assert (status, body) == (400, b'expected {"payloads": [...]} (protobuf JSON)\n')
    assert post(f"{codec_url}/other", b"{}", auth)[0] == 404
    too_big = {**auth, "Content-Length": str(9 * 1024 * 1024)}
    assert post(f"{codec_url}/decode", b"{}", too_big)[0] == 413


def test_the_web_uis_preflight_is_answered_for_its_origin(codec_url: str) -> None:
    request = urllib.request.Request(f"{codec_url}/decode", method="OPTIONS",
                                     headers={"Origin": UI_ORIGIN})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == UI_ORIGIN
        assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
        assert "X-Namespace" in response.headers["Access-Control-Allow-Headers"]


def test_settings_default_to_loopback_and_refuse_a_missing_or_short_token() -> None:
    settings = settings_from({"CASEFLOW_CODEC_SERVER_TOKEN": TOKEN})
    assert f"{settings.host}:{settings.port}" == DEFAULT_ADDRESS
    with pytest.raises(CodecServerSettingError, match="at least 24 characters"):
        settings_from({})
    with pytest.raises(CodecServerSettingError, match="at least 24 characters"):
        settings_from({"CASEFLOW_CODEC_SERVER_TOKEN": "short"})
    with pytest.raises(CodecServerSettingError, match="is not HOST:PORT"):
        settings_from({"CASEFLOW_CODEC_SERVER_TOKEN": TOKEN}, address="8089")
