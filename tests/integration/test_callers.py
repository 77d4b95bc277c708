"""What callers (the CLI, the API) see when Temporal says no or says nothing: a short refusal
for an oversized or nameless call, and, when no worker answers within the wait, a message that
says what is known instead of a hang or a traceback."""

import uuid

import pytest
from temporalio.testing import WorkflowEnvironment

import starter
from domain import commands as cmd
from domain.actors import Actor
from domain.catalog import Catalog
from stack.ports import free_port
from tests.integration.conftest import Caseflow, running
from tests.integration.hostile import MAX_REFUSAL
from tests.integration.requests import billing_dispute, patient, temporal_address
from tests.integration.test_submission import _submit_args, run_cli
from tests.paths import FAST_CONFIG
from workflows import client as calls


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, f"one line on stderr, got: {captured.err!r}"
    assert "Traceback" not in captured.err
    assert lines[0].startswith("caseflow: "), lines[0]
    return lines[0]


@pytest.mark.parametrize("size", [3_000_000, 5_000_000], ids=["over-blob-limit", "over-grpc"])
async def test_an_oversized_command_is_a_short_refusal(caseflow: Caseflow, size: int) -> None:
    submitted = await calls.submit_request(caseflow.client, patient(caseflow.catalog),
                                           billing_dispute(caseflow.catalog),
                                           task_queue=caseflow.task_queue)
    huge = cmd.AddNote.model_construct(actor=Actor(id=submitted.view.owner_id), text="x" * size)
    with pytest.raises(calls.ActionRefused) as refused:
        await calls.act(caseflow.client, submitted.request_id, "add_note", huge)
    message = str(refused.value)
    assert "too large" in message, message[:MAX_REFUSAL]
    assert len(message) <= MAX_REFUSAL, message[:MAX_REFUSAL]
    view = await calls.act(caseflow.client, submitted.request_id, "add_note",
                           cmd.AddNote(actor=Actor(id=submitted.view.owner_id), text="短"))
    assert view.sequence == submitted.view.sequence + 1


async def test_an_action_without_a_name_is_a_clear_refusal(caseflow: Caseflow) -> None:
    submitted = await calls.submit_request(caseflow.client, patient(caseflow.catalog),
                                           billing_dispute(caseflow.catalog),
                                           task_queue=caseflow.task_queue)
    with pytest.raises(calls.ActionRefused) as refused:
        await calls.act(caseflow.client, submitted.request_id, "",
                        cmd.AddNote(actor=Actor(id=submitted.view.owner_id), text="备注"))
    assert str(refused.value) == (f"request {submitted.request_id}: no action named (known: "
                                  f"{', '.join(cmd.ACTIONS)})")


async def test_submit_with_no_worker_says_what_is_known(
        temporal_env: WorkflowEnvironment, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEFLOW_CONFIG_DIR", str(FAST_CONFIG))
    args = _submit_args(temporal_address(temporal_env), f"nobody-{uuid.uuid4().hex[:8]}",
                        f"CLI-{uuid.uuid4().hex[:12]}")
    status = await run_cli(["--wait", "1.5", *args])
    line = one_line(capsys)
    assert status == 3, line
    assert "no confirmation within 1.5 s (is a worker running?)" in line, line
    assert "submitting the same key again is safe, or check with `status " in line, line


async def test_act_with_no_worker_says_the_outcome_is_unknown(
        temporal_env: WorkflowEnvironment, pg_store_url: str, fast_catalog: Catalog,
        capsys: pytest.CaptureFixture[str]) -> None:
    async with running(temporal_env, pg_store_url, patient(fast_catalog)) as flow:
        submitted = await calls.submit_request(flow.client, flow.catalog,
                                               billing_dispute(flow.catalog),
                                               task_queue=flow.task_queue)
    # The worker is gone: nobody runs the request's workflow tasks.
    status = await run_cli(["--temporal-address", temporal_address(temporal_env), "--wait",
                            "1.5", "act", "add_note", submitted.request_id, "--actor",
                            submitted.view.owner_id, "--field", "text=备注"])
    line = one_line(capsys)
    assert status == 3, line
    assert line == (f"caseflow: request {submitted.request_id}: no answer to add_note within "
                    "1.5 s (is a worker running?); not known whether the action was applied: "
                    f"check with `status {submitted.request_id}`"), line


async def test_temporal_unreachable_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    address = f"127.0.0.1:{free_port()}"
    status = await run_cli(["--temporal-address", address, "status", str(uuid.uuid4())])
    line = one_line(capsys)
    assert status == 2, line
    assert f"cannot reach Temporal at {address}" in line, line


def test_timeline_in_an_unknown_time_zone_is_one_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    status = starter.main(["timeline", str(uuid.uuid4()), "--tz", "Mars/Olympus"])
    line = one_line(capsys)
    assert status == 2, line
    assert line == ("caseflow: --tz 'Mars/Olympus' is not an IANA time zone "
                    "(e.g. Asia/Shanghai)"), line


async def test_a_megabyte_request_type_comes_back_as_a_short_refusal(caseflow: Caseflow) -> None:
    valid = billing_dispute(caseflow.catalog)
    # model_copy skips validation, as a careless caller's own model might.
    huge = valid.model_copy(update={"request_type": "x" * 1_000_000})
    with pytest.raises(calls.ActionRefused) as refused:
        await calls.submit_request(caseflow.client, caseflow.catalog, huge,
                                   task_queue=caseflow.task_queue)
    assert str(refused.value) == ("unknown request type 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                  "… (1000000 characters)' (known: billing_dispute)")
