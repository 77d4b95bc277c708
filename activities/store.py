"""Appending a request's events to the log, and counting them in the metrics exactly once."""

import logging
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from activities.contracts import (
    APPEND_EVENTS,
    RECORD_PARKED,
    AppendInput,
    AppendResult,
    ParkedRequest,
)
from activities.failures import store_failures
from domain.log_digest import log_digest
from domain.outbound import Subscription
from eventstore.append import append_events
from eventstore.errors import SequenceConflict, SequenceGap
from eventstore.log import stored_events
from eventstore.parked import record_parked
from kpi.metrics import CaseflowMetrics

log = logging.getLogger(__name__)


class StoreActivities:
    def __init__(self, engine: AsyncEngine, metrics: CaseflowMetrics,
                 subscriptions: Sequence[Subscription] = ()) -> None:
        self._engine = engine
        self._metrics = metrics
        self._subscriptions = subscriptions

    @activity.defn(name=APPEND_EVENTS)
    async def append(self, batch: AppendInput) -> AppendResult:
        """Appends ``batch`` (one request's next events) in one transaction with its
        projections and outbox messages, and answers with the digest of what the log then
        holds at its sequences (read back unless all of it was appended now). A redelivered
        batch appends nothing and counts nothing; a log that disagrees (a conflict or a gap)
        is reported, not raised, for the workflow to park the request; a database outage
        raises and Temporal retries; data the database refuses fails the activity for good
        (StoreRefused)."""
        first, last = batch.events[0], batch.events[-1]
        refused: str | None = None
        with store_failures(self._engine):
            try:
                appended = await append_events(self._engine, batch.events,
                                               subscriptions=self._subscriptions)
            except (SequenceGap, SequenceConflict) as error:
                appended, refused = [], str(error)
            # Wholly appended, the log holds just what this transaction wrote: reading it back
            # would cost a second transaction per command for the same answer.
            stored = appended if len(appended) == len(batch.events) else await stored_events(
                self._engine, first.request_id, first.sequence, last.sequence)
        self._metrics.observe(appended, batch.labels)
        return AppendResult(appended=len(appended),
                            duplicates=0 if refused else len(batch.events) - len(appended),
                            stored_digest=log_digest(stored),
                            impersonal_digest=log_digest(stored, personal=False),
                            refused=refused)

    @activity.defn(name=RECORD_PARKED)
    async def record_parked(self, parked: ParkedRequest) -> None:
        """Records a request parked for an operator where the queues show it, then counts and
        logs it, once: a redelivered park finds it recorded and counts nothing."""
        with store_failures(self._engine):
            first = await record_parked(self._engine, parked.request_id,
                                        reason=parked.reason.value, detail=parked.detail)
        if not first:
            return
        self._metrics.parked.labels(parked.reason.value).inc()
        log.warning("request %s parked for an operator (%s): %s", parked.request_id,
                    parked.reason.value, parked.detail)
