"""A webhook receiver on loopback for tests, benchmarks and the demo: it records every
delivery, dedups by ``Idempotency-Key`` as a well-behaved receiver does, and can be taken
down (it answers 503) and brought back without losing what it received.

Given an integration's signing key it is a Standard Webhooks receiver: it verifies
``webhook-signature`` over ``{webhook-id}.{webhook-timestamp}.{body}``, refuses a forged or
stale delivery with 401, and dedups by ``webhook-id``. It recomputes the HMAC itself, as an
ERP would, rather than trusting caseflow's signing code."""

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOLERANCE_SECONDS = 300
"""How far a delivery's timestamp may be from now: older ones could be replays."""


class WebhookReceiver:
    def __init__(self, key: bytes | None = None) -> None:
        self._key = key
        self.forged = 0
        """Deliveries refused for a missing, wrong or stale signature."""
        self._lock = threading.Lock()
        self.up = threading.Event()
        self.up.set()
        self.attempts = 0
        self.refused = 0
        self.deliveries: Counter[str] = Counter()
        """Accepted deliveries per Idempotency-Key: a count above 1 is a duplicate."""
        self.messages: dict[str, dict[str, Any]] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hooks/caseflow"

    def __enter__(self) -> "WebhookReceiver":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def keys(self) -> set[str]:
        with self._lock:
            return set(self.deliveries)

    def duplicates(self) -> int:
        """Deliveries beyond the first of each key: what the dedup dropped."""
        with self._lock:
            return sum(count - 1 for count in self.deliveries.values())

    def _record(self, key: str, body: bytes) -> bool:
        with self._lock:
            self.attempts += 1
            if not self.up.is_set():
                self.refused += 1
                return False
            self.deliveries[key] += 1
            if self.deliveries[key] == 1:
                self.messages[key] = json.loads(body)
            return True

    def verified_key(self, headers: Message, body: bytes) -> str | None:
        """The delivery's dedup key, or None when it must be refused as forged."""
        if self._key is None:
            return headers.get("Idempotency-Key") or ""
        webhook_id = headers.get("webhook-id") or ""
        timestamp = headers.get("webhook-timestamp") or ""
        if not webhook_id or not timestamp.isdigit() \
                or abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
            return None
        digest = hmac.new(self._key, f"{webhook_id}.{timestamp}.".encode() + body,
                          hashlib.sha256).digest()
        expected = "v1," + base64.b64encode(digest).decode()
        offered = (headers.get("webhook-signature") or "").split()
        if not any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return None
        return webhook_id

    def _refuse_forged(self) -> None:
        with self._lock:
            self.attempts += 1
            self.forged += 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                key = receiver.verified_key(self.headers, body)
                if key is None:
                    receiver._refuse_forged()
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                accepted = receiver._record(key, body)
                self.send_response(204 if accepted else 503)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the receiver's records are what tests read."""

        return Handler
