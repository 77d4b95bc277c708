"""The bounded dimensions a request is counted by (channel, type, tier, priority, owning
department): what every metric of a request's events is labelled with."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class RequestLabels(BaseModel):
    """The request's bounded label values, passed along with its events."""

    model_config = ConfigDict(frozen=True)

    channel: str
    request_type: str
    tier: str
    priority: str
    owner_department: str


class ParkReason(StrEnum):
    """Why a request's log disagrees with its workflow, which parks it for an operator."""

    REFUSED = "refused"
    DIGEST_MISMATCH = "digest_mismatch"
