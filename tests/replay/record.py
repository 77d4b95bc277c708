"""Records histories of the request workflow for the replay tests.

    .venv/bin/python -m tests.replay.record VERSION

Runs requests through a real dev server and worker (fast test organisation, SQLite store in a
temporary folder) touching every handler and timer path, and writes each workflow's history to
``tests/replay/histories/customer_request_<VERSION>_<name>.json``. Record once per released
version of the workflow and keep the files: replaying them proves a change is compatible."""

import asyncio
import sys
import tempfile
from pathlib import Path

from prometheus_client import CollectorRegistry
from temporalio.contrib.pydantic import pydantic_data_converter

from catalog.loader import load_catalog
from domain import commands as cmd
from domain.actors import Actor, ActorKind
from domain.request import Priority, workflow_id_for
from domain.sla_clock import PauseReason
from eventstore.engine import create_engine
from eventstore.migrate import upgrade
from kpi.metrics import CaseflowMetrics
from runtime.settings import Settings
from stack.temporal_server import start_dev_server
from tests.integration.requests import billing_dispute, eventually
from tests.paths import FAST_CONFIG
from worker import build_worker
from workflows import client as calls
from workflows.messages import RequestView

HISTORIES = Path(__file__).resolve().parent / "histories"


async def record(version: str) -> list[Path]:
    catalog = load_catalog(FAST_CONFIG, years=[2026, 2027])
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/events.db"
        await upgrade(url)
        engine = create_engine(url)
        # Recorded in clear (synthetic customers): a history sealed under this run's payload key
        # could not be replayed under another run's; caseflow's codec passes unsealed payloads
        # through, so the replay tests read them with the real converter.
        env = await start_dev_server(data_converter=pydantic_data_converter)
        settings = Settings(task_queue="caseflow-record", database_url=url)
        worker = build_worker(env.client, settings, engine=engine, catalog=catalog,
                              metrics=CaseflowMetrics(CollectorRegistry()))
        written: list[Path] = []
        try:
            async with worker:
                lifecycle = await _lifecycle(env.client, catalog, settings.task_queue)
                cancelled = await _cancelled(env.client, catalog, settings.task_queue)
                for name, request_id in (("lifecycle", lifecycle), ("cancelled", cancelled)):
                    handle = env.client.get_workflow_handle(workflow_id_for(request_id))
                    history = await handle.fetch_history()
                    path = HISTORIES / f"customer_request_{version}_{name}.json"
                    path.write_text(history.to_json())
                    written.append(path)
        finally:
            await env.shutdown()
            await engine.dispose()
    return written


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


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.replay.record VERSION   (e.g. v1)")
    for path in asyncio.run(record(sys.argv[1])):
        print(f"wrote {path}")
