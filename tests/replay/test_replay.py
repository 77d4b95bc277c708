"""Replays every recorded history of the request workflow against the current code: a change
that is not compatible with a released version (and not guarded by ``workflow.patched``) fails
here with a non-determinism error."""

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


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_replay(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, RECORDED[path.stem])
    replayer = Replayer(workflows=[CustomerRequestWorkflow], data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
