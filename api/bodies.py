"""The JSON bodies the API accepts. Submission and action bodies are the domain's models
without who is asking: the actor (and the submitter) come from the authenticated caller. A
body may still name them, but only as the caller; naming anyone else is refused."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from domain.actors import Actor
from domain.commands import ACTIONS, RequestCommand
from domain.request import Channel, Customer, Priority


class SubmitBody(BaseModel):
    """A new customer request. The ``Idempotency-Key`` header identifies it: the same key with
    the same body returns the same request."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    customer: Customer
    channel: Channel
    request_type: str = Field(min_length=1, max_length=64, examples=["billing_dispute"])
    priority: Priority
    subject: str = Field(min_length=1, max_length=200, examples=["十月发票金额与合同不符"])
    description: str = Field(default="", max_length=20_000)
    submitted_by: str | None = Field(
        default=None, max_length=64,
        description="omit: the submitter is the caller (an integration's configured person)")


def _body_model(action: str, command: type[RequestCommand]) -> type[BaseModel]:
    fields: dict[str, Any] = {name: (info.annotation, info)
                              for name, info in command.model_fields.items() if name != "actor"}
    fields["actor"] = (Actor | None, Field(
        default=None, description="omit: the actor is the caller; naming anyone else is "
                                  "refused (403)"))
    model: type[BaseModel] = create_model(
        f"{command.__name__}Body",
        __config__=ConfigDict(extra="forbid", str_strip_whitespace=True),
        __doc__=command.__doc__ or f"The {action} action.",
        **fields,
    )
    return model


ACTION_BODIES: dict[str, type[BaseModel]] = {
    action: _body_model(action, command) for action, command in ACTIONS.items()}
"""Every action's body model, by the action's name."""


class CustomerLinkBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lifetime_hours: int = Field(default=14 * 24, ge=1, le=90 * 24)


class CustomerLink(BaseModel):
    token: str
    expires_at: int
    """Unix seconds."""
    url: str
