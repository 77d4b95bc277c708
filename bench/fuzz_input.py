"""The hostile-input fuzzer at full size on the real stack (Temporal dev server, one in-process
worker, PostgreSQL): malformed commands to live requests and malformed submissions; prints the
counts that README's "Hostile input" section records.

    .venv/bin/python -m bench.fuzz_input [--requests 80] [--commands 10000] [--submissions 2000]
        [--seed 9]
"""

import argparse
import asyncio
import time
import uuid

from prometheus_client import CollectorRegistry

from catalog.loader import load_catalog
from eventstore.engine import create_engine
from eventstore.migrate import upgrade
from kpi.metrics import CaseflowMetrics
from runtime.converter import DATA_CONVERTER
from runtime.settings import Settings
from stack import postgres
from stack.temporal_server import start_dev_server
from tests.integration.fuzzing import fuzz
from tests.integration.requests import patient
from tests.paths import FAST_CONFIG
from worker import build_worker


async def main(requests: int, commands: int, submissions: int, seed: int) -> int:
    # Hour-long targets: no timer writes an event while the fuzzer counts them.
    catalog = patient(load_catalog(FAST_CONFIG, years=[2026, 2027]))
    port = postgres.ensure_cluster()
    name = f"caseflow_fuzz_{uuid.uuid4().hex[:8]}"
    url = postgres.create_database(port, name)
    await upgrade(url)
    engine = create_engine(url)
    env = await start_dev_server(data_converter=DATA_CONVERTER)
    settings = Settings(task_queue="caseflow-fuzz", database_url=url)
    worker = build_worker(env.client, settings, engine=engine, catalog=catalog,
                          metrics=CaseflowMetrics(CollectorRegistry()))
    try:
        async with worker:
            started = time.perf_counter()
            report = await fuzz(env.client, engine, catalog, settings.task_queue,
                                requests=requests, commands=commands, submissions=submissions,
                                seed=seed)
            elapsed = time.perf_counter() - started
    finally:
        await env.shutdown()
        await engine.dispose()
        postgres.drop_database(port, name)
    print(f"seed {seed}, {requests} live requests, {elapsed:.0f} s")
    print(report.summary())
    print("defects: " + ", ".join(f"{k} {v}" for k, v in sorted(report.defects.items())))
    if not report.clean:
        print(report.findings(limit=30))
    return 0 if report.clean else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=80)
    parser.add_argument("--commands", type=int, default=10_000)
    parser.add_argument("--submissions", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=9)
    arguments = parser.parse_args()
    raise SystemExit(asyncio.run(main(arguments.requests, arguments.commands,
                                      arguments.submissions, arguments.seed)))
