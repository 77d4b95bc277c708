"""The log is the one source of truth: for every request a worker ran, the state rebuilt from its
log alone (``domain.state.rebuild``) equals the state its workflow holds."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowExecutionStatus

from domain.state import RequestState, rebuild
from eventstore.log import stored_events
from eventstore.personal import ERASED
from workflows.request import CustomerRequestWorkflow

_QUERYABLE = {WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.COMPLETED,
              WorkflowExecutionStatus.CONTINUED_AS_NEW}


async def assert_logs_rebuild_states(client: Client, engine: AsyncEngine,
                                     task_queue: str) -> int:
    """Compares every run on ``task_queue`` (a continued-as-new run with the log as far as it
    went); a request parked because its log disagrees is left out. Returns the runs compared."""
    compared = 0
    async for run in client.list_workflows(f'TaskQueue = "{task_queue}"'):
        if run.status not in _QUERYABLE:
            continue
        handle = client.get_workflow_handle(run.id, run_id=run.run_id)
        # The list is eventually consistent; describe is not (a run may have failed since).
        if (await handle.describe()).status not in _QUERYABLE:
            continue
        view = await handle.query(CustomerRequestWorkflow.status)
        if view.parked is not None:
            continue
        state = await handle.query(CustomerRequestWorkflow.state)
        log = await stored_events(engine, state.request_id, 1, state.sequence)
        rebuilt = rebuild(log)
        if rebuilt.plan.submission.subject == ERASED:
            # Its customer was erased: the log keeps no personal text, the workflow still does.
            state = _erased(state)
        assert _dump(rebuilt) == _dump(state), (
            f"request {state.request_id} (run {run.run_id}): rebuilt from its log it differs "
            f"from its workflow in {_differences(rebuilt, state)}")
        compared += 1
    return compared


def _erased(state: RequestState) -> RequestState:
    submission = state.plan.submission
    erased = submission.model_copy(update={
        "subject": ERASED, "description": ERASED if submission.description else "",
        "customer": submission.customer.model_copy(update={"name": ERASED})})
    return state.model_copy(update={"plan": state.plan.model_copy(
        update={"submission": erased})})


def _dump(state: RequestState) -> dict[str, Any]:
    return state.model_dump(mode="json")


def _differences(rebuilt: RequestState, held: RequestState) -> list[str]:
    left, right = _dump(rebuilt), _dump(held)
    return sorted(key for key in left.keys() | right.keys() if left.get(key) != right.get(key))
