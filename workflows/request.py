"""The customer request workflow: one per request, alive from submission until the request is
closed or cancelled. It holds the request's state, asks the domain what each command and each
passing moment does, writes the resulting events through the store activity, and only then
applies them to its state."""

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from pydantic import ValidationError
from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import (
        APPEND_EVENTS,
        CHOOSE_ASSIGNEES,
        LOOKUP_DEPARTMENT,
        NOTIFY,
        RECORD_PARKED,
        STORE_REFUSED,
        UNKNOWN_DEPARTMENT,
        AppendInput,
        AppendResult,
        DepartmentLookup,
        Notification,
        NotificationResult,
        ParkedRequest,
        StaffingInput,
        StaffingResult,
    )
    from domain import commands as cmd
    from domain import loop
    from domain.actors import SYSTEM, ActorRef
    from domain.assignment import Assignment
    from domain.authorization import RefusalKind, Refused
    from domain.decisions import Decision, decide
    from domain.erasure import ERASURE_SIGNAL, ErasureNotice
    from domain.events import (
        DomainEvent,
        Escalated,
        EventPayload,
        new_event,
    )
    from domain.labels import ParkReason, RequestLabels
    from domain.log_digest import log_digest
    from domain.org import Department
    from domain.request import RequestSubmission
    from domain.staffing import (
        StaffingNeed,
        staffed,
        submission_payloads,
        with_staffing,
    )
    from domain.state import RequestState, apply, initial_state
    from domain.timers import due, next_due_at
    from domain.validation import describe, shorten
    from workflows.entry import (
        ABSENT,
        IDEMPOTENCY_CONFLICT,
        action_command,
        decode,
        invalid,
        refusal,
    )
    from workflows.messages import WORKFLOW_NAME, RequestView, RequestWorkflowInput, view_of

# The store may be down for a while: keep retrying, at most 2 s apart, so the first try after
# it is back comes within a couple of seconds (a retry is one cheap transaction).
_STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=2),
    non_retryable_error_types=["InvalidEvent", "SequenceGap", "SequenceConflict"],
)
# The store and staffing activities are one short transaction each: work in flight on a worker
# that died is tried again elsewhere after this, not after half a minute.
_ACTIVITY_TIMEOUT = timedelta(seconds=5)

# Behaviour changes of the released workflow, each replayed as it was for histories without it.
# Escalations are written to the outbox by the append and delivered by the worker's dispatcher:
# the request never waits on a receiver. Histories recorded before it notify from the workflow.
ESCALATIONS_THROUGH_OUTBOX = "escalations-through-outbox"
ONE_APPEND_PER_COMMAND = "staff-first-one-append-per-command"
PLAN_IN_THE_LOG = "plan-and-departments-pinned-as-events"
LATE_RESOLUTION_WINDOW = "reopen-window-from-a-late-resolution"
ALERTS_FOLLOW_PRIORITY = "alerts-follow-a-priority-change"
# The wake-up timer is kept while the next due instant stays the same, instead of being
# cancelled and started again after every command.
STEADY_WAKE_TIMER = "one-wake-timer-per-due-instant"
# An erasure of the customer is told to the live workflow, which appends customer_erased.
ERASURE_IN_THE_LOG = "customer-erased-in-the-log"
PATCHES = (ESCALATIONS_THROUGH_OUTBOX, ONE_APPEND_PER_COMMAND, PLAN_IN_THE_LOG,
           LATE_RESOLUTION_WINDOW, ALERTS_FOLLOW_PRIORITY, STEADY_WAKE_TIMER,
           ERASURE_IN_THE_LOG)
"""Every behaviour change guarded by ``workflow.patched``, oldest first."""
PARKED = "Parked"
_Result = TypeVar("_Result")


def _agrees(result: AppendResult, events: list[DomainEvent]) -> bool:
    """Whether the log holds ``events``; answers that carry the digest without personal fields
    are compared on it, since an erased customer's fields read back erased (older recorded
    answers carry only the whole digest)."""
    if result.impersonal_digest is not None:
        return result.impersonal_digest == log_digest(events, personal=False)
    return result.stored_digest == log_digest(events)


def _parked_error(parked: ParkedRequest) -> ApplicationError:
    return ApplicationError(f"request {parked.request_id} is parked for an operator: "
                            f"{parked.detail}", type=PARKED, non_retryable=True)


@workflow.defn(name=WORKFLOW_NAME)
class CustomerRequestWorkflow:
    @workflow.init
    def __init__(self, start: RawValue = ABSENT) -> None:
        # One change at a time: handlers and timers interleave at every await.
        self._lock = asyncio.Lock()
        self._changes = 0
        # The wake-up timer and the instant it fires at (see STEADY_WAKE_TIMER).
        self._wake_timer: asyncio.Future[None] | None = None
        self._wake_timer_at: datetime | None = None
        # Set when the log disagrees with this workflow: nothing more is written.
        self._parked: ParkedRequest | None = None
        # Customers whose erasure this run has appended (a signal sent twice writes once).
        # The input arrives raw: one the model refuses fails the run at once (see run) instead
        # of failing every workflow task while the SDK decodes it.
        self._start_refused: ApplicationError | None = None
        try:
            begun = decode(start, RequestWorkflowInput, "workflow input")
        except ApplicationError as error:
            self._start_refused = error
            return
        self._state: RequestState = begun.state or initial_state(begun.plan)

    # --- run loop ---------------------------------------------------------------------------

    @workflow.run
    async def run(self, start: RawValue = ABSENT) -> RequestView:
        if self._start_refused is not None:
            raise self._start_refused
        try:
            await self._live()
        except ApplicationError as error:
            if error.type != PARKED:
                raise
        if self._parked is not None:
            # Not failed: it waits for an operator (deploy/README.md, CaseflowRequestParked).
            await workflow.wait_condition(lambda: False)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._view()

    async def _live(self) -> None:
        """From submission until the request is final or parked."""
        if self._state.sequence == 0:
            async with self._lock:
                await self._submit()
        while not self._state.is_final and self._parked is None:
            async with self._lock:
                if self._parked is None:
                    await self._handle_due()
            if self._state.is_final or self._parked is not None:
                break
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(RequestWorkflowInput(plan=self._state.plan,
                                                              state=self._state))
            await self._sleep_until_due_or_changed()

    async def _sleep_until_due_or_changed(self) -> None:
        seen = self._changes
        wake = next_due_at(self._state)
        timeout = None if wake is None else (wake - workflow.now()).total_seconds()
        if timeout is not None and timeout <= 0:
            return
        if workflow.patched(STEADY_WAKE_TIMER):
            timer = self._arm_wake_timer(wake, timeout)
            await workflow.wait_condition(
                lambda: self._changes != seen or self._parked is not None
                or workflow.info().is_continue_as_new_suggested()
                or (timer is not None and timer.done()))
            return
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._changes != seen or self._parked is not None
                or workflow.info().is_continue_as_new_suggested(),
                timeout=timeout,
            )

    def _arm_wake_timer(self, wake: datetime | None,
                        timeout: float | None) -> "asyncio.Future[None] | None":
        """The timer that fires at ``wake``: the running one when it already does, else a new
        one (the old one cancelled)."""
        timer = self._wake_timer
        if timer is not None and (timer.done() or wake != self._wake_timer_at):
            timer.cancel()
            timer = None
        if timer is None and timeout is not None:
            timer = asyncio.ensure_future(asyncio.sleep(timeout))
        self._wake_timer, self._wake_timer_at = timer, wake
        return timer

    async def _submit(self) -> None:
        writes = loop.submission(self._state, workflow.now)
        staffing = next(writes)
        assert isinstance(staffing, loop.Staff)
        chosen = await self._staff(staffing.needs)
        plan_in_the_log = workflow.patched(PLAN_IN_THE_LOG)
        if plan_in_the_log and workflow.patched(ONE_APPEND_PER_COMMAND):
            await self._run(writes, chosen)
            return
        # Released histories before these patches: Submitted first, the staffing apart.
        owner, *first_owners = chosen
        first_stage = staffing.needs[1:]
        actor = loop.submitter(self._state)
        submitted = submission_payloads(self._state.plan, workflow.now(), owner)
        submitted = submitted if plan_in_the_log else submitted[1:]
        if workflow.patched(ONE_APPEND_PER_COMMAND):
            await self._commit(actor, with_staffing(self._state, actor, submitted, first_stage,
                                                    first_owners, workflow.now()))
            return
        await self._commit(actor, submitted)
        await self._commit(actor, staffed(self._state, first_stage, first_owners, workflow.now()))

    async def _handle_due(self) -> None:
        """Everything time has made due, until nothing more is."""
        while True:
            work = due(self._state, workflow.now())
            if not work.payloads:
                return
            if workflow.patched(ONE_APPEND_PER_COMMAND):
                await self._run(loop.due_work(self._state, workflow.now))
                continue
            await self._commit(SYSTEM, work.payloads)
            if work.needs:
                chosen = await self._staff(work.needs)
                await self._commit(SYSTEM, staffed(self._state, work.needs, chosen,
                                                   workflow.now(), automatic=True))

    # --- commands ---------------------------------------------------------------------------

    def _validate(self, command: cmd.RequestCommand) -> None:
        """Refuses before anything is written or any history is recorded."""
        if self._start_refused is not None:
            raise self._start_refused
        if self._parked is not None:
            raise _parked_error(self._parked)
        try:
            decide(self._state, command, workflow.now())
        except Refused as error:
            raise refusal(error.kind, str(error)) from error

    async def _execute(self, command: cmd.RequestCommand) -> RequestView:
        async with self._lock:
            if self._parked is not None:  # parked while this command waited for the lock
                raise _parked_error(self._parked)
            try:
                decision = decide(self._state, command, workflow.now())
                if (isinstance(command, cmd.ChangePriority)
                        and not workflow.patched(ALERTS_FOLLOW_PRIORITY)):
                    # Released histories changed the targets but kept the old alert state.
                    decision = decision.model_copy(update={"payloads": decision.payloads[:1]})
                if isinstance(command, cmd.HandOff):
                    decision = await self._pin_department(command, decision)
            except Refused as error:
                raise refusal(error.kind, str(error)) from error
            try:
                if workflow.patched(ONE_APPEND_PER_COMMAND):
                    await self._run(loop.command_writes(
                        self._state, command, decision, workflow.now,
                        late_resolution_window=lambda: workflow.patched(LATE_RESOLUTION_WINDOW)))
                    self._changes += 1
                    return self._view()
                if decision.payloads:
                    await self._commit(decision.actor, decision.payloads)
                if decision.needs:
                    chosen = await self._staff(decision.needs)
                    await self._commit(decision.actor, staffed(self._state, decision.needs,
                                                               chosen, workflow.now()))
            except ActivityError as error:
                # Data the store refuses for good is the caller's refusal; the lock is released
                # and the request takes the next command.
                cause = error.cause
                if isinstance(cause, ApplicationError) and cause.type == STORE_REFUSED:
                    raise refusal(RefusalKind.INVALID, cause.message) from None
                raise
            self._changes += 1
            return self._view()

    async def _pin_department(self, command: cmd.HandOff, decision: Decision) -> Decision:
        """A handoff to a department the request has not involved yet pins that department's
        current calendar and roster on the request (DepartmentPinned, written with the
        handoff), deciding again with it known."""
        if command.to_department_id in self._state.plan.departments:
            return decision
        try:
            department = await workflow.execute_activity(
                LOOKUP_DEPARTMENT, DepartmentLookup(department_id=command.to_department_id),
                result_type=Department, start_to_close_timeout=_ACTIVITY_TIMEOUT)
        except ActivityError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError) and cause.type == UNKNOWN_DEPARTMENT:
                raise Refused(RefusalKind.INVALID, cause.message) from None
            raise
        pinned = loop.with_department_pinned(self._state, command, department, workflow.now())
        if workflow.patched(PLAN_IN_THE_LOG):
            # Pinned by its event, applied with the handoff: the log alone rebuilds the plan.
            return pinned
        # The first release pinned it on the plan alone.
        self._state.plan = self._state.plan.model_copy(update={"departments": {
            **self._state.plan.departments, department.id: department}})
        return pinned.model_copy(update={"payloads": pinned.payloads[1:]})

    # --- I/O through activities -------------------------------------------------------------

    async def _run(self, writes: loop.Writes, answer: list[Assignment] | None = None) -> None:
        """Carries out the domain loop's effects (``answer``: to the one already taken)."""
        try:
            effect = next(writes) if answer is None else writes.send(answer)
            while True:
                if isinstance(effect, loop.Staff):
                    answer = await self._staff(effect.needs, effect.departments)
                else:
                    await self._commit(effect.actor, effect.payloads)
                    answer = []
                effect = writes.send(answer)
        except StopIteration:
            return

    async def _commit(self, actor: ActorRef, payloads: list[EventPayload]) -> None:
        """Writes ``payloads`` as the request's next events and, once the store answers that
        it holds just these, applies them; a log that disagrees parks the request."""
        if not payloads:
            return
        now = workflow.now()
        state = self._state
        events = [new_event(state.request_id, state.sequence + n, actor, now, payload)
                  for n, payload in enumerate(payloads, start=1)]
        result = await self._store_call(APPEND_EVENTS,
                                        AppendInput(events=events, labels=_labels(state)),
                                        AppendResult)
        # Results recorded before the store answered with what it holds carry no digest, so
        # the check adds no command to a released history and needs no patch.
        if result.stored_digest is not None:
            await self._check_stored(events, result)
        for event in events:
            apply(state, event)
        self._changes += 1
        escalations = [(payload, event.sequence)
                       for payload, event in zip(payloads, events, strict=True)
                       if isinstance(payload, Escalated)]
        if escalations and not workflow.patched(ESCALATIONS_THROUGH_OUTBOX):
            for escalated, sequence in escalations:
                await self._notify_escalation(escalated, sequence)

    async def _check_stored(self, events: list[DomainEvent], result: AppendResult) -> None:
        """Parks the request (and raises PARKED) unless the log holds exactly ``events``."""
        if result.refused is not None:
            reason, detail = ParkReason.REFUSED, result.refused
        elif not _agrees(result, events):
            reason = ParkReason.DIGEST_MISMATCH
            detail = (f"the log holds other events at sequences {events[0].sequence}-"
                      f"{events[-1].sequence} than the workflow wrote")
        else:
            return
        parked = ParkedRequest(request_id=self._state.request_id, reason=reason, detail=detail)
        await workflow.execute_activity(RECORD_PARKED, parked,
                                        start_to_close_timeout=_ACTIVITY_TIMEOUT)
        # Parked once counted: whoever then sees it parked also finds it in the metrics.
        self._parked = parked
        self._changes += 1
        raise _parked_error(parked)

    async def _staff(self, needs: list[StaffingNeed],
                     known: dict[str, Department] | None = None) -> list[Assignment]:
        """People for ``needs`` by the rules of the departments pinned on the request (or
        ``known``, those it will have once a decision's events are applied)."""
        known = self._state.plan.departments if known is None else known
        departments = {n.department_id: known[n.department_id] for n in needs}
        result = await self._store_call(CHOOSE_ASSIGNEES,
                                        StaffingInput(needs=needs, departments=departments),
                                        StaffingResult)
        assignments: list[Assignment] = result.assignments
        return assignments

    async def _store_call(self, name: str, argument: Any, result_type: type[_Result]) -> _Result:
        """One store activity (staffing or the append), retried while the store is down."""
        result = await workflow.execute_activity(
            name, argument, result_type=result_type,
            start_to_close_timeout=_ACTIVITY_TIMEOUT, retry_policy=_STORE_RETRY)
        return cast(_Result, result)  # the converter made it a result_type

    async def _notify_escalation(self, escalated: Escalated, sequence: int) -> None:
        """Only for histories recorded before the outbox (see ``ESCALATIONS_THROUGH_OUTBOX``)."""
        state = self._state
        subject = state.plan.submission.subject
        await workflow.execute_activity(
            NOTIFY,
            Notification(
                key=f"{state.request_id}:{escalated.clock_id}:{escalated.breach_number}:"
                    f"{escalated.level}",
                request_id=state.request_id, recipient_id=escalated.recipient_id,
                subject=f"[SLA {escalated.level_name}] {subject}",
                body=f"SLA {escalated.clock_id} of request {state.request_id} is breached "
                     f"(escalation level {escalated.level}, event {sequence}).",
            ),
            result_type=NotificationResult, start_to_close_timeout=_ACTIVITY_TIMEOUT,
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5)))

    # --- queries ----------------------------------------------------------------------------

    def _view(self) -> RequestView:
        view = view_of(self._state, workflow.now())
        if self._parked is None:
            return view
        return view.model_copy(update={"parked": self._parked.detail})

    @workflow.query
    def status(self) -> RequestView:
        return self._view()

    @workflow.query
    def state(self) -> RequestState:
        """The whole state, as ``domain.state.rebuild`` makes it from the log (for operators
        and the tests that compare the two)."""
        return self._state

    @workflow.update
    async def submitted(self, submission: Any = None) -> RequestView:
        """Answers once the request's first events are written: it has a named owner and its
        first stage has begun. The submitter waits on this instead of polling; sent with the
        start (update-with-start), its validator refuses a different ``submission`` under the
        same idempotency key."""
        await workflow.wait_condition(lambda: bool(self._state.steps)
                                      or self._parked is not None)
        if self._parked is not None:
            raise _parked_error(self._parked)
        return self._view()

    @submitted.validator
    def _submitted_ok(self, submission: Any = None) -> None:
        if self._start_refused is not None:
            raise self._start_refused
        if submission is None:  # a caller of the first release sent none
            return
        try:
            given = RequestSubmission.model_validate(submission)
        except ValidationError as error:
            raise invalid(f"submission: {describe(error)}") from None
        existing = self._state.plan.submission
        if given != existing:
            raise ApplicationError(
                f"idempotency key {shorten(existing.idempotency_key)!r} was already used for "
                f"a different request ({self._state.request_id}: "
                f"{shorten(existing.subject)!r})", type=IDEMPOTENCY_CONFLICT, non_retryable=True)

    @workflow.query
    def submission(self) -> RequestSubmission:
        """What was submitted: a resubmission with the same key is compared against it."""
        return self._state.plan.submission

    # --- actions: every one of domain.commands.ACTIONS, refused by the validator when the
    # payload, the actor's rights or the request's state do not allow it ---------------------

    @workflow.update(dynamic=True)
    async def act(self, action: str, args: Sequence[RawValue]) -> RequestView:
        """Runs the action named ``action`` with its command (the one payload in ``args``)."""
        return await self._execute(action_command(action, args))

    @act.validator
    def _act_ok(self, action: str, args: Sequence[RawValue]) -> None:
        self._validate(action_command(action, args))

    # --- signals: fire-and-forget from integrations -----------------------------------------

    @workflow.signal
    async def customer_replied(self, reply: RawValue = ABSENT) -> None:
        """An inbound channel (mail gateway, portal) relays a reply; a reply that is malformed
        or does not fit the request's state is logged and dropped, since no caller waits for an
        answer."""
        try:
            if self._start_refused is not None:
                raise self._start_refused
            await self._execute(decode(reply, cmd.RecordCustomerReply, "customer_replied"))
        except ApplicationError as error:
            workflow.logger.info("customer reply not applied: %s", error.message)

    @workflow.signal(name=ERASURE_SIGNAL)
    async def customer_erased(self, notice: RawValue = ABSENT) -> None:
        """The customer was erased: appends ``customer_erased`` (once) to the log, which the
        store does only for ended requests. One that is malformed, for another customer, or
        arrives once the request is parked is logged and dropped."""
        try:
            if self._start_refused is not None:
                raise self._start_refused
            given = decode(notice, ErasureNotice, ERASURE_SIGNAL)
            if not workflow.patched(ERASURE_IN_THE_LOG):
                return
            async with self._lock:
                if self._parked is not None:
                    raise _parked_error(self._parked)
                if given.customer_id != self._state.plan.submission.customer.id:
                    raise invalid(f"{ERASURE_SIGNAL}: not this request's customer")
                if self._state.customer_erased:
                    return
                await self._commit(given.officer(), [given.payload()])
        except ApplicationError as error:
            workflow.logger.info("customer erasure not recorded: %s", error.message)


def _labels(state: RequestState) -> RequestLabels:
    submission = state.plan.submission
    return RequestLabels(channel=submission.channel.value, request_type=submission.request_type,
                         tier=submission.customer.tier.value, priority=state.priority.value,
                         owner_department=state.owner_department_id)

