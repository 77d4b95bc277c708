"""What the monthly report holds: its requests and steps as the projections give them, the
figures of each group, and the names it shows."""

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from analysis.paths import ProcessReport
from analysis.queries import SegmentsAnalysis
from domain.catalog import Catalog
from eventstore.projected import ProjectedRequest, ProjectedStep

DEFAULT_TZ = "Asia/Shanghai"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class StepLine(ProjectedStep):
    """One step (the last run of a step key) as the projection holds it."""

    request_id: str
    stage_id: str


class RequestLine(ProjectedRequest):
    """One request of the month with all its steps, in the order they started."""

    steps: tuple[StepLine, ...] = ()

    @property
    def first_response_seconds(self) -> float | None:
        """Wall-clock seconds from submission to the first claim."""
        if self.first_response_at is None:
            return None
        return (self.first_response_at - self.submitted_at).total_seconds()

    @property
    def ever_resolved(self) -> bool:
        """Resolved now, or reopened (which needs an earlier resolution)."""
        return self.resolved_at is not None or self.reopen_count > 0


class HandoffLine(_Model):
    """One step handed from a person of one department to a person of another (the
    ``handoffs`` projection), with the step's name and role as they are now."""

    request_id: str
    sequence: int
    step_key: str
    step_name: str
    role: str
    from_department_id: str
    from_owner_id: str
    to_department_id: str
    to_owner_id: str
    occurred_at: datetime


class Figures(_Model):
    """The KPIs of one group (everyone, a role, a person); None where there is no data.
    Handling time is business time; ``wall_*`` is the same steps' wall-clock time."""

    steps_handled: int
    handling_avg_seconds: float | None
    handling_p50_seconds: float | None
    handling_p90_seconds: float | None
    wall_avg_seconds: float | None
    wall_p50_seconds: float | None
    wall_p90_seconds: float | None
    handoffs: int
    """Handoffs of the steps handled (their last run's count)."""
    breaches: int
    sla_compliance: float | None
    escalations: int
    requests: int
    first_responses: int
    first_response_avg_seconds: float | None
    first_response_p90_seconds: float | None
    resolved_requests: int
    reopened_requests: int
    reopen_rate: float | None
    csat_responses: int
    csat_average: float | None


class PersonFigures(_Model):
    person_id: str
    name: str
    departments: tuple[str, ...]
    """Departments of the steps they handled and of the requests they own, sorted."""
    figures: Figures


class RoleFigures(_Model):
    department_id: str
    role: str
    figures: Figures


class DayCount(_Model):
    day: date
    arrived: int
    resolved: int
    """Requests of the month whose latest resolution was that day."""


class AgeCount(_Model):
    age: str
    """A backlog bucket of ``kpi.collector.AGE_BUCKETS`` (``lt_1d``, ``1d_3d``, ...)."""
    requests: int


class Overview(_Model):
    arrived: int
    resolved: int
    resolved_in_month: int
    cancelled: int
    unresolved: int
    """Neither resolved nor closed nor cancelled (still being worked on)."""
    by_status: dict[str, int]
    days: tuple[DayCount, ...]
    backlog: tuple[AgeCount, ...] = ()
    """The unresolved requests by wall-clock age since submission, as of the report."""


class ReportNames(_Model):
    """Display names: person id -> name, department id -> name (ids are shown otherwise)."""

    people: dict[str, str] = Field(default_factory=dict)
    departments: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> "ReportNames":
        people: dict[str, str] = {}
        for department in catalog.departments.values():
            for member in department.members:
                people.setdefault(member.id, member.name)
        return cls(people=people,
                   departments={d.id: d.name for d in catalog.departments.values()})

    def person(self, person_id: str | None) -> str:
        return self.people.get(person_id or "", "")

    def department(self, department_id: str) -> str:
        return self.departments.get(department_id, department_id)


class MonthlyReport(_Model):
    month: str
    """``YYYY-MM``."""
    tz: str
    period_start: datetime
    """Start of the month in ``tz`` (inclusive)."""
    period_end: datetime
    """Start of the next month in ``tz`` (exclusive)."""
    department: str | None
    role: str | None
    generated_at: datetime
    names: ReportNames
    overview: Overview
    totals: Figures
    requests: tuple[RequestLine, ...]
    """Requests submitted in the month (filtered), in submission order."""
    steps: tuple[StepLine, ...]
    """Steps completed in the month (filtered), in completion order."""
    people: tuple[PersonFigures, ...]
    """Most steps handled first."""
    roles: tuple[RoleFigures, ...]
    handoffs: tuple[HandoffLine, ...] = ()
    """Handoffs that happened in the month on the report's steps or requests, in order."""
    person: str | None = None
    """Set when the report is one person's own work only (see ``assemble``)."""
    personal_fields_withheld: int = 0
    """Requests whose customer's name and subject the reader may not see (``withhold``)."""
    segments: SegmentsAnalysis | None = None
    """By customer tier and channel, and the longest waits: the whole month, whatever the
    department or role filter (a segment spans departments)."""
    process: ProcessReport | None = None
    """Where the time went, per process template: the whole month, like ``segments``."""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def file_stem(self) -> str:
        """``caseflow-report-2026-11[-department][-role]``."""
        parts = ["caseflow-report", self.month]
        parts += [_safe(part) for part in (self.department, self.role) if part]
        return "-".join(parts)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "_", text).strip("._") or "_"
