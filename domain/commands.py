"""What people ask of a request. Each command names its actor; the workflow receives these as
Temporal updates and signals."""

from pydantic import BaseModel, ConfigDict, Field

from domain.actors import Actor
from domain.request import Priority
from domain.sla_clock import PauseReason


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    actor: Actor


class Claim(_Command):
    """Take up a step (or, with no step, the request): the first claim is the first response."""

    step_key: str | None = None


class AddNote(_Command):
    text: str = Field(min_length=1, max_length=20_000)


class AskCustomer(_Command):
    question: str = Field(min_length=1, max_length=20_000)
    reason: PauseReason = PauseReason.CUSTOMER


class RecordCustomerReply(_Command):
    message: str = Field(default="", max_length=20_000)


class CompleteStep(_Command):
    step_key: str
    outcome: str = Field(default="", max_length=2_000)


class HandOff(_Command):
    """Move a step to another department; ``role`` defaults to the step's role."""

    step_key: str
    to_department_id: str
    role: str | None = None
    reason: str = Field(min_length=1, max_length=2_000)


class Reassign(_Command):
    """Name another owner: of a step, or with no step, of the request itself."""

    to_person_id: str
    step_key: str | None = None
    reason: str = Field(min_length=1, max_length=2_000)


class ChangePriority(_Command):
    priority: Priority
    reason: str = Field(min_length=1, max_length=2_000)


class Resolve(_Command):
    summary: str = Field(min_length=1, max_length=20_000)


class CustomerFeedback(_Command):
    """The customer's verdict on a resolution, recorded by the customer or for them."""

    accepted: bool
    satisfaction: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=20_000)


class Reopen(_Command):
    reason: str = Field(min_length=1, max_length=2_000)


class Cancel(_Command):
    reason: str = Field(min_length=1, max_length=2_000)


class AcknowledgeEscalation(_Command):
    clock_id: str
