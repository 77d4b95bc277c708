"""caseflow's main job on one machine: the stack up on embedded defaults and a request through
it. Starts the Temporal dev server (state in .state/temporal.db, so a restart keeps every
workflow and timer) unless CASEFLOW_TEMPORAL_ADDRESS names a server, migrates the event store
(SQLite in .state/caseflow.db unless CASEFLOW_DATABASE_URL is set), runs a worker, walks a
billing dispute through three departments, and prints its status and timeline.
CASEFLOW_STATE_DIR moves .state elsewhere.

    python demo.py            # run the demo and exit
    python demo.py --serve    # then keep the stack serving until Ctrl-C
"""

import argparse
import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from zoneinfo import ZoneInfo

from prometheus_client import CollectorRegistry, start_http_server
from temporalio.client import Client

from api.server import serving_beside
from api.settings import api_settings_from_env
from catalog.loader import load_catalog_around
from catalog.problems import ConfigError
from console.site import create_site
from domain import commands as cmd
from domain.actors import Actor, ActorKind
from domain.catalog import Catalog
from domain.request import Channel, Customer, CustomerTier, Priority, RequestSubmission
from eventstore.engine import create_engine
from eventstore.errors import StoreUnavailable
from eventstore.migrate import upgrade
from eventstore.timeline import format_timeline, request_timeline
from kpi.metrics import CaseflowMetrics
from runtime.connection import TemporalUnavailable, connect
from runtime.converter import DATA_CONVERTER
from runtime.exit import exit_now, run_main
from runtime.settings import Settings, from_env
from stack.errors import StackError
from stack.ports import free_port, port_in_use
from stack.temporal_server import start_dev_server
from worker import build_dispatcher, build_worker
from workflows import client as calls
from workflows.messages import RequestView

DEFAULT_TEMPORAL_PORT = 7233


@asynccontextmanager
async def temporal(settings: Settings) -> AsyncIterator[tuple[Client, str]]:
    """A client to the configured server, or to a dev server started for the demo."""
    if os.environ.get("CASEFLOW_TEMPORAL_ADDRESS"):
        yield await connect(settings.temporal_address, settings.namespace,
                            transport=settings.temporal_transport), \
            settings.temporal_address
        return
    configured = os.environ.get("CASEFLOW_TEMPORAL_PORT")
    if configured and not configured.isdigit():
        raise StackError(f"CASEFLOW_TEMPORAL_PORT={configured!r} is not a port number")
    port = int(configured) if configured else (
        DEFAULT_TEMPORAL_PORT if not port_in_use(DEFAULT_TEMPORAL_PORT) else free_port())
    env = await start_dev_server(data_converter=DATA_CONVERTER, namespace=settings.namespace,
                                 port=port, db_file=settings.state_dir / "temporal.db", ui=True)
    try:
        yield env.client, f"127.0.0.1:{port}"
    finally:
        await env.shutdown()


def _say(text: str) -> None:
    print(text, flush=True)


async def walk_billing_dispute(client: Client, catalog: Catalog, task_queue: str) -> str:
    """Submits a billing dispute and works it through every stage to the customer's
    confirmation; returns the request id."""
    agent = catalog.departments[catalog.templates["billing_dispute"].owner_department_id]
    submission = RequestSubmission(
        idempotency_key=f"DEMO-{uuid.uuid4().hex[:10]}",
        customer=Customer(id="CUST-0086", name="上海星河贸易有限公司", tier=CustomerTier.KEY),
        channel=Channel.PHONE, request_type="billing_dispute", priority=Priority.P2,
        subject="十月发票金额与合同不符",
        description="客户来电：十月账单多收了两个席位的费用，要求核对并开具红字发票。",
        submitted_by=agent.with_role(catalog.templates["billing_dispute"].owner_role)[0].id,
    )
    submitted = await calls.submit_request(client, catalog, submission, task_queue=task_queue)
    request_id = submitted.request_id
    view = submitted.view
    _say(f"submitted {request_id}: {view.subject} — owner {view.owner_id}")

    async def step_work(view: RequestView) -> RequestView:
        for step in [s for s in view.steps if s.status == "active"]:
            owner = Actor(id=step.owner_id)
            view = await calls.act(client, request_id, "claim",
                                     cmd.Claim(actor=owner, step_key=step.step_key))
            if step.step_key == "triage.1":
                # Only customer service talks to the customer in this template.
                view = await calls.act(client, request_id, "ask_customer", cmd.AskCustomer(
                    actor=owner, question="请提供合同编号和多收费用的账单页截图。"))
                _say(f"  {step.owner_id} asked the customer: clocks paused")
                reply = cmd.RecordCustomerReply(actor=owner,
                                                message="合同号 XH-2026-118，截图已发送。")
                view = await calls.act(client, request_id, "record_customer_reply", reply)
            view = await calls.act(client, request_id, "complete_step", cmd.CompleteStep(
                actor=owner, step_key=step.step_key, outcome="已处理"))
            _say(f"  step {step.step_key} ({step.name}) done by {step.owner_id} "
                 f"in {step.department_id}")
        return view

    while any(s.status == "active" for s in view.steps):
        view = await step_work(view)
    owner = Actor(id=view.owner_id)
    view = await calls.act(client, request_id, "resolve", cmd.Resolve(
        actor=owner, summary="核实多收两个席位费用，已开具红字发票并退款。"))
    _say(f"resolved by {view.owner_id}")
    customer = Actor(id=submission.customer.id, kind=ActorKind.CUSTOMER)
    view = await calls.act(client, request_id, "customer_feedback", cmd.CustomerFeedback(
        actor=customer, accepted=True, satisfaction=5, comment="处理及时，谢谢！"))
    _say(f"customer confirmed (satisfaction 5): request {view.status}")
    return request_id


async def serve_until_stopped(settings: Settings, address: str, stop: asyncio.Event) -> None:
    """Keeps the stack up with the HTTP API in front of it (development tokens on: this is
    the single-machine run) until SIGINT or SIGTERM sets ``stop``."""
    api = replace(api_settings_from_env(), base=replace(settings, temporal_address=address),
                  dev_mode=True)
    if port_in_use(api.port):
        api = replace(api, port=free_port())
    async with serving_beside(api, app_factory=create_site) as url:
        _say(f"\nserving: Temporal at {address} (its web UI on the port 1000 above when the "
             f"demo started it); Ctrl-C stops\napi: {url}/docs (a token: "
             "CASEFLOW_API_DEV_MODE=1 .venv/bin/python -m api token wang.fang)\n"
             f"console: {url}/console/ (sign in as any roster person)")
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()


async def run(serve: bool) -> None:
    settings = from_env()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    catalog = load_catalog_around(settings.config_dir)
    for notice in catalog.notices:
        print(f"note: {notice}", file=sys.stderr)
    await upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    registry = CollectorRegistry()
    metrics_port = settings.metrics_port if not port_in_use(settings.metrics_port) \
        else free_port()
    start_http_server(metrics_port, addr="127.0.0.1", registry=registry)
    async with temporal(settings) as (client, address):
        _say(f"Temporal at {address}; event store {engine.url.render_as_string()}; "
             f"metrics on http://127.0.0.1:{metrics_port}/metrics")
        worker = build_worker(client, settings, engine=engine, catalog=catalog,
                              metrics=CaseflowMetrics(registry))
        dispatcher = build_dispatcher(settings, engine=engine, registry=registry)
        stop = asyncio.Event()
        async with worker:
            delivering = asyncio.create_task(dispatcher.run(stop))
            request_id = await walk_billing_dispute(client, catalog, settings.task_queue)
            _say("")
            owner_calendar = catalog.departments[
                catalog.templates["billing_dispute"].owner_department_id].calendar
            _say(format_timeline(await request_timeline(engine, request_id),
                                 tz=ZoneInfo(owner_calendar.timezone)))
            if serve:
                await serve_until_stopped(settings, address, stop)
            stop.set()
            await delivering
    await engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--serve", action="store_true", help="keep the stack serving afterwards")
    args = parser.parse_args()
    return run_main("caseflow demo", lambda: asyncio.run(run(args.serve)),
                    (StackError, TemporalUnavailable, StoreUnavailable, ConfigError,
                     calls.ActionRefused, ValueError, OSError), status=1)


if __name__ == "__main__":
    exit_now(main())
