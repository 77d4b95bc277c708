"""What a chaos run left behind, read from the event log, the outbox, Temporal and the webhook
receiver: the figures of one row of the table."""

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowExecutionStatus

from bench.chaos.driver import Call, Driven
from domain.events import Escalated
from domain.outbound import escalation_key
from domain.request import workflow_id_for
from schema.tables import OUTBOX_PENDING, events, outbox
from stack.webhook_receiver import WebhookReceiver

_FAILED = {WorkflowExecutionStatus.FAILED, WorkflowExecutionStatus.TERMINATED,
           WorkflowExecutionStatus.TIMED_OUT, WorkflowExecutionStatus.CANCELED}


async def pending_webhooks(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(outbox).where(
            outbox.c.destination == "webhook", outbox.c.status == OUTBOX_PENDING)) or 0)


async def log_figures(engine: AsyncEngine, request_ids: Sequence[str]) -> dict[str, Any]:
    """Events per request, requests whose log has a gap, duplicated transitions, and the
    escalations the webhook should have received."""
    by_request: dict[str, list[tuple[int, str]]] = defaultdict(list)
    expected: set[str] = set()
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(events.c.request_id, events.c.sequence, events.c.event_type,
                   events.c.payload).where(events.c.request_id.in_(list(request_ids))))
        for row in rows:
            by_request[row.request_id].append((row.sequence, row.event_type))
            if row.event_type == "escalated":
                expected.add(escalation_key(row.request_id,
                                            Escalated.model_validate(row.payload)))
    gaps = duplicates = 0
    for logged in by_request.values():
        sequences = sorted(sequence for sequence, _ in logged)
        gaps += sequences != list(range(1, len(sequences) + 1))
        once = Counter(kind for _, kind in logged if kind in ("submitted", "closed"))
        duplicates += sum(count - 1 for count in once.values())
    total = sum(len(logged) for logged in by_request.values())
    return {"events_per_request": round(total / max(len(request_ids), 1), 2), "gaps": gaps,
            "duplicate_events": duplicates, "expected": expected}


async def workflow_figures(client: Client, driven: Sequence[Driven]) -> dict[str, int]:
    failed = running = 0
    for one in driven:
        description = await client.get_workflow_handle(workflow_id_for(one.request_id)).describe()
        failed += description.status in _FAILED
        running += description.status is WorkflowExecutionStatus.RUNNING
    stuck = sum(1 for one in driven if not one.closed)
    return {"workflows_failed": failed, "workflows_stuck": max(stuck, running)}


def notification_figures(receiver: WebhookReceiver, expected: set[str]) -> dict[str, int]:
    received = receiver.keys()
    return {"notifications_expected": len(expected),
            "notifications_delivered": len(expected & received),
            "notifications_missing": len(expected - received),
            "redeliveries_dropped_by_dedup": receiver.duplicates()}


def recovery_seconds(calls: Sequence[Call], healed_at: float | None) -> float:
    """How long after the fault was healed the calls caught in it took to answer (0 when
    none was caught)."""
    if healed_at is None:
        return 0.0
    caught = [c.ended - healed_at for c in calls if c.started <= healed_at <= c.ended]
    return round(max(caught, default=0.0), 2)
