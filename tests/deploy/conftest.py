"""A real Prometheus, with caseflow's recording and alerting rules loaded, scraping three
expositions served by the tests themselves, under the production job names:

- caseflow-worker: CaseflowMetrics observed from realistic request lifecycles;
- caseflow-kpi: gauges named and labelled like the KPI collector's;
- caseflow-worker-sdk: a captured Temporal SDK exposition (fixtures/temporal_sdk_metrics.prom),
  its counters and histograms scaled up on every scrape so that rates are non-zero.

Started once per session. The end-to-end test with a real worker covers the live SDK endpoint."""

import asyncio
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, start_http_server

from kpi.metrics import CaseflowMetrics
from stack.ports import free_port
from stack.prometheus import LocalPrometheus
from tests.deploy.sample_metrics import KpiGauges, observe_batch
from tests.deploy.support import KPI_JOB, RULE_FILES, SDK_JOB, WORKER_JOB, load_yaml

READY_TIMEOUT = 60.0
SDK_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "temporal_sdk_metrics.prom"


def recorded_names() -> list[str]:
    """Every ``record:`` name of the rule files."""
    return [rule["record"] for path in RULE_FILES for group in load_yaml(path)["groups"]
            for rule in group["rules"] if "record" in rule]


@contextmanager
def _serving(registry: CollectorRegistry) -> Iterator[str]:
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class GrowingExposition:
    """A captured exposition whose counters and histograms are multiplied by the number of
    scrapes served so far (gauges unchanged): the n-th scrape looks like n times the traffic."""

    def __init__(self, text: str) -> None:
        self._lines = [line for line in text.splitlines()
                       if line and (not line.startswith("#")
                                    or line.startswith(("# HELP ", "# TYPE ")))]
        self._kinds = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, flags=re.MULTILINE))
        self._served = 0
        self._lock = threading.Lock()

    def _kind(self, sample: str) -> str:
        name = re.split(r"[{ ]", sample, maxsplit=1)[0]
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        kind: str = self._kinds.get(name) or self._kinds.get(family, "untyped")
        return kind

    def render(self) -> bytes:
        with self._lock:
            self._served += 1
            factor = self._served
        out = []
        for line in self._lines:
            if not line.startswith("#") and self._kind(line) in ("counter", "histogram"):
                series, value = line.rsplit(" ", 1)
                line = f"{series} {float(value) * factor:g}"
            out.append(line)
        return ("\n".join(out) + "\n").encode()


@contextmanager
def _serving_text(exposition: GrowingExposition) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = exposition.render()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


async def _wait_for_series(prometheus: LocalPrometheus, names: list[str]) -> None:
    """Waits until every name has data (rules evaluate once a second)."""
    deadline = time.monotonic() + READY_TIMEOUT
    missing = names
    while time.monotonic() < deadline:
        missing = [name for name in names if not await prometheus.query(f"{{__name__={name!r}}}")]
        if not missing:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"no data within {READY_TIMEOUT:.0f} s for {', '.join(missing)}")


@pytest.fixture(scope="session")
async def live_prometheus() -> AsyncIterator[LocalPrometheus]:
    worker_registry, kpi_registry = CollectorRegistry(), CollectorRegistry()
    metrics, gauges = CaseflowMetrics(worker_registry), KpiGauges(kpi_registry)
    observe_batch(metrics)
    gauges.collect_pass()
    sdk_exposition = GrowingExposition(SDK_FIXTURE.read_text(encoding="utf-8"))
    with (_serving(worker_registry) as worker, _serving(kpi_registry) as kpi,
          _serving_text(sdk_exposition) as sdk):
        async with LocalPrometheus({WORKER_JOB: [worker], KPI_JOB: [kpi], SDK_JOB: [sdk]},
                                   rule_files=RULE_FILES) as prometheus:
            # Two more batches, each after at least one scrape of the previous state, so every
            # counter and histogram moves between samples and rate()/increase() see it.
            for _ in range(2):
                await asyncio.sleep(2.5)
                observe_batch(metrics)
                gauges.collect_pass()
            await asyncio.sleep(2.5)
            await _wait_for_series(prometheus, recorded_names())
            yield prometheus
