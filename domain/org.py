"""The organisation: departments, their rosters and calendars. A department is pinned on a
request when the request first involves it, so roster and calendar changes do not rewrite what a
running request was measured against."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.calendar import CalendarSpec
from domain.sets import SortedSet


class AssignmentRule(StrEnum):
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"
    SKILL_MATCH = "skill_match"


class Member(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1)
    roles: SortedSet[str]
    skills: SortedSet[str] = frozenset()
    available: bool = True


class Department(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1)
    calendar: CalendarSpec
    assignment: AssignmentRule = AssignmentRule.ROUND_ROBIN
    supervisor_id: str
    head_id: str
    members: tuple[Member, ...]

    @model_validator(mode="after")
    def _leaders_are_members(self) -> "Department":
        ids = {member.id for member in self.members}
        for key, person in (("supervisor", self.supervisor_id), ("head", self.head_id)):
            if person not in ids:
                raise ValueError(f"{key} {person!r} is not a member of department {self.id!r}")
        if len(ids) != len(self.members):
            raise ValueError(f"department {self.id!r} lists a member twice")
        return self

    def member(self, person_id: str) -> Member | None:
        return next((m for m in self.members if m.id == person_id), None)

    def with_role(self, role: str) -> tuple[Member, ...]:
        return tuple(m for m in self.members if role in m.roles)
