"""The API's one way into Temporal: submit, act, read a request's state, relay a customer's
reply. Everything goes through the callers' functions of workflows/client.py and the update names of
``domain.commands.ACTIONS``, so moving those functions (or switching submission to
update-with-start) changes one import here. Failures come out as a ``Refusal`` of a kind the
HTTP layer maps to a status (the kind set where the refusal was raised), or as
``TemporalDown``."""

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.authorization import RefusalKind
from domain.catalog import Catalog
from domain.commands import RecordCustomerReply, RequestCommand
from domain.request import RequestSubmission, request_id_for, workflow_id_for
from domain.state import RequestState
from workflows import client as requests_client
from workflows.messages import RequestView

CUSTOMER_REPLIED_SIGNAL = "customer_replied"
_SUBMISSION_QUERY = "submission"
_DOWN = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED,
         RPCStatusCode.RESOURCE_EXHAUSTED}

_Answer = TypeVar("_Answer")


class Refusal(Exception):
    """Nothing was done; ``kind`` says which kind of no it is."""

    def __init__(self, kind: RefusalKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class TemporalDown(Exception):
    """Temporal did not answer; nothing was done (or, for a submission, it may be retried with
    the same idempotency key)."""


@dataclass(frozen=True)
class Submitted:
    request_id: str
    view: RequestView


def _causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    cause: BaseException | None = error
    while cause is not None and len(chain) < 10:
        chain.append(cause)
        cause = cause.__cause__
    return chain


def _translate(error: Exception) -> Exception:
    for cause in _causes(error):
        if isinstance(cause, RPCError) and cause.status in _DOWN:
            return TemporalDown(f"Temporal is unavailable: {' '.join(cause.message.split())}")
        if isinstance(cause, WorkflowUpdateFailedError | RPCError):
            break
    if isinstance(error, requests_client.ActionRefused):
        return Refusal(error.kind, str(error))
    return Refusal(RefusalKind.CONFLICT, str(error))


def _unknown(error: Exception) -> TemporalDown:
    reason = next((c.message for c in _causes(error) if isinstance(c, RPCError)), "no answer")
    return TemporalDown(f"Temporal is unavailable ({' '.join(reason.split())}): not known "
                        "whether it was done; retry with the same request")


async def _answer(call: Awaitable[_Answer]) -> _Answer:
    """A call's answer, or its failure as the API states it (a refusal, or Temporal down)."""
    try:
        return await call
    except requests_client.OutcomeUnknown as error:
        raise _unknown(error) from error
    except (requests_client.ActionRefused, RPCError) as error:
        raise _translate(error) from error


class Gateway:
    def __init__(self, client: Client, catalog: Catalog, task_queue: str) -> None:
        self.client = client
        self.catalog = catalog
        self._task_queue = task_queue

    async def reachable(self) -> bool:
        try:
            return await self.client.service_client.check_health()
        except RPCError:
            return False

    async def submit(self, submission: RequestSubmission) -> Submitted:
        """The request for ``submission``'s idempotency key: created now, or the one that
        already exists with the same content (even closed)."""
        try:
            done = await requests_client.submit_request(
                self.client, self.catalog, submission, task_queue=self._task_queue)
        except requests_client.ActionRefused as error:
            if any(isinstance(c, WorkflowAlreadyStartedError) for c in _causes(error)):
                return await self._closed_duplicate(submission)
            raise _translate(error) from error
        except requests_client.OutcomeUnknown as error:
            raise _unknown(error) from error
        except RPCError as error:
            raise _translate(error) from error
        return Submitted(request_id=done.request_id, view=done.view)

    async def _closed_duplicate(self, submission: RequestSubmission) -> Submitted:
        request_id = request_id_for(submission.idempotency_key)
        existing = await self.submission(request_id)
        if existing != submission:
            raise Refusal(RefusalKind.INVALID,
                          f"idempotency key {submission.idempotency_key!r} was already used "
                          f"for a different request ({request_id})")
        return Submitted(request_id=request_id, view=await self.status(request_id))

    async def act(self, request_id: str, action: str, command: RequestCommand) -> RequestView:
        return await _answer(requests_client.act(self.client, request_id, action, command))

    async def status(self, request_id: str) -> RequestView:
        return await _answer(requests_client.request_status(self.client, request_id))

    async def state(self, request_id: str) -> RequestState:
        return await _answer(requests_client.request_state(self.client, request_id))

    async def submission(self, request_id: str) -> RequestSubmission:
        handle = self.client.get_workflow_handle(workflow_id_for(request_id))
        try:
            found: RequestSubmission = await handle.query(_SUBMISSION_QUERY,
                                                          result_type=RequestSubmission)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                raise Refusal(RefusalKind.NOT_FOUND, f"unknown request {request_id}") from error
            raise _translate(error) from error
        return found

    async def relay_customer_reply(self, request_id: str, reply: RecordCustomerReply) -> None:
        """Resumes a request waiting on its customer without waiting for the outcome."""
        handle = self.client.get_workflow_handle(workflow_id_for(request_id))
        try:
            await handle.signal(CUSTOMER_REPLIED_SIGNAL, reply)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                raise Refusal(RefusalKind.NOT_FOUND,
                              f"request {request_id} is unknown or closed") from error
            raise _translate(error) from error
