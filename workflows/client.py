"""Calling request workflows from outside: submit a request, act on it, read its status. The
CLI (starter.py) and the HTTP API share these, so every caller gets the same refusals: one short
line that says what is wrong, or, when no answer came, what is known."""

import asyncio
import contextlib
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain import commands as cmd
from domain.authorization import RefusalKind
from domain.catalog import Catalog
from domain.plan import SubmissionRefused, plan_request
from domain.request import RequestSubmission, request_id_for, workflow_id_for
from domain.state import RequestState
from domain.validation import shorten
from workflows.entry import refusal_kind
from workflows.messages import WORKFLOW_NAME, RequestView, RequestWorkflowInput

DEFAULT_WAIT_SECONDS = 20.0
"""How long a caller waits for an answer before saying it does not know the outcome."""

MAX_PAYLOAD_BYTES = 2 * 1024 * 1024
"""Temporal's default limit on one payload (limit.blobSize.error): a bigger one fails the
workflow task that would carry it, so it is refused before it is sent."""

_SUBMITTED = "submitted"
_STATUS = "status"
_STATE = "state"
_Answer = TypeVar("_Answer")
_MAX_REFUSAL = 500
"""Characters of a refusal: enough for a sentence and its causes, never a caller's payload."""


class ActionRefused(Exception):
    """A submission or action that was not carried out; the message says why, ``kind`` which
    kind of no it is."""

    def __init__(self, kind: RefusalKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class OutcomeUnknown(Exception):
    """No answer came in time: the action may or may not have been applied."""


@dataclass(frozen=True)
class Submitted:
    request_id: str
    view: RequestView


def _handle(client: Client, request_id: str) -> WorkflowHandle[Any, Any]:
    return client.get_workflow_handle(workflow_id_for(request_id))


async def submit_request(client: Client, catalog: Catalog, submission: RequestSubmission, *,
                         task_queue: str, wait: float = DEFAULT_WAIT_SECONDS) -> Submitted:
    """Starts the request's workflow and waits until it has an owner, in one round trip
    (update-with-start); for the same idempotency key (also under concurrent submission) it
    returns the existing request. The same key with different content is refused by the
    workflow's ``submitted`` validator, a key of a closed request here."""
    request_id = request_id_for(submission.idempotency_key)
    try:
        plan = plan_request(request_id, submission, templates=catalog.templates,
                            policy=catalog.policy, departments=catalog.departments)
    except SubmissionRefused as error:
        raise ActionRefused(RefusalKind.INVALID, shorten(str(error), _MAX_REFUSAL)) from error
    workflow_input = RequestWorkflowInput(plan=plan)
    _refuse_oversized(client, workflow_input, f"request {request_id}: the submission")
    start: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
        WORKFLOW_NAME, workflow_input, id=workflow_id_for(request_id),
        task_queue=task_queue, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        # USE_EXISTING covers a running request; REJECT_DUPLICATE refuses a finished one.
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
    try:
        view = await _answer(
            client.execute_update_with_start_workflow(
                _SUBMITTED, submission, start_workflow_operation=start, result_type=RequestView),
            request_id, wait=wait, what="submit it",
            unknown=f"no confirmation within {wait:g} s (is a worker running?); not known "
                    f"whether it was created: submitting the same key again is safe, or check "
                    f"with `status {request_id}`")
    except WorkflowAlreadyStartedError as error:
        raise ActionRefused(
            RefusalKind.CONFLICT,
            f"request {request_id} already exists and is closed (idempotency key "
            f"{shorten(submission.idempotency_key)!r}): a new request needs a new key") from error
    finally:
        await _settle(start)
    return Submitted(request_id=request_id, view=view)


async def _settle(start: WithStartWorkflowOperation[Any, Any]) -> None:
    """Reads the start operation's own outcome, which holds the same failure as the call (or
    its cancellation by the wait), so that it is not reported as never retrieved."""
    with contextlib.suppress(Exception, asyncio.CancelledError):
        async with asyncio.timeout(1):  # it is settled once the call is: this never waits
            await start.workflow_handle()


async def act(client: Client, request_id: str, action: str, command: cmd.RequestCommand, *,
              wait: float = DEFAULT_WAIT_SECONDS) -> RequestView:
    """Runs ``action`` on the request and returns its new state; ActionRefused when it was not
    carried out, OutcomeUnknown when no answer came within ``wait`` seconds."""
    _refuse_oversized(client, command, f"request {request_id}: the {action} command")
    return await _answer(
        _handle(client, request_id).execute_update(action, command, result_type=RequestView),
        request_id, wait=wait, what=action,
        unknown=f"no answer to {action} within {wait:g} s (is a worker running?); not known "
                f"whether the action was applied: check with `status {request_id}`")


async def _answer(update: Awaitable[RequestView], request_id: str, *, wait: float, what: str,
                  unknown: str) -> RequestView:
    """What ``update`` answers within ``wait`` seconds; a refusal as ActionRefused, no answer
    as OutcomeUnknown saying what is ``unknown``."""
    try:
        async with asyncio.timeout(wait):
            return await update
    except WorkflowUpdateFailedError as error:
        raise _update_refused(error) from error
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as error:
        raise OutcomeUnknown(f"request {request_id}: {unknown}") from error
    except RPCError as error:
        raise _rpc_failure(error, request_id, what) from error


async def _query(client: Client, request_id: str, name: str, result_type: type[_Answer], *,
                 wait: float) -> _Answer:
    try:
        async with asyncio.timeout(wait):
            answer: _Answer = await _handle(client, request_id).query(name, result_type=result_type)
    except TimeoutError as error:
        raise OutcomeUnknown(f"request {request_id}: no {name} within {wait:g} s (is a worker "
                             "running?)") from error
    except RPCError as error:
        raise _rpc_failure(error, request_id, f"read its {name}") from error
    return answer


async def request_status(client: Client, request_id: str, *,
                         wait: float = DEFAULT_WAIT_SECONDS) -> RequestView:
    return await _query(client, request_id, _STATUS, RequestView, wait=wait)


async def request_state(client: Client, request_id: str, *,
                        wait: float = DEFAULT_WAIT_SECONDS) -> RequestState:
    """The request's whole state as its workflow holds it (what ``decide`` reads)."""
    return await _query(client, request_id, _STATE, RequestState, wait=wait)


def _refuse_oversized(client: Client, value: object, what: str) -> None:
    payloads = client.data_converter.payload_converter.to_payloads([value])
    size = sum(payload.ByteSize() for payload in payloads)
    if size > MAX_PAYLOAD_BYTES:
        raise ActionRefused(RefusalKind.INVALID,
                            f"{what} is too large: {size / 1024 / 1024:.1f} MB encoded, "
                            f"Temporal takes at most {MAX_PAYLOAD_BYTES // 1024 // 1024} MB")


def _update_refused(error: WorkflowUpdateFailedError) -> ActionRefused:
    cause = error.cause
    kind = (refusal_kind(cause) if isinstance(cause, ApplicationError)
            else RefusalKind.CONFLICT)
    return ActionRefused(kind, reasons(cause))


def reasons(cause: BaseException | None) -> str:
    """The messages of a failure and of what caused it, in one short line."""
    messages: list[str] = []
    while cause is not None:
        text = cause.message if isinstance(cause, ApplicationError) else str(cause)
        text = " ".join(text.split())
        if text and text not in messages:
            messages.append(text)
        cause = cause.__cause__
    return shorten(": ".join(messages), _MAX_REFUSAL) or "refused"


def _rpc_failure(error: RPCError, request_id: str, what: str) -> Exception:
    """An RPC error as a refusal (the server said no) or an unknown outcome (no answer)."""
    message = error.message
    if error.status == RPCStatusCode.NOT_FOUND:
        if "workflow execution already completed" in message:
            return ActionRefused(
                RefusalKind.CONFLICT,
                f"request {request_id} is closed or cancelled: it takes no more actions")
        return ActionRefused(RefusalKind.NOT_FOUND, f"unknown request {request_id}")
    if "larger than max" in message or error.status == RPCStatusCode.RESOURCE_EXHAUSTED:
        return ActionRefused(RefusalKind.INVALID,
                             f"request {request_id}: the input is too large for Temporal "
                             f"({shorten(message, 120)})")
    if "unexpected workflow task failure" in message:  # e.g. a raw payload over the limit
        return ActionRefused(RefusalKind.INVALID,
                             f"request {request_id}: the workflow could not take the call "
                             f"(is its input over Temporal's "
                             f"{MAX_PAYLOAD_BYTES // 1024 // 1024} MB payload limit?)")
    if "Update name is not set" in message:
        return ActionRefused(RefusalKind.INVALID, f"request {request_id}: no action named (known: "
                             f"{', '.join(cmd.ACTIONS)})")
    if error.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED,
                        RPCStatusCode.CANCELLED, RPCStatusCode.UNKNOWN):
        return OutcomeUnknown(
            f"request {request_id}: Temporal did not answer ({shorten(message, 120)}); not "
            f"known whether it was done ({what}): check with `status {request_id}`")
    return ActionRefused(RefusalKind.CONFLICT, f"request {request_id}: {shorten(message, 200)}")
