"""Records histories of the request workflow for the replay tests.

    .venv/bin/python -m tests.replay.record VERSION

Runs requests through a real dev server and worker (fast test organisation, SQLite store in a
temporary folder) touching every handler and timer path, and writes each workflow's history to
``tests/replay/histories/customer_request_<VERSION>_<name>.json``; a request long enough to be
continued as new (on a second server that suggests it after 60 history events) is written as
``continued_run1`` and ``continued_run2``. Record once per released version of the workflow
and keep the files: replaying them proves a change is compatible."""

import asyncio
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from catalog.loader import load_catalog
from domain import commands as cmd
from domain.actors import Actor, ActorKind
from domain.catalog import Catalog
from domain.erasure import ERASURE_SIGNAL, ErasureNotice
from domain.request import Priority, workflow_id_for
from domain.sla_clock import PauseReason
from eventstore.engine import create_engine
from eventstore.migrate import upgrade
from kpi.metrics import CaseflowMetrics
from runtime.settings import Settings
from stack.temporal_server import start_dev_server
from tests.integration.requests import billing_dispute, eventually, patient
from tests.paths import FAST_CONFIG
from worker import build_worker
from workflows import client as calls
from workflows.messages import RequestView

HISTORIES = Path(__file__).resolve().parent / "histories"


async def record(version: str) -> list[Path]:
    catalog = load_catalog(FAST_CONFIG, years=[2026, 2027])
    written: list[Path] = []

    async def keep(client: Client, name: str, request_id: str, run_id: str | None = None) -> None:
        handle = client.get_workflow_handle(workflow_id_for(request_id), run_id=run_id)
        path = HISTORIES / f"customer_request_{version}_{name}.json"
        path.write_text((await handle.fetch_history()).to_json())
        written.append(path)

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/events.db"
        await upgrade(url)
        engine = create_engine(url)
        settings = Settings(task_queue="caseflow-record", database_url=url)
        try:
            async with _worker_on(None, settings, engine, catalog) as client:
                await keep(client, "lifecycle",
                           await _lifecycle(client, catalog, settings.task_queue))
                await keep(client, "cancelled",
                           await _cancelled(client, catalog, settings.task_queue))
            async with _worker_on({"limit.historyCount.suggestContinueAsNew": "60"}, settings,
                                  engine, catalog) as client:
                request_id, first_run = await _continued(client, catalog, settings.task_queue)
                await keep(client, "continued_run1", request_id, first_run)
                await keep(client, "continued_run2", request_id)
        finally:
            await engine.dispose()
    return written


@asynccontextmanager
async def _worker_on(dynamic_config: dict[str, str] | None, settings: Settings,
                     engine: AsyncEngine, catalog: Catalog) -> AsyncIterator[Client]:
    """A dev server (with ``dynamic_config``) and a worker on it, for as long as the block."""
    # Recorded in clear (synthetic customers): a history sealed under this run's payload key
    # could not be replayed under another run's; caseflow's codec passes unsealed payloads
    # through, so the replay tests read them with the real converter.
    env = await start_dev_server(data_converter=pydantic_data_converter,
                                 dynamic_config=dynamic_config)
    try:
        async with build_worker(env.client, settings, engine=engine, catalog=catalog,
                                metrics=CaseflowMetrics(CollectorRegistry())):
            yield env.client
    finally:
        await env.shutdown()


async def _lifecycle(client, catalog, task_queue: str) -> str:  # type: ignore[no-untyped-def]
    submission = billing_dispute(catalog, key="replay-lifecycle", subject="重放：账单争议")
    submitted = await calls.submit_request(client, catalog, submission, task_queue=task_queue)
    rid = submitted.request_id
    customer = Actor(id=submission.customer.id, kind=ActorKind.CUSTOMER)

    async def act(action: str, command: cmd.RequestCommand) -> RequestView:
        return await calls.act(client, rid, action, command)

    async def status() -> RequestView:
        return await calls.request_status(client, rid)

    triage = submitted.view.steps[0]
    owner = Actor(id=triage.owner_id)
    await act("claim", cmd.Claim(actor=owner, step_key=triage.step_key))
    await act("add_note", cmd.AddNote(actor=owner, text="客户来电，情绪激动"))
    # From v5: the customer's erasure told to the live workflow, which appends it (the
    # next action waits for it behind the workflow's lock).
    await client.get_workflow_handle(workflow_id_for(rid)).signal(
        ERASURE_SIGNAL, ErasureNotice(customer_id=submission.customer.id,
                                      erased_by="lin.dpo", basis="request"))
    await act("ask_customer", cmd.AskCustomer(actor=owner, question="请提供合同编号",
                                              reason=PauseReason.CUSTOMER))
    await act("record_customer_reply", cmd.RecordCustomerReply(actor=customer, message="XH-118"))
    view = await act("complete_step", cmd.CompleteStep(actor=owner, step_key=triage.step_key))
    steps = {s.department_id: s for s in view.steps if s.status == "active"}
    tech = steps["technical_support"]
    await act("hand_off", cmd.HandOff(actor=Actor(id=tech.owner_id), step_key=tech.step_key,
                                      to_department_id="legal", role="specialist",
                                      reason="涉及合同条款"))
    await act("change_priority", cmd.ChangePriority(actor=Actor(id=(await status()).owner_id),
                                                    priority=Priority.P1, reason="客户升级"))
    finance = steps["finance"]
    view = await eventually(status, lambda v: any(
        b.clock_id == f"step:{finance.step_key}" and b.level == 3 for b in v.breaches),
        within=40, what="the head escalation")
    for step in [s for s in view.steps if s.status == "active"]:
        view = await act("complete_step", cmd.CompleteStep(actor=Actor(id=step.owner_id),
                                                           step_key=step.step_key))
    last = next(s for s in view.steps if s.status == "active")
    await act("complete_step", cmd.CompleteStep(actor=Actor(id=last.owner_id),
                                                step_key=last.step_key))
    await act("resolve", cmd.Resolve(actor=Actor(id=(await status()).owner_id), summary="已处理"))
    await act("customer_feedback", cmd.CustomerFeedback(actor=customer, accepted=False,
                                                        satisfaction=2))
    view = await act("reopen", cmd.Reopen(actor=customer, reason="未解决"))
    again = next(s for s in view.steps if s.status == "active")
    await act("complete_step", cmd.CompleteStep(actor=Actor(id=again.owner_id),
                                                step_key=again.step_key))
    await act("resolve", cmd.Resolve(actor=Actor(id=(await status()).owner_id), summary="已补偿"))
    await act("customer_feedback", cmd.CustomerFeedback(actor=customer, accepted=True,
                                                        satisfaction=4))
    return rid


async def _cancelled(client, catalog, task_queue: str) -> str:  # type: ignore[no-untyped-def]
    submission = billing_dispute(catalog, key="replay-cancelled", subject="重放：撤回")
    submitted = await calls.submit_request(client, catalog, submission, task_queue=task_queue)
    supervisor = catalog.departments["customer_service"].supervisor_id
    await calls.act(client, submitted.request_id, "cancel",
                      cmd.Cancel(actor=Actor(id=supervisor), reason="客户撤回"))
    return submitted.request_id


async def _continued(client, catalog, task_queue: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A request with enough notes to be continued as new, worked to its close; returns its
    id and the id of its first run."""
    calm = patient(catalog)
    submission = billing_dispute(calm, key="replay-continued", subject="重放：多次跟进")
    submitted = await calls.submit_request(client, calm, submission, task_queue=task_queue)
    rid = submitted.request_id
    first_run = (await client.get_workflow_handle(workflow_id_for(rid)).describe()).run_id
    triage = submitted.view.steps[0]
    owner = Actor(id=triage.owner_id)
    await calls.act(client, rid, "claim", cmd.Claim(actor=owner, step_key=triage.step_key))
    for n in range(25):
        await calls.act(client, rid, "add_note",
                          cmd.AddNote(actor=owner, text=f"第{n + 1}次跟进"))
    view = await calls.act(client, rid, "complete_step",
                             cmd.CompleteStep(actor=owner, step_key=triage.step_key))
    while active := [s for s in view.steps if s.status == "active"]:
        for step in active:
            view = await calls.act(client, rid, "complete_step", cmd.CompleteStep(
                actor=Actor(id=step.owner_id), step_key=step.step_key))
    await calls.act(client, rid, "resolve", cmd.Resolve(actor=Actor(id=view.owner_id),
                                                          summary="完成"))
    await calls.act(client, rid, "customer_feedback", cmd.CustomerFeedback(
        actor=Actor(id=submission.customer.id, kind=ActorKind.CUSTOMER), accepted=True,
        satisfaction=5))
    latest = (await client.get_workflow_handle(workflow_id_for(rid)).describe()).run_id
    if latest == first_run:
        raise RuntimeError(f"request {rid} was not continued as new")
    return rid, first_run


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.replay.record VERSION   (e.g. v1)")
    for path in asyncio.run(record(sys.argv[1])):
        print(f"wrote {path}")
