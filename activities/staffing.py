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
from activities.failures import store_failures
from domain.assignment import Assignment, choose_assignee
from domain.org import AssignmentRule, Department
from domain.staffing import StaffingNeed
from eventstore.queries import open_load
from eventstore.reservations import reserve_next


class StaffingActivities:
    def __init__(self, engine: AsyncEngine, departments: dict[str, Department]) -> None:
        self._engine = engine
        self._departments = departments

    @activity.defn(name=CHOOSE_ASSIGNEES)
    async def choose(self, staffing: StaffingInput) -> StaffingResult:
        """One person per need, by the rules of the need's department as pinned on the request.
        Round robin reserves the next person in one transaction (concurrent requests each get
        the next in turn); other rules read the department's open load once, and people chosen
        earlier in the same call count as loaded, so a fan-out spreads out."""
        with store_failures(self._engine):
            return await self._choose(staffing)

    async def _choose(self, staffing: StaffingInput) -> StaffingResult:
        chosen: list[Assignment] = []
        extra_load: dict[str, int] = {}
        stored_load: dict[str, dict[str, int]] = {}
        for need in staffing.needs:
            department = staffing.departments[need.department_id]
            if department.assignment is AssignmentRule.ROUND_ROBIN:
                assignment = await self._reserve(department, need)
            else:
                if department.id not in stored_load:
                    stored_load[department.id] = await open_load(self._engine, department.id)
                load = dict(stored_load[department.id])
                for person, count in extra_load.items():
                    load[person] = load.get(person, 0) + count
                assignment = choose_assignee(department, need.role, skills=need.skills,
                                             open_load=load, exclude=need.exclude)
            extra_load[assignment.person_id] = extra_load.get(assignment.person_id, 0) + 1
            chosen.append(assignment)
        return StaffingResult(assignments=chosen)

    async def _reserve(self, department: Department, need: StaffingNeed) -> Assignment:
        picked: list[Assignment] = []

        def next_after(last: str | None) -> str:
            picked.append(choose_assignee(department, need.role, skills=need.skills,
                                          last_assignee=last, exclude=need.exclude))
            return picked[-1].person_id

        await reserve_next(self._engine, department.id, need.role, next_after)
        return picked[-1]

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
