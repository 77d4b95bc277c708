"""The caseflow worker: runs request workflows and their activities, delivers the outbox,
serves /metrics.

    python worker.py [--temporal-address HOST:PORT] [--namespace NS] [--task-queue Q]
                     [--database-url URL] [--metrics-port N] [--graceful-shutdown-seconds S]
                     [--migrate]

Settings come from CASEFLOW_* environment variables (see README); flags override them.
SIGTERM or SIGINT stops polling, lets running activities finish (for up to the graceful
shutdown setting, 30 s by default), then exits."""

import argparse
import asyncio
import logging
import signal
import sys
from dataclasses import replace
from datetime import timedelta
from typing import NamedTuple

from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import PollerBehaviorSimpleMaximum, Worker

from activities.failures import ACTIVITY_LOGGER, ONE_LINE_FAILURES
from activities.notify import NotifyActivities
from activities.staffing import StaffingActivities
from activities.store import StoreActivities
from catalog.loader import load_catalog_around
from catalog.problems import ConfigError
from delivery.destinations import (
    Destination,
    LogDestination,
    SignedWebhookDestination,
    WebhookDestination,
)
from delivery.dispatcher import Dispatcher
from delivery.integrations import SubscriptionsError, load_integrations
from delivery.metrics import OutboxMetrics
from domain.catalog import Catalog
from domain.events import EventType
from domain.outbound import DeliveryPolicy, Subscription
from eventstore.engine import connect as connect_store
from eventstore.engine import create_engine, describe
from eventstore.errors import StoreUnavailable
from eventstore.migrate import upgrade
from kpi.metrics import CaseflowMetrics
from runtime.connection import TemporalUnavailable, connect
from runtime.exit import exit_now, run_main
from runtime.settings import GRACEFUL_SHUTDOWN_SETTING, Settings, from_env, parse_grace
from workflows.request import CustomerRequestWorkflow

log = logging.getLogger("caseflow.worker")


STICKY_SCHEDULE_TO_START = timedelta(seconds=5)


class StartupError(Exception):
    """A setting the worker cannot start with; the message names the setting to fix."""


class Outbound(NamedTuple):
    destinations: list[Destination]
    subscriptions: list[Subscription]


def outbound(settings: Settings) -> Outbound:
    """Where the outbox delivers what: escalations to the log and the webhook when one is
    configured; each integration of the subscriptions file its event types, signed."""
    plain: list[Destination] = [LogDestination()]
    if settings.webhook_url:
        plain.append(WebhookDestination(settings.webhook_url))
    subscriptions = [Subscription(destination=d.name,
                                  event_types=frozenset({EventType.ESCALATED}))
                     for d in plain]
    destinations = list(plain)
    if settings.webhook_subscriptions_file is not None:
        try:
            integrations = load_integrations(settings.webhook_subscriptions_file)
        except SubscriptionsError as error:
            raise StartupError(str(error)) from error
        for integration in integrations:
            destinations.append(SignedWebhookDestination(integration.name, integration.url,
                                                         integration.key))
            subscriptions.append(integration.subscription())
    return Outbound(destinations, subscriptions)


def build_dispatcher(settings: Settings, *, engine: AsyncEngine,
                     registry: CollectorRegistry) -> Dispatcher:
    """The outbox's dispatcher for the destinations ``settings`` configure."""
    destinations = outbound(settings).destinations
    return Dispatcher(engine, destinations, policy=DeliveryPolicy(),
                      metrics=OutboxMetrics(registry, [d.name for d in destinations]))


def build_worker(client: Client, settings: Settings, *, engine: AsyncEngine, catalog: Catalog,
                 metrics: CaseflowMetrics) -> Worker:
    """A worker for the request workflow and every activity it calls."""
    logging.getLogger(ACTIVITY_LOGGER).addFilter(ONE_LINE_FAILURES)
    subscriptions = outbound(settings).subscriptions
    metrics.initialise(catalog)
    store = StoreActivities(engine, metrics, subscriptions)
    staffing = StaffingActivities(engine, catalog.departments)
    notify = NotifyActivities(engine, subscriptions)
    tuning = settings.tuning
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[CustomerRequestWorkflow],
        activities=[store.append, store.record_parked, staffing.choose,
                    staffing.lookup_department, notify.notify],
        graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_seconds),
        max_concurrent_workflow_tasks=tuning.workflow_tasks,
        max_concurrent_activities=tuning.activities,
        max_concurrent_local_activities=tuning.local_activities,
        max_cached_workflows=tuning.cached_workflows,
        workflow_task_poller_behavior=PollerBehaviorSimpleMaximum(tuning.workflow_task_pollers),
        activity_task_poller_behavior=PollerBehaviorSimpleMaximum(tuning.activity_task_pollers),
        # A dead worker's cached workflows move to another worker after this, not after 10 s.
        sticky_queue_schedule_to_start_timeout=STICKY_SCHEDULE_TO_START,
    )


async def check_store(engine: AsyncEngine) -> None:
    """Fails fast (StoreUnavailable) when the event store cannot be reached, instead of at the
    first append, where activities would retry quietly for ever."""
    conn = await connect_store(engine)
    try:
        await conn.execute(text("SELECT 1"))
    except (OSError, TimeoutError, DBAPIError) as error:
        raise StoreUnavailable(engine.url, describe(error)) from error
    finally:
        await conn.close()


async def serve(settings: Settings, *, migrate: bool, registry: CollectorRegistry) -> None:
    # Handlers first, so a SIGTERM during start-up still takes the graceful path.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        catalog = load_catalog_around(settings.config_dir)
    except ConfigError as error:
        problems = "; ".join(str(problem) for problem in error.problems)
        raise StartupError(f"invalid configuration: {problems} "
                           "(check the setting CASEFLOW_CONFIG_DIR)") from error
    for notice in catalog.notices:
        log.warning("configuration: %s", notice)
    outbound(settings)  # a broken subscriptions file fails here, before any connection
    try:
        runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(
            bind_address=f"0.0.0.0:{settings.sdk_metrics_port}")))
    except ValueError as error:  # the SDK core reports a port in use as ValueError
        raise StartupError(f"cannot serve SDK metrics on port {settings.sdk_metrics_port}: "
                           f"{error} (check the setting CASEFLOW_SDK_METRICS_PORT / "
                           "--sdk-metrics-port)") from error
    client = await connect(settings.temporal_address, settings.namespace, runtime=runtime,
                           transport=settings.temporal_transport)
    if migrate:
        await upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        await check_store(engine)
        try:
            start_http_server(settings.metrics_port, registry=registry)
        except OSError as error:
            raise StartupError(f"cannot serve /metrics on port {settings.metrics_port}: "
                               f"{error.strerror or error} (check the setting "
                               "CASEFLOW_METRICS_PORT / --metrics-port)") from error
        worker = build_worker(client, settings, engine=engine, catalog=catalog,
                              metrics=CaseflowMetrics(registry))
        dispatcher = build_dispatcher(settings, engine=engine, registry=registry)
        log.info("worker polling %s on %s (namespace %s, %s); metrics on :%d",
                 settings.task_queue, settings.temporal_address, settings.namespace,
                 settings.temporal_transport.describe(), settings.metrics_port)
        async with worker:
            delivering = asyncio.create_task(dispatcher.run(stop))
            await stop.wait()
            log.info("stopping: finishing running tasks")
            await delivering
    finally:
        await engine.dispose()


def _parse(argv: list[str]) -> tuple[Settings, bool]:
    settings = from_env()
    parser = argparse.ArgumentParser(description="caseflow worker")
    parser.add_argument("--temporal-address", default=settings.temporal_address)
    parser.add_argument("--namespace", default=settings.namespace)
    parser.add_argument("--task-queue", default=settings.task_queue)
    parser.add_argument("--database-url", default=settings.database_url)
    parser.add_argument("--metrics-port", type=int, default=settings.metrics_port)
    parser.add_argument("--sdk-metrics-port", type=int, default=settings.sdk_metrics_port)
    parser.add_argument("--graceful-shutdown-seconds",
                        default=str(settings.graceful_shutdown_seconds),
                        help="how long SIGTERM lets running activities finish")
    parser.add_argument("--migrate", action="store_true",
                        help="upgrade the event store schema before serving")
    args = parser.parse_args(argv)
    return replace(settings, temporal_address=args.temporal_address, namespace=args.namespace,
                   task_queue=args.task_queue, database_url=args.database_url,
                   metrics_port=args.metrics_port,
                   sdk_metrics_port=args.sdk_metrics_port,
                   graceful_shutdown_seconds=parse_grace(
                       args.graceful_shutdown_seconds,
                       f"{GRACEFUL_SHUTDOWN_SETTING} / --graceful-shutdown-seconds")), args.migrate


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    def work() -> None:
        settings, migrate = _parse(sys.argv[1:] if argv is None else argv)
        asyncio.run(serve(settings, migrate=migrate, registry=REGISTRY))

    return run_main("caseflow worker", work, (StartupError, TemporalUnavailable,
                                              StoreUnavailable, ConfigError, ValueError, OSError))


if __name__ == "__main__":
    exit_now(main())
