"""The dispatcher: a loop in the worker process that delivers the outbox's due messages.

Several may run (one per worker): claims skip each other's leased rows. A pass claims a
batch, delivers its messages concurrently, and records each outcome; it sleeps only when
nothing was due. An outage of the store is logged in one line and the loop carries on."""

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from delivery.destinations import DeliveryFailed, Destination
from delivery.metrics import OutboxMetrics
from domain.outbound import DeliveryPolicy
from eventstore.engine import describe
from eventstore.errors import StoreUnavailable
from eventstore.outbox import Claimed, claim_due, depth, mark_delivered, mark_failed

log = logging.getLogger("caseflow.outbox")

BATCH = 50
IDLE_SECONDS = 0.5
DEPTH_EVERY_SECONDS = 5.0
LEASE = timedelta(seconds=60)
"""Longer than any delivery (the webhook times out after 10 s), so no two dispatchers hold
one message at once unless one of them died."""


class Dispatcher:
    def __init__(self, engine: AsyncEngine, destinations: list[Destination], *,
                 policy: DeliveryPolicy, metrics: OutboxMetrics) -> None:
        self._engine = engine
        self._destinations = {d.name: d for d in destinations}
        self._policy = policy
        self._metrics = metrics

    async def run(self, stop: asyncio.Event) -> None:
        """Delivers until ``stop`` is set; the pass under way when it is set finishes."""
        counted_at = float("-inf")
        loop = asyncio.get_running_loop()
        paused = False
        while not stop.is_set():
            outage: str | None = None
            delivered = 0
            try:
                delivered = await self.dispatch_once()
                if loop.time() - counted_at >= DEPTH_EVERY_SECONDS:
                    self._metrics.show_depth(await depth(self._engine))
                    counted_at = loop.time()
            except StoreUnavailable as error:
                outage = str(error)
            except (DBAPIError, OSError) as error:  # the connection broke mid-transaction
                outage = describe(error)
            if outage is not None and not paused:  # one line per outage, not per pass
                log.warning("outbox paused: %s", outage)
            elif outage is None and paused:
                log.info("outbox resumed")
            paused = outage is not None
            if delivered == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=IDLE_SECONDS)

    async def dispatch_once(self) -> int:
        """One pass: returns how many messages were due (delivered or not)."""
        claimed = await claim_due(self._engine, limit=BATCH, lease=LEASE,
                                  destinations=list(self._destinations))
        await asyncio.gather(*(self._deliver(c) for c in claimed))
        return len(claimed)

    async def _deliver(self, claimed: Claimed) -> None:
        destination = claimed.message.destination
        try:
            await self._destinations[destination].deliver(claimed.message)
        except DeliveryFailed as error:
            self._metrics.failures.labels(destination=destination).inc()
            if await mark_failed(self._engine, claimed, str(error), self._policy):
                self._metrics.dead_letters.labels(destination=destination).inc()
                log.error("outbox message %d (%s to %s) dead-lettered after %d attempts: %s",
                          claimed.id, claimed.message.key, destination, claimed.attempt, error)
            return
        await mark_delivered(self._engine, claimed)
        self._metrics.deliveries.labels(destination=destination).inc()
