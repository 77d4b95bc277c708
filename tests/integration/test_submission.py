"""Submissions: invalid ones are refused before any workflow starts (through the library, the
CLI and the model itself); duplicates of one idempotency key, even concurrent, are one request;
the same key with other content, or of a request already closed, is refused."""

import asyncio
import uuid
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from temporalio.client import Client, WorkflowExecution
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

import starter
from domain import commands as cmd
from domain.actors import Actor
from domain.catalog import Catalog
from domain.request import RequestSubmission, request_id_for, workflow_id_for
from domain.state import RequestStatus
from schema.tables import events
from tests.integration.conftest import Caseflow
from tests.integration.requests import billing_dispute, patient, temporal_address
from tests.paths import FAST_CONFIG
from workflows import client as calls
from workflows.messages import RequestView


async def assert_never_started(client: Client, key: str) -> None:
    handle = client.get_workflow_handle(workflow_id_for(request_id_for(key)))
    with pytest.raises(RPCError) as raised:
        await handle.describe()
    assert raised.value.status == RPCStatusCode.NOT_FOUND, raised.value.message


async def submitted_events(flow: Caseflow, request_id: str) -> int:
    async with flow.engine.connect() as conn:
        count = await conn.scalar(select(func.count()).select_from(events).where(
            events.c.request_id == request_id, events.c.event_type == "submitted"))
    return int(count or 0)


async def workflow_runs(client: Client, workflow_id: str) -> list[WorkflowExecution]:
    """Every run of ``workflow_id`` in visibility (which may lag a moment behind a start)."""
    for _ in range(50):
        runs = [w async for w in client.list_workflows(f"WorkflowId = '{workflow_id}'")]
        if runs:
            return runs
        await asyncio.sleep(0.1)
    return []


def comparable(view: RequestView) -> dict[str, Any]:
    """A view without when it was taken and the elapsed and remaining time of its clocks,
    which depend on that."""
    dumped = view.model_dump(mode="json")
    del dumped["as_of"]
    for clock in dumped["clocks"]:
        del clock["elapsed_seconds"], clock["remaining_seconds"]
    return dumped


# --- refused through the library --------------------------------------------------------------

async def test_an_unknown_request_type_is_refused_naming_the_known_types(
        caseflow: Caseflow) -> None:
    flow = caseflow
    submission = billing_dispute(flow.catalog).model_copy(update={"request_type": "保修申请"})
    with pytest.raises(calls.ActionRefused) as refused:
        await calls.submit_request(flow.client, flow.catalog, submission,
                                     task_queue=flow.task_queue)
    known = ", ".join(sorted(flow.catalog.templates))
    assert str(refused.value) == f"unknown request type '保修申请' (known: {known})"
    await assert_never_started(flow.client, submission.idempotency_key)


async def test_a_submitter_on_no_roster_is_refused(caseflow: Caseflow) -> None:
    flow = caseflow
    submission = billing_dispute(flow.catalog).model_copy(update={"submitted_by": "li.si"})
    with pytest.raises(calls.ActionRefused) as refused:
        await calls.submit_request(flow.client, flow.catalog, submission,
                                     task_queue=flow.task_queue)
    assert str(refused.value) == "submitted_by 'li.si' is not on any roster"
    await assert_never_started(flow.client, submission.idempotency_key)


# --- refused by the model ---------------------------------------------------------------------

@pytest.mark.parametrize(("change", "location", "error_type"), [
    ({"priority": "P9"}, ("priority",), "enum"),
    ({"priority": 2}, ("priority",), "enum"),
    ({"subject": "   "}, ("subject",), "string_too_short"),
    ({"subject": ["发票", "金额"]}, ("subject",), "string_type"),
    ({"channel": "fax"}, ("channel",), "enum"),
    ({"customer": {"id": "CUST-0086", "name": "上海星河贸易有限公司", "tier": "vip"}},
     ("customer", "tier"), "enum"),
    ({"urgency": "high"}, ("urgency",), "extra_forbidden"),
    ({"idempotency_key": ""}, ("idempotency_key",), "string_too_short"),
], ids=["priority-P9", "priority-int", "blank-subject", "subject-list", "channel-fax",
        "tier-vip", "extra-field", "empty-key"])
def test_the_submission_model_refuses_bad_input(
        fast_catalog: Catalog, change: dict[str, object], location: tuple[str, ...],
        error_type: str) -> None:
    raw = {**billing_dispute(fast_catalog).model_dump(mode="json"), **change}
    with pytest.raises(ValidationError) as refused:
        RequestSubmission.model_validate(raw)
    problems = refused.value.errors()
    assert [(tuple(p["loc"]), p["type"]) for p in problems] == [(location, error_type)], problems


# --- refused through the command line ---------------------------------------------------------

def _submit_args(temporal: str, task_queue: str, key: str, **overrides: str) -> list[str]:
    fields = {"--key": key, "--customer-id": "CUST-0086", "--customer-name": "上海星河贸易有限公司",
              "--tier": "key", "--channel": "phone", "--type": "billing_dispute",
              "--priority": "P2", "--subject": "十月发票金额与合同不符", "--agent": "wang.fang",
              **overrides}
    args = ["--temporal-address", temporal, "--task-queue", task_queue, "submit"]
    for flag, value in fields.items():
        args += [flag, value]
    return args


async def run_cli(args: list[str]) -> int:
    """``starter.main(args)`` in a thread (it runs its own event loop); its exit status."""
    def call() -> int:
        try:
            return starter.main(args)
        except SystemExit as exited:  # argparse exits instead of returning
            return int(exited.code or 0)
    return await asyncio.to_thread(call)


@pytest.mark.parametrize(("overrides", "extra", "fragment"), [
    ({"--priority": "P9"}, [], "invalid input: priority: Input should be 'P1', 'P2', 'P3' or 'P4'"),
    ({"--subject": "   "}, [], "invalid input: subject: String should have at least 1 character"),
    ({"--channel": "fax"}, [], "invalid input: channel: Input should be"),
    ({"--tier": "vip"}, [], "invalid input: customer.tier: Input should be"),
    ({}, ["--urgency", "high"], "invalid arguments: unrecognized arguments: --urgency high"),
    ({"--type": "保修申请"}, [], "unknown request type '保修申请' (known: billing_dispute)"),
    ({"--agent": "li.si"}, [], "submitted_by 'li.si' is not on any roster"),
], ids=["bad-priority", "blank-subject", "wrong-channel", "wrong-tier", "extra-field",
        "unknown-type", "not-on-roster"])
async def test_the_cli_refuses_a_bad_submission_in_one_line(
        caseflow: Caseflow, temporal_env: WorkflowEnvironment,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        overrides: dict[str, str], extra: list[str], fragment: str) -> None:
    monkeypatch.setenv("CASEFLOW_CONFIG_DIR", str(FAST_CONFIG))
    key = f"CLI-{uuid.uuid4().hex[:12]}"
    status = await run_cli(
        _submit_args(temporal_address(temporal_env), caseflow.task_queue, key, **overrides)
        + extra)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert status == 2, captured
    assert len(lines) == 1, f"one line on stderr, got: {captured.err!r}"
    assert lines[0].startswith("caseflow: "), lines[0]
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in captured.err
    assert captured.out == ""
    await assert_never_started(caseflow.client, key)


async def test_the_cli_refuses_an_extra_action_field_in_one_line(
        caseflow: Caseflow, temporal_env: WorkflowEnvironment,
        capsys: pytest.CaptureFixture[str]) -> None:
    submitted = await calls.submit_request(caseflow.client, patient(caseflow.catalog),
                                             billing_dispute(caseflow.catalog),
                                             task_queue=caseflow.task_queue)
    before = submitted.view.sequence
    for fields, fragment in ((["text=请核对", "colour=red"],
                              "invalid input: colour: Extra inputs are not permitted"),
                             (["text"], "--field 'text' is not NAME=VALUE")):
        args = ["--temporal-address", temporal_address(temporal_env), "act", "add_note",
                submitted.request_id, "--actor", submitted.view.owner_id]
        for field in fields:
            args += ["--field", field]
        status = await run_cli(args)
        captured = capsys.readouterr()
        assert status == 2, captured
        assert captured.err.strip() == f"caseflow: {fragment}", captured.err
    view = await calls.request_status(caseflow.client, submitted.request_id)
    assert view.sequence == before, "nothing was written"


# --- duplicates -------------------------------------------------------------------------------

async def test_five_concurrent_submissions_of_one_key_are_one_request(caseflow: Caseflow) -> None:
    flow = caseflow
    catalog = patient(flow.catalog)
    submission = billing_dispute(flow.catalog)
    results = await asyncio.gather(*(
        calls.submit_request(flow.client, catalog, submission, task_queue=flow.task_queue)
        for _ in range(5)))

    request_id = request_id_for(submission.idempotency_key)
    assert {r.request_id for r in results} == {request_id}
    first = comparable(results[0].view)
    for n, result in enumerate(results[1:], start=2):
        assert comparable(result.view) == first, f"caller {n} saw another view"
    assert results[0].view.owner_id
    assert results[0].view.steps

    workflow_id = workflow_id_for(request_id)
    runs = await workflow_runs(flow.client, workflow_id)
    assert [run.id for run in runs] == [workflow_id], runs
    description = await flow.client.get_workflow_handle(workflow_id).describe()
    assert description.run_id == runs[0].run_id
    assert await submitted_events(flow, request_id) == 1


async def test_the_same_key_with_other_content_is_refused(caseflow: Caseflow) -> None:
    flow = caseflow
    catalog = patient(flow.catalog)
    original = billing_dispute(flow.catalog, subject="十月发票金额错误")
    first = await calls.submit_request(flow.client, catalog, original,
                                         task_queue=flow.task_queue)
    other = original.model_copy(update={"subject": "十一月发票金额错误"})
    with pytest.raises(calls.ActionRefused) as refused:
        await calls.submit_request(flow.client, catalog, other, task_queue=flow.task_queue)
    message = str(refused.value)
    assert f"idempotency key {original.idempotency_key!r} was already used" in message
    assert first.request_id in message
    assert "十月发票金额错误" in message

    again = await calls.submit_request(flow.client, catalog, original,
                                         task_queue=flow.task_queue)
    assert again.request_id == first.request_id
    assert again.view.subject == "十月发票金额错误"
    assert await submitted_events(flow, first.request_id) == 1


async def test_a_duplicate_of_a_closed_request_is_refused(
        caseflow: Caseflow, temporal_env: WorkflowEnvironment,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    flow = caseflow
    catalog = patient(flow.catalog)
    submission = billing_dispute(flow.catalog)
    first = await calls.submit_request(flow.client, catalog, submission,
                                         task_queue=flow.task_queue)
    await calls.act(flow.client, first.request_id, "cancel", cmd.Cancel(
        actor=Actor(id=first.view.owner_id), reason="客户撤回申请"))
    handle = flow.client.get_workflow_handle(workflow_id_for(first.request_id),
                                             result_type=RequestView)
    assert (await handle.result()).status is RequestStatus.CANCELLED

    # Observed: REJECT_DUPLICATE + USE_EXISTING on a closed workflow makes start_workflow raise
    # WorkflowAlreadyStartedError; submit_request turns it into a refusal.
    with pytest.raises(calls.ActionRefused) as refused:
        await calls.submit_request(flow.client, catalog, submission,
                                     task_queue=flow.task_queue)
    assert f"request {first.request_id} already exists and is closed" in str(refused.value)
    assert submission.idempotency_key in str(refused.value)

    monkeypatch.setenv("CASEFLOW_CONFIG_DIR", str(FAST_CONFIG))
    status = await run_cli(_submit_args(temporal_address(temporal_env), flow.task_queue,
                                        submission.idempotency_key))
    captured = capsys.readouterr()
    assert status == 2, captured
    assert captured.err.startswith(f"caseflow: request {first.request_id} already exists and "
                                   "is closed"), captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert "Traceback" not in captured.err

    runs = await workflow_runs(flow.client, workflow_id_for(first.request_id))
    assert len(runs) == 1, f"no second run of a closed request: {runs}"
    assert await submitted_events(flow, first.request_id) == 1
