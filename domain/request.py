"""A customer request as an agent submits it, validated before any workflow starts."""

import uuid
from enum import StrEnum

from pydantic import ConfigDict, Field, field_validator

from domain.validation import PlainTextModel


class Channel(StrEnum):
    WEB = "web"
    PHONE = "phone"
    EMAIL = "email"
    SALES = "sales"
    API = "api"


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class CustomerTier(StrEnum):
    STRATEGIC = "strategic"
    KEY = "key"
    STANDARD = "standard"


class Customer(PlainTextModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    tier: CustomerTier = CustomerTier.STANDARD


class RequestSubmission(PlainTextModel):
    """What a service agent submits. The idempotency key makes a resubmission return the
    request that already exists instead of creating a second one."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    idempotency_key: str = Field(min_length=1, max_length=128)
    customer: Customer
    channel: Channel
    request_type: str = Field(min_length=1, max_length=64)
    priority: Priority
    subject: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)
    submitted_by: str = Field(min_length=1, max_length=64)

    @field_validator("subject")
    @classmethod
    def _subject_has_text(cls, subject: str) -> str:
        if not subject.strip():
            raise ValueError("subject must not be blank")
        return subject


# A fixed namespace so the same idempotency key always maps to the same request id.
_REQUEST_NAMESPACE = uuid.UUID("6f1c2a57-0d4e-4a8e-9a53-4f7a51f0c9b1")


def request_id_for(idempotency_key: str) -> str:
    """The request id for an idempotency key: deterministic, so duplicates collide."""
    return str(uuid.uuid5(_REQUEST_NAMESPACE, idempotency_key))


def workflow_id_for(request_id: str) -> str:
    return f"request-{request_id}"
