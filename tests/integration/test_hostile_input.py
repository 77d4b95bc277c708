"""Input that once broke live requests for good (issue 9): a blank step key, a null signal, NUL
and other control characters, a start input the workflow cannot decode. Each is refused (an
update rejected, a signal dropped, a start failed at once) with a short reason; nothing is
written; no workflow task fails; the request still takes a valid action afterwards."""

import asyncio
import uuid
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain import commands as cmd
from domain.actors import Actor
from domain.plan import plan_request
from domain.request import request_id_for, workflow_id_for
from domain.state import RequestStatus
from tests.integration.conftest import Caseflow
from tests.integration.hostile import MAX_REFUSAL, logged, task_failures
from tests.integration.requests import billing_dispute, patient, temporal_address
from tests.integration.test_submission import run_cli
from workflows import client as calls
from workflows.entry import INVALID_INPUT
from workflows.messages import WORKFLOW_NAME, RequestWorkflowInput

CUSTOMER = {"id": "CUST-0086", "kind": "customer"}


async def live_request(flow: Caseflow) -> tuple[calls.Submitted, WorkflowHandle[Any, Any]]:
    submitted = await calls.submit_request(flow.client, patient(flow.catalog),
                                           billing_dispute(flow.catalog),
                                           task_queue=flow.task_queue)
    handle = flow.client.get_workflow_handle(workflow_id_for(submitted.request_id))
    return submitted, handle


async def refusal(handle: WorkflowHandle[Any, Any], action: str, *args: Any) -> ApplicationError:
    """The refusal of the raw update ``action`` with ``args`` (which must be refused)."""
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(action, args=list(args))
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError), cause
    assert len(cause.message) <= MAX_REFUSAL, cause.message[:MAX_REFUSAL]
    return cause


async def test_a_blank_step_key_is_refused_and_the_request_works_on(
        caseflow: Caseflow) -> None:
    submitted, handle = await live_request(caseflow)
    triage = submitted.view.steps[0]
    before = await logged(caseflow.engine, submitted.request_id)
    for key in ("", "   ", "\t"):
        refused = await refusal(handle, "claim",
                                {"actor": {"id": triage.owner_id}, "step_key": key})
        assert refused.type == INVALID_INPUT, refused
        assert "claim: step_key: String should have at least 1 character" in refused.message
    assert await logged(caseflow.engine, submitted.request_id) == before

    view = await calls.act(caseflow.client, submitted.request_id, "claim",
                           cmd.Claim(actor=Actor(id=triage.owner_id), step_key=triage.step_key))
    assert view.steps[0].claimed_at is not None
    assert await task_failures(handle) == []


async def test_a_null_or_malformed_signal_is_dropped(caseflow: Caseflow) -> None:
    submitted, handle = await live_request(caseflow)
    rid = submitted.request_id
    before = await logged(caseflow.engine, rid)
    await handle.signal("customer_replied", None)
    await handle.signal("customer_replied", {"actor": 5, "message": ["不是文本"]})
    await handle.signal("customer_replied", {"actor": CUSTOMER, "message": "好的\x00"})
    await handle.signal("customer_replied")
    # Signals are handled in order, before this later update: when it answers, they were seen.
    view = await calls.act(caseflow.client, rid, "add_note",
                           cmd.AddNote(actor=Actor(id=submitted.view.owner_id), text="仍可操作"))
    assert view.status is not RequestStatus.CANCELLED
    assert await logged(caseflow.engine, rid) == before + 1, "only the note is written"
    assert await task_failures(handle) == []


async def test_a_null_or_missing_update_payload_is_refused(caseflow: Caseflow) -> None:
    _, handle = await live_request(caseflow)
    assert "add_note: no payload (null)" in (await refusal(handle, "add_note", None)).message
    assert "expected one AddNote payload, got 0" in (await refusal(handle, "add_note")).message
    assert "unknown action 'x" in (await refusal(handle, "x" * 100_000, {})).message
    assert await task_failures(handle) == []


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f\x00"],
                         ids=["nul", "soh", "esc", "del-nul"])
async def test_control_characters_in_a_command_are_refused(caseflow: Caseflow,
                                                           char: str) -> None:
    submitted, handle = await live_request(caseflow)
    rid = submitted.request_id
    owner = {"id": submitted.view.owner_id}
    before = await logged(caseflow.engine, rid)
    for action, payload in [
        ("add_note", {"actor": owner, "text": f"备注{char}"}),
        ("cancel", {"actor": owner, "reason": f"{char}重复"}),
        ("add_note", {"actor": {"id": f"{submitted.view.owner_id}{char}"}, "text": "备注"}),
    ]:
        refused = await refusal(handle, action, payload)
        assert refused.type == INVALID_INPUT, refused
        assert "contains a" in refused.message, refused.message
    assert await logged(caseflow.engine, rid) == before
    # Tab, newline and carriage return are text.
    await calls.act(caseflow.client, rid, "add_note",
                    cmd.AddNote(actor=Actor(id=owner["id"]), text="第一行\r\n\t第二行"))
    assert await logged(caseflow.engine, rid) == before + 1
    assert await task_failures(handle) == []


async def test_the_cli_refuses_a_blank_step_key_in_one_line(
        caseflow: Caseflow, temporal_env: WorkflowEnvironment,
        capsys: pytest.CaptureFixture[str]) -> None:
    submitted, handle = await live_request(caseflow)
    status = await run_cli([
        "--temporal-address", temporal_address(temporal_env), "act", "claim",
        submitted.request_id, "--actor", submitted.view.steps[0].owner_id,
        "--field", "step_key="])
    captured = capsys.readouterr()
    assert status == 2, captured
    assert captured.err.count("\n") == 1, captured.err
    assert "step_key: String should have at least 1 character" in captured.err
    assert await task_failures(handle) == []


async def undecodable_start(flow: Caseflow, *args: Any) -> tuple[ApplicationError, list[str]]:
    """Starts the workflow raw with ``args``; the reason it failed and its task failures."""
    handle = await flow.client.start_workflow(
        WORKFLOW_NAME, args=list(args), id=f"request-raw-{uuid.uuid4().hex[:12]}",
        task_queue=flow.task_queue)
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), timeout=30)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError), cause
    return cause, await task_failures(handle)


async def test_a_start_input_the_workflow_cannot_decode_fails_it_at_once(
        caseflow: Caseflow) -> None:
    catalog = patient(caseflow.catalog)
    submission = billing_dispute(caseflow.catalog)
    plan = plan_request(request_id_for(submission.idempotency_key), submission,
                        templates=catalog.templates, policy=catalog.policy,
                        departments=catalog.departments)
    # model_copy does not validate: a careless client can send this.
    nul_subject = plan.model_copy(update={
        "submission": submission.model_copy(update={"subject": "发票\x00"})})
    cases: list[tuple[str, list[Any], str]] = [
        ("a wrong shape", [{"plan": 42}], "workflow input: plan: Input should be"),
        ("null", [None], "workflow input: no payload (null)"),
        ("no input", [], "workflow input: no payload (null)"),
        ("a NUL in the subject", [RequestWorkflowInput(plan=nul_subject)],
         "plan.submission.subject: Value error, contains a control character U+0000"),
        ("a huge request type", [{"plan": {"submission": {"request_type": "x" * 1_000_000}}}],
         "workflow input: plan"),
    ]
    for name, args, fragment in cases:
        cause, failures = await undecodable_start(caseflow, *args)
        assert cause.type == INVALID_INPUT, (name, cause)
        assert fragment in cause.message, (name, cause.message)
        assert len(cause.message) <= MAX_REFUSAL, (name, cause.message[:MAX_REFUSAL])
        assert failures == [], (name, failures)
