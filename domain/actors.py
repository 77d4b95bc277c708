"""Who acts on a request. Callers name only a person; roles and departments are looked up in
the roster pinned on the request, never taken from the caller."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.validation import PlainTextModel


class ActorKind(StrEnum):
    STAFF = "staff"
    CUSTOMER = "customer"
    SYSTEM = "system"


class Actor(PlainTextModel):
    """The caller of an action: a roster person id, a customer id, or the system."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=64)
    kind: ActorKind = ActorKind.STAFF


class ActorRef(BaseModel):
    """The actor as recorded on an event: person, the role they acted in, their department."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    kind: ActorKind
    role: str | None = None
    department_id: str | None = None


SYSTEM = ActorRef(id="caseflow", kind=ActorKind.SYSTEM, role="system")
