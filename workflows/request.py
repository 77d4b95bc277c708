"""The customer request workflow: one per request, alive from submission until the request is
closed or cancelled. It holds the request's state, asks the domain what each command and each
passing moment does, writes the resulting events through the store activity, and only then
applies them to its state."""

import asyncio
import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import (
        APPEND_EVENTS,
        CHOOSE_ASSIGNEES,
        LOOKUP_DEPARTMENT,
        NOTIFY,
        UNKNOWN_DEPARTMENT,
        AppendInput,
        AppendResult,
        DepartmentLookup,
        Notification,
        NotificationResult,
        StaffingInput,
        StaffingResult,
    )
    from domain import commands as cmd
    from domain.actors import SYSTEM, ActorKind, ActorRef
    from domain.assignment import Assignment
    from domain.authorization import Refused
    from domain.decisions import (
        Command,
        Decision,
        StaffingNeed,
        decide,
        staffed,
        submission_needs,
        submission_payloads,
    )
    from domain.events import Escalated, EventPayload, new_event
    from domain.org import Department
    from domain.request import RequestSubmission
    from domain.state import RequestState, apply, initial_state
    from domain.timers import due, next_due_at
    from kpi.metrics import RequestLabels
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
# Escalations are written to the outbox by the append and delivered by the worker's dispatcher:
# the request never waits on a receiver. Histories recorded before it notify from the workflow.
_OUTBOX_PATCH = "escalations-through-outbox"


def _refusal(error: Refused) -> ApplicationError:
    return ApplicationError(str(error), type="Refused", non_retryable=True)


@workflow.defn(name=WORKFLOW_NAME)
class CustomerRequestWorkflow:
    @workflow.init
    def __init__(self, start: RequestWorkflowInput) -> None:
        self._state: RequestState = start.state or initial_state(start.plan)
        # One change at a time: handlers and timers interleave at every await.
        self._lock = asyncio.Lock()
        self._changes = 0

    # --- run loop ---------------------------------------------------------------------------

    @workflow.run
    async def run(self, start: RequestWorkflowInput) -> RequestView:
        if self._state.sequence == 0:
            async with self._lock:
                await self._submit()
        while not self._state.is_final:
            async with self._lock:
                await self._handle_due()
            if self._state.is_final:
                break
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(RequestWorkflowInput(plan=self._state.plan,
                                                              state=self._state))
            await self._sleep_until_due_or_changed()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return view_of(self._state, workflow.now())

    async def _sleep_until_due_or_changed(self) -> None:
        seen = self._changes
        wake = next_due_at(self._state)
        timeout = None if wake is None else (wake - workflow.now()).total_seconds()
        if timeout is not None and timeout <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._changes != seen or workflow.info().is_continue_as_new_suggested(),
                timeout=timeout,
            )

    async def _submit(self) -> None:
        plan = self._state.plan
        owner_need, first_stage = submission_needs(plan)
        owner, *first_owners = await self._staff([owner_need, *first_stage])
        await self._commit(_submitter(self._state), submission_payloads(plan, workflow.now(),
                                                                         owner))
        await self._commit(_submitter(self._state),
                           staffed(self._state, first_stage, first_owners, workflow.now()))

    async def _handle_due(self) -> None:
        """Everything time has made due, until nothing more is."""
        while True:
            work = due(self._state, workflow.now())
            if not work.payloads:
                return
            await self._commit(SYSTEM, work.payloads)
            if work.needs:
                chosen = await self._staff(work.needs)
                await self._commit(SYSTEM, staffed(self._state, work.needs, chosen,
                                                   workflow.now(), automatic=True))

    # --- commands ---------------------------------------------------------------------------

    def _validate(self, command: Command) -> None:
        """Refuses before anything is written or any history is recorded."""
        try:
            decide(self._state, command, workflow.now())
        except Refused as error:
            raise _refusal(error) from error

    async def _execute(self, command: Command) -> RequestView:
        async with self._lock:
            try:
                decision = decide(self._state, command, workflow.now())
                if isinstance(command, cmd.HandOff):
                    decision = await self._pin_department(command, decision)
            except Refused as error:
                raise _refusal(error) from error
            if decision.payloads:
                await self._commit(decision.actor, decision.payloads)
            if decision.needs:
                chosen = await self._staff(decision.needs)
                await self._commit(decision.actor,
                                   staffed(self._state, decision.needs, chosen, workflow.now()))
            self._changes += 1
            return view_of(self._state, workflow.now())

    async def _pin_department(self, command: cmd.HandOff, decision: Decision) -> Decision:
        """A handoff to a department the request has not involved yet pins that department's
        current calendar and roster on the request, then decides again with it known."""
        if command.to_department_id in self._state.plan.departments:
            return decision
        try:
            department = await workflow.execute_activity(
                LOOKUP_DEPARTMENT, DepartmentLookup(department_id=command.to_department_id),
                result_type=Department, start_to_close_timeout=_ACTIVITY_TIMEOUT)
        except ActivityError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError) and cause.type == UNKNOWN_DEPARTMENT:
                raise Refused(cause.message) from error
            raise
        plan = self._state.plan
        pinned = plan.model_copy(
            update={"departments": {**plan.departments, department.id: department}})
        decision = decide(self._state.model_copy(update={"plan": pinned}), command,
                          workflow.now())
        self._state.plan = pinned
        return decision

    # --- I/O through activities -------------------------------------------------------------

    async def _commit(self, actor: ActorRef, payloads: list[EventPayload]) -> None:
        """Writes ``payloads`` as the request's next events, then applies them."""
        if not payloads:
            return
        now = workflow.now()
        state = self._state
        events = [new_event(state.request_id, state.sequence + n, actor, now, payload)
                  for n, payload in enumerate(payloads, start=1)]
        await workflow.execute_activity(
            APPEND_EVENTS, AppendInput(events=events, labels=_labels(state)),
            result_type=AppendResult, start_to_close_timeout=_ACTIVITY_TIMEOUT,
            retry_policy=_STORE_RETRY)
        for event in events:
            apply(state, event)
        self._changes += 1
        escalations = [(payload, event.sequence)
                       for payload, event in zip(payloads, events, strict=True)
                       if isinstance(payload, Escalated)]
        if escalations and not workflow.patched(_OUTBOX_PATCH):
            for escalated, sequence in escalations:
                await self._notify_escalation(escalated, sequence)

    async def _staff(self, needs: list[StaffingNeed]) -> list[Assignment]:
        departments = {n.department_id: self._state.plan.departments[n.department_id]
                       for n in needs}
        result = await workflow.execute_activity(
            CHOOSE_ASSIGNEES, StaffingInput(needs=needs, departments=departments),
            result_type=StaffingResult, start_to_close_timeout=_ACTIVITY_TIMEOUT,
            retry_policy=_STORE_RETRY)
        assignments: list[Assignment] = result.assignments
        return assignments

    async def _notify_escalation(self, escalated: Escalated, sequence: int) -> None:
        """Only for histories recorded before the outbox (see ``_OUTBOX_PATCH``)."""
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

    @workflow.query
    def status(self) -> RequestView:
        return view_of(self._state, workflow.now())

    @workflow.update
    async def submitted(self) -> RequestView:
        """Answers once the request's first events are written: it has a named owner and its
        first stage has begun. The submitter waits on this instead of polling."""
        await workflow.wait_condition(lambda: bool(self._state.steps))
        return view_of(self._state, workflow.now())

    @workflow.query
    def submission(self) -> RequestSubmission:
        """What was submitted: a resubmission with the same key is compared against it."""
        return self._state.plan.submission

    # --- updates: each validator refuses before the handler runs ----------------------------

    @workflow.update
    async def claim(self, command: cmd.Claim) -> RequestView:
        return await self._execute(command)

    @claim.validator
    def _claim_ok(self, command: cmd.Claim) -> None:
        self._validate(command)

    @workflow.update
    async def add_note(self, command: cmd.AddNote) -> RequestView:
        return await self._execute(command)

    @add_note.validator
    def _add_note_ok(self, command: cmd.AddNote) -> None:
        self._validate(command)

    @workflow.update
    async def ask_customer(self, command: cmd.AskCustomer) -> RequestView:
        return await self._execute(command)

    @ask_customer.validator
    def _ask_customer_ok(self, command: cmd.AskCustomer) -> None:
        self._validate(command)

    @workflow.update
    async def record_customer_reply(self, command: cmd.RecordCustomerReply) -> RequestView:
        return await self._execute(command)

    @record_customer_reply.validator
    def _record_customer_reply_ok(self, command: cmd.RecordCustomerReply) -> None:
        self._validate(command)

    @workflow.update
    async def complete_step(self, command: cmd.CompleteStep) -> RequestView:
        return await self._execute(command)

    @complete_step.validator
    def _complete_step_ok(self, command: cmd.CompleteStep) -> None:
        self._validate(command)

    @workflow.update
    async def hand_off(self, command: cmd.HandOff) -> RequestView:
        return await self._execute(command)

    @hand_off.validator
    def _hand_off_ok(self, command: cmd.HandOff) -> None:
        self._validate(command)

    @workflow.update
    async def reassign(self, command: cmd.Reassign) -> RequestView:
        return await self._execute(command)

    @reassign.validator
    def _reassign_ok(self, command: cmd.Reassign) -> None:
        self._validate(command)

    @workflow.update
    async def change_priority(self, command: cmd.ChangePriority) -> RequestView:
        return await self._execute(command)

    @change_priority.validator
    def _change_priority_ok(self, command: cmd.ChangePriority) -> None:
        self._validate(command)

    @workflow.update
    async def resolve(self, command: cmd.Resolve) -> RequestView:
        return await self._execute(command)

    @resolve.validator
    def _resolve_ok(self, command: cmd.Resolve) -> None:
        self._validate(command)

    @workflow.update
    async def customer_feedback(self, command: cmd.CustomerFeedback) -> RequestView:
        return await self._execute(command)

    @customer_feedback.validator
    def _customer_feedback_ok(self, command: cmd.CustomerFeedback) -> None:
        self._validate(command)

    @workflow.update
    async def reopen(self, command: cmd.Reopen) -> RequestView:
        return await self._execute(command)

    @reopen.validator
    def _reopen_ok(self, command: cmd.Reopen) -> None:
        self._validate(command)

    @workflow.update
    async def cancel(self, command: cmd.Cancel) -> RequestView:
        return await self._execute(command)

    @cancel.validator
    def _cancel_ok(self, command: cmd.Cancel) -> None:
        self._validate(command)

    @workflow.update
    async def acknowledge_escalation(self, command: cmd.AcknowledgeEscalation) -> RequestView:
        return await self._execute(command)

    @acknowledge_escalation.validator
    def _acknowledge_escalation_ok(self, command: cmd.AcknowledgeEscalation) -> None:
        self._validate(command)

    # --- signals: fire-and-forget from integrations -----------------------------------------

    @workflow.signal
    async def customer_replied(self, command: cmd.RecordCustomerReply) -> None:
        """An inbound channel (mail gateway, portal) relays a reply; a reply that does not fit
        the request's state is logged and dropped, since no caller waits for an answer."""
        try:
            await self._execute(command)
        except ApplicationError as error:
            workflow.logger.info("customer reply not applied: %s", error.message)


def _submitter(state: RequestState) -> ActorRef:
    submission = state.plan.submission
    department = next((d.id for d in state.plan.departments.values()
                       if d.member(submission.submitted_by)), None)
    return ActorRef(id=submission.submitted_by, kind=ActorKind.STAFF, role="submitter",
                    department_id=department)


def _labels(state: RequestState) -> RequestLabels:
    submission = state.plan.submission
    return RequestLabels(channel=submission.channel.value, request_type=submission.request_type,
                         tier=submission.customer.tier.value, priority=state.priority.value,
                         owner_department=state.owner_department_id)

