"""Where outbound messages go: the log (always), a webhook (when configured) and each
integration's signed webhook. Each delivery carries the message key (``Idempotency-Key``, or
``webhook-id`` when signed), the same on every retry, so a receiver drops the duplicate of a
delivery that succeeded just before a crash."""

import asyncio
import logging
import time
import urllib.error
import urllib.request
from typing import Protocol

from domain.outbound import OutboundMessage
from domain.webhooks import signature, webhook_body

log = logging.getLogger("caseflow.notify")

LOG = "log"
WEBHOOK = "webhook"


class DeliveryFailed(Exception):
    """A destination did not take a message; the message is one line, fit for the outbox."""


class Destination(Protocol):
    name: str

    async def deliver(self, message: OutboundMessage) -> None: ...


class LogDestination:
    name = LOG

    async def deliver(self, message: OutboundMessage) -> None:
        # Subject and body name the request by id only, and personal data stays out of logs.
        log.warning("notify %s: %s", message.recipient_id or "-", message.body)


class WebhookDestination:
    """POSTs the message as JSON; any answer but 2xx, or none within the timeout, fails."""

    name = WEBHOOK

    def __init__(self, url: str, timeout_seconds: float = 10.0) -> None:
        self._url = url
        self._timeout = timeout_seconds

    def _request(self, message: OutboundMessage) -> urllib.request.Request:
        return urllib.request.Request(
            self._url, data=message.model_dump_json().encode(), method="POST",
            headers={"Content-Type": "application/json; charset=utf-8",
                     "Idempotency-Key": message.key,
                     "Caseflow-Event-Id": f"{message.request_id}:{message.sequence}"})

    async def deliver(self, message: OutboundMessage) -> None:
        request = self._request(message)
        try:
            await asyncio.to_thread(self._post, request)
        except urllib.error.HTTPError as error:
            raise DeliveryFailed(f"{self._url} answered HTTP {error.code}") from None
        except (urllib.error.URLError, OSError, TimeoutError) as error:
            reason = getattr(error, "reason", error)
            raise DeliveryFailed(f"{self._url} unreachable: {reason}") from None

    def _post(self, request: urllib.request.Request) -> None:
        with urllib.request.urlopen(request, timeout=self._timeout) as response:
            response.read()


class SignedWebhookDestination(WebhookDestination):
    """An integration's webhook, signed per Standard Webhooks; each attempt is signed afresh,
    so its timestamp falls in the receiver's tolerance window however late the retry."""

    def __init__(self, name: str, url: str, key: bytes, timeout_seconds: float = 10.0) -> None:
        super().__init__(url, timeout_seconds)
        self.name = name
        self._key = key

    def _request(self, message: OutboundMessage) -> urllib.request.Request:
        body = webhook_body(message)
        timestamp = int(time.time())
        return urllib.request.Request(
            self._url, data=body, method="POST",
            headers={"Content-Type": "application/json; charset=utf-8",
                     "webhook-id": message.key,
                     "webhook-timestamp": str(timestamp),
                     "webhook-signature": signature(self._key, message.key, timestamp, body)})
