"""What people ask of a request. Each command names its actor; the workflow receives these as
Temporal updates and signals, and validates them with these models where they enter."""

from typing import Annotated

from pydantic import ConfigDict, Field

from domain.actors import Actor
from domain.request import Priority
from domain.sla_clock import PauseReason
from domain.validation import PlainTextModel

# Identifiers are roster, template or clock ids: never blank, as long as the store's id columns.
StepKey = Annotated[str, Field(min_length=1, max_length=64,
                               description="the step, as shown by status, e.g. triage.1")]
Identifier = Annotated[str, Field(min_length=1, max_length=64)]
Reason = Annotated[str, Field(min_length=1, max_length=2_000, description="why, for the log")]
LongText = Annotated[str, Field(max_length=20_000)]


class RequestCommand(PlainTextModel):
    """A command on one request; ``actor`` is who asks."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    actor: Actor = Field(description="who asks: a roster person id, or the customer's id")


class Claim(RequestCommand):
    """Take up a step (or, with no step, the request): the first claim is the first response."""

    step_key: StepKey | None = Field(default=None,
                                     description="the step to claim; none claims the request")


class AddNote(RequestCommand):
    """Add a note to the request's record."""

    text: LongText = Field(min_length=1, description="the note")


class AskCustomer(RequestCommand):
    """Ask the customer (or a third party, or for an approval): the SLA clocks pause."""

    question: LongText = Field(min_length=1, description="what is asked")
    reason: PauseReason = Field(default=PauseReason.CUSTOMER,
                                description="whom the request now waits on")


class RecordCustomerReply(RequestCommand):
    """Record the customer's reply: the SLA clocks run again."""

    message: LongText = Field(default="", description="the reply, as received")


class CompleteStep(RequestCommand):
    """Finish a step; when its stage is done the next stage starts."""

    step_key: StepKey
    outcome: str = Field(default="", max_length=2_000, description="what the step found or did")


class HandOff(RequestCommand):
    """Move a step to another department; ``role`` defaults to the step's role."""

    step_key: StepKey
    to_department_id: Identifier = Field(description="the department taking the step over")
    role: Identifier | None = Field(default=None,
                                    description="the role to staff it with; default the step's")
    reason: Reason


class Reassign(RequestCommand):
    """Name another owner: of a step, or with no step, of the request itself."""

    to_person_id: Identifier = Field(description="the new owner's person id")
    step_key: StepKey | None = Field(default=None,
                                     description="the step; none reassigns the request")
    reason: Reason


class ChangePriority(RequestCommand):
    """Change the request's priority; its SLA targets follow from the original start."""

    priority: Priority = Field(description="the new priority, P1 (highest) to P4")
    reason: Reason


class Resolve(RequestCommand):
    """Resolve the request; the customer confirms or rejects the resolution."""

    summary: LongText = Field(min_length=1, description="the resolution, for the customer")


class CustomerFeedback(RequestCommand):
    """The customer's verdict on a resolution, recorded by the customer or for them."""

    accepted: bool = Field(description="whether the customer accepts the resolution")
    satisfaction: int = Field(ge=1, le=5, description="satisfaction from 1 (worst) to 5")
    comment: LongText = Field(default="", description="the customer's words")


class Reopen(RequestCommand):
    """Reopen a resolved request within the reopen window: its last stage starts again."""

    reason: Reason


class Cancel(RequestCommand):
    """Cancel the request: its clocks stop and it takes no more actions."""

    reason: Reason


class AcknowledgeEscalation(RequestCommand):
    """Acknowledge the escalation of a breached SLA clock: its ladder stops climbing."""

    clock_id: Identifier = Field(description="the breached clock, e.g. resolution")


# Every action on a request: its name (the workflow's update name, the CLI's and the API's
# action) and its command model, whose docstring and field descriptions document it.
ACTIONS: dict[str, type[RequestCommand]] = {
    "claim": Claim,
    "add_note": AddNote,
    "ask_customer": AskCustomer,
    "record_customer_reply": RecordCustomerReply,
    "complete_step": CompleteStep,
    "hand_off": HandOff,
    "reassign": Reassign,
    "change_priority": ChangePriority,
    "resolve": Resolve,
    "customer_feedback": CustomerFeedback,
    "reopen": Reopen,
    "cancel": Cancel,
    "acknowledge_escalation": AcknowledgeEscalation,
}
