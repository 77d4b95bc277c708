"""The hostile-input fuzzer at full size on the real stack (Temporal dev server, one in-process
worker, PostgreSQL): malformed commands to live requests and malformed submissions; prints the
counts that README's "Hostile input" section records.

    .venv/bin/python -m bench.fuzz_input [--requests 80] [--commands 10000] [--submissions 2000]
        [--seed 9]
"""

import argparse
import asyncio
import time

from bench.scratch import scratch_stack
from catalog.loader import load_catalog
from tests.integration.fuzzing import fuzz
from tests.integration.requests import patient
from tests.paths import FAST_CONFIG


async def main(requests: int, commands: int, submissions: int, seed: int) -> int:
    # Hour-long targets: no timer writes an event while the fuzzer counts them.
    catalog = patient(load_catalog(FAST_CONFIG, years=[2026, 2027]))
    async with scratch_stack(catalog, name="fuzz") as stack:
        started = time.perf_counter()
        report = await fuzz(stack.client, stack.engine, catalog, stack.settings.task_queue,
                            requests=requests, commands=commands, submissions=submissions,
                            seed=seed)
        elapsed = time.perf_counter() - started
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
