"""The customer's whole story, from the logs of their requests: every request across channels
and departments with the tier as of that request, satisfaction over time, SLA outcomes, reopens
and the time since the last contact; and the month's KPIs by segment (tier, channel)."""

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from analysis.history import what_happened
from domain.events import (
    DomainEvent,
    EventType,
    HandedOff,
    ResolutionConfirmed,
    ResolutionRejected,
    StepStarted,
    Submitted,
)

CONTACTS = frozenset({
    EventType.SUBMITTED, EventType.WAITING_ON_CUSTOMER, EventType.CUSTOMER_REPLIED,
    EventType.RESOLVED, EventType.RESOLUTION_CONFIRMED, EventType.RESOLUTION_REJECTED,
    EventType.REOPENED})
"""Events where the customer and the company spoke to each other."""

_STATUS_AFTER = {
    EventType.RESOLVED: "resolved", EventType.REOPENED: "in_progress",
    EventType.CLOSED: "closed", EventType.CANCELLED: "cancelled"}


class Rating(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    request_id: str
    satisfaction: int


class CustomerRequest(BaseModel):
    """One request as the customer lived it."""

    model_config = ConfigDict(frozen=True)

    request_id: str
    customer_id: str
    customer_name: str
    tier: str  # as of this request
    channel: str
    request_type: str
    priority: str
    subject: str
    submitted_at: datetime
    status: str
    first_resolved_at: datetime | None
    departments: tuple[str, ...]
    breaches: int
    reopens: int
    ratings: tuple[Rating, ...]
    last_contact_at: datetime

    @property
    def satisfaction(self) -> int | None:
        return self.ratings[-1].satisfaction if self.ratings else None

    @property
    def handling_seconds(self) -> float | None:
        if self.first_resolved_at is None:
            return None
        return (self.first_resolved_at - self.submitted_at).total_seconds()


def summarise(events: Sequence[DomainEvent]) -> CustomerRequest:
    """One request's summary from its log (events in sequence order, the submission first)."""
    events = what_happened(events)
    submitted = events[0].payload if events else None
    if not isinstance(submitted, Submitted):
        raise ValueError("a request's log must begin with its submission")
    departments: list[str] = [submitted.owner_department_id]
    status = "open"
    first_resolved: datetime | None = None
    ratings: list[Rating] = []
    for event in events:
        payload = event.payload
        kind = event.event_type
        reached = (payload.department_id if isinstance(payload, StepStarted)
                   else payload.to_department_id if isinstance(payload, HandedOff) else None)
        if reached is not None and reached not in departments:
            departments.append(reached)
        if kind in (EventType.CLAIMED, EventType.STEP_STARTED) and status == "open":
            status = "in_progress"
        status = _STATUS_AFTER.get(kind, status)
        if kind is EventType.RESOLVED and first_resolved is None:
            first_resolved = event.occurred_at
        if isinstance(payload, ResolutionConfirmed | ResolutionRejected):
            ratings.append(Rating(at=event.occurred_at, request_id=event.request_id,
                                  satisfaction=payload.satisfaction))
    customer = submitted.customer
    return CustomerRequest(
        request_id=events[0].request_id, customer_id=customer.id,
        customer_name=customer.name, tier=customer.tier.value,
        channel=submitted.channel.value, request_type=submitted.request_type,
        priority=submitted.priority.value, subject=submitted.subject,
        submitted_at=events[0].occurred_at, status=status, first_resolved_at=first_resolved,
        departments=tuple(departments),
        breaches=sum(e.event_type is EventType.SLA_BREACHED for e in events),
        reopens=sum(e.event_type is EventType.REOPENED for e in events),
        ratings=tuple(ratings),
        last_contact_at=max(e.occurred_at for e in events if e.event_type in CONTACTS))


class CustomerStory(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer_id: str
    merged_ids: tuple[str, ...]  # the ids merged into this one, whose requests are here too
    names: tuple[str, ...]  # as written on their requests, first seen first
    tiers: tuple[tuple[datetime, str], ...]  # each change: on a request, or recorded (CRM)
    requests: tuple[CustomerRequest, ...]  # oldest first
    ratings: tuple[Rating, ...]  # satisfaction over time
    breached_requests: int
    reopens: int
    last_contact_at: datetime
    seconds_since_last_contact: float

    @property
    def open_requests(self) -> int:
        return sum(r.status not in ("closed", "cancelled", "resolved") for r in self.requests)


def customer_story(customer_id: str, summaries: Iterable[CustomerRequest], now: datetime, *,
                   merged_ids: Iterable[str] = (),
                   tier_changes: Iterable[tuple[datetime, str]] = ()) -> CustomerStory:
    """The story of ``customer_id`` and the ids merged into it from their requests' summaries
    (others are ignored), with the tier changes recorded for it besides those on requests."""
    merged = tuple(sorted(set(merged_ids) - {customer_id}))
    ids = {customer_id, *merged}
    mine = sorted((s for s in summaries if s.customer_id in ids),
                  key=lambda s: (s.submitted_at, s.request_id))
    if not mine:
        raise ValueError(f"no requests of customer {customer_id[:64]!r} in the log")
    names = tuple(dict.fromkeys(s.customer_name for s in mine))
    tiers: list[tuple[datetime, str]] = []
    for at, tier in sorted([*((s.submitted_at, s.tier) for s in mine), *tier_changes]):
        if not tiers or tiers[-1][1] != tier:
            tiers.append((at, tier))
    ratings = tuple(sorted((r for s in mine for r in s.ratings), key=lambda r: r.at))
    last = max(s.last_contact_at for s in mine)
    return CustomerStory(
        customer_id=customer_id, merged_ids=merged, names=names, tiers=tuple(tiers),
        requests=tuple(mine),
        ratings=ratings, breached_requests=sum(s.breaches > 0 for s in mine),
        reopens=sum(s.reopens for s in mine), last_contact_at=last,
        seconds_since_last_contact=max(0.0, (now - last).total_seconds()))


# -- KPIs by segment ---------------------------------------------------------------------------


class SegmentKpis(BaseModel):
    """One segment's requests of a period (submitted in it)."""

    model_config = ConfigDict(frozen=True)

    segment: str
    requests: int
    resolved: int
    median_handling_seconds: float | None  # submission to first resolution, wall time
    sla_compliance: float | None  # requests without a breach / requests
    csat: float | None  # mean of each request's latest rating
    reopen_rate: float | None  # reopened at least once / resolved at least once


def _segment(segment: str, found: Sequence[CustomerRequest]) -> SegmentKpis:
    handling = [h for s in found if (h := s.handling_seconds) is not None]
    rated = [r for s in found if (r := s.satisfaction) is not None]
    resolved = [s for s in found if s.first_resolved_at is not None]
    return SegmentKpis(
        segment=segment, requests=len(found), resolved=len(resolved),
        median_handling_seconds=statistics.median(handling) if handling else None,
        sla_compliance=sum(s.breaches == 0 for s in found) / len(found),
        csat=statistics.fmean(rated) if rated else None,
        reopen_rate=sum(s.reopens > 0 for s in resolved) / len(resolved) if resolved else None)


def kpis_by(summaries: Iterable[CustomerRequest],
            key: Callable[[CustomerRequest], str]) -> tuple[SegmentKpis, ...]:
    groups: dict[str, list[CustomerRequest]] = defaultdict(list)
    for summary in summaries:
        groups[key(summary)].append(summary)
    return tuple(_segment(segment, found) for segment, found in sorted(groups.items()))
