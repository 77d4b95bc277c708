"""Appending a request's events to the log, and counting them in the metrics exactly once."""

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from activities.contracts import APPEND_EVENTS, AppendInput, AppendResult
from activities.failures import store_failures
from eventstore.append import append_events
from kpi.metrics import CaseflowMetrics


class StoreActivities:
    def __init__(self, engine: AsyncEngine, metrics: CaseflowMetrics) -> None:
        self._engine = engine
        self._metrics = metrics

    @activity.defn(name=APPEND_EVENTS)
    async def append(self, batch: AppendInput) -> AppendResult:
        """Appends ``batch`` in one transaction with its projections. A redelivered batch
        appends nothing and counts nothing; a database outage raises and Temporal retries; data
        the database refuses fails the activity for good (StoreRefused)."""
        with store_failures(self._engine):
            appended = await append_events(self._engine, batch.events)
        self._metrics.observe(appended, batch.labels)
        return AppendResult(appended=len(appended),
                            duplicates=len(batch.events) - len(appended))
