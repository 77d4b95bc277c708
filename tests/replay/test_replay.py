"""Replays every recorded history of the request workflow against the current code: a change
that is not compatible with a released version (and not guarded by ``workflow.patched``) fails
here with a non-determinism error."""

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from runtime.converter import DATA_CONVERTER
from workflows.request import CustomerRequestWorkflow

HISTORIES = sorted((Path(__file__).resolve().parent / "histories").glob("*.json"))
RECORDED = {path.stem: path.read_text() for path in HISTORIES}


def test_histories_are_recorded() -> None:
    names = {path.name for path in HISTORIES}
    assert {"customer_request_v1_lifecycle.json", "customer_request_v1_cancelled.json"} <= names


async def _replay_failure(name: str, history_json: str) -> Exception | None:
    history = WorkflowHistory.from_json(name, history_json)
    replayer = Replayer(workflows=[CustomerRequestWorkflow], data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    return result.replay_failure


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_replay(path: Path) -> None:
    failure = await _replay_failure(path.stem, RECORDED[path.stem])
    assert failure is None, f"{path.name} no longer replays: {failure}"


async def test_a_history_the_code_would_not_write_fails_to_replay() -> None:
    # The first activity the recorded workflow scheduled, renamed: the code schedules another.
    history = json.loads(RECORDED["customer_request_v1_lifecycle"])
    scheduled = next(event["activityTaskScheduledEventAttributes"]
                     for event in history["events"]
                     if "activityTaskScheduledEventAttributes" in event)
    scheduled["activityType"]["name"] = "an_activity_the_workflow_never_calls"

    failure = await _replay_failure("tampered", json.dumps(history))

    assert failure is not None
    assert "an_activity_the_workflow_never_calls" in str(failure)
