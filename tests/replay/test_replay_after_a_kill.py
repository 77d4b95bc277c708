"""Issue 9, "replay nondeterminism after worker kill": a worker killed at any moment leaves a
history that ends at some workflow task, and the worker that takes the request over replays
exactly that prefix (an update accepted and its activity in flight, the wake timer
started). Every such prefix of the current version's recorded histories
must replay without a nondeterminism error. None does here; the error seen in chaos runs
("Update machine does not handle this event: TimerStarted") matches temporalio/sdk-typescript
#1966 (see README, Reliability)."""

from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from runtime.converter import DATA_CONVERTER
from workflows.request import CustomerRequestWorkflow

LATEST = sorted((Path(__file__).resolve().parent / "histories").glob("customer_request_v4_*.json"))
RECORDED = {path.stem: path.read_text() for path in LATEST}


@pytest.mark.parametrize("path", LATEST, ids=[p.stem for p in LATEST])
async def test_every_prefix_a_killed_worker_leaves_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, RECORDED[path.stem])
    cuts = [n for n, event in enumerate(history.events)
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED]
    replayer = Replayer(workflows=[CustomerRequestWorkflow], data_converter=DATA_CONVERTER)
    failures = []
    for cut in cuts:
        prefix = WorkflowHistory(history.workflow_id, history.events[:cut + 1])
        result = await replayer.replay_workflow(prefix, raise_on_replay_failure=False)
        if result.replay_failure is not None:
            failures.append(f"after event {cut + 1}: {result.replay_failure}")
    assert len(cuts) > 1
    assert not failures, "\n".join(failures)


async def test_a_prefix_cut_where_the_code_differs_fails() -> None:
    # The check can fail: the same prefix with its first activity renamed does not replay.
    history = WorkflowHistory.from_json("v4", RECORDED["customer_request_v4_lifecycle"])
    events = list(history.events)
    scheduled = next(e for e in events
                     if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    scheduled.activity_task_scheduled_event_attributes.activity_type.name = "another_activity"
    cut = next(n for n, e in enumerate(events) if n > events.index(scheduled)
               and e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
    replayer = Replayer(workflows=[CustomerRequestWorkflow], data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(WorkflowHistory(history.workflow_id, events[:cut + 1]),
                                            raise_on_replay_failure=False)
    assert result.replay_failure is not None
