"""Worker metrics: bounded series created at zero from the configuration, one count per event."""

from prometheus_client import CollectorRegistry

from catalog.loader import load_catalog
from domain.labels import RequestLabels
from kpi.metrics import CaseflowMetrics
from tests.paths import FAST_CONFIG
from tests.unit.request_driver import lifecycle_batches

LABELS = RequestLabels(channel="phone", request_type="billing_dispute", tier="key",
                       priority="P2", owner_department="customer_service")


def test_every_configured_combination_starts_at_zero() -> None:
    registry = CollectorRegistry()
    CaseflowMetrics(registry).initialise(load_catalog(FAST_CONFIG, years=[2026]))
    sample = registry.get_sample_value
    assert sample("caseflow_step_completions_total", {
        "department": "finance", "role": "accountant", "step": "investigate",
        "priority": "P1", "breached": "true"}) == 0.0
    assert sample("caseflow_requests_submitted_total", {
        "channel": "email", "request_type": "billing_dispute", "tier": "strategic"}) == 0.0
    assert sample("caseflow_escalations_total", {"level": "head", "department": "legal"}) == 0.0
    # Nothing outside the configuration is invented.
    assert sample("caseflow_step_completions_total", {
        "department": "legal", "role": "accountant", "step": "investigate",
        "priority": "P1", "breached": "true"}) is None


def test_each_event_is_counted_once() -> None:
    registry = CollectorRegistry()
    metrics = CaseflowMetrics(registry)
    log = [event for batch in lifecycle_batches("metrics-1") for event in batch]
    metrics.observe(log, LABELS)
    sample = registry.get_sample_value
    assert sample("caseflow_requests_submitted_total", {
        "channel": "phone", "request_type": "billing_dispute", "tier": "key"}) == 1.0
    assert sample("caseflow_requests_resolved_total", {
        "channel": "phone", "request_type": "billing_dispute", "tier": "key"}) == 1.0
    completions = sum(e.event_type == "step_completed" for e in log)
    counted = sum(sample("caseflow_step_duration_business_seconds_count", {
        "department": d, "role": r, "step": s, "priority": "P2"}) or 0.0
        for d, r, s in [("customer_service", "agent", "triage"),
                        ("finance", "accountant", "investigate"),
                        ("technical_support", "engineer", "investigate"),
                        ("customer_service", "agent", "confirm")])
    assert counted == completions == 4
    assert sample("caseflow_events_appended_total", {"event_type": "step_completed"}) == 4.0
    assert sample("caseflow_satisfaction_score_sum", {
        "department": "customer_service", "request_type": "billing_dispute",
        "outcome": "confirmed"}) == 5.0
