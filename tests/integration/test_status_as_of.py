"""``starter.py status`` shows the clocks as of the moment it is run, not as of the workflow's
last task (which, on an idle request, may be long ago)."""

import asyncio
import json
from datetime import UTC, datetime

import pytest
from temporalio.testing import WorkflowEnvironment

import starter
from tests.integration.conftest import Caseflow
from tests.integration.requests import billing_dispute, patient, temporal_address
from workflows import client as calls


async def test_the_cli_status_is_as_of_the_moment_it_is_read(
        caseflow: Caseflow, temporal_env: WorkflowEnvironment,
        capsys: pytest.CaptureFixture[str]) -> None:
    catalog = patient(caseflow.catalog)
    submitted = await calls.submit_request(caseflow.client, catalog, billing_dispute(catalog),
                                             task_queue=caseflow.task_queue)
    queried = await calls.request_status(caseflow.client, submitted.request_id)
    before = datetime.now(UTC)
    assert queried.as_of < before, "the workflow answers as of its last task"

    status = await asyncio.to_thread(starter.main, [
        "--temporal-address", temporal_address(temporal_env), "status", submitted.request_id])
    shown = json.loads(capsys.readouterr().out)
    assert status == 0
    as_of = datetime.fromisoformat(shown["as_of"])
    assert as_of >= before
    lag = (as_of - queried.as_of).total_seconds()
    for clock, earlier in zip(shown["clocks"], queried.clocks, strict=True):
        assert clock["elapsed_seconds"] == pytest.approx(earlier.elapsed_seconds + lag)
        assert clock["remaining_seconds"] == pytest.approx(earlier.remaining_seconds - lag)
