"""Issue 5 end to end: a worker (caseflow and Temporal SDK metrics) and the KPI collector, both
scraped by a real Prometheus loaded with deploy/'s rules, while requests run through the real
Temporal dev server into PostgreSQL. Every recording rule and every dashboard panel query must
return data, the key figures must be the ones the scenario produced, and a redelivered append
(what an activity retry does) must not count twice in what Prometheus scraped."""

import asyncio
import subprocess
import sys
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, start_http_server
from sqlalchemy import select
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.contracts import AppendInput
from activities.store import StoreActivities
from domain import commands as cmd
from domain.actors import Actor, ActorKind
from domain.catalog import Catalog
from domain.labels import RequestLabels
from eventstore.engine import create_engine
from eventstore.personal import PersonalData
from kpi.metrics import CaseflowMetrics
from runtime.converter import DATA_CONVERTER
from runtime.settings import Settings
from schema.tables import events
from stack.paths import REPO_ROOT
from stack.ports import free_port
from stack.prometheus import LocalPrometheus
from tests.deploy.support import (
    BOARDS,
    KPI_JOB,
    RULE_FILES,
    SDK_JOB,
    WORKER_JOB,
    load_yaml,
    query_panels,
    substitute,
)
from tests.integration.requests import billing_dispute, eventually
from tests.paths import FAST_CONFIG
from worker import build_worker
from workflows import client as calls
from workflows.messages import RequestView

pytestmark = pytest.mark.integration


@pytest.fixture
def collector_port(pg_store_url: str) -> Iterator[int]:
    """``python -m kpi.collector`` against the store, refreshing every second."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "kpi.collector", "--database-url", pg_store_url,
         "--port", str(port), "--address", "127.0.0.1", "--interval", "1",
         "--config-dir", str(FAST_CONFIG)],
        cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
    try:
        yield port
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.fixture
async def sdk_client(temporal_env: WorkflowEnvironment) -> tuple[Client, int]:
    """A client whose runtime exports the SDK's metrics, as worker.py's does."""
    port = free_port()
    runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(
        bind_address=f"127.0.0.1:{port}")))
    client = await Client.connect(temporal_env.client.service_client.config.target_host,
                                  namespace=temporal_env.client.namespace,
                                  data_converter=DATA_CONVERTER, runtime=runtime)
    return client, port


async def _work(client: Client, catalog: Catalog, task_queue: str, *, breach_finance: bool,
                reject_first: bool, score: int) -> str:
    submission = billing_dispute(catalog)
    customer = Actor(id=submission.customer.id, kind=ActorKind.CUSTOMER)
    submitted = await calls.submit_request(client, catalog, submission, task_queue=task_queue)
    rid, view = submitted.request_id, submitted.view

    async def status() -> RequestView:
        return await calls.request_status(client, rid)

    while active := [s for s in view.steps if s.status == "active"]:
        # Finance is left last; in the breaching request it waits until its target passes.
        for step in sorted(active, key=lambda s: s.department_id == "finance"):
            owner = Actor(id=step.owner_id)
            await calls.act(client, rid, "claim", cmd.Claim(actor=owner,
                                                               step_key=step.step_key))
            if breach_finance and step.department_id == "finance":
                clock_id = f"step:{step.step_key}"
                await eventually(status, lambda v, c=clock_id: any(  # type: ignore[misc]
                    b.clock_id == c for b in v.breaches), what="the finance step to breach")
                owner = Actor(id=next(s.owner_id for s in (await status()).steps
                                      if s.step_key == step.step_key))
            view = await calls.act(client, rid, "complete_step", cmd.CompleteStep(
                actor=owner, step_key=step.step_key))
    resolve = cmd.Resolve(actor=Actor(id=(await status()).owner_id), summary="已处理")
    await calls.act(client, rid, "resolve", resolve)
    if reject_first:
        await calls.act(client, rid, "customer_feedback", cmd.CustomerFeedback(
            actor=customer, accepted=False, satisfaction=2))
        view = await calls.act(client, rid, "reopen", cmd.Reopen(actor=customer,
                                                                    reason="未解决"))
        again = next(s for s in view.steps if s.status == "active")
        await calls.act(client, rid, "claim", cmd.Claim(actor=Actor(id=again.owner_id),
                                                          step_key=again.step_key))
        await calls.act(client, rid, "complete_step", cmd.CompleteStep(
            actor=Actor(id=again.owner_id), step_key=again.step_key))
        resolve = cmd.Resolve(actor=Actor(id=(await status()).owner_id), summary="已补救")
        await calls.act(client, rid, "resolve", resolve)
    await calls.act(client, rid, "customer_feedback", cmd.CustomerFeedback(
        actor=customer, accepted=True, satisfaction=score))
    return rid


def _value(result: list[dict[str, object]]) -> float:
    assert len(result) == 1, result
    sample = result[0]["value"]
    assert isinstance(sample, list)
    return float(sample[1])


async def test_rules_and_panels_read_a_real_scenario(
        temporal_env: WorkflowEnvironment, sdk_client: tuple[Client, int], pg_store_url: str,
        fast_catalog: Catalog, collector_port: int) -> None:
    client, sdk_port = sdk_client
    registry = CollectorRegistry()
    metrics = CaseflowMetrics(registry)
    metrics_port = free_port()
    server, thread = start_http_server(metrics_port, addr="127.0.0.1", registry=registry)
    engine = create_engine(pg_store_url)
    settings = Settings(task_queue="caseflow-e2e-prometheus", database_url=pg_store_url)
    worker = build_worker(client, settings, engine=engine, catalog=fast_catalog, metrics=metrics)
    targets = {WORKER_JOB: [f"127.0.0.1:{metrics_port}"], SDK_JOB: [f"127.0.0.1:{sdk_port}"],
               KPI_JOB: [f"127.0.0.1:{collector_port}"]}
    try:
        async with worker, LocalPrometheus(targets, rule_files=RULE_FILES) as prometheus:
            quick = await _work(client, fast_catalog, settings.task_queue, breach_finance=False,
                                reject_first=True, score=4)
            await _work(client, fast_catalog, settings.task_queue, breach_finance=True,
                        reject_first=False, score=5)
            still_open = await calls.submit_request(
                client, fast_catalog, billing_dispute(fast_catalog), task_queue=settings.task_queue)

            # An activity retry is the same append again: nothing new, nothing counted.
            async with engine.connect() as conn:
                rows = (await conn.execute(select(events).where(events.c.request_id == quick)
                                           .order_by(events.c.sequence))).all()
                personal = PersonalData(conn)
                logged = [await personal.event_of(row) for row in rows]
            labels = RequestLabels(channel="phone", request_type="billing_dispute", tier="key",
                                   priority="P2", owner_department="customer_service")
            result = await ActivityEnvironment().run(
                StoreActivities(engine, metrics).append,
                AppendInput(events=logged, labels=labels))
            assert (result.appended, result.duplicates) == (0, len(logged))

            async with engine.connect() as conn:
                stored = len((await conn.execute(select(events.c.id))).all())

            async def scraped_everything() -> bool:
                appended = await prometheus.query("sum(caseflow_events_appended_total)")
                open_now = await prometheus.query(
                    'sum(caseflow_open_requests{status!="resolved"})')
                return bool(appended and open_now) and _value(appended) == stored and \
                    _value(open_now) >= 1

            for _ in range(60):
                if await scraped_everything():
                    break
                await asyncio.sleep(0.5)
            assert await scraped_everything(), "Prometheus never scraped the final figures"
            await asyncio.sleep(2.5)  # two more rule evaluations on the final samples

            query = prometheus.query
            assert _value(await query("sum(caseflow_requests_submitted_total)")) == 3
            assert _value(await query("sum(caseflow_requests_resolved_total)")) == 3
            assert _value(await query("sum(caseflow_requests_reopened_total)")) == 1

            # Recording rules: every one has data; the key ones have the scenario's values.
            for rule_file in RULE_FILES:
                for group in load_yaml(rule_file)["groups"]:
                    for rule in group["rules"]:
                        if "record" in rule:
                            assert await query(rule["record"]), f"{rule['record']} is empty"

            def ratio(series: str, **match: str) -> str:
                selector = ",".join(f'{k}="{v}"' for k, v in match.items())
                return f"{series}{{{selector}}}"

            compliance = "department_role:caseflow_step_sla_compliance:ratio_rate30d"
            assert _value(await query(ratio(compliance, department="finance",
                                            role="accountant"))) == pytest.approx(0.5)
            assert _value(await query(ratio(compliance, department="technical_support",
                                            role="engineer"))) == pytest.approx(1.0)
            assert _value(await query(
                ":caseflow_requests_reopened_per_resolved:ratio_rate30d")) == \
                pytest.approx(1 / 3)
            assert _value(await query(ratio("department:caseflow_satisfaction_score:mean30d",
                                            department="customer_service"))) == \
                pytest.approx((2 + 4 + 5) / 3)

            # Every dashboard panel query returns data against the live series.
            for name, board in BOARDS.items():
                for panel in query_panels(board):
                    for target in panel["targets"]:
                        expr = substitute(target["expr"])
                        assert await query(expr), f"{name}: {panel['title']}: no data: {expr}"

            # The collector: one request still open, its triage owner has one open step.
            owner = still_open.view.steps[0].owner_id
            assert _value(await query(
                f'caseflow_open_load{{department="customer_service",person="{owner}"}}')) >= 1
            assert await query('temporal_num_pollers{task_queue="caseflow-e2e-prometheus"}')
    finally:
        server.shutdown()
        thread.join()
        await engine.dispose()
