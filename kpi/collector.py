"""The KPI collector: the current state of the work, read from the projections and served as
Prometheus gauges. Run exactly one per deployment (the dashboards sum its gauges):

    python -m kpi.collector [--database-url URL] [--port N] [--interval SECONDS]
                            [--config-dir DIR] [--address ADDR]

Settings come from ``CASEFLOW_DATABASE_URL``, ``CASEFLOW_METRICS_PORT`` (default 9466, the port
deploy/ scrapes) and ``CASEFLOW_CONFIG_DIR`` (the rosters, for zero-valued series); flags
override them. SIGTERM or SIGINT stops it: the pass under way is abandoned, the HTTP server
shut down and the database pool closed. Bad settings (a bad URL, an unreachable database, a
database without the caseflow schema, a broken configuration, a port in use) end it at start-up
with one line on stderr and exit status 2.

Design: a snapshot refreshed every ``--interval`` seconds (default 15) by an asyncio task, and a
``collect()`` that only reads the last snapshot. prometheus_client calls ``collect()`` on its
HTTP thread, synchronously; the store is async and its connection pool belongs to one event
loop. Running the queries inside ``collect()`` would tie every scrape to the database (load
grows with the number of Prometheus replicas and scrapes, a slow database turns into scrape
timeouts, i.e. ``up == 0`` and "collector down" instead of "figures stale"). With a snapshot
the database sees one pass per interval whatever scrapes, a scrape never waits on the
database, and a failed pass keeps serving the last good figures while
``caseflow_kpi_collector_last_success_timestamp_seconds`` stops advancing (alert
CaseflowKpiCollectorStale); it is 0 until the first pass succeeded, so a collector that never
succeeds is stale too. The snapshot is an immutable object swapped in one assignment, so the
HTTP thread needs no lock.

Definitions (docs/kpis.md has all of them):

- *open* request: status not ``closed`` nor ``cancelled`` (``caseflow_open_requests``, which
  includes ``resolved``: resolved requests wait for the customer's confirmation and can still
  be reopened; the ``status`` label separates them).
- *backlog*: open requests that still need work, i.e. not ``resolved`` either
  (``caseflow_backlog_requests``), by wall-clock age since submission: ``lt_1d`` (< 24 h),
  ``1d_3d`` (24 h to < 72 h), ``3d_7d`` (72 h to < 168 h), ``gt_7d`` (168 h or more), by owner
  department. A resolved request is not backlog: nobody has to act on it, and counting it
  would age it through its whole reopen window.
- *open step*: a step not ended (``ended_at IS NULL``, status ``active``);
  ``caseflow_open_load`` is open steps per person and department, with every roster member of
  the configuration present (0 when they own none).
- ``caseflow_month_sla_compliance_ratio``: of the steps completed in the current calendar month
  **in UTC** (from the 1st 00:00 UTC, i.e. 08:00 in Shanghai), the share whose step SLA was not
  breached, by the step's department and role at completion; no series for a department and
  role without completions this month (as the recording rules do).

Label sets are bounded by the configuration (departments, their step roles, rosters) and the
status / SLA-state vocabularies; every combination the configuration allows is exported, with
0 where nothing matches, so a series drops to 0 instead of disappearing.

Queries (one read-only transaction, REPEATABLE READ on PostgreSQL so the gauges agree with one
another): open steps select ``ended_at IS NULL`` (index ``ix_request_steps_ended_at``), month
completions a range of ``ended_at`` (same index); open requests ``OPEN_REQUEST``, the predicate of
the partial index ``ix_requests_open``, which covers the query (closed requests are not read)."""

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from catalog.loader import load_catalog_around
from catalog.problems import ConfigError
from eventstore.engine import (
    create_engine,
    describe,
    unreadable_schema,
)
from eventstore.errors import StoreUnavailable
from kpi.snapshot import KpiSnapshot, Roster, read_snapshot
from runtime.exit import run_main
from runtime.settings import (
    CONFIG_DIR_SETTING,
    DATABASE_URL_SETTING,
    config_dir_from,
    parse_port,
    store_url_from,
)

log = logging.getLogger("caseflow.kpi.collector")

DEFAULT_PORT = 9466
DEFAULT_INTERVAL = 15.0
PORT_SETTING = "CASEFLOW_METRICS_PORT"

OPEN_REQUESTS = "caseflow_open_requests"
OPEN_STEPS = "caseflow_open_steps"
BACKLOG = "caseflow_backlog_requests"
OPEN_LOAD = "caseflow_open_load"
MONTH_COMPLIANCE = "caseflow_month_sla_compliance_ratio"
LAST_SUCCESS = "caseflow_kpi_collector_last_success_timestamp_seconds"
REFRESH_SECONDS = "caseflow_kpi_collector_refresh_duration_seconds"
REFRESH_FAILURES = "caseflow_kpi_collector_refresh_failures"

# -- the Prometheus collector -------------------------------------------------------------------


def _utcnow() -> datetime:
    return datetime.now(UTC)


class KpiCollector:
    """A prometheus_client collector serving the last snapshot; ``refresh()`` takes a new one.

    Register it on a registry (``registry.register(collector)``), then run ``run(stop)`` on an
    event loop; ``collect()`` may be called from any thread."""

    def __init__(self, engine: AsyncEngine, roster: Roster, *,
                 clock: Callable[[], datetime] = _utcnow,
                 timeout: float = 60.0) -> None:
        self.engine = engine
        self.roster = roster
        self._clock = clock
        self._timeout = timeout
        self._snapshot: KpiSnapshot | None = None
        self._last_success = 0.0
        self._last_duration = 0.0
        self._failures = 0

    @property
    def snapshot(self) -> KpiSnapshot | None:
        """The last successful pass (None before the first)."""
        return self._snapshot

    @property
    def failures(self) -> int:
        return self._failures

    async def refresh(self) -> KpiSnapshot:
        """Takes a new snapshot and serves it; raises (keeping the previous one) on failure."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._timeout):
                snapshot = await read_snapshot(self.engine, self.roster, now=self._clock())
        except Exception:
            self._failures += 1
            raise
        finally:
            self._last_duration = time.monotonic() - started
        self.publish(snapshot)
        return snapshot

    def publish(self, snapshot: KpiSnapshot) -> None:
        """Serves ``snapshot`` from now on (one reference swap: scrapes on other threads see
        the previous snapshot or this one, never a mix)."""
        self._snapshot = snapshot
        self._last_success = snapshot.taken_at.timestamp()

    async def refresh_logged(self) -> bool:
        """``refresh()``, logging a failure in one line instead of raising it."""
        try:
            await self.refresh()
        except (StoreUnavailable, DBAPIError, OSError, TimeoutError) as error:
            log.warning("KPI pass failed, serving the previous figures: %s", describe(error))
            return False
        except Exception:  # a bug must not stop the collector: the figures go stale, alerting
            log.exception("KPI pass failed, serving the previous figures")
            return False
        return True

    async def run(self, stop: asyncio.Event, interval: float = DEFAULT_INTERVAL, *,
                  immediately: bool = True) -> None:
        """Refreshes every ``interval`` seconds (start to start; a slow pass delays the next)
        until ``stop`` is set, the first pass at once unless ``immediately`` is False. A pass
        under way when ``stop`` is set is abandoned."""
        loop = asyncio.get_running_loop()
        stopping = asyncio.ensure_future(stop.wait())
        try:
            if not immediately:
                await asyncio.wait({stopping}, timeout=interval)
            while not stop.is_set():
                started = loop.time()
                refresh = asyncio.ensure_future(self.refresh_logged())
                await asyncio.wait({refresh, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not refresh.done():
                    refresh.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await refresh
                    return
                remaining = interval - (loop.time() - started)
                if remaining > 0:
                    await asyncio.wait({stopping}, timeout=remaining)
        finally:
            stopping.cancel()

    # prometheus_client's side --------------------------------------------------------------

    def describe(self) -> Iterator[Metric]:
        """The metric families without samples, for the registry's duplicate check."""
        return iter(self._families(None, status=False))

    def collect(self) -> Iterator[Metric]:
        return iter(self._families(self._snapshot, status=True))

    def _families(self, snapshot: KpiSnapshot | None, *, status: bool) -> list[Metric]:
        open_requests = GaugeMetricFamily(
            OPEN_REQUESTS, "Open requests (status not closed nor cancelled; resolved included) "
            "by owner department, status and SLA state",
            labels=["department", "status", "sla_state"])
        open_steps = GaugeMetricFamily(
            OPEN_STEPS, "Open (active) steps by department, role and step SLA state",
            labels=["department", "role", "sla_state"])
        backlog = GaugeMetricFamily(
            BACKLOG, "Open, unresolved requests by owner department and wall-clock age since "
            "submission (lt_1d, 1d_3d, 3d_7d, gt_7d)", labels=["department", "age"])
        open_load = GaugeMetricFamily(
            OPEN_LOAD, "Open steps per person and department (every roster member, 0 included)",
            labels=["department", "person"])
        compliance = GaugeMetricFamily(
            MONTH_COMPLIANCE, "Share of steps completed this calendar month (UTC) whose step "
            "SLA was not breached, by department and role", labels=["department", "role"])
        last_success = GaugeMetricFamily(
            LAST_SUCCESS, "Unix time of the last successful KPI pass (0: none yet)")
        duration = GaugeMetricFamily(REFRESH_SECONDS, "Duration of the last KPI pass, seconds")
        failures = CounterMetricFamily(REFRESH_FAILURES, "KPI passes that failed")
        if status:
            last_success.add_metric([], self._last_success)
            duration.add_metric([], self._last_duration)
            failures.add_metric([], self._failures)
        if snapshot is not None:
            for labels3, value in snapshot.open_requests.items():
                open_requests.add_metric(list(labels3), value)
            for labels3, value in snapshot.open_steps.items():
                open_steps.add_metric(list(labels3), value)
            for labels2, value in snapshot.backlog.items():
                backlog.add_metric(list(labels2), value)
            for labels2, value in snapshot.open_load.items():
                open_load.add_metric(list(labels2), value)
            for labels2, ratio in snapshot.month_compliance.items():
                compliance.add_metric(list(labels2), ratio)
        return [open_requests, open_steps, backlog, open_load, compliance, last_success,
                duration, failures]


# -- the process ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CollectorSettings:
    database_url: str
    port: int
    address: str
    interval: float
    config_dir: Path


def parse_settings(argv: list[str], environ: Mapping[str, str] | None = None
                   ) -> CollectorSettings:
    """Settings from ``environ`` (default: the process environment) and the flags in ``argv``;
    ValueError naming the bad setting."""
    env = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(
        prog="python -m kpi.collector",
        description="caseflow KPI collector: serves open-work gauges on /metrics "
                    "(run exactly one per deployment)")
    parser.add_argument("--database-url",
                        default=store_url_from(env),
                        help=f"event store URL (default ${DATABASE_URL_SETTING})")
    parser.add_argument("--port", default=None,
                        help=f"port of /metrics (default ${PORT_SETTING} or {DEFAULT_PORT})")
    parser.add_argument("--address", default="0.0.0.0", help="address to listen on")
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL,
                        help=f"seconds between passes (default {DEFAULT_INTERVAL:g})")
    parser.add_argument("--config-dir",
                        default=str(config_dir_from(env)),
                        help=f"organisation configuration (default ${CONFIG_DIR_SETTING})")
    args = parser.parse_args(argv)
    if args.port is not None:
        port = parse_port(str(args.port), "--port")
    elif PORT_SETTING in env:
        port = parse_port(env[PORT_SETTING], PORT_SETTING)
    else:
        port = DEFAULT_PORT
    if not args.interval > 0:
        raise ValueError(f"--interval={args.interval:g} must be a positive number of seconds")
    return CollectorSettings(database_url=args.database_url, port=port, address=args.address,
                             interval=args.interval, config_dir=Path(args.config_dir))


async def serve(settings: CollectorSettings, *, registry: CollectorRegistry = REGISTRY,
                stop: asyncio.Event | None = None) -> None:
    """Runs the collector until SIGTERM / SIGINT (or ``stop``). The first pass must succeed
    before /metrics is served: its failure is raised as StoreUnavailable (bad URL, database
    down, no schema); a broken configuration as ConfigError, a busy port as OSError."""
    roster = Roster.from_catalog(load_catalog_around(settings.config_dir))
    engine = create_engine(settings.database_url)
    stop = asyncio.Event() if stop is None else stop
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        collector = KpiCollector(engine, roster)
        try:
            await collector.refresh()
        except DBAPIError as error:
            raise unreadable_schema(engine, error) from error
        except TimeoutError as error:
            raise StoreUnavailable(engine.url, "the first KPI pass timed out") from error
        if stop.is_set():
            return
        registry.register(collector)
        try:
            server, thread = start_http_server(settings.port, settings.address,
                                               registry=registry)
        except OSError as error:
            registry.unregister(collector)
            raise OSError(f"cannot listen on {settings.address}:{settings.port}: "
                          f"{error.strerror or error}") from error
        log.info("KPI collector serving :%d/metrics, a pass every %gs", settings.port,
                 settings.interval)
        try:
            await collector.run(stop, settings.interval, immediately=False)
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
            registry.unregister(collector)
        log.info("KPI collector stopped")
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")

    def collect() -> None:
        settings = parse_settings(sys.argv[1:] if argv is None else argv)
        asyncio.run(serve(settings))

    return run_main("caseflow kpi collector", collect,
                    (StoreUnavailable, ConfigError, ValueError, OSError))


if __name__ == "__main__":
    sys.exit(main())
