"""The outbox's metrics: how many messages wait or are dead, and what deliveries did."""

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge

from schema.tables import OUTBOX_DEAD, OUTBOX_PENDING


class OutboxMetrics:
    def __init__(self, registry: CollectorRegistry, destinations: Iterable[str]) -> None:
        labels = ["destination"]
        self.messages = Gauge("caseflow_outbox_messages",
                              "Outbox messages not delivered, by status (pending, dead)",
                              [*labels, "status"], registry=registry)
        self.deliveries = Counter("caseflow_outbox_deliveries",
                                  "Outbox messages delivered", labels, registry=registry)
        self.failures = Counter("caseflow_outbox_delivery_failures",
                                "Failed delivery attempts (retried, or dead-lettered)", labels,
                                registry=registry)
        self.dead_letters = Counter("caseflow_outbox_dead_letters",
                                    "Messages dead-lettered after their last attempt", labels,
                                    registry=registry)
        self._destinations = list(destinations)
        for destination in self._destinations:  # every series exists at zero from the start
            for counter in (self.deliveries, self.failures, self.dead_letters):
                counter.labels(destination=destination)
        self.show_depth({})

    def show_depth(self, depth: dict[tuple[str, str], int]) -> None:
        for destination in self._destinations:
            for status in (OUTBOX_PENDING, OUTBOX_DEAD):
                self.messages.labels(destination=destination, status=status).set(
                    depth.get((destination, status), 0))
