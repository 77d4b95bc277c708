
"""Nothing personal in clear at Temporal: a request with a known customer runs on the real dev
server, and its raw history (fetched without the codec) and its visibility records hold none of
the customer's name, subject, description, notes or replies; each payload names its key. Keys
rotate while a request runs: what was sealed before still opens, what is sealed after uses the
new key, and a client without the new key is told which key it lacks."""

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from google.protobuf.message import Message
from prometheus_client import CollectorRegistry
from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
    ListWorkflowExecutionsRequest,
)
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain import commands as cmd
from domain.actors import Actor, ActorKind
from domain.catalog import Catalog
from domain.request import workflow_id_for
from eventstore.engine import create_engine
from kpi.metrics import CaseflowMetrics
from privacy.keys import KeyRing, generate_key
from runtime.converter import KEY_ID_METADATA, PayloadKeyError, data_converter
from runtime.settings import Settings
from tests.integration.conftest import Caseflow
from tests.integration.requests import billing_dispute, patient
from worker import build_worker
from workflows import client as calls
from workflows.request import PATCHES


def personal_texts() -> dict[str, str]:
    tag = uuid.uuid4().hex[:6]
    return {"name": f"杭州明远贸易有限公司{tag}", "subject": f"合同编号{tag}的发票金额不符",
            "description": f"联系人李娜{tag}，电话13800138000", "note": f"已致电李娜{tag}",
            "reply": f"李娜{tag}回复：附件是合同扫描件"}


async def raw_history(client: Client, workflow_id: str) -> list[Message]:
    """Every page of the workflow's history as the server stores it (nothing decoded)."""
    pages: list[Message] = []
    token = b""
    while True:
        page = await client.workflow_service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace=client.namespace, next_page_token=token,
                execution=WorkflowExecution(workflow_id=workflow_id)))
        pages.append(page)
        token = page.next_page_token
        if not token:
            return pages


async def visibility(client: Client, workflow_id: str) -> list[Message]:
    described = await client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(namespace=client.namespace,
                                         execution=WorkflowExecution(workflow_id=workflow_id)))
    listed = await client.workflow_service.list_workflow_executions(
        ListWorkflowExecutionsRequest(namespace=client.namespace,
                                      query=f'WorkflowId = "{workflow_id}"'))
    assert listed.executions, "the visibility store lists the request"
    return [described, listed]


def payloads_in(message: Message) -> list[Payload]:
    """Every Payload nested anywhere in ``message`` (map values included)."""
    if isinstance(message, Payload):
        return [message]
    found: list[Payload] = []
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            children = list(value.values())
        elif field.is_repeated:
            children = list(value)
        else:
            children = [value]
        for child in children:
            if isinstance(child, Message):
                found += payloads_in(child)
    return found


def is_patch_marker(payload: Payload) -> bool:
    if payload.metadata.get("encoding") != b"json/plain":
        return False
    value = json.loads(payload.data)
    names = [value.get("id")] if isinstance(value, dict) else value
    return isinstance(names, list) and all(
        isinstance(name, str) and name in PATCHES for name in names)


def in_clear(messages: list[Message], texts: dict[str, str]) -> list[str]:
    raw = b"".join(message.SerializeToString() for message in messages)
    return [what for what, text in texts.items() if text.encode() in raw]


async def test_a_requests_history_and_visibility_hold_no_personal_text(
        caseflow: Caseflow) -> None:
    texts = personal_texts()
    submission = billing_dispute(caseflow.catalog)
    submission = submission.model_copy(update={
        "customer": submission.customer.model_copy(update={"name": texts["name"]}),
        "subject": texts["subject"], "description": texts["description"]})
    submitted = await calls.submit_request(caseflow.client, caseflow.catalog, submission,
                                             task_queue=caseflow.task_queue)
    rid, owner = submitted.request_id, submitted.view.owner_id
    await calls.act(caseflow.client, rid, "add_note",
                      cmd.AddNote(actor=Actor(id=owner), text=texts["note"]))
    await calls.act(caseflow.client, rid, "ask_customer",
                      cmd.AskCustomer(actor=Actor(id=owner), question=texts["note"]))
    customer = Actor(id=submission.customer.id, kind=ActorKind.CUSTOMER)
    view = await calls.act(caseflow.client, rid, "record_customer_reply",
                             cmd.RecordCustomerReply(actor=customer, message=texts["reply"]))
    # An authorised read through the converter sees the customer.
    assert (view.customer_name, view.subject) == (texts["name"], texts["subject"])

    workflow_id = workflow_id_for(rid)
    assert not [text for text in texts.values() if text in workflow_id]
    history = await raw_history(caseflow.client, workflow_id)
    assert not in_clear(history, texts), "personal text in the raw history"
    assert not in_clear(await visibility(caseflow.client, workflow_id), texts), \
        "personal text in the visibility record"
    payloads = [p for page in history for p in payloads_in(page)]
    # Patch markers (and the TemporalChangeVersion search attribute they upsert) are written by
    # the SDK's core, never through a codec: they hold only the names of workflow.patched ids.
    sealed = [p for p in payloads if not is_patch_marker(p)]
    assert len(sealed) > 5
    assert {p.metadata["encoding"] for p in sealed} == {b"binary/encrypted"}
    assert {p.metadata[KEY_ID_METADATA] for p in sealed} == {b"test-1"}


@asynccontextmanager
async def worker_with(env: WorkflowEnvironment, ring: KeyRing, url: str, catalog: Catalog,
                      task_queue: str) -> AsyncIterator[Client]:
    """A client and a worker sealing under ``ring``, for as long as the caller iterates."""
    client = Client(env.client.service_client, namespace=env.client.namespace,
                    data_converter=data_converter(ring))
    engine = create_engine(url)
    worker = build_worker(client, Settings(task_queue=task_queue, database_url=url),
                          engine=engine, catalog=catalog,
                          metrics=CaseflowMetrics(CollectorRegistry()))
    try:
        async with worker:
            yield client
    finally:
        await engine.dispose()


async def test_keys_rotate_while_a_request_runs(temporal_env: WorkflowEnvironment,
                                                pg_store_url: str, fast_catalog: Catalog) -> None:
    old, new = generate_key(), generate_key()
    before = KeyRing(current="2026-11", keys={"2026-11": old})
    after = KeyRing(current="2026-12", keys={"2026-11": old, "2026-12": new})
    catalog = patient(fast_catalog)
    task_queue = f"caseflow-rotation-{uuid.uuid4().hex[:8]}"
    async with worker_with(temporal_env, before, pg_store_url, catalog, task_queue) as client:
        submitted = await calls.submit_request(client, catalog, billing_dispute(catalog),
                                                 task_queue=task_queue)
        triage = submitted.view.steps[0]
        await calls.act(client, submitted.request_id, "claim",
                          cmd.Claim(actor=Actor(id=triage.owner_id), step_key=triage.step_key))
    workflow_id = workflow_id_for(submitted.request_id)
    sealed_before = len([p for page in await raw_history(temporal_env.client, workflow_id)
                         for p in payloads_in(page) if not is_patch_marker(p)])

    async with worker_with(temporal_env, after, pg_store_url, catalog, task_queue) as client:
        # The new worker replays the history sealed under the old key, then goes on.
        view = await calls.act(client, submitted.request_id, "complete_step",
                                 cmd.CompleteStep(actor=Actor(id=triage.owner_id),
                                                  step_key=triage.step_key))
        assert any(s.status == "active" and s.department_id == "finance" for s in view.steps)

        stale = Client(temporal_env.client.service_client,
                       namespace=temporal_env.client.namespace,
                       data_converter=data_converter(before))
        with pytest.raises(PayloadKeyError, match="key '2026-12', which is not in the key ring"):
            await calls.request_status(stale, submitted.request_id)

    key_ids = [p.metadata[KEY_ID_METADATA]
               for page in await raw_history(temporal_env.client, workflow_id)
               for p in payloads_in(page) if not is_patch_marker(p)]
    assert set(key_ids[:sealed_before]) == {b"2026-11"}
    assert set(key_ids[sealed_before:]) == {b"2026-12"}
