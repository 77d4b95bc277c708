"""Who is calling, as authentication established it, and the actor their commands carry."""

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from domain.actors import Actor, ActorKind
from domain.request import Channel, CustomerTier, Priority


class ChannelDefaults(BaseModel):
    """What a request arriving through this integration gets when the channel does not say
    (the mail gateway's new mails)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_type: str = Field(min_length=1, max_length=64)
    priority: Priority = Priority.P3
    tier: CustomerTier = CustomerTier.STANDARD


@dataclass(frozen=True)
class StaffPrincipal:
    """A roster person, from a verified bearer token."""

    person_id: str

    @property
    def name(self) -> str:
        return f"staff:{self.person_id}"


@dataclass(frozen=True)
class IntegrationPrincipal:
    """A system (web form backend, call centre, mail gateway, CRM, ERP) holding an API key
    scoped to one channel and to some operations."""

    integration_id: str
    channel: Channel
    operations: frozenset[str]
    submit_as: str
    """The roster person recorded as the submitter of what this integration submits."""
    defaults: ChannelDefaults | None = None

    @property
    def name(self) -> str:
        return f"integration:{self.integration_id}"


@dataclass(frozen=True)
class CustomerPrincipal:
    """A customer holding a signed link to one of their requests."""

    customer_id: str
    request_id: str

    @property
    def name(self) -> str:
        return f"customer:{self.customer_id}:{self.request_id}"


Principal = StaffPrincipal | IntegrationPrincipal | CustomerPrincipal


def actor_of(principal: StaffPrincipal | CustomerPrincipal) -> Actor:
    if isinstance(principal, CustomerPrincipal):
        return Actor(id=principal.customer_id, kind=ActorKind.CUSTOMER)
    return Actor(id=principal.person_id, kind=ActorKind.STAFF)
