"""A webhook receiver on loopback for tests, benchmarks and the demo: it records every
delivery, dedups by ``Idempotency-Key`` as a well-behaved receiver does, and can be taken
down (it answers 503) and brought back without losing what it received."""

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    def __init__(self) -> None:
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

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                key = self.headers.get("Idempotency-Key") or ""
                accepted = receiver._record(key, body)
                self.send_response(204 if accepted else 503)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the receiver's records are what tests read."""

        return Handler
