"""Helpers for driving requests through a running caseflow in integration tests."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable

from temporalio.testing import WorkflowEnvironment

from domain.catalog import Catalog
from domain.policy import EscalationPolicy, SlaTargets, TargetRule
from domain.request import Channel, Customer, CustomerTier, Priority, RequestSubmission
from workflows.messages import RequestView


def billing_dispute(catalog: Catalog, *, key: str | None = None,
                    priority: Priority = Priority.P2, subject: str = "发票金额错误",
                    customer_id: str = "CUST-0086") -> RequestSubmission:
    template = catalog.templates["billing_dispute"]
    agent = catalog.departments[template.owner_department_id].with_role(template.owner_role)[0]
    return RequestSubmission(
        idempotency_key=key or f"T-{uuid.uuid4().hex[:12]}",
        customer=Customer(id=customer_id, name="上海星河贸易有限公司", tier=CustomerTier.KEY),
        channel=Channel.PHONE, request_type="billing_dispute", priority=priority,
        subject=subject, description="客户反映十月账单多收了两个席位的费用。",
        submitted_by=agent.id)


async def eventually(probe: Callable[[], Awaitable[RequestView]],
                     condition: Callable[[RequestView], bool], *, within: float = 30.0,
                     what: str = "condition") -> RequestView:
    """Polls ``probe`` until ``condition`` holds; fails naming ``what`` after ``within`` s."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        view = await probe()
        if condition(view):
            return view
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last state: {view}")
        await asyncio.sleep(0.2)


def temporal_address(env: WorkflowEnvironment) -> str:
    """The host:port of ``env``'s Temporal server, for a CLI or worker process to dial."""
    return env.client.service_client.config.target_host


HOUR = 3600.0


def patient(catalog: Catalog, *, first_response: float = HOUR) -> Catalog:
    """``catalog`` with hour-long SLA targets and no automatic reassignment: no timer fires
    while a test looks at a request, so only the test's actions write events."""
    policy = catalog.policy.model_copy(update={
        "id": "patient-test-sla",
        "rules": (TargetRule(targets=SlaTargets(first_response_seconds=first_response,
                                                resolution_seconds=8 * HOUR,
                                                step_default_seconds=HOUR)),),
        "reopen_window_seconds": HOUR,
        "escalation": EscalationPolicy(supervisor_after_seconds=HOUR, head_after_seconds=HOUR),
    })
    return catalog.model_copy(update={"policy": policy})
