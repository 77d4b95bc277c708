"""What a request's log says happened, as the analyses read it: its events without the
bookkeeping that pins the plan and departments as configured when it ran (each analysis
measures against a world of its own: today's configuration or a proposal)."""

from collections.abc import Sequence

from domain.events import DomainEvent, EventType

PINNING = frozenset({EventType.PLAN_PINNED, EventType.DEPARTMENT_PINNED})


def what_happened(events: Sequence[DomainEvent]) -> list[DomainEvent]:
    """``events`` without the pinning events, so a log begins with its submission."""
    return [event for event in events if event.event_type not in PINNING]
