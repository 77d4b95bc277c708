"""Notifications of escalations: written to the log and, when configured, posted to a webhook.
Each carries an idempotency key; the ledger in the store makes a retried activity skip a
notification already sent, and the webhook receives the key in ``Idempotency-Key`` so it can
drop the rare duplicate of a send that succeeded just before a crash."""

import asyncio
import json
import logging
import urllib.request
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from activities.contracts import NOTIFY, Notification, NotificationResult
from activities.failures import store_failures
from eventstore.notifications import record_sent, was_sent

log = logging.getLogger("caseflow.notify")


class Notifier(Protocol):
    channel: str

    async def send(self, notification: Notification) -> None: ...


class LogNotifier:
    channel = "log"

    async def send(self, notification: Notification) -> None:
        # The body names the request by id; the subject quotes the customer's (personal data
        # stays out of logs).
        log.warning("notify %s: %s", notification.recipient_id, notification.body)


class WebhookNotifier:
    channel = "webhook"

    def __init__(self, url: str, timeout_seconds: float = 10.0) -> None:
        self._url = url
        self._timeout = timeout_seconds

    async def send(self, notification: Notification) -> None:
        body = json.dumps(notification.model_dump(), ensure_ascii=False).encode()
        request = urllib.request.Request(
            self._url, data=body, method="POST",
            headers={"Content-Type": "application/json; charset=utf-8",
                     "Idempotency-Key": notification.key})
        # Any error propagates and Temporal retries the activity with backoff.
        await asyncio.to_thread(urllib.request.urlopen, request, timeout=self._timeout)


class NotifyActivities:
    def __init__(self, engine: AsyncEngine, notifiers: list[Notifier]) -> None:
        self._engine = engine
        self._notifiers = notifiers

    @activity.defn(name=NOTIFY)
    async def notify(self, notification: Notification) -> NotificationResult:
        """Sends ``notification`` through every notifier that has not sent it yet."""
        sent = False
        for notifier in self._notifiers:
            key = f"{notification.key}:{notifier.channel}"
            with store_failures(self._engine):
                if await was_sent(self._engine, key):
                    continue
            await notifier.send(notification)
            with store_failures(self._engine):
                await record_sent(self._engine, key=key, request_id=notification.request_id,
                                  channel=notifier.channel,
                                  recipient_id=notification.recipient_id)
            sent = True
        return NotificationResult(sent=sent)
