"""Loads the organisation configuration (calendars, departments, process templates, SLA policy)
from a directory of TOML files into a validated ``Catalog``.

Config side only: it reads files and imports ``holidays`` (through ``domain.calendars_cn``), so
workflow code must not import it; workflows receive what it built, pinned on each request.

Layout of the directory (documented in docs/configuration.md)::

    organisation.toml    [calendars.<id>] and [[departments]] with [[departments.members]]
    processes/*.toml     one process template per file; its id is the request type
    sla.toml             the SLA policy: thresholds, windows, [escalation] and [[targets]]

Every problem found is reported, not only the first: ``ConfigError.problems`` lists each as
``FILE: KEY PATH: PROBLEM``, e.g. ``config/processes/billing_dispute.toml:
stages[1].branches[0].department: unknown department 'legall' (known: customer_service, ...)``.
Parts that are broken are left out of the later cross-checks instead of producing follow-on
errors about them.
"""

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, TypeVar

from holidays.utils import list_supported_countries
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from domain.calendar import CalendarSpec, known_timezone
from domain.calendars_cn import build_calendar, holidays_version, unscheduled_years
from domain.org import AssignmentRule, Department, Member
from domain.policy import (
    ANY,
    EscalationLevel,
    EscalationPolicy,
    SlaPolicy,
    SlaTargets,
    TargetRule,
)
from domain.process import Branch, ProcessTemplate, Stage, StepAction
from domain.request import CustomerTier, Priority

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
ORGANISATION_FILE = "organisation.toml"
SLA_FILE = "sla.toml"
PROCESSES_DIR = "processes"

BUSINESS_DAY_SECONDS = 8 * 3600.0
"""What ``1d`` means in a duration: one business day of eight working hours (the convention of
issue trackers such as Jira), not 24 hours: SLA durations are business time of a calendar."""

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_ID_PATTERN = r"^[a-z][a-z0-9_]*$"


# --------------------------------------------------------------------------------------------
# Result and errors


class Catalog(BaseModel):
    """The loaded configuration: departments and templates by id, and the SLA policy.

    ``years`` are the years whose public holidays and make-up days the calendars contain.
    ``notices`` are what an operator should know that does not stop the configuration from
    loading, one line each, naming file and key like a problem."""

    model_config = ConfigDict(frozen=True)

    departments: dict[str, Department]
    templates: dict[str, ProcessTemplate]
    policy: SlaPolicy
    years: tuple[int, ...] = ()
    notices: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConfigProblem:
    """One problem: the file (as given, relative to the caller's path), where in it, and what."""

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}: {self.key}: {self.message}"
            if self.key
            else (f"{self.file}: {self.message}")
        )


class ConfigError(ValueError):
    """The configuration is invalid; ``problems`` lists everything found, one per line in str()."""

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems: list[ConfigProblem] = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    def __reduce__(self) -> tuple[type["ConfigError"], tuple[list[ConfigProblem]]]:
        return ConfigError, (self.problems,)


# --------------------------------------------------------------------------------------------
# Durations

_DURATION_SYNTAX = re.compile(r"\s*(?:\d+\s*[A-Za-z]+\s*)+")
_DURATION_PART = re.compile(r"(\d+)\s*([A-Za-z]+)")
_UNIT_SECONDS = {"d": BUSINESS_DAY_SECONDS, "h": 3600.0, "m": 60.0, "s": 1.0}
_DURATION_HELP = (
    "expected whole numbers with units d (business day = 8h), h, m, s, largest first,"
    " e.g. '90s', '30m', '4h', '2d', '1h30m'"
)


def parse_duration(text: str) -> float:
    """Seconds of business time in ``text`` such as ``"90s"``, ``"4h"``, ``"2d"`` or ``"1h30m"``.

    Units: ``d`` (a business day of 8 hours, see BUSINESS_DAY_SECONDS), ``h``, ``m``, ``s``; each
    at most once, largest first, whole numbers only. ValueError with the reason otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"a duration is a string such as '4h' or '1h30m', got {text!r}")
    if not text.strip():
        raise ValueError(f"empty duration: {_DURATION_HELP}")
    if _DURATION_SYNTAX.fullmatch(text) is None:
        raise ValueError(f"invalid duration {text!r}: {_DURATION_HELP}")
    total = 0.0
    previous_rank = -1
    for amount, unit in _DURATION_PART.findall(text):
        if unit not in _UNIT_SECONDS:
            raise ValueError(f"invalid duration {text!r}: unknown unit {unit!r} (use d, h, m, s)")
        rank = list(_UNIT_SECONDS).index(unit)
        if rank <= previous_rank:
            raise ValueError(
                f"invalid duration {text!r}: units must go from largest to smallest"
                " (d, h, m, s), each at most once"
            )
        previous_rank = rank
        total += int(amount) * _UNIT_SECONDS[unit]
    return total


def _positive_duration(value: object) -> float:
    if not isinstance(value, str):
        raise ValueError(f"a duration is a string such as '4h' or '1h30m', got {value!r}")
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError(f"duration {value!r} must be longer than zero")
    return seconds


Duration = Annotated[float, BeforeValidator(_positive_duration)]


# --------------------------------------------------------------------------------------------
# Raw, TOML-shaped models: they carry the TOML key names, so validation errors point at keys
# the author wrote. Each part is validated separately so that one broken part does not hide
# the problems of the others.

_TIME = re.compile(r"^(\d{2}):(\d{2})$")


def _clock(text: str, *, end: bool) -> time:
    match = _TIME.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time HH:MM")
    hours, minutes = int(match[1]), int(match[2])
    if end and (hours, minutes) == (24, 0):
        return time(0, 0)  # midnight at the end of the day, as CalendarSpec writes it
    if hours > 23 or minutes > 59:
        raise ValueError(f"{text!r} is not a time of day (00:00-23:59, or 24:00 as an end)")
    if end and (hours, minutes) == (0, 0):
        raise ValueError("an interval cannot end at 00:00; write 24:00 for midnight")
    return time(hours, minutes)


def _interval(value: object) -> tuple[time, time]:
    if not isinstance(value, str) or value.count("-") != 1:
        raise ValueError(f'expected a string "HH:MM-HH:MM" such as "09:00-12:00", got {value!r}')
    start_text, end_text = (part.strip() for part in value.split("-"))
    start, end = _clock(start_text, end=False), _clock(end_text, end=True)
    if end != time(0, 0) and end <= start:
        raise ValueError(f"interval {value!r} must start before it ends")
    return start, end


def _iso_date(value: object) -> date:
    if isinstance(value, date) and type(value) is date:
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}")


Interval = Annotated[tuple[time, time], BeforeValidator(_interval)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]


def _end(interval: tuple[time, time]) -> tuple[int, int]:
    end = interval[1]
    return (24, 0) if end == time(0, 0) else (end.hour, end.minute)


def _no_overlap(intervals: list[tuple[time, time]]) -> list[tuple[time, time]]:
    ordered = sorted(intervals)
    for first, second in pairwise(ordered):
        if (second[0].hour, second[0].minute) < _end(first):
            raise ValueError(f"intervals {_show(first)} and {_show(second)} overlap")
    return ordered


def _show(interval: tuple[time, time]) -> str:
    end_hour, end_minute = _end(interval)
    return f"{interval[0]:%H:%M}-{end_hour:02d}:{end_minute:02d}"


class _Raw(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _RawWeek(_Raw):
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
        return _no_overlap(intervals)

    @model_validator(mode="after")
    def _works_sometime(self) -> "_RawWeek":
        if not any(getattr(self, day) for day in WEEKDAYS):
            raise ValueError("no working hours on any weekday")
        return self

    def by_weekday(self) -> dict[int, list[tuple[time, time]]]:
        return {index: getattr(self, day) for index, day in enumerate(WEEKDAYS)}


class _RawCalendar(_Raw):
    name: str = Field(min_length=1)
    timezone: str
    country: str | None = None
    subdivision: str | None = None
    hours: _RawWeek
    closed: list[IsoDate] = []
    working: list[IsoDate] = []
    makeup_day_hours: list[Interval] | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return known_timezone(value)

    @field_validator("makeup_day_hours")
    @classmethod
    def _disjoint(cls, intervals: list[tuple[time, time]] | None) -> list[tuple[time, time]] | None:
        return None if intervals is None else _no_overlap(intervals)


class _RawMember(_Raw):
    id: str = Field(pattern=r"^\S+$", max_length=64)
    name: str = Field(min_length=1)
    roles: list[str] = Field(min_length=1)
    skills: list[str] = []
    available: bool = True


class _RawDepartment(_Raw):
    id: str = Field(pattern=_ID_PATTERN, max_length=64)
    name: str = Field(min_length=1)
    calendar: str
    assignment: str = AssignmentRule.ROUND_ROBIN.value
    supervisor: str
    head: str
    members: list[dict[str, Any]] = Field(min_length=1)


class _RawOrganisation(_Raw):
    calendars: dict[str, dict[str, Any]] = Field(min_length=1)
    departments: list[dict[str, Any]] = Field(min_length=1)


class _RawBranch(_Raw):
    department: str
    role: str = Field(min_length=1)
    skills: list[str] = []
    actions: list[StepAction] = Field(default_factory=lambda: list(StepAction), min_length=1)

    @field_validator("actions", mode="before")
    @classmethod
    def _known_actions(cls, value: object) -> object:
        if isinstance(value, list):
            known = [action.value for action in StepAction]
            for item in value:
                if item not in known:
                    raise ValueError(f"unknown action {item!r} (known: {', '.join(known)})")
            return [StepAction(item) for item in value]
        return value

    @field_validator("actions")
    @classmethod
    def _completable(cls, actions: list[StepAction]) -> list[StepAction]:
        if StepAction.COMPLETE not in actions:
            raise ValueError("actions must include 'complete', or the step could never finish")
        return actions


class _RawStage(_Raw):
    id: str = Field(pattern=_ID_PATTERN)
    name: str = Field(min_length=1)
    branches: list[_RawBranch] = Field(min_length=1)


class _RawTemplate(_Raw):
    id: str = Field(pattern=_ID_PATTERN, max_length=64)
    version: int = Field(ge=1)
    name: str = Field(min_length=1)
    owner_department: str
    owner_role: str = Field(min_length=1)
    stages: list[_RawStage] = Field(min_length=1)


def _choice(allowed: Sequence[str], what: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        if value not in allowed:
            raise ValueError(f"unknown {what} {value!r} (known: {', '.join(allowed)})")
        return str(value)

    return check


_PRIORITY_CHOICES = (ANY, *(p.value for p in Priority))
_TIER_CHOICES = (ANY, *(t.value for t in CustomerTier))
_LEVEL_CHOICES = tuple(level.label for level in EscalationLevel)


class _RawTarget(_Raw):
    request_type: str = ANY
    priority: Annotated[str, BeforeValidator(_choice(_PRIORITY_CHOICES, "priority"))] = ANY
    tier: Annotated[str, BeforeValidator(_choice(_TIER_CHOICES, "customer tier"))] = ANY
    first_response: Duration
    resolution: Duration
    step_default: Duration
    steps: dict[str, Duration] = {}

    def selector(self) -> tuple[str, str, str]:
        return self.request_type, self.priority, self.tier


class _RawEscalation(_Raw):
    supervisor_after: Duration
    head_after: Duration
    auto_reassign_at: (
        Annotated[str, BeforeValidator(_choice(_LEVEL_CHOICES, "escalation level"))] | None
    ) = None


class _RawPolicy(_Raw):
    id: str = Field(min_length=1)
    version: int = Field(ge=1)
    warning_thresholds: list[float] = [0.5, 0.75, 0.9]
    pause_cap: Duration | None = None
    reopen_window: Duration
    escalation: dict[str, Any]
    targets: list[dict[str, Any]] = Field(min_length=1)

    @field_validator("warning_thresholds")
    @classmethod
    def _fractions(cls, thresholds: list[float]) -> list[float]:
        for threshold in thresholds:
            if not 0 < threshold < 1:
                raise ValueError(
                    f"warning threshold {threshold} is not a fraction between 0 and 1"
                    " (the breach itself is 1)"
                )
        return thresholds


# --------------------------------------------------------------------------------------------
# Problem collection

_M = TypeVar("_M", bound=BaseModel)
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
Loc = tuple[str | int, ...]


def _key_path(loc: Iterable[str | int]) -> str:
    """A TOML-style key path: ``stages[1].branches[0].department``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            name = part if _BARE_KEY.match(part) else '"' + part.replace('"', '\\"') + '"'
            path += f".{name}" if path else name
    return path


def _describe(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required key missing"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind in ("value_error", "assertion_error"):
        return str(error["ctx"]["error"])
    message = str(error["msg"])
    value = error.get("input")
    if isinstance(value, str | int | float | bool | date | time):
        return f"{message}, got {value!r}"
    return message


class _Problems:
    def __init__(self) -> None:
        self.found: list[ConfigProblem] = []
        self._locs: list[Loc] = []
        self.notices: list[ConfigProblem] = []

    def notice(self, file: Path, loc: Loc, message: str) -> None:
        """Records something worth knowing that is not a problem."""
        self.notices.append(ConfigProblem(str(file), _key_path(loc), message))

    def add(self, file: Path, loc: Loc, message: str, *, key: str | None = None) -> None:
        """Records a problem at ``loc`` (or at a ``key`` that is not a key path)."""
        self._locs.append(tuple(loc))
        self.found.append(ConfigProblem(str(file), _key_path(loc) if key is None else key, message))

    def sorted(self) -> list[ConfigProblem]:
        """By file, then by key path: list items by index, keys in the order first reported
        (which follows the order of the fields), a table before the keys inside it."""
        rank: dict[tuple[str, Loc], int] = {}
        for problem, loc in zip(self.found, self._locs, strict=True):
            for size in range(1, len(loc) + 1):
                rank.setdefault((problem.file, loc[:size]), len(rank))

        def order(index: int) -> tuple[str, tuple[tuple[int, int], ...], int]:
            problem, loc = self.found[index], self._locs[index]
            parts = tuple(
                (0, part) if isinstance(part, int) else (1, rank[(problem.file, loc[: at + 1])])
                for at, part in enumerate(loc)
            )
            return problem.file, parts, index

        return [self.found[index] for index in sorted(range(len(self.found)), key=order)]

    def add_validation(self, file: Path, prefix: Loc, error: ValidationError) -> None:
        for item in error.errors():
            loc = tuple(part for part in item["loc"] if part != "[key]")
            self.add(file, prefix + loc, _describe(item))

    def validate(self, model: type[_M], data: object, file: Path, prefix: Loc = ()) -> _M | None:
        try:
            return model.model_validate(data)
        except ValidationError as error:
            self.add_validation(file, prefix, error)
            return None

    def build(self, factory: Callable[[], _M], file: Path, prefix: Loc) -> _M | None:
        """A domain object from already checked parts; what it still refuses is reported."""
        try:
            return factory()
        except ValidationError as error:
            self.add_validation(file, prefix, error)
        except (ValueError, NotImplementedError) as error:
            self.add(file, prefix, str(error))
        return None

    def read_toml(self, file: Path) -> dict[str, Any] | None:
        try:
            raw = file.read_bytes()
        except FileNotFoundError:
            self.add(file, (), "file not found")
            return None
        except OSError as error:
            self.add(file, (), f"cannot read: {error.strerror or error}")
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            self.add(file, (), f"not UTF-8 text (byte {error.start}): save the file as UTF-8")
            return None
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            message = str(error)
            where = re.search(r"\s*\(at (line \d+, column \d+|end of document)\)$", message)
            if where is None:
                self.add(file, (), f"invalid TOML: {message}")
            else:
                self.add(file, (), f"invalid TOML: {message[: where.start()]}", key=where[1])
            return None


def _known(names: Iterable[str]) -> str:
    listed = sorted(names)
    return f"(known: {', '.join(listed)})" if listed else "(none are defined)"


# --------------------------------------------------------------------------------------------
# Loading


@dataclass
class _Org:
    """What organisation.toml declared, including parts that failed to build (so references to
    them are not reported as unknown a second time)."""

    declared_calendars: set[str]
    raw_departments: dict[str, _RawDepartment]
    members: dict[str, list[_RawMember]]
    departments: dict[str, Department]
    incomplete_rosters: set[str]


@dataclass
class _Processes:
    """The templates built, and the stage ids of every template declared (None where a broken
    file left them unknown), for checking the SLA policy's references."""

    templates: dict[str, ProcessTemplate]
    stages: dict[str, set[str] | None]


def load_catalog(directory: Path, *, years: Iterable[int]) -> Catalog:
    """The catalog in ``directory``; calendars contain the holidays of ``years``.

    Raises ConfigError listing every problem found."""
    wanted_years = tuple(sorted(set(years)))
    if not wanted_years:
        raise ValueError("years must name at least one year of public holidays")
    problems = _Problems()
    if not directory.is_dir():
        problems.add(directory, (), "configuration directory not found")
        raise ConfigError(problems.sorted())
    org = _load_organisation(problems, directory / ORGANISATION_FILE, wanted_years)
    processes = _load_templates(problems, directory / PROCESSES_DIR, org)
    policy = _load_policy(problems, directory / SLA_FILE, processes)
    if policy is None and not problems.found:  # not expected: every refusal is reported
        problems.add(directory / SLA_FILE, (), "no SLA policy could be built")
    if problems.found or policy is None:
        raise ConfigError(problems.sorted())
    return Catalog(
        departments=org.departments,
        templates=processes.templates,
        policy=policy,
        years=wanted_years,
        notices=tuple(str(notice) for notice in problems.notices),
    )


def load_catalog_around(directory: Path, today: date | None = None) -> Catalog:
    """The catalog in ``directory`` with the holidays of the year before ``today`` (default:
    today), its year and the next: every date a request open now can reach."""
    year = (today or date.today()).year
    return load_catalog(directory, years=range(year - 1, year + 2))


def _load_organisation(problems: _Problems, file: Path, years: tuple[int, ...]) -> _Org:
    org = _Org(set(), {}, {}, {}, set())
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
    problems: _Problems, file: Path, where: Loc, department_data: dict[str, Any]
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
    problems: _Problems, file: Path, where: Loc, raw: _RawCalendar, years: tuple[int, ...]
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
                f" {_known(supported[raw.country])}",
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
    problems: _Problems,
    file: Path,
    where: Loc,
    raw: _RawDepartment,
    members: list[_RawMember | None],
    calendars: Mapping[str, CalendarSpec],
    org: _Org,
) -> Department | None:
    ok = all(member is not None for member in members)
    if raw.calendar not in org.declared_calendars:
        problems.add(
            file,
            (*where, "calendar"),
            f"unknown calendar {raw.calendar!r} {_known(org.declared_calendars)}",
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
                f"{person!r} is not a member of department {raw.id!r} {_known(member_ids)}",
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
                Member(
                    id=member.id,
                    name=member.name,
                    roles=frozenset(member.roles),
                    skills=frozenset(member.skills),
                    available=member.available,
                )
                for member in members
                if member is not None
            ),
        ),
        file,
        where,
    )


def _load_templates(problems: _Problems, folder: Path, org: _Org) -> _Processes:
    """The templates, one per file; those that fail are reported and left out."""
    processes = _Processes({}, {})
    if not folder.is_dir():
        problems.add(folder, (), "directory not found: put one process template per .toml here")
        return processes
    files = sorted(folder.glob("*.toml"))
    if not files:
        problems.add(folder, (), "no process templates (*.toml) found")
    first_seen: dict[str, Path] = {}
    for file in files:
        data = problems.read_toml(file)
        raw = None if data is None else problems.validate(_RawTemplate, data, file)
        if raw is None:
            # Its id (or, failing that, the file name) is declared with unknown stages, so the
            # SLA policy's references to it do not add follow-on errors.
            declared = data.get("id") if data is not None else None
            processes.stages.setdefault(declared if isinstance(declared, str) else file.stem, None)
            continue
        if raw.id in first_seen:
            problems.add(
                file, ("id",), f"duplicate template id {raw.id!r} (also in {first_seen[raw.id]})"
            )
            continue
        first_seen[raw.id] = file
        processes.stages[raw.id] = {stage.id for stage in raw.stages}
        if _check_template(problems, file, raw, org):
            template = problems.build(partial(_template, raw), file, ())
            if template is not None:
                processes.templates[raw.id] = template
    return processes


def _check_template(problems: _Problems, file: Path, raw: _RawTemplate, org: _Org) -> bool:
    ok = _check_staffed(
        problems,
        file,
        ("owner_department",),
        ("owner_role",),
        raw.owner_department,
        raw.owner_role,
        frozenset(),
        org,
    )
    first_stage: dict[str, int] = {}
    for stage_index, stage in enumerate(raw.stages):
        if stage.id in first_stage:
            problems.add(
                file,
                ("stages", stage_index, "id"),
                f"duplicate stage id {stage.id!r} (also stages[{first_stage[stage.id]}])",
            )
            ok = False
        first_stage.setdefault(stage.id, stage_index)
        first_branch: dict[str, int] = {}
        for branch_index, branch in enumerate(stage.branches):
            where: Loc = ("stages", stage_index, "branches", branch_index)
            if branch.department in first_branch:
                problems.add(
                    file,
                    (*where, "department"),
                    f"department {branch.department!r} already has a branch in this stage"
                    f" (branches[{first_branch[branch.department]}])",
                )
                ok = False
            first_branch.setdefault(branch.department, branch_index)
            ok &= _check_staffed(
                problems,
                file,
                (*where, "department"),
                (*where, "role"),
                branch.department,
                branch.role,
                frozenset(branch.skills),
                org,
                skills_at=(*where, "skills"),
            )
    return ok


def _check_staffed(
    problems: _Problems,
    file: Path,
    department_at: Loc,
    role_at: Loc,
    department_id: str,
    role: str,
    skills: frozenset[str],
    org: _Org,
    *,
    skills_at: Loc = (),
) -> bool:
    """Whether the department exists and someone on its roster holds the role (and, where the
    department assigns by skill, all the skills)."""
    raw = org.raw_departments.get(department_id)
    if raw is None:
        problems.add(
            file,
            department_at,
            f"unknown department {department_id!r} {_known(org.raw_departments)}",
        )
        return False
    if department_id in org.incomplete_rosters:
        return False  # its roster has problems of its own, reported in organisation.toml
    members = org.members[department_id]
    holders = [member for member in members if role in member.roles]
    if not holders:
        roles = {held for member in members for held in member.roles}
        problems.add(
            file,
            role_at,
            f"no member of department {department_id!r} has role {role!r}"
            f" (roles there: {', '.join(sorted(roles)) or 'none'})",
        )
        return False
    if (
        skills
        and raw.assignment == AssignmentRule.SKILL_MATCH.value
        and not any(skills <= set(member.skills) for member in holders)
    ):
        problems.add(
            file,
            skills_at,
            f"no member of department {department_id!r} with role {role!r} has all of the"
            f" skills {', '.join(sorted(skills))}",
        )
        return False
    return True


def _template(raw: _RawTemplate) -> ProcessTemplate:
    return ProcessTemplate(
        id=raw.id,
        version=raw.version,
        name=raw.name,
        owner_department_id=raw.owner_department,
        owner_role=raw.owner_role,
        stages=tuple(
            Stage(
                id=stage.id,
                name=stage.name,
                branches=tuple(
                    Branch(
                        department_id=branch.department,
                        role=branch.role,
                        skills=frozenset(branch.skills),
                        actions=frozenset(branch.actions),
                    )
                    for branch in stage.branches
                ),
            )
            for stage in raw.stages
        ),
    )


def _load_policy(problems: _Problems, file: Path, processes: _Processes) -> SlaPolicy | None:
    data = problems.read_toml(file)
    if data is None:
        return None
    raw = problems.validate(_RawPolicy, data, file)
    escalation_data = data.get("escalation")
    escalation = (
        problems.validate(_RawEscalation, escalation_data, file, ("escalation",))
        if isinstance(escalation_data, dict)
        else None
    )
    targets_data = data.get("targets")
    targets: list[_RawTarget | None] = []
    if isinstance(targets_data, list):
        targets = [
            problems.validate(_RawTarget, item, file, ("targets", index))
            if isinstance(item, dict)
            else None
            for index, item in enumerate(targets_data)
        ]
    ok = _check_targets(problems, file, targets, processes.stages)
    valid = [target for target in targets if target is not None]
    if not valid or len(valid) != len(targets):
        return None
    rules = tuple(_rule(target) for target in valid)
    # Gaps and ties are only meaningful once every target is sound.
    ok = ok and _check_coverage(problems, file, rules, processes.stages)
    if raw is None or escalation is None or not ok:
        return None
    auto_reassign_at = (
        None
        if escalation.auto_reassign_at is None
        else EscalationLevel[escalation.auto_reassign_at.upper()]
    )
    return problems.build(
        lambda: SlaPolicy(
            id=raw.id,
            version=raw.version,
            warning_thresholds=tuple(raw.warning_thresholds),
            pause_cap_seconds=raw.pause_cap,
            reopen_window_seconds=raw.reopen_window,
            escalation=EscalationPolicy(
                supervisor_after_seconds=escalation.supervisor_after,
                head_after_seconds=escalation.head_after,
                auto_reassign_at=auto_reassign_at,
            ),
            rules=rules,
        ),
        file,
        (),
    )


def _rule(target: _RawTarget) -> TargetRule:
    return TargetRule(
        request_type=target.request_type,
        priority=target.priority,
        tier=target.tier,
        targets=SlaTargets(
            first_response_seconds=target.first_response,
            resolution_seconds=target.resolution,
            step_default_seconds=target.step_default,
            step_seconds=dict(target.steps),
        ),
    )


def _check_targets(
    problems: _Problems,
    file: Path,
    targets: Sequence[_RawTarget | None],
    stages_of: Mapping[str, set[str] | None],
) -> bool:
    ok = True
    every_stage_known = all(stages is not None for stages in stages_of.values())
    all_stages = {stage for stages in stages_of.values() for stage in stages or ()}
    first_seen: dict[tuple[str, str, str], int] = {}
    for index, target in enumerate(targets):
        if target is None:
            continue
        where: Loc = ("targets", index)
        selector = target.selector()
        if selector in first_seen:
            problems.add(
                file,
                where,
                "duplicate target for request_type={!r}, priority={!r}, tier={!r}"
                " (also targets[{}])".format(*selector, first_seen[selector]),
            )
            ok = False
        first_seen.setdefault(selector, index)
        if target.request_type == ANY:
            stages: set[str] | None = all_stages if every_stage_known else None
            owner = "any process template"
        elif target.request_type in stages_of:
            stages, owner = stages_of[target.request_type], target.request_type
        else:
            problems.add(
                file,
                (*where, "request_type"),
                f"unknown request type {target.request_type!r}: no process template has that id"
                f" {_known(stages_of)}",
            )
            ok = False
            continue
        if stages is None:
            continue  # that template is broken (reported); its stages are unknown
        for stage_id in target.steps:
            if stage_id not in stages:
                problems.add(
                    file,
                    (*where, "steps", stage_id),
                    f"unknown stage {stage_id!r}: not a stage of {owner} {_known(stages)}",
                )
                ok = False
    return ok


def _check_coverage(
    problems: _Problems,
    file: Path,
    rules: Sequence[TargetRule],
    request_types: Iterable[str],
) -> bool:
    """Whether every request type x priority x tier has exactly one most specific rule
    (otherwise the order of the rules would silently decide)."""
    ok = True
    for request_type in sorted(request_types):
        uncovered: list[str] = []
        ties: dict[tuple[int, ...], list[str]] = {}
        for priority in Priority:
            for tier in CustomerTier:
                matching = [
                    (index, rule)
                    for index, rule in enumerate(rules)
                    if rule.matches(request_type, priority, tier)
                ]
                if not matching:
                    uncovered.append(f"{priority.value}/{tier.value}")
                    continue
                best = max(rule.specificity() for _, rule in matching)
                tied = tuple(index for index, rule in matching if rule.specificity() == best)
                if len(tied) > 1:
                    ties.setdefault(tied, []).append(f"{priority.value}/{tier.value}")
        for tied, cases in ties.items():
            ok = False
            shown = " and ".join(f"targets[{index}]" for index in tied)
            problems.add(
                file,
                ("targets",),
                f"ambiguous targets for {request_type} {', '.join(cases)}: {shown} match"
                " equally specifically; add a more specific target for these cases",
            )
        if uncovered:
            ok = False
            problems.add(
                file,
                ("targets",),
                f"no target covers {request_type} {', '.join(uncovered)};"
                ' add one (request_type, priority and tier may be "*")',
            )
    return ok
