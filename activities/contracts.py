"""Inputs and outputs of the activities, and their names: what a workflow needs to call them
without importing any I/O code into its sandbox."""

from pydantic import BaseModel, ConfigDict, Field

from domain.assignment import Assignment
from domain.events import DomainEvent
from domain.labels import ParkReason, RequestLabels
from domain.org import Department
from domain.staffing import StaffingNeed

APPEND_EVENTS = "append_events"
CHOOSE_ASSIGNEES = "choose_assignees"
LOOKUP_DEPARTMENT = "lookup_department"
NOTIFY = "notify"
RECORD_PARKED = "record_parked"

# Error types an activity raises that no retry can fix: the workflow turns them into a refusal.
UNKNOWN_DEPARTMENT = "UnknownDepartment"
STORE_REFUSED = "StoreRefused"
"""The database refused the data of a call for good (e.g. a value too long for its column)."""


class AppendInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    events: list[DomainEvent] = Field(min_length=1)
    labels: RequestLabels


class AppendResult(BaseModel):
    """What the log holds after the call. ``stored_digest`` is the ``log_digest`` of the events
    it holds at the batch's sequences, ``impersonal_digest`` the same without their personal
    fields (which read back as erased once the customer is erased); ``refused`` says why the
    log disagrees with the batch (another request's events at these sequences, a gap) when it
    wrote nothing. Histories recorded before these existed carry none of them."""

    appended: int
    duplicates: int
    stored_digest: str | None = None
    impersonal_digest: str | None = None
    refused: str | None = None


class ParkedRequest(BaseModel):
    """A request parked for an operator: its workflow stops writing until one looks."""

    model_config = ConfigDict(frozen=True)

    request_id: str
    reason: ParkReason
    detail: str


class StaffingInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    needs: list[StaffingNeed] = Field(min_length=1)
    departments: dict[str, Department]


class StaffingResult(BaseModel):
    assignments: list[Assignment]


class DepartmentLookup(BaseModel):
    department_id: str


class Notification(BaseModel):
    """One message to one person. ``key`` is unique per message, so a retried activity
    never sends the same message twice."""

    model_config = ConfigDict(frozen=True)

    key: str
    request_id: str
    recipient_id: str
    subject: str
    body: str


class NotificationResult(BaseModel):
    sent: bool
