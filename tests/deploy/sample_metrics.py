"""Realistic metrics for the dashboard and rule checks: the worker registry is filled the way
workers fill it, by :meth:`kpi.metrics.CaseflowMetrics.observe` on domain events of whole
request lifecycles; the KPI registry holds gauges named and labelled like the KPI collector's."""

import time
import uuid
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, Gauge

from domain.actors import SYSTEM, ActorKind, ActorRef
from domain.events import (
    Assigned,
    Cancelled,
    Claimed,
    Deadlines,
    DomainEvent,
    Escalated,
    EventPayload,
    HandedOff,
    Reassigned,
    ReassignScope,
    Reopened,
    ResolutionConfirmed,
    ResolutionRejected,
    Resolved,
    SlaBreached,
    SlaWarning,
    StepCompleted,
    StepStarted,
    Submitted,
    new_event,
)
from domain.labels import RequestLabels
from domain.request import Channel, Customer, CustomerTier, Priority
from kpi.metrics import CaseflowMetrics
from tests.integration.event_factory import staff

HOUR = 3600.0


class _Log:
    """Builds one request's events in order, a few minutes apart."""

    def __init__(self, request_type: str) -> None:
        self.request_id = f"{request_type}-{uuid.uuid4().hex[:10]}"
        self.events: list[DomainEvent] = []
        self.at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def add(self, payload: EventPayload, actor: ActorRef) -> None:
        self.at += timedelta(minutes=7)
        self.events.append(new_event(self.request_id, len(self.events) + 1, actor, self.at,
                                     payload))


def _submitted(request_type: str, channel: Channel, priority: Priority, tier: CustomerTier,
               department: str, agent: str) -> Submitted:
    return Submitted(
        customer=Customer(id="CUST-0086", name="上海星河贸易有限公司", tier=tier),
        channel=channel, request_type=request_type, priority=priority,
        subject="发票金额错误", description="客户反映十月账单多收了两个席位的费用。",
        submitted_by=agent, template_id=request_type, template_version=1,
        policy_id="standard", policy_version=1, owner_department_id=department,
        first_response_target_seconds=2 * HOUR, resolution_target_seconds=40 * HOUR,
        deadlines=Deadlines(),
    )


def _step(log: _Log, key: str, stage: str, department: str, role: str, person: str,
          business_seconds: float, target_seconds: float) -> None:
    actor = staff(person, department, role)
    log.add(StepStarted(step_key=key, stage_id=stage, stage_index=0, step_name=stage,
                        department_id=department, role=role, owner_id=person, rule="round_robin",
                        target_seconds=target_seconds, deadlines=Deadlines()), SYSTEM)
    log.add(Claimed(step_key=key, first_response=False), actor)
    log.add(StepCompleted(step_key=key, stage_id=stage, department_id=department, role=role,
                          owner_id=person, started_at=log.at - timedelta(hours=1),
                          wall_seconds=business_seconds * 1.6, business_seconds=business_seconds,
                          paused_seconds=0.0, target_seconds=target_seconds,
                          breached=business_seconds > target_seconds, outcome="done"), actor)


def billing_dispute() -> tuple[list[DomainEvent], RequestLabels]:
    """Customer service triages, billing investigates late (warning, breach, two escalations,
    an automatic reassignment) and a supervisor approves; the customer confirms with a 4."""
    log = _Log("billing_dispute")
    agent = staff("zhang.wei", "customer_service", "agent")
    log.add(_submitted("billing_dispute", Channel.PHONE, Priority.P2, CustomerTier.KEY,
                       "customer_service", agent.id), agent)
    log.add(Assigned(owner_id=agent.id, department_id="customer_service", role="agent",
                     rule="round_robin"), SYSTEM)
    log.add(Claimed(step_key=None, first_response=True, business_seconds=1500.0), agent)
    _step(log, "triage-1", "triage", "customer_service", "agent", agent.id, 900.0, 4 * HOUR)
    log.add(HandedOff(step_key="investigate-1", from_department_id="customer_service",
                      to_department_id="billing", from_owner_id=agent.id,
                      to_owner_id="wang.fang", role="accountant", rule="round_robin",
                      reason="needs invoice records", deadlines=Deadlines()), agent)
    log.add(SlaWarning(clock_id="step:investigate-1", threshold=0.8, elapsed_seconds=6.4 * HOUR,
                       target_seconds=8 * HOUR, department_id="billing", owner_id="wang.fang"),
            SYSTEM)
    log.add(SlaBreached(clock_id="step:investigate-1", breach_number=1, breached_at=log.at,
                        elapsed_seconds=8 * HOUR, target_seconds=8 * HOUR,
                        department_id="billing", owner_id="wang.fang"), SYSTEM)
    log.add(Escalated(clock_id="step:investigate-1", breach_number=1, level=1,
                      level_name="owner", recipient_id="wang.fang", department_id="billing"),
            SYSTEM)
    log.add(Escalated(clock_id="step:investigate-1", breach_number=1, level=2,
                      level_name="supervisor", recipient_id="chen.jing",
                      department_id="billing"), SYSTEM)
    log.add(Reassigned(scope=ReassignScope.STEP, step_key="investigate-1",
                       from_owner_id="wang.fang", to_owner_id="zhao.lei",
                       department_id="billing", reason="owner on leave", automatic=True),
            SYSTEM)
    _step(log, "investigate-1", "investigate", "billing", "accountant", "zhao.lei",
          9.5 * HOUR, 8 * HOUR)
    _step(log, "approve-1", "approve", "billing", "supervisor", "chen.jing", 1200.0, 4 * HOUR)
    log.add(Resolved(summary="已退款", business_seconds=11 * HOUR, wall_seconds=30 * HOUR,
                     reopen_until=log.at + timedelta(days=7)), agent)
    log.add(ResolutionConfirmed(satisfaction=4, comment="处理及时"),
            ActorRef(id="CUST-0086", kind=ActorKind.CUSTOMER))
    return log.events, RequestLabels(channel="phone", request_type="billing_dispute",
                                     tier="key", priority="P2",
                                     owner_department="customer_service")


def delivery_complaint() -> tuple[list[DomainEvent], RequestLabels]:
    """Logistics answers late (first-response breach, head-level escalation), the customer
    rejects the resolution with a 2 and the request is reopened and breaches resolution."""
    log = _Log("delivery_complaint")
    dispatcher = staff("liu.yang", "logistics", "dispatcher")
    log.add(_submitted("delivery_complaint", Channel.WEB, Priority.P1, CustomerTier.STANDARD,
                       "logistics", "web-portal"), SYSTEM)
    log.add(SlaWarning(clock_id="first_response", threshold=0.8, elapsed_seconds=0.8 * HOUR,
                       target_seconds=HOUR, department_id="logistics", owner_id="liu.yang"),
            SYSTEM)
    log.add(SlaBreached(clock_id="first_response", breach_number=1, breached_at=log.at,
                        elapsed_seconds=HOUR,
                        target_seconds=HOUR, department_id="logistics", owner_id="liu.yang"),
            SYSTEM)
    log.add(Escalated(clock_id="first_response", breach_number=1, level=3, level_name="head",
                      recipient_id="sun.hao", department_id="logistics"), SYSTEM)
    log.add(Claimed(step_key=None, first_response=True, business_seconds=4000.0), dispatcher)
    _step(log, "dispatch-1", "dispatch", "logistics", "dispatcher", dispatcher.id, 2400.0,
          2 * HOUR)
    log.add(Resolved(summary="已重新发货", business_seconds=5 * HOUR, wall_seconds=9 * HOUR,
                     reopen_until=log.at + timedelta(days=7)), dispatcher)
    log.add(ResolutionRejected(satisfaction=2, comment="还没收到"),
            ActorRef(id="CUST-0086", kind=ActorKind.CUSTOMER))
    log.add(Reopened(reason="customer rejected", reopen_count=1, deadlines=Deadlines()),
            SYSTEM)
    log.add(SlaBreached(clock_id="resolution", breach_number=1, breached_at=log.at,
                        elapsed_seconds=9 * HOUR,
                        target_seconds=8 * HOUR, department_id="logistics",
                        owner_id="liu.yang"), SYSTEM)
    return log.events, RequestLabels(channel="web", request_type="delivery_complaint",
                                     tier="standard", priority="P1",
                                     owner_department="logistics")


def invoice_request() -> tuple[list[DomainEvent], RequestLabels]:
    """Billing issues an invoice within every target; the customer confirms with a 5."""
    log = _Log("invoice_request")
    accountant = staff("wang.fang", "billing", "accountant")
    log.add(_submitted("invoice_request", Channel.EMAIL, Priority.P3, CustomerTier.STRATEGIC,
                       "billing", accountant.id), accountant)
    log.add(Claimed(step_key=None, first_response=True, business_seconds=300.0), accountant)
    _step(log, "issue-1", "issue_invoice", "billing", "accountant", accountant.id, 1800.0,
          8 * HOUR)
    log.add(Resolved(summary="发票已开具", business_seconds=2 * HOUR, wall_seconds=3 * HOUR,
                     reopen_until=log.at + timedelta(days=7)), accountant)
    log.add(ResolutionConfirmed(satisfaction=5),
            ActorRef(id="CUST-0001", kind=ActorKind.CUSTOMER))
    return log.events, RequestLabels(channel="email", request_type="invoice_request",
                                     tier="strategic", priority="P3", owner_department="billing")


def withdrawn_request() -> tuple[list[DomainEvent], RequestLabels]:
    """Submitted by phone and cancelled by the customer before anyone claimed it."""
    log = _Log("billing_dispute")
    agent = staff("li.na", "customer_service", "agent")
    log.add(_submitted("billing_dispute", Channel.PHONE, Priority.P4, CustomerTier.STANDARD,
                       "customer_service", agent.id), agent)
    log.add(Cancelled(reason="customer withdrew the request"), agent)
    return log.events, RequestLabels(channel="phone", request_type="billing_dispute",
                                     tier="standard", priority="P4",
                                     owner_department="customer_service")


SCENARIOS = (billing_dispute, delivery_complaint, invoice_request, withdrawn_request)


def observe_batch(metrics: CaseflowMetrics) -> int:
    """Observes one fresh request of every scenario; returns the number of events."""
    count = 0
    for scenario in SCENARIOS:
        events, labels = scenario()
        metrics.observe(events, labels)
        count += len(events)
    return count


class KpiGauges:
    """Gauges named and labelled like ``python -m kpi.collector``'s."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.open_requests = Gauge("caseflow_open_requests", "Open requests",
                                   ["department", "status", "sla_state"], registry=registry)
        self.open_steps = Gauge("caseflow_open_steps", "Open steps",
                                ["department", "role", "sla_state"], registry=registry)
        self.backlog = Gauge("caseflow_backlog_requests", "Open requests by age",
                             ["department", "age"], registry=registry)
        self.open_load = Gauge("caseflow_open_load", "Open items per person",
                               ["department", "person"], registry=registry)
        self.month_compliance = Gauge("caseflow_month_sla_compliance_ratio",
                                      "Month-to-date step SLA compliance",
                                      ["department", "role"], registry=registry)
        self.last_success = Gauge("caseflow_kpi_collector_last_success_timestamp_seconds",
                                  "Unix time of the last successful collection",
                                  registry=registry)

    def collect_pass(self) -> None:
        """One collection pass's figures."""
        for (department, status, sla_state), value in {
            ("customer_service", "open", "on_track"): 12,
            ("customer_service", "in_progress", "warning"): 3,
            ("billing", "waiting_on_customer", "on_track"): 4,
            ("logistics", "in_progress", "breached"): 2,
        }.items():
            self.open_requests.labels(department, status, sla_state).set(value)
        for (department, role, sla_state), value in {
            ("customer_service", "agent", "on_track"): 9, ("billing", "accountant", "warning"): 2,
            ("billing", "supervisor", "on_track"): 1, ("logistics", "dispatcher", "breached"): 1,
        }.items():
            self.open_steps.labels(department, role, sla_state).set(value)
        for department, ages in {"customer_service": (8, 4, 2, 1), "billing": (3, 1, 0, 0),
                                 "logistics": (1, 0, 1, 0)}.items():
            for age, value in zip(("lt_1d", "1d_3d", "3d_7d", "gt_7d"), ages, strict=True):
                self.backlog.labels(department, age).set(value)
        for (department, person), value in {
            ("customer_service", "zhang.wei"): 5, ("customer_service", "li.na"): 3,
            ("billing", "wang.fang"): 4, ("billing", "zhao.lei"): 2,
            ("logistics", "liu.yang"): 2,
        }.items():
            self.open_load.labels(department, person).set(value)
        compliance: dict[tuple[str, str], float] = {
            ("customer_service", "agent"): 0.96, ("billing", "accountant"): 0.88,
            ("billing", "supervisor"): 1.0, ("logistics", "dispatcher"): 0.91,
        }
        for (department, role), ratio in compliance.items():
            self.month_compliance.labels(department, role).set(ratio)
        self.last_success.set(time.time())
