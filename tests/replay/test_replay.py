"""Replays every recorded history of the request workflow against the current code: a change
that is not compatible with a released version (and not guarded by ``workflow.patched``) fails
here with a non-determinism error, and a change that would send different input to an activity
than the recorded run did (a different event, a different person to staff) fails the comparison
of regenerated activity inputs with the recorded ones."""

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import (
    Interceptor,
    Replayer,
    StartActivityInput,
    StartLocalActivityInput,
    UnsandboxedWorkflowRunner,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)
from temporalio.workflow import ActivityHandle

from domain.erasure import ERASURE_SIGNAL
from runtime.converter import DATA_CONVERTER
from workflows.request import CustomerRequestWorkflow

HISTORIES = sorted((Path(__file__).resolve().parent / "histories").glob("*.json"))
RECORDED = {path.stem: path.read_text() for path in HISTORIES}

ActivityCall = tuple[str, list[Any]]


def test_histories_are_recorded() -> None:
    names = {path.name for path in HISTORIES}
    assert {f"customer_request_{version}_{name}.json"
            for version in ("v1", "v2", "v3", "v4", "v5")
            for name in ("lifecycle", "cancelled")} <= names
    assert {f"customer_request_{version}_continued_run{run}.json"
            for version in ("v2", "v3", "v4", "v5") for run in (1, 2)} <= names


def test_the_v5_lifecycle_appends_the_erasure_it_was_told_of() -> None:
    """The history the erasure's replay rests on holds the signal and the append it caused
    (test_replay_sends_every_activity_the_recorded_input then checks the append's input)."""
    history = json.loads(RECORDED["customer_request_v5_lifecycle"])
    signals = [event["workflowExecutionSignaledEventAttributes"]["signalName"]
               for event in history["events"]
               if "workflowExecutionSignaledEventAttributes" in event]
    assert signals == [ERASURE_SIGNAL]
    appended = [json.loads(base64.b64decode(payload["data"]))
                for event in history["events"]
                if "activityTaskScheduledEventAttributes" in event
                for payload in event["activityTaskScheduledEventAttributes"]["input"]["payloads"]]
    erased = [e for batch in appended for e in batch.get("events", [])
              if e["event_type"] == "customer_erased"]
    assert [e["payload"]["basis"] for e in erased] == ["request"]


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


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_replay_sends_every_activity_the_recorded_input(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, RECORDED[path.stem])
    recorder = _ActivityRecorder()
    # Unsandboxed so the interceptor's list is the test's own; test_replay runs the sandbox.
    replayer = Replayer(workflows=[CustomerRequestWorkflow], data_converter=DATA_CONVERTER,
                        interceptors=[recorder], workflow_runner=UnsandboxedWorkflowRunner())
    await replayer.replay_workflow(history, raise_on_replay_failure=True)
    recorded = _recorded_calls(history)
    assert len(recorder.calls) == len(recorded)
    for number, (regenerated, stored) in enumerate(zip(recorder.calls, recorded, strict=True)):
        assert regenerated == stored, f"activity #{number + 1} ({stored[0]}) differs"
    # A local activity's marker holds its type and result, not its input; an append's input is
    # still checked, by the workflow itself: the recorded digest must be that of the events the
    # replayed code built, or it parks the request (a record_parked call the history lacks).
    assert recorder.local_types == _recorded_local_types(history)


def _recorded_local_types(history: WorkflowHistory) -> list[str]:
    markers = [e.marker_recorded_event_attributes for e in history.events
               if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    return [json.loads(m.details["data"].payloads[0].data)["activity_type"] for m in markers
            if m.marker_name == "core_local_activity"]


def _recorded_calls(history: WorkflowHistory) -> list[ActivityCall]:
    scheduled = [e.activity_task_scheduled_event_attributes for e in history.events
                 if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]
    return [(s.activity_type.name, [json.loads(p.data) for p in s.input.payloads])
            for s in scheduled]


class _ActivityRecorder(Interceptor):
    """Keeps the name and JSON input of every activity the replayed workflow starts."""

    def __init__(self) -> None:
        self.calls: list[ActivityCall] = []
        self.local_types: list[str] = []

    def workflow_interceptor_class(
            self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        calls, local_types = self.calls, self.local_types

        class Outbound(WorkflowOutboundInterceptor):
            def start_local_activity(self, input: StartLocalActivityInput) -> ActivityHandle[Any]:
                local_types.append(input.activity)
                return super().start_local_activity(input)

            def start_activity(self, input: StartActivityInput) -> ActivityHandle[Any]:
                payloads = DATA_CONVERTER.payload_converter.to_payloads(input.args)
                calls.append((input.activity, [json.loads(p.data) for p in payloads]))
                return super().start_activity(input)

        class Inbound(WorkflowInboundInterceptor):
            def init(self, outbound: WorkflowOutboundInterceptor) -> None:
                super().init(Outbound(outbound))

        return Inbound
