"""What people ask of a request. Each command names its actor; the workflow receives these as
Temporal updates and signals."""

from pydantic import BaseModel, ConfigDict, Field

from domain.actors import Actor
from domain.request import Priority
from domain.sla_clock import PauseReason


class RequestCommand(BaseModel):
    """A command on one request; ``actor`` is who asks."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    actor: Actor


class Claim(RequestCommand):
    """Take up a step (or, with no step, the request): the first claim is the first response."""

    step_key: str | None = None


class AddNote(RequestCommand):
    text: str = Field(min_length=1, max_length=20_000)


class AskCustomer(RequestCommand):
    question: str = Field(min_length=1, max_length=20_000)
    reason: PauseReason = PauseReason.CUSTOMER


class RecordCustomerReply(RequestCommand):
    message: str = Field(default="", max_length=20_000)


class CompleteStep(RequestCommand):
    step_key: str
    outcome: str = Field(default="", max_length=2_000)


class HandOff(RequestCommand):
    """Move a step to another department; ``role`` defaults to the step's role."""

    step_key: str
    to_department_id: str
    role: str | None = None
    reason: str = Field(min_length=1, max_length=2_000)


class Reassign(RequestCommand):
    """Name another owner: of a step, or with no step, of the request itself."""

    to_person_id: str
    step_key: str | None = None
    reason: str = Field(min_length=1, max_length=2_000)


class ChangePriority(RequestCommand):
    priority: Priority
    reason: str = Field(min_length=1, max_length=2_000)


class Resolve(RequestCommand):
    summary: str = Field(min_length=1, max_length=20_000)


class CustomerFeedback(RequestCommand):
    """The customer's verdict on a resolution, recorded by the customer or for them."""

    accepted: bool
    satisfaction: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=20_000)


class Reopen(RequestCommand):
    reason: str = Field(min_length=1, max_length=2_000)


class Cancel(RequestCommand):
    reason: str = Field(min_length=1, max_length=2_000)


class AcknowledgeEscalation(RequestCommand):
    clock_id: str


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
