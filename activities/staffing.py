"""Choosing people: assignment rules need each department's open load and its last assignee,
which live in the store."""

from collections.abc import Mapping

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
from eventstore.reservations import reserve_least_loaded, reserve_next


class StaffingActivities:
    def __init__(self, engine: AsyncEngine, departments: dict[str, Department]) -> None:
        self._engine = engine
        self._departments = departments

    @activity.defn(name=CHOOSE_ASSIGNEES)
    async def choose(self, staffing: StaffingInput) -> StaffingResult:
        """One person per need, by the rules of the need's department as pinned on the request.
        Each choice is reserved in the transaction that reads what it depends on (round
        robin's cursor, or the open load with the reservations not yet projected), so
        concurrent requests, and the several needs of a fan-out, spread out."""
        with store_failures(self._engine):
            return StaffingResult(assignments=[
                await self._reserve(staffing.departments[need.department_id], need)
                for need in staffing.needs])

    async def _reserve(self, department: Department, need: StaffingNeed) -> Assignment:
        picked: list[Assignment] = []

        def next_after(last: str | None) -> str:
            picked.append(choose_assignee(department, need.role, skills=need.skills,
                                          last_assignee=last, exclude=need.exclude))
            return picked[-1].person_id

        def least_loaded(load: Mapping[str, int]) -> str:
            picked.append(choose_assignee(department, need.role, skills=need.skills,
                                          open_load=dict(load), exclude=need.exclude))
            return picked[-1].person_id

        if department.assignment is AssignmentRule.ROUND_ROBIN:
            await reserve_next(self._engine, department.id, need.role, next_after)
        else:
            await reserve_least_loaded(self._engine, department.id, need.role, least_loaded)
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
