"""Metrics observed from appended events. Each event is observed once, by the activity that
appended it, and only when the store reports it as newly appended, so activity retries and
re-deliveries never count twice.

Labels are bounded: departments, roles, stage ids, priorities, channels, request types and tiers
come from configuration; per-person figures live in the KPI collector and the monthly report."""

from collections.abc import Callable, Iterable
from itertools import product
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from domain import events as ev
from domain.dispatch import PayloadTable
from domain.events import DomainEvent, EventType
from domain.labels import ParkReason, RequestLabels
from domain.policy import EscalationLevel
from domain.request import Channel, CustomerTier, Priority
from domain.state import step_key_of

if TYPE_CHECKING:
    from domain.catalog import Catalog

# Service work runs from minutes to weeks; 30 s and 2 min catch fast triage.
DURATION_BUCKETS = (
    30.0, 120.0, 300.0, 900.0, 1800.0, 3600.0, 2 * 3600.0, 4 * 3600.0, 8 * 3600.0,
    86400.0, 2 * 86400.0, 3 * 86400.0, 5 * 86400.0, 7 * 86400.0, 14 * 86400.0, 28 * 86400.0,
)


def clock_kind(clock_id: str) -> str:
    """``first_response``, ``resolution`` or ``step`` (step clocks are ``step:<key>``)."""
    return clock_id if step_key_of(clock_id) is None else "step"


class CaseflowMetrics:
    """The worker-side metrics, registered on one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        request = ["channel", "request_type", "tier"]
        step = ["department", "role", "step", "priority"]
        self.submitted = Counter("caseflow_requests_submitted", "Requests submitted",
                                 request, registry=registry)
        self.resolved = Counter("caseflow_requests_resolved", "Requests resolved",
                                request, registry=registry)
        self.reopened = Counter("caseflow_requests_reopened", "Requests reopened",
                                request, registry=registry)
        self.cancelled = Counter("caseflow_requests_cancelled", "Requests cancelled",
                                 request, registry=registry)
        self.step_completions = Counter(
            "caseflow_step_completions", "Steps completed, by whether their SLA was met",
            [*step, "breached"], registry=registry)
        self.step_business = Histogram(
            "caseflow_step_duration_business_seconds",
            "Step handling time in business seconds of the step's calendar",
            step, buckets=DURATION_BUCKETS, registry=registry)
        self.step_wall = Histogram(
            "caseflow_step_duration_wall_seconds", "Step handling time in wall-clock seconds",
            step, buckets=DURATION_BUCKETS, registry=registry)
        self.first_response = Histogram(
            "caseflow_first_response_business_seconds",
            "Submission to first claim, in business seconds",
            ["department", "priority"], buckets=DURATION_BUCKETS, registry=registry)
        self.resolution = Histogram(
            "caseflow_resolution_business_seconds",
            "Submission to resolution, in business seconds (paused time excluded)",
            ["department", "request_type", "priority"], buckets=DURATION_BUCKETS,
            registry=registry)
        self.warnings = Counter("caseflow_sla_warnings", "SLA warnings",
                                ["clock", "department", "priority"], registry=registry)
        self.breaches = Counter("caseflow_sla_breaches", "SLA breaches",
                                ["clock", "department", "priority"], registry=registry)
        self.escalations = Counter("caseflow_escalations", "Escalations, by ladder level",
                                   ["level", "department"], registry=registry)
        self.reassignments = Counter("caseflow_reassignments", "Reassignments",
                                     ["scope", "department", "automatic"], registry=registry)
        self.handoffs = Counter("caseflow_handoffs", "Handoffs between departments",
                                ["from_department", "to_department"], registry=registry)
        self.satisfaction = Histogram(
            "caseflow_satisfaction_score", "Customer satisfaction score (1-5) on resolution",
            ["department", "request_type", "outcome"], buckets=(1, 2, 3, 4, 5),
            registry=registry)
        self.events = Counter("caseflow_events_appended", "Events appended to the log",
                              ["event_type"], registry=registry)
        self.parked = Counter(
            "caseflow_requests_parked",
            "Requests parked for an operator because their log disagrees with the workflow",
            ["reason"], registry=registry)

    def initialise(self, catalog: "Catalog") -> None:
        """Creates every bounded label combination the configuration allows at zero, so that
        the first event of a kind is an increase Prometheus can see (a series that appears
        already at 1 never shows in ``rate``)."""
        channels = [c.value for c in Channel]
        tiers = [t.value for t in CustomerTier]
        priorities = [p.value for p in Priority]
        departments = sorted(catalog.departments)
        for request_type in catalog.templates:
            for channel, tier in product(channels, tiers):
                for counter in (self.submitted, self.resolved, self.reopened, self.cancelled):
                    counter.labels(channel, request_type, tier)
        steps = {(b.department_id, b.role, stage.id) for template in catalog.templates.values()
                 for stage in template.stages for b in stage.branches}
        for (department, role, stage), priority in product(sorted(steps), priorities):
            for breached in ("true", "false"):
                self.step_completions.labels(department, role, stage, priority, breached)
            self.step_business.labels(department, role, stage, priority)
            self.step_wall.labels(department, role, stage, priority)
        owners = sorted({t.owner_department_id for t in catalog.templates.values()})
        for department, priority in product(owners, priorities):
            self.first_response.labels(department, priority)
            for request_type in catalog.templates:
                self.resolution.labels(department, request_type, priority)
        for department, request_type in product(owners, catalog.templates):
            for outcome in ("confirmed", "rejected"):
                self.satisfaction.labels(department, request_type, outcome)
        for department, scope, automatic in product(departments, ("request", "step"),
                                                    ("true", "false")):
            self.reassignments.labels(scope, department, automatic)
        for source, target in product(departments, departments):
            if source != target:
                self.handoffs.labels(source, target)
        for department, priority in product(departments, priorities):
            for clock in ("first_response", "resolution", "step"):
                self.warnings.labels(clock, department, priority)
                self.breaches.labels(clock, department, priority)
        for department, level in product(departments, EscalationLevel):
            self.escalations.labels(level.label, department)
        for event_type in EventType:
            self.events.labels(event_type.value)
        for reason in ParkReason:
            self.parked.labels(reason.value)

    def observe(self, events: Iterable[DomainEvent], labels: RequestLabels) -> None:
        """Counts newly appended events of one request."""
        for event in events:
            self.events.labels(event.event_type.value).inc()
            payload = event.payload
            observer = OBSERVERS.handler(type(payload))
            if observer is not None:
                observer(self, payload, labels)

    # -- one observer per payload type that a metric counts ----------------------------------

    def _submitted(self, _payload: ev.Submitted, labels: RequestLabels) -> None:
        self.submitted.labels(*_request(labels)).inc()

    def _resolved(self, payload: ev.Resolved, labels: RequestLabels) -> None:
        self.resolved.labels(*_request(labels)).inc()
        self.resolution.labels(labels.owner_department, labels.request_type,
                               labels.priority).observe(payload.business_seconds)

    def _reopened(self, _payload: ev.Reopened, labels: RequestLabels) -> None:
        self.reopened.labels(*_request(labels)).inc()

    def _cancelled(self, _payload: ev.Cancelled, labels: RequestLabels) -> None:
        self.cancelled.labels(*_request(labels)).inc()

    def _claimed(self, payload: ev.Claimed, labels: RequestLabels) -> None:
        if payload.first_response:
            self.first_response.labels(labels.owner_department, labels.priority).observe(
                payload.business_seconds or 0.0)

    def _step_completed(self, payload: ev.StepCompleted, labels: RequestLabels) -> None:
        step = (payload.department_id, payload.role, payload.stage_id, labels.priority)
        self.step_completions.labels(*step, str(payload.breached).lower()).inc()
        self.step_business.labels(*step).observe(payload.business_seconds)
        self.step_wall.labels(*step).observe(payload.wall_seconds)

    def _sla_warning(self, payload: ev.SlaWarning, labels: RequestLabels) -> None:
        self.warnings.labels(clock_kind(payload.clock_id), payload.department_id,
                             labels.priority).inc()

    def _sla_breached(self, payload: ev.SlaBreached, labels: RequestLabels) -> None:
        self.breaches.labels(clock_kind(payload.clock_id), payload.department_id,
                             labels.priority).inc()

    def _escalated(self, payload: ev.Escalated, _labels: RequestLabels) -> None:
        self.escalations.labels(payload.level_name, payload.department_id).inc()

    def _reassigned(self, payload: ev.Reassigned, _labels: RequestLabels) -> None:
        self.reassignments.labels(payload.scope.value, payload.department_id,
                                  str(payload.automatic).lower()).inc()

    def _handed_off(self, payload: ev.HandedOff, _labels: RequestLabels) -> None:
        self.handoffs.labels(payload.from_department_id, payload.to_department_id).inc()

    def _customer_feedback(self, payload: ev.ResolutionConfirmed | ev.ResolutionRejected,
                           labels: RequestLabels) -> None:
        outcome = "confirmed" if isinstance(payload, ev.ResolutionConfirmed) else "rejected"
        self.satisfaction.labels(labels.owner_department, labels.request_type,
                                 outcome).observe(payload.satisfaction)


def _request(labels: RequestLabels) -> tuple[str, str, str]:
    return labels.channel, labels.request_type, labels.tier


OBSERVERS: PayloadTable[Callable[[CaseflowMetrics, Any, RequestLabels], None]] = PayloadTable(
    {
        ev.Submitted: CaseflowMetrics._submitted,
        ev.Resolved: CaseflowMetrics._resolved,
        ev.Reopened: CaseflowMetrics._reopened,
        ev.Cancelled: CaseflowMetrics._cancelled,
        ev.Claimed: CaseflowMetrics._claimed,
        ev.StepCompleted: CaseflowMetrics._step_completed,
        ev.SlaWarning: CaseflowMetrics._sla_warning,
        ev.SlaBreached: CaseflowMetrics._sla_breached,
        ev.Escalated: CaseflowMetrics._escalated,
        ev.Reassigned: CaseflowMetrics._reassigned,
        ev.HandedOff: CaseflowMetrics._handed_off,
        ev.ResolutionConfirmed: CaseflowMetrics._customer_feedback,
        ev.ResolutionRejected: CaseflowMetrics._customer_feedback,
    },
    # Counted only in caseflow_events_appended (and by the KPI collector from the projections).
    ignored=[ev.Assigned, ev.StepStarted, ev.PriorityChanged, ev.WaitingOnCustomer,
             ev.CustomerReplied, ev.EscalationAcknowledged, ev.NoteAdded, ev.Closed,
             ev.PlanPinned, ev.DepartmentPinned, ev.ReopenWindowRestarted, ev.SlaRetargeted,
             ev.CustomerErased],
)
