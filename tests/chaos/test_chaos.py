"""Every fault of ``bench.chaos`` at a small size, with its targets as assertions: all requests
closed, no gap or duplicated transition in any log, every escalation that fired delivered to
the webhook receiver (after its dedup), no workflow failed or stuck. Real processes, real
servers, loopback only; the full size is ``python -m bench.chaos`` (see bench/README.md)."""

from typing import Any

import pytest

from bench.chaos.run import FAULTS, Options, run_all

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

SMALL = Options(requests=6, concurrency=6, worker_restart_after=5, database_outage=3,
                receiver_outage=5, deadline=300, drain_within=120)


async def test_no_fault_loses_duplicates_fails_or_strands_anything() -> None:
    # The fault-free shape is for the benchmark's comparison; here each fault is held to zero.
    rows = await run_all([fault for fault in FAULTS if fault != "none"], SMALL)
    wrong: list[tuple[str, dict[str, Any]]] = []
    for row in rows:
        target = {"closed": row["requests"], "gaps": 0, "duplicate_events": 0,
                  "notifications_missing": 0, "workflows_failed": 0, "workflows_stuck": 0}
        got = {key: row[key] for key in target}
        if got != target:
            wrong.append((row["fault"], got))
    assert not wrong, wrong
    # Whether a run this short breaches an SLA at all depends on the machine's speed, so it is
    # not asserted here; delivery of escalations under a receiver outage and a worker restart
    # is pinned down by test_outbox_delivery.py and test_signed_webhooks.py.
