"""SLA what-if over a month of requests: every log replayed under today's policy (24x7
calendars) and under a proposal (the Shanghai office calendar with China's holidays and
make-up days, targets cut by a fifth), in memory, as ``python -m analysis whatif`` does after
reading the logs.

The month is built from ``--distinct`` lawful lives written by the pure domain
(tests/unit/request_walks.py), each cloned under new request ids and moved by whole days across
November 2026, so the replay sees ``--requests`` different requests without generating each.

    .venv/bin/python -m bench.whatif_replay [--requests 100000] [--distinct 2000] [--workers 2]
"""

import argparse
import hashlib
import json
import os
import random
import time
from datetime import UTC, datetime, timedelta

from analysis.whatif import compare
from catalog.loader import DEFAULT_CONFIG_DIR, load_catalog
from domain.catalog import Catalog
from domain.events import DomainEvent
from domain.policy import SlaTargets, TargetRule
from stack.paths import REPO_ROOT
from tests.unit.request_driver import DEPARTMENTS, TEMPLATE, policy
from tests.unit.request_walks import random_walk

MONTH_START = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)  # 1 November 00:00 in Shanghai
HORIZON = MONTH_START + timedelta(days=40)
RESULTS = REPO_ROOT / "bench" / "results"


def worlds() -> tuple[Catalog, Catalog]:
    today = Catalog(departments=DEPARTMENTS, templates={TEMPLATE.id: TEMPLATE}, policy=policy())
    shanghai = load_catalog(DEFAULT_CONFIG_DIR, years=[2026, 2027]).departments[
        "customer_service"].calendar
    departments = {key: d.model_copy(update={"calendar": shanghai})
                   for key, d in DEPARTMENTS.items()}
    rules = tuple(rule.model_copy(update={"targets": SlaTargets(
        first_response_seconds=rule.targets.first_response_seconds * 0.8,
        resolution_seconds=rule.targets.resolution_seconds * 0.8,
        step_default_seconds=rule.targets.step_default_seconds * 0.8,
        step_seconds={k: v * 0.8 for k, v in rule.targets.step_seconds.items()})})
        for rule in today.policy.rules)
    proposal = today.policy.model_copy(update={"id": "proposal", "rules": rules})
    assert all(isinstance(rule, TargetRule) for rule in rules)
    return today, today.model_copy(update={"departments": departments, "policy": proposal})


def month_of_logs(requests: int, distinct: int, seed: int = 2026) -> list[list[DomainEvent]]:
    rng = random.Random(seed)
    lives = [random_walk(rng, f"life-{n}", at=MONTH_START + timedelta(
        minutes=rng.randrange(0, 24 * 60))).events for n in range(distinct)]
    logs: list[list[DomainEvent]] = []
    for n in range(requests):
        life = lives[n % distinct]
        shift = timedelta(days=rng.randrange(0, 29))
        request_id = f"bench-{n:06d}"
        logs.append([e.model_copy(update={"request_id": request_id,
                                          "occurred_at": e.occurred_at + shift})
                     for e in life])
    return logs


def _cpu_seconds() -> float:
    """This process's CPU time and that of its finished worker processes."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.whatif_replay")
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--distinct", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    today, proposal = worlds()
    began = time.perf_counter()
    logs = month_of_logs(args.requests, min(args.distinct, args.requests))
    events = sum(len(log) for log in logs)
    print(f"built {len(logs):,} requests, {events:,} events "
          f"in {time.perf_counter() - began:.1f} s")
    began = time.perf_counter()
    cpu_before = _cpu_seconds()
    report = compare(logs, today, proposal, HORIZON, workers=args.workers)
    took = time.perf_counter() - began
    cpu = _cpu_seconds() - cpu_before
    breached_now = sum(g.breached_current for g in report.by_department)
    breached_then = sum(g.breached_proposed for g in report.by_department)
    print(f"replayed {report.requests:,} requests twice (today and proposed) with "
          f"{args.workers} worker(s) in {took:.1f} s: {report.requests / took:,.0f} requests/s, "
          f"{2 * events / took:,.0f} events/s")
    per_request = cpu / report.requests
    print(f"CPU {cpu:.1f} s in all: {1000 * per_request:.2f} ms per request (both replays); "
          f"a month of 100,000 requests needs {per_request * 1e5:,.0f} CPU s, "
          f"{per_request * 1e5 / args.workers:,.0f} s on {args.workers} idle core(s)")
    # The same arguments must give the same report, whatever the code's speed: the digest
    # makes a change of result visible between two recorded runs.
    digest = hashlib.sha256(report.model_dump_json().encode()).hexdigest()
    print(f"breached clocks today {breached_now:,}, proposed {breached_then:,}; "
          f"flips {len(report.flips):,}; skipped {len(report.skipped)}; report {digest[:16]}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"whatif-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.write_text(json.dumps({
        "options": vars(args), "events": events, "wall_seconds": round(took, 2),
        "cpu_seconds": round(cpu, 2), "cpu_ms_per_request": round(1000 * per_request, 3),
        "estimated_seconds_for_100k": round(per_request * 1e5 / args.workers, 1),
        "load_average": os.getloadavg(), "breached_current": breached_now,
        "breached_proposed": breached_then, "flips": len(report.flips),
        "report_sha256": digest}, indent=2) + "\n")
    print(f"written {out.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
