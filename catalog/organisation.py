"""organisation.toml: calendars, departments and their rosters."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Annotated, Any

from holidays.utils import list_supported_countries
from pydantic import AfterValidator, Field, field_validator, model_validator

from catalog.calendars_cn import build_calendar, holidays_version, unscheduled_years
from catalog.fields import ID_PATTERN, Interval, IsoDate, TomlTable, no_overlap
from catalog.problems import Loc, Problems, known
from domain.calendar import CalendarSpec, known_timezone
from domain.org import AssignmentRule, Department, Member

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

class _RawWeek(TomlTable):
    mon: list[Interval] = []
    tue: list[Interval] = []
    wed: list[Interval] = []
    thu: list[Interval] = []
    fri: list[Interval] = []
    sat: list[Interval] = []
    sun: list[Interval] = []

    @field_validator(*WEEKDAYS)
    @classmethod
    def _disjoint(cls, intervals: list[tuple[time, time]]) -> list[tuple[time, time]]:
        return no_overlap(intervals)

    @model_validator(mode="after")
    def _works_sometime(self) -> "_RawWeek":
        if not any(getattr(self, day) for day in WEEKDAYS):
            raise ValueError("no working hours on any weekday")
        return self

    def by_weekday(self) -> dict[int, list[tuple[time, time]]]:
        return {index: getattr(self, day) for index, day in enumerate(WEEKDAYS)}


class _RawCalendar(TomlTable):
    name: str = Field(min_length=1)
    timezone: Annotated[str, AfterValidator(known_timezone)]
    country: str | None = None
    subdivision: str | None = None
    hours: _RawWeek
    closed: list[IsoDate] = []
    working: list[IsoDate] = []
    makeup_day_hours: list[Interval] | None = None

    @field_validator("makeup_day_hours")
    @classmethod
    def _disjoint(cls, intervals: list[tuple[time, time]] | None) -> list[tuple[time, time]] | None:
        return None if intervals is None else no_overlap(intervals)


class _RawMember(TomlTable):
    id: str = Field(pattern=r"^\S+$", max_length=64)
    name: str = Field(min_length=1)
    roles: list[str] = Field(min_length=1)
    skills: list[str] = []
    available: bool = True


class _RawDepartment(TomlTable):
    id: str = Field(pattern=ID_PATTERN, max_length=64)
    name: str = Field(min_length=1)
    calendar: str
    assignment: str = AssignmentRule.ROUND_ROBIN.value
    supervisor: str
    head: str
    members: list[dict[str, Any]] = Field(min_length=1)


class _RawOrganisation(TomlTable):
    calendars: dict[str, dict[str, Any]] = Field(min_length=1)
    departments: list[dict[str, Any]] = Field(min_length=1)


@dataclass
class Organisation:
    """What organisation.toml declared, including parts that failed to build (so references to
    them are not reported as unknown a second time)."""

    declared_calendars: set[str]
    raw_departments: dict[str, _RawDepartment]
    members: dict[str, list[_RawMember]]
    departments: dict[str, Department]
    incomplete_rosters: set[str]


def load_organisation(problems: Problems, file: Path, years: tuple[int, ...]) -> Organisation:
    org = Organisation(set(), {}, {}, {}, set())
    data = problems.read_toml(file)
    if data is None:
        return org
    top = problems.validate(_RawOrganisation, data, file)
    if top is None:
        # Still look into whatever has the right shape.
        calendars_data = data.get("calendars")
        departments_data = data.get("departments")
        calendars_data = calendars_data if isinstance(calendars_data, dict) else {}
        departments_data = departments_data if isinstance(departments_data, list) else []
    else:
        calendars_data, departments_data = top.calendars, top.departments

    calendars: dict[str, CalendarSpec] = {}
    for calendar_id, calendar_data in calendars_data.items():
        org.declared_calendars.add(calendar_id)
        where: Loc = ("calendars", calendar_id)
        if not isinstance(calendar_data, dict):
            problems.add(file, where, "expected a table [calendars.<id>]")
            continue
        raw_calendar = problems.validate(_RawCalendar, calendar_data, file, where)
        if raw_calendar is not None:
            spec = _build_calendar(problems, file, where, raw_calendar, years)
            if spec is not None:
                calendars[calendar_id] = spec

    first_seen: dict[str, int] = {}
    for index, department_data in enumerate(departments_data):
        where = ("departments", index)
        if not isinstance(department_data, dict):
            problems.add(file, where, "expected a table [[departments]]")
            continue
        raw = problems.validate(_RawDepartment, department_data, file, where)
        members = _load_members(problems, file, where, department_data)
        if raw is None:
            continue
        if raw.id in first_seen:
            problems.add(
                file,
                (*where, "id"),
                f"duplicate department id {raw.id!r} (also departments[{first_seen[raw.id]}])",
            )
            continue
        first_seen[raw.id] = index
        org.raw_departments[raw.id] = raw
        org.members[raw.id] = [member for member in members if member is not None]
        if len(org.members[raw.id]) != len(members) or not members:
            org.incomplete_rosters.add(raw.id)
        department = _build_department(problems, file, where, raw, members, calendars, org)
        if department is not None:
            org.departments[raw.id] = department
    return org


def _load_members(
    problems: Problems, file: Path, where: Loc, department_data: dict[str, Any]
) -> list[_RawMember | None]:
    members_data = department_data.get("members")
    if not isinstance(members_data, list):
        return []  # reported by the department's own validation
    members: list[_RawMember | None] = []
    first_seen: dict[str, int] = {}
    for index, member_data in enumerate(members_data):
        member_where = (*where, "members", index)
        if not isinstance(member_data, dict):
            members.append(None)  # reported by the department's own validation
            continue
        member = problems.validate(_RawMember, member_data, file, member_where)
        if member is not None and member.id in first_seen:
            problems.add(
                file,
                (*member_where, "id"),
                f"duplicate member id {member.id!r} (also members[{first_seen[member.id]}])",
            )
            member = None
        elif member is not None:
            first_seen[member.id] = index
        members.append(member)
    return members


def _build_calendar(
    problems: Problems, file: Path, where: Loc, raw: _RawCalendar, years: tuple[int, ...]
) -> CalendarSpec | None:
    ok = True
    supported = list_supported_countries()
    if raw.country is not None and raw.country not in supported:
        problems.add(
            file,
            (*where, "country"),
            f"unknown country {raw.country!r}: expected an ISO 3166-1 alpha-2 code that the"
            " holidays package supports, such as 'CN', 'HK' or 'DE'",
        )
        ok = False
    elif raw.subdivision is not None:
        if raw.country is None:
            problems.add(file, (*where, "subdivision"), "a subdivision needs a country")
            ok = False
        elif raw.subdivision not in supported[raw.country]:
            problems.add(
                file,
                (*where, "subdivision"),
                f"unknown subdivision {raw.subdivision!r} of {raw.country}"
                f" {known(supported[raw.country])}",
            )
            ok = False
    both = sorted(set(raw.closed) & set(raw.working))
    if both:
        problems.add(
            file,
            (*where, "working"),
            "dates both closed and working: " + ", ".join(day.isoformat() for day in both),
        )
        ok = False
    if not ok:
        return None
    for year in unscheduled_years(raw.country, years):
        if not any(day.year == year for day in raw.working):
            problems.notice(
                file, where,
                f"China's {year} holiday schedule (days off moved by the State Council, 调休"
                f" make-up working days) is not in holidays {holidays_version()}: {year} counts"
                " only the statutory holidays; list the announced dates under closed and"
                " working, or upgrade holidays",
            )
    return problems.build(
        lambda: build_calendar(
            raw.name,
            raw.timezone,
            raw.hours.by_weekday(),
            raw.country,
            raw.subdivision,
            years,
            extra_closed=raw.closed,
            extra_working=raw.working,
            makeup_day_hours=raw.makeup_day_hours,
        ),
        file,
        where,
    )


def _build_department(
    problems: Problems,
    file: Path,
    where: Loc,
    raw: _RawDepartment,
    members: list[_RawMember | None],
    calendars: Mapping[str, CalendarSpec],
    org: Organisation,
) -> Department | None:
    ok = all(member is not None for member in members)
    if raw.calendar not in org.declared_calendars:
        problems.add(
            file,
            (*where, "calendar"),
            f"unknown calendar {raw.calendar!r} {known(org.declared_calendars)}",
        )
        ok = False
    rules = [rule.value for rule in AssignmentRule]
    if raw.assignment not in rules:
        problems.add(
            file,
            (*where, "assignment"),
            f"unknown assignment rule {raw.assignment!r} (known: {', '.join(rules)})",
        )
        ok = False
    member_ids = {member.id for member in members if member is not None}
    for key, person in (("supervisor", raw.supervisor), ("head", raw.head)):
        if person not in member_ids:
            problems.add(
                file,
                (*where, key),
                f"{person!r} is not a member of department {raw.id!r} {known(member_ids)}",
            )
            ok = False
    calendar = calendars.get(raw.calendar)
    if not ok or calendar is None:
        return None
    return problems.build(
        lambda: Department(
            id=raw.id,
            name=raw.name,
            calendar=calendar,
            assignment=AssignmentRule(raw.assignment),
            supervisor_id=raw.supervisor,
            head_id=raw.head,
            members=tuple(
                Member.model_validate(member.model_dump())
                for member in members
                if member is not None
            ),
        ),
        file,
        where,
    )
