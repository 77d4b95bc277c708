"""The notify activity of request workflows recorded before the outbox: escalations are now
written to the outbox in the append's transaction and delivered by the dispatcher, so a
workflow replaying an old history that still calls this activity only makes sure the outbox
holds its request's messages (an append run by an older worker wrote none)."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from activities.contracts import NOTIFY, Notification, NotificationResult
from activities.failures import store_failures
from domain.outbound import Subscription
from eventstore.outbox import enqueue_request_backlog


class NotifyActivities:
    def __init__(self, engine: AsyncEngine, subscriptions: Sequence[Subscription]) -> None:
        self._engine = engine
        self._subscriptions = subscriptions

    @activity.defn(name=NOTIFY)
    async def notify(self, notification: Notification) -> NotificationResult:
        """Enqueues what the request's log calls for and the outbox lacks."""
        with store_failures(self._engine):
            added = await enqueue_request_backlog(self._engine, notification.request_id,
                                                  self._subscriptions)
        return NotificationResult(sent=added > 0)
