"""caseflow's request lifecycle against a bare Temporal workflow of the same shape, in one run on
one dev server and one PostgreSQL database: N requests to closure, K at a time, each
(submission included) 11 updates that answer once their writes are durable.

    .venv/bin/python -m bench.lifecycle [--requests 100] [--concurrency 20] [--rounds 1] [--quick]

Prints requests/min and update p50/p99 for each and the ratios caseflow/baseline, then per
request the activities, local activities, timers, workflow tasks, history events and bytes
read from the histories; writes the figures to ``bench/results/lifecycle-<UTC>.json``.
Rounds alternate baseline and caseflow so that a change in the machine's load falls on both.
caseflow's worker takes its tuning from the CASEFLOW_* worker settings (README, Settings), so
a run per value compares them.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker

from bench.baseline.activities import TABLE, BareActivities
from bench.baseline.workflow import CLOSING_ACTION, WORKFLOW_NAME, Answer, BareRequestWorkflow
from bench.scratch import scratch_stack
from catalog.loader import DEFAULT_CONFIG_DIR, load_catalog
from domain import commands as cmd
from domain.actors import Actor, ActorKind
from domain.catalog import Catalog
from domain.request import workflow_id_for
from runtime.settings import tuning_from
from tests.integration.requests import billing_dispute
from workflows import client as calls

LOCAL_ACTIVITY_MARKER = "core_local_activity"
RESULTS = Path(__file__).resolve().parent / "results"
# The actions of bench.request_throughput's lifecycle after the submission: claim and complete
# triage, both investigation steps and the confirmation, resolve, the customer's feedback.
BARE_ACTIONS = ["claim", "complete_step"] * 4 + ["resolve", CLOSING_ACTION]
BARE_PAYLOAD = json.dumps({"actor": {"id": "liu.yang", "kind": "staff"},
                           "step_key": "investigate.1", "summary": "完成" * 20},
                          ensure_ascii=False)


@dataclass
class Phase:
    """The figures of one system over every round."""

    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    requests: int = 0
    workflow_ids: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        cuts = statistics.quantiles(self.latencies, n=100)
        return {"requests": self.requests, "seconds": round(self.seconds, 2),
                "requests_per_min": round(self.requests / self.seconds * 60, 1),
                "updates_per_s": round(len(self.latencies) / self.seconds, 1),
                "update_p50_ms": round(cuts[49] * 1000, 1),
                "update_p90_ms": round(cuts[89] * 1000, 1),
                "update_p99_ms": round(cuts[98] * 1000, 1)}


async def _timed(phase: Phase, call: Awaitable[object]) -> None:
    started = time.perf_counter()
    await call
    phase.latencies.append(time.perf_counter() - started)


async def caseflow_request(client: Client, catalog: Catalog, task_queue: str,
                           phase: Phase) -> None:
    submission = billing_dispute(catalog)
    started = time.perf_counter()
    submitted = await calls.submit_request(client, catalog, submission, task_queue=task_queue)
    phase.latencies.append(time.perf_counter() - started)
    rid, view = submitted.request_id, submitted.view
    phase.workflow_ids.append(workflow_id_for(rid))

    async def act(action: str, command: cmd.RequestCommand) -> None:
        nonlocal view
        started = time.perf_counter()
        view = await calls.act(client, rid, action, command)
        phase.latencies.append(time.perf_counter() - started)

    while active := [s for s in view.steps if s.status == "active"]:
        for step in active:
            owner = Actor(id=step.owner_id)
            await act("claim", cmd.Claim(actor=owner, step_key=step.step_key))
            await act("complete_step", cmd.CompleteStep(actor=owner, step_key=step.step_key))
    await act("resolve", cmd.Resolve(actor=Actor(id=view.owner_id), summary="完成"))
    await act("customer_feedback", cmd.CustomerFeedback(
        actor=Actor(id=submission.customer.id, kind=ActorKind.CUSTOMER), accepted=True,
        satisfaction=5))


async def bare_request(client: Client, task_queue: str, phase: Phase) -> None:
    workflow_id = f"bare-{uuid.uuid4().hex[:12]}"
    phase.workflow_ids.append(workflow_id)
    start: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
        WORKFLOW_NAME, id=workflow_id, task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
    await _timed(phase, client.execute_update_with_start_workflow(
        "act", args=["submitted", BARE_PAYLOAD],
        start_workflow_operation=start, result_type=Answer))
    handle = client.get_workflow_handle(workflow_id)
    for action in BARE_ACTIONS:
        await _timed(phase, handle.execute_update("act",
                                                  args=[action, BARE_PAYLOAD],
                                                  result_type=Answer))


async def run_phase(name: str, phase: Phase, requests: int, concurrency: int,
                    one: Callable[[], Awaitable[None]]) -> None:
    gate = asyncio.Semaphore(concurrency)
    done = 0

    async def bounded() -> None:
        nonlocal done
        async with gate:
            await one()
        done += 1
        bar = "#" * (30 * done // requests)
        print(f"\r  {name:<9} [{bar:<30}] {done}/{requests}", end="", file=sys.stderr)

    started = time.perf_counter()
    await asyncio.gather(*(bounded() for _ in range(requests)))
    phase.seconds += time.perf_counter() - started
    phase.requests += requests
    print(file=sys.stderr)


async def shape(client: Client, workflow_ids: list[str]) -> dict[str, float]:
    """Per request, averaged over every run of ``workflow_ids`` (continued runs included)."""
    counts: Counter[str] = Counter()
    for workflow_id in workflow_ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        for event in history.events:
            counts["history_events"] += 1
            counts["history_bytes"] += event.ByteSize()
            kind = event.event_type
            if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                counts["activities"] += 1
            elif kind == EventType.EVENT_TYPE_MARKER_RECORDED:
                # Patch markers are markers too.
                name = event.marker_recorded_event_attributes.marker_name
                counts["local_activities" if name == LOCAL_ACTIVITY_MARKER else "markers"] += 1
            elif kind == EventType.EVENT_TYPE_TIMER_STARTED:
                counts["timers"] += 1
            elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                counts["workflow_tasks"] += 1
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                counts["updates"] += 1
    names = ("updates", "activities", "local_activities", "timers", "workflow_tasks",
             "history_events", "history_bytes")
    return {n: round(counts[n] / len(workflow_ids), 1) for n in names}


async def main(requests: int, concurrency: int, rounds: int) -> dict[str, Any]:
    catalog = load_catalog(DEFAULT_CONFIG_DIR, years=[2026, 2027])
    caseflow, bare = Phase(), Phase()
    tuning = tuning_from(os.environ)
    async with scratch_stack(catalog, name="lifecycle", tuning=tuning) as stack:
        dsn = stack.settings.database_url.replace("+asyncpg", "")
        async with asyncpg.create_pool(dsn, min_size=2, max_size=20) as pool:
            await pool.execute(TABLE)
            bare_queue = f"bare-{uuid.uuid4().hex[:8]}"
            async with Worker(stack.client, task_queue=bare_queue,
                              workflows=[BareRequestWorkflow],
                              activities=[BareActivities(pool).insert_row]):
                for _ in range(rounds):
                    await run_phase("baseline", bare, requests, concurrency,
                                    lambda: bare_request(stack.client, bare_queue, bare))
                    await run_phase("caseflow", caseflow, requests, concurrency,
                                    lambda: caseflow_request(stack.client, catalog,
                                                             stack.settings.task_queue,
                                                             caseflow))
        figures = {"caseflow": caseflow.summary(), "baseline": bare.summary()}
        shapes = {"caseflow": await shape(stack.client, caseflow.workflow_ids),
                  "baseline": await shape(stack.client, bare.workflow_ids)}
    ratios = {
        "requests_per_min": figures["caseflow"]["requests_per_min"]
        / figures["baseline"]["requests_per_min"],
        "update_p50": figures["caseflow"]["update_p50_ms"] / figures["baseline"]["update_p50_ms"],
        "update_p99": figures["caseflow"]["update_p99_ms"] / figures["baseline"]["update_p99_ms"],
    }
    return {"benchmark": "lifecycle", "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "requests": requests, "concurrency": concurrency, "rounds": rounds,
            "cpus": os.cpu_count(), "load_average": list(os.getloadavg()),
            "worker_tuning": asdict(tuning),
            "figures": figures, "per_request": shapes,
            "ratios": {k: round(v, 2) for k, v in ratios.items()},
            "targets": {"requests_per_min": ">= 1.0", "update_p50": "<= 1.2",
                        "update_p99": "<= 1.5"}}


def report(result: dict[str, Any]) -> str:
    figures = result["figures"]
    shapes = result["per_request"]
    ratios = result["ratios"]
    lines = [f"{result['requests']} requests x {result['rounds']} round(s), "
             f"{result['concurrency']} at a time, load average "
             f"{result['load_average'][0]:.1f} on {result['cpus']} CPUs",
             f"{'':<9} {'req/min':>8} {'upd/s':>6} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7}"]
    for name in ("baseline", "caseflow"):
        f = figures[name]
        lines.append(f"{name:<9} {f['requests_per_min']:>8.1f} {f['updates_per_s']:>6.1f} "
                     f"{f['update_p50_ms']:>7.0f} {f['update_p90_ms']:>7.0f} "
                     f"{f['update_p99_ms']:>7.0f}")
    lines.append(f"caseflow/baseline: throughput {ratios['requests_per_min']:.2f} (target >= 1.0)"
                 f", p50 {ratios['update_p50']:.2f} (<= 1.2), p99 {ratios['update_p99']:.2f}"
                 " (<= 1.5)")
    columns = list(shapes["caseflow"])
    lines.append("per request " + " ".join(f"{c:>16}" for c in columns))
    for name in ("baseline", "caseflow"):
        lines.append(f"{name:<11} " + " ".join(f"{shapes[name][c]:>16}" for c in columns))
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="20 requests, 10 at a time")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.requests, arguments.concurrency = 20, 10
    outcome = asyncio.run(main(arguments.requests, arguments.concurrency, arguments.rounds))
    print(report(outcome))
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"lifecycle-{stamp}.json"
    path.write_text(json.dumps(outcome, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
