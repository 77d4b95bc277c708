"""Works requests to closure as agents and customers would, through the Temporal client, and
times every call. Each next action is read from the request's state, so a call whose answer a
fault swallowed (did it happen?) is simply followed by the action the state then calls for."""

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

from temporalio.client import Client

from domain import commands as cmd
from domain.actors import Actor, ActorKind
from domain.catalog import Catalog
from domain.request import RequestSubmission, request_id_for
from domain.state import FINAL_STATUSES, RequestStatus
from workflows import client as calls
from workflows.messages import RequestView

T = TypeVar("T")
CALL_TIMEOUT = 60.0
RETRY_PAUSE = 0.5


@dataclass(frozen=True)
class Call:
    """One call that answered: when it was made and when the answer came (monotonic s)."""

    started: float
    ended: float


@dataclass
class Driven:
    request_id: str
    closed: bool = False
    errors: int = 0
    calls: list[Call] = field(default_factory=list)


class Driver:
    def __init__(self, client: Client, catalog: Catalog, task_queue: str) -> None:
        self._client = client
        self._catalog = catalog
        self._task_queue = task_queue
        self.closed = 0
        self.progress = asyncio.Event()
        """Set whenever a request closes (the fault injector waits on the count)."""

    async def work(self, submission: RequestSubmission, deadline: float) -> Driven:
        driven = Driven(request_id=request_id_for(submission.idempotency_key))
        submitted = False
        while time.monotonic() < deadline:
            try:
                if not submitted:
                    await self._timed(driven, calls.submit_request(
                        self._client, self._catalog, submission, task_queue=self._task_queue))
                    submitted = True
                    continue
                view = await asyncio.wait_for(
                    calls.request_status(self._client, driven.request_id), CALL_TIMEOUT)
                if view.status not in FINAL_STATUSES:
                    view = await self._timed(driven, self._next(view, submission))
                if view.status in FINAL_STATUSES:
                    # Known from the answer: a query of a closed workflow would replay it.
                    driven.closed = view.status is RequestStatus.CLOSED
                    self.closed += 1
                    self.progress.set()
                    return driven
            except Exception:  # any fault: look at the state again and carry on
                driven.errors += 1
                await asyncio.sleep(RETRY_PAUSE)
        return driven

    async def _timed(self, driven: Driven, call: Awaitable[T]) -> T:
        started = time.monotonic()
        answer = await asyncio.wait_for(call, CALL_TIMEOUT)
        driven.calls.append(Call(started, time.monotonic()))
        return answer

    async def _next(self, view: RequestView, submission: RequestSubmission) -> RequestView:
        rid = view.request_id
        active = [s for s in view.steps if s.status == "active"]
        if active:
            step = active[0]
            owner = Actor(id=step.owner_id)
            if step.claimed_at is None:
                return await calls.act(self._client, rid, "claim",
                                         cmd.Claim(actor=owner, step_key=step.step_key))
            return await calls.act(self._client, rid, "complete_step",
                                     cmd.CompleteStep(actor=owner, step_key=step.step_key))
        if view.status is RequestStatus.RESOLVED:
            return await calls.act(self._client, rid, "customer_feedback",
                                     cmd.CustomerFeedback(actor=Actor(
                                         id=submission.customer.id, kind=ActorKind.CUSTOMER),
                                         accepted=True, satisfaction=5))
        return await calls.act(self._client, rid, "resolve",
                                 cmd.Resolve(actor=Actor(id=view.owner_id), summary="已处理"))
