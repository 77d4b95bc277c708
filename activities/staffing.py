"""Choosing people: assignment rules need each department's open load and its last assignee,
which live in the store."""

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import (
    CHOOSE_ASSIGNEES,
    LOOKUP_DEPARTMENT,
    UNKNOWN_DEPARTMENT,
    DepartmentLookup,
    StaffingInput,
    StaffingResult,
)
from domain.assignment import Assignment, choose_assignee
from domain.org import AssignmentRule, Department
from eventstore.errors import StoreUnavailable
from eventstore.queries import last_assignee, open_load


class StaffingActivities:
    def __init__(self, engine: AsyncEngine, departments: dict[str, Department]) -> None:
        self._engine = engine
        self._departments = departments

    @activity.defn(name=CHOOSE_ASSIGNEES)
    async def choose(self, staffing: StaffingInput) -> StaffingResult:
        try:
            return await self._choose(staffing)
        except StoreUnavailable as error:
            # Retried; the one-line reason (not the driver's chained tracebacks, which exceed
            # Temporal's failure size) is what operators see on the pending activity.
            raise ApplicationError(str(error), type="StoreUnavailable") from None

    async def _choose(self, staffing: StaffingInput) -> StaffingResult:
        """One person per need, by the rules of the need's department as pinned on the request.
        People chosen earlier in the same call count as loaded, so a fan-out spreads out. Only
        what the department's rule uses is read: its last assignee for round robin, else its
        open load (once per department)."""
        chosen: list[Assignment] = []
        extra_load: dict[str, int] = {}
        stored_load: dict[str, dict[str, int]] = {}
        for need in staffing.needs:
            department = staffing.departments[need.department_id]
            load: dict[str, int] = {}
            last: str | None = None
            if department.assignment is AssignmentRule.ROUND_ROBIN:
                earlier = (a.person_id for a in reversed(chosen) if department.member(a.person_id))
                last = next(earlier, None) or await last_assignee(self._engine, department.id,
                                                                  need.role)
            else:
                if department.id not in stored_load:
                    stored_load[department.id] = await open_load(self._engine, department.id)
                load = dict(stored_load[department.id])
                for person, count in extra_load.items():
                    load[person] = load.get(person, 0) + count
            assignment = choose_assignee(
                department, need.role, skills=need.skills, open_load=load, last_assignee=last,
                exclude=need.exclude,
            )
            extra_load[assignment.person_id] = extra_load.get(assignment.person_id, 0) + 1
            chosen.append(assignment)
        return StaffingResult(assignments=chosen)

    @activity.defn(name=LOOKUP_DEPARTMENT)
    async def lookup_department(self, lookup: DepartmentLookup) -> Department:
        """The department as currently configured, to pin on a request it is handed to."""
        department = self._departments.get(lookup.department_id)
        if department is None:
            known = ", ".join(sorted(self._departments))
            raise ApplicationError(
                f"unknown department {lookup.department_id!r} (known: {known})",
                type=UNKNOWN_DEPARTMENT, non_retryable=True)
        return department
