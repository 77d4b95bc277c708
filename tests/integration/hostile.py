"""Probes for tests that send hostile input to live requests: what the log holds and whether a
workflow ever failed a task."""

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from schema.tables import events

MAX_REFUSAL = 600
"""The longest refusal a caller may see: a sentence and its causes, never their payload."""


async def logged(engine: AsyncEngine, request_id: str) -> int:
    """How many events the store holds for ``request_id``."""
    async with engine.connect() as conn:
        count = await conn.scalar(select(func.count()).select_from(events)
                                  .where(events.c.request_id == request_id))
    return int(count or 0)


async def task_failures(handle: WorkflowHandle[object, object]) -> list[str]:
    """The causes of every WorkflowTaskFailed in the workflow's history."""
    failures: list[str] = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failures.append(event.workflow_task_failed_event_attributes.failure.message)
    return failures
