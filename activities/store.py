"""Appending a request's events to the log, and counting them in the metrics exactly once."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import APPEND_EVENTS, AppendInput, AppendResult
from domain.events import InvalidEvent
from domain.outbound import Subscription
from eventstore.append import append_events
from eventstore.errors import SequenceConflict, SequenceGap, StoreUnavailable
from kpi.metrics import CaseflowMetrics


class StoreActivities:
    def __init__(self, engine: AsyncEngine, metrics: CaseflowMetrics,
                 subscriptions: Sequence[Subscription] = ()) -> None:
        self._engine = engine
        self._metrics = metrics
        self._subscriptions = subscriptions

    @activity.defn(name=APPEND_EVENTS)
    async def append(self, batch: AppendInput) -> AppendResult:
        """Appends ``batch`` in one transaction with its projections and outbox messages. A
        redelivered batch appends nothing and counts nothing; a database outage raises and
        Temporal retries."""
        try:
            appended = await append_events(self._engine, batch.events,
                                           subscriptions=self._subscriptions)
        except (InvalidEvent, SequenceGap, SequenceConflict) as error:
            raise ApplicationError(str(error), type=type(error).__name__,
                                   non_retryable=True) from error
        except StoreUnavailable as error:
            # Retried; the one-line reason (not the driver's chained tracebacks, which exceed
            # Temporal's failure size) is what operators see on the pending activity.
            raise ApplicationError(str(error), type="StoreUnavailable") from None
        self._metrics.observe(appended, batch.labels)
        return AppendResult(appended=len(appended),
                            duplicates=len(batch.events) - len(appended))
