"""Working calendars and business-time arithmetic: pure and deterministic, safe in workflow code.

A calendar's working intervals are local wall-clock times. Each one is mapped to real instants
through its time zone on its own date, so business time is real elapsed time: on the day clocks
jump, 09:00-18:00 lasts 8 or 10 hours. Wall-clock times that occur twice (clocks go back) denote
their first occurrence; times that do not exist (clocks go forward) denote the instant of the
jump. Both rules keep the local-to-real mapping monotonic, so intervals never overlap in real time.
"""

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, PrivateAttr, field_validator, model_validator

from domain.sets import SortedSet

HORIZON_YEARS = 20
"""How far ahead add_business_seconds looks for working time before giving up."""

_HORIZON = timedelta(days=366 * HORIZON_YEARS)
_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)
_SECOND = timedelta(seconds=1)
_MIDNIGHT = time(0, 0)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class NoWorkingTimeError(ValueError):
    """The calendar has no working time at all, or not enough within the search horizon."""


@dataclass(frozen=True, slots=True)
class _Hours:
    """One day's working intervals as offsets from local midnight, and their nominal total."""

    spans: tuple[tuple[timedelta, timedelta], ...]
    total: timedelta


_CLOSED = _Hours((), timedelta())
_ALL_DAY = ((timedelta(), _DAY),)


@dataclass(frozen=True, slots=True)
class _Compiled:
    """Per-calendar lookup tables derived once from the spec's fields."""

    tz: ZoneInfo
    week: tuple[_Hours, ...]  # indexed by weekday, 0 = Monday
    makeup: _Hours
    week_total: timedelta
    always_open: bool  # every instant is working time: business time is elapsed time
    days: "_DayCache" = field(compare=False)  # a memo: two equal specs are equal whatever it holds


def _offset(t: time) -> timedelta:
    return timedelta(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)


def _end_offset(t: time) -> timedelta:
    # An interval ending at 00:00 ends at midnight at the end of its day (24:00).
    return _DAY if t == _MIDNIGHT else _offset(t)


def _compile_hours(intervals: list[tuple[time, time]]) -> _Hours:
    spans = tuple((_offset(start), _end_offset(end)) for start, end in intervals)
    return _Hours(spans, sum((end - start for start, end in spans), timedelta()))


def _check_intervals(intervals: list[tuple[time, time]], where: str) -> list[tuple[time, time]]:
    """The intervals sorted by start; ValueError naming `where` if any is empty or overlaps."""
    ordered = sorted(intervals)
    previous_end: timedelta | None = None
    for start, end in ordered:
        shown = f"{start.isoformat()}-{end.isoformat()}"
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError(f"{where}: interval {shown} must use local times without tzinfo")
        if _offset(start) >= _end_offset(end):
            raise ValueError(
                f"{where}: interval {shown} must start before it ends"
                " (write 00:00 as the end for midnight)"
            )
        if previous_end is not None and _offset(start) < previous_end:
            raise ValueError(f"{where}: interval {shown} overlaps the previous interval")
        previous_end = _end_offset(end)
    return ordered


def known_timezone(value: str) -> str:
    """``value`` if it names an IANA time zone, else a ValueError saying what is expected."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"unknown time zone {value!r}: expected an IANA name such as 'Asia/Shanghai'"
        ) from None
    return value


class CalendarSpec(BaseModel):
    """A serializable working calendar: weekly local hours plus closed and make-up dates.

    Derive variants with model_validate, not model_copy(update=...): that skips validation and
    keeps the lookup tables built from the original fields.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    timezone: str
    weekly_hours: dict[int, list[tuple[time, time]]]
    closed_dates: SortedSet[date] = frozenset()
    extra_working_dates: SortedSet[date] = frozenset()
    makeup_day_hours: list[tuple[time, time]] | None = None

    _compiled: _Compiled = PrivateAttr()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return known_timezone(value)

    @field_validator("weekly_hours")
    @classmethod
    def _valid_week(
        cls, value: dict[int, list[tuple[time, time]]]
    ) -> dict[int, list[tuple[time, time]]]:
        for weekday in value:
            if not 0 <= weekday <= 6:
                raise ValueError(f"weekday {weekday} is outside 0 (Monday)..6 (Sunday)")
        return {day: _check_intervals(value[day], f"weekday {day}") for day in sorted(value)}

    @field_validator("makeup_day_hours")
    @classmethod
    def _valid_makeup(cls, value: list[tuple[time, time]] | None) -> list[tuple[time, time]] | None:
        return None if value is None else _check_intervals(value, "makeup_day_hours")

    @model_validator(mode="after")
    def _disjoint_dates(self) -> "CalendarSpec":
        both = sorted(self.closed_dates & self.extra_working_dates)
        if both:
            shown = ", ".join(day.isoformat() for day in both)
            raise ValueError(f"dates both closed and extra working: {shown}")
        return self

    def model_post_init(self, context: Any, /) -> None:
        week = tuple(_compile_hours(self.weekly_hours.get(day, [])) for day in range(7))
        if self.makeup_day_hours is not None:
            makeup = _compile_hours(self.makeup_day_hours)
        else:
            makeup = next((hours for hours in week[:5] if hours.spans), _CLOSED)
        self._compiled = _Compiled(
            tz=ZoneInfo(self.timezone),
            week=week,
            makeup=makeup,
            week_total=sum((hours.total for hours in week), timedelta()),
            always_open=(all(hours.spans == _ALL_DAY for hours in week) and not self.closed_dates
                         and (not self.extra_working_dates or makeup.spans == _ALL_DAY)),
            days=_DayCache(),
        )


def always_open(name: str = "24x7", timezone: str = "UTC") -> CalendarSpec:
    """A calendar that works every day around the clock."""
    return CalendarSpec(
        name=name,
        timezone=timezone,
        weekly_hours={day: [(_MIDNIGHT, _MIDNIGHT)] for day in range(7)},
    )


def as_utc(value: datetime, what: str = "datetime") -> datetime:
    """`value` in UTC; ValueError if it is naive."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _local_to_utc(tz: ZoneInfo, wall: datetime) -> datetime:
    """The instant a naive local wall-clock time denotes, by the rules in the module docstring."""
    first = wall.replace(tzinfo=tz).astimezone(UTC)
    other = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if first <= other:
        return first
    # A non-existent time: read with the new offset (`other`) it lies before the jump, read with
    # the old one (`first`) after it. Bisect for the jump; tz rules change on whole seconds.
    old_offset = wall.replace(tzinfo=tz).utcoffset()
    before = (other - _EPOCH) // _SECOND
    after = -((_EPOCH - first) // _SECOND)
    while after - before > 1:
        middle = (before + after) // 2
        if (_EPOCH + middle * _SECOND).astimezone(tz).utcoffset() == old_offset:
            before = middle
        else:
            after = middle
    return _EPOCH + after * _SECOND


@lru_cache(maxsize=1 << 14)
def _midnight(tz: ZoneInfo, day: date) -> datetime:
    # Memoised: every business-time sum starts and steps from local midnights, so a replay of
    # a month of SLA clocks asks for the same few hundred days again and again (a pure
    # function of its arguments, so it stays deterministic in workflow code).
    return _local_to_utc(tz, datetime.combine(day, _MIDNIGHT))


# The helpers below take the calendar's `_compiled` tables as an argument: reading a pydantic
# private attribute goes through BaseModel.__getattr__, far slower than a plain attribute, so
# each public function reads it once.


def _hours_on(cal: CalendarSpec, compiled: _Compiled, day: date) -> _Hours:
    if day in cal.closed_dates:
        return _CLOSED
    if day in cal.extra_working_dates:
        return compiled.makeup
    return compiled.week[day.weekday()]


def _spans(
    cal: CalendarSpec, compiled: _Compiled, day: date, day_start: datetime, day_end: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """The working intervals of local `day` as UTC instants; day_start/day_end are its midnights."""
    hours = _hours_on(cal, compiled, day)
    if day_end - day_start == _DAY:
        # No offset change inside the day (see _plain_week_end), so wall-clock offsets are
        # real-time offsets.
        for start, end in hours.spans:
            yield day_start + start, day_start + end
        return
    tz = compiled.tz
    base = datetime.combine(day, _MIDNIGHT)
    for start, end in hours.spans:
        real_start, real_end = _local_to_utc(tz, base + start), _local_to_utc(tz, base + end)
        if real_start < real_end:
            yield real_start, real_end


_US = timedelta(microseconds=1)
_BLOCK_DAYS = 64
"""The day table grows by at least this many days at a time."""


def _micros(at: datetime) -> int:
    """`at` (aware) as whole microseconds since the epoch: exact, so sums never drift."""
    return (at - _EPOCH) // _US


@dataclass(frozen=True, slots=True)
class _DayTable:
    """Consecutive local days of one calendar from `first`, in microseconds since the epoch:
    ``midnights[i]`` starts day i (one more entry ends the last day), ``spans[i]`` are its
    working intervals, and ``before[i]`` is the working time of the days before day i (a
    prefix sum), so the working time up to any instant is a bisection and a few additions.

    Immutable: growing it builds a new table, so a reader never sees one half-grown."""

    first: date
    midnights: tuple[int, ...]
    spans: tuple[tuple[tuple[int, int], ...], ...]
    before: tuple[int, ...]

    @property
    def days(self) -> int:
        return len(self.spans)


class _DayCache:
    """The one table of a calendar, grown on demand (pure: a memo of a function of the spec)."""

    __slots__ = ("table",)

    def __init__(self) -> None:
        self.table: _DayTable | None = None


def _build_days(
    cal: CalendarSpec, compiled: _Compiled, first: date, count: int
) -> tuple[list[int], list[tuple[tuple[int, int], ...]], list[int]]:
    """(midnights, spans, working time per day) of `count` days from `first`; `count` + 1
    midnights."""
    tz = compiled.tz
    midnights = [_micros(_midnight(tz, first))]
    spans: list[tuple[tuple[int, int], ...]] = []
    worked: list[int] = []
    day_start = _midnight(tz, first)
    for offset in range(count):
        day = first + offset * _DAY
        day_end = _midnight(tz, day + _DAY)
        these = tuple((_micros(a), _micros(b))
                      for a, b in _spans(cal, compiled, day, day_start, day_end))
        spans.append(these)
        worked.append(sum(b - a for a, b in these))
        midnights.append(_micros(day_end))
        day_start = day_end
    return midnights, spans, worked


def _prefix(start: int, worked: list[int]) -> list[int]:
    sums = [start]
    for amount in worked:
        sums.append(sums[-1] + amount)
    return sums


def _grown(cal: CalendarSpec, compiled: _Compiled, table: _DayTable | None,
           low: date, high: date) -> _DayTable:
    """A table holding at least days `low` .. `high` and every day of `table`."""
    if table is None:
        count = max(_BLOCK_DAYS, (high - low).days + 1)
        midnights, spans, worked = _build_days(cal, compiled, low, count)
        return _DayTable(low, tuple(midnights), tuple(spans), tuple(_prefix(0, worked)))
    first, last = table.first, table.first + (table.days - 1) * _DAY
    grow = max(_BLOCK_DAYS, table.days)  # doubling keeps the cost of growing linear
    if low < first:
        new_first = min(low, first - grow * _DAY)
        midnights, spans, worked = _build_days(cal, compiled, new_first, (first - new_first).days)
        sums = _prefix(0, worked)
        shift = sums[-1] - table.before[0]
        table = _DayTable(new_first, (*midnights[:-1], *table.midnights),
                          (*spans, *table.spans),
                          (*sums[:-1], *(value + shift for value in table.before)))
    if high > last:
        count = (max(high, last + grow * _DAY) - last).days
        midnights, spans, worked = _build_days(cal, compiled, last + _DAY, count)
        sums = _prefix(table.before[-1], worked)
        table = _DayTable(table.first, (*table.midnights[:-1], *midnights),
                          (*table.spans, *spans), (*table.before, *sums[1:]))
    return table


def _table_for(cal: CalendarSpec, compiled: _Compiled, at: int, high: date | None = None
               ) -> _DayTable:
    """The calendar's table, grown to hold the instant `at` (µs) and, if given, day `high`."""
    cache = compiled.days
    table = cache.table
    if (table is not None and table.midnights[0] <= at < table.midnights[-1]
            and (high is None or high < table.first + table.days * _DAY)):
        return table
    day = (_EPOCH + at * _US).astimezone(compiled.tz).date()
    # A day on either side: an instant in a repeated hour at midnight is dated the day before
    # the midnight it follows.
    low, top = day - _DAY, max(day + _DAY, high or day)
    if table is not None:
        low, top = min(low, table.first), max(top, table.first + (table.days - 1) * _DAY)
    table = _grown(cal, compiled, table, low, top)
    cache.table = table
    return table


def _worked_before(table: _DayTable, at: int) -> tuple[int, int]:
    """(day index, working µs of the table's days before the instant `at`), `at` in the table."""
    index = bisect_right(table.midnights, at) - 1
    total = table.before[index]
    for start, end in table.spans[index]:
        if end <= at:
            total += end - start
        elif start < at:
            total += at - start
    return index, total


def business_seconds_between(cal: CalendarSpec, start: datetime, end: datetime) -> float:
    """Working seconds of `cal` in [start, end); 0 if end <= start."""
    start, end = as_utc(start, "start"), as_utc(end, "end")
    if end <= start:
        return 0.0
    compiled = cal._compiled
    if compiled.always_open:
        # What the sum of the days' spans is when they touch end to end.
        return (end - start).total_seconds()
    start_us, end_us = _micros(start), _micros(end)
    _table_for(cal, compiled, start_us)
    table = _table_for(cal, compiled, end_us)
    # Working time is a sum over days of whole microseconds, so the difference is exact.
    worked = _worked_before(table, end_us)[1] - _worked_before(table, start_us)[1]
    return worked / 1_000_000


def add_business_seconds(cal: CalendarSpec, start: datetime, seconds: float) -> datetime:
    """The earliest instant (UTC) by which `seconds` of working time have passed since `start`.

    Raises NoWorkingTimeError if the calendar never works, or not enough within HORIZON_YEARS.
    """
    start_utc = as_utc(start, "start")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"seconds must be a finite number >= 0, got {seconds}")
    if seconds == 0:
        return start
    compiled = cal._compiled
    if compiled.week_total == timedelta() and (
        not cal.extra_working_dates or compiled.makeup.total == timedelta()
    ):
        raise NoWorkingTimeError(f"calendar {cal.name!r} has no working hours at all")
    if seconds > _HORIZON.total_seconds():
        raise NoWorkingTimeError(
            f"{seconds} business seconds exceed the {HORIZON_YEARS}-year search horizon"
        )
    remaining = timedelta(seconds=seconds)
    if compiled.always_open:
        return start_utc + remaining  # as the sum over days would find, without summing
    wanted = remaining // _US
    start_us = _micros(start_utc)
    # Working time is searched through the days up to the horizon after start's local day.
    last_day = start_utc.astimezone(compiled.tz).date() + _HORIZON
    table = _table_for(cal, compiled, start_us)
    while True:
        index, worked = _worked_before(table, start_us)
        high = table.first + (table.days - 1) * _DAY
        # Grown until working time is left after the target, so a span reaches it.
        if table.before[-1] - worked > wanted or high >= last_day:
            break
        table = _table_for(cal, compiled, start_us,
                           min(last_day, high + max(_BLOCK_DAYS, table.days) * _DAY))
    target = worked + wanted
    # The first day by whose end the target is worked, then its spans from start, as one
    # would walk them day by day.
    day = max(index, bisect_left(table.before, target, lo=index + 1) - 1)
    while day < table.days and table.first + day * _DAY <= last_day:
        since, left = ((start_us, wanted) if day == index
                       else (table.midnights[day], target - table.before[day]))
        for span_start, span_end in table.spans[day]:
            usable = max(span_start, since)
            if usable < span_end:
                if left <= span_end - usable:
                    return _EPOCH + (usable + left) * _US
                left -= span_end - usable
        day += 1
    raise NoWorkingTimeError(
        f"calendar {cal.name!r} has less than {seconds} working seconds within"
        f" {HORIZON_YEARS} years after {start_utc.isoformat()}"
    )


def is_working_time(cal: CalendarSpec, at: datetime) -> bool:
    """Whether `at` falls inside one of the calendar's working intervals."""
    at = as_utc(at, "at")
    compiled = cal._compiled
    tz = compiled.tz
    day = at.astimezone(tz).date()
    day_start, day_end = _midnight(tz, day), _midnight(tz, day + _DAY)
    return any(start <= at < end for start, end in _spans(cal, compiled, day, day_start, day_end))
