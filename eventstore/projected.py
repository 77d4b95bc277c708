"""A request and a step as the projections (``requests``, ``request_steps``) hold them: the
columns every view of them reads; each view adds what only it needs."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class ProjectedRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: str
    subject: str
    customer_id: str
    customer_name: str
    customer_tier: str
    request_type: str
    channel: str
    status: str
    priority: str
    owner_id: str | None
    owner_department_id: str
    sla_state: str
    submitted_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    breach_count: int
    escalation_count: int
    reopen_count: int
    satisfaction: int | None


class ProjectedStep(BaseModel):
    """The last run of a step key."""

    model_config = ConfigDict(frozen=True)

    step_key: str
    step_name: str
    stage_index: int
    cycle: int
    department_id: str
    role: str
    owner_id: str
    status: str
    started_at: datetime
    claimed_at: datetime | None
    ended_at: datetime | None
    target_seconds: float
    wall_seconds: float | None
    business_seconds: float | None
    paused_seconds: float | None
    breached: bool
    handoff_count: int
    reassign_count: int
    escalation_count: int
