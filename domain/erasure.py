"""What a live request's workflow is told when its customer is erased, so that it appends the
``customer_erased`` audit to its own log (the store appends it to ended requests' logs): the
signal's name and its one payload, shared by the workflow and whoever sends it."""

from pydantic import BaseModel, ConfigDict, Field

from domain.actors import ActorKind, ActorRef
from domain.events import CustomerErased

ERASURE_SIGNAL = "customer_erased"
DATA_PROTECTION_ROLE = "data_protection"


class ErasureNotice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str = Field(min_length=1, max_length=64)
    erased_by: str = Field(min_length=1, max_length=64)
    basis: str = Field(min_length=1, max_length=32)

    def payload(self) -> CustomerErased:
        return CustomerErased(customer_id=self.customer_id, basis=self.basis)

    def officer(self) -> ActorRef:
        return ActorRef(id=self.erased_by, kind=ActorKind.STAFF, role=DATA_PROTECTION_ROLE)
