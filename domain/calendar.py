"""Working calendars and business-time arithmetic: pure and deterministic, safe in workflow code.

A calendar's working intervals are local wall-clock times. Each one is mapped to real instants
through its time zone on its own date, so business time is real elapsed time: on the day clocks
jump, 09:00-18:00 lasts 8 or 10 hours. Wall-clock times that occur twice (clocks go back) denote
their first occurrence; times that do not exist (clocks go forward) denote the instant of the
jump. Both rules keep the local-to-real mapping monotonic, so intervals never overlap in real time.
"""

import math
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
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
    special: tuple[date, ...]  # sorted dates that deviate from the weekly pattern
    always_open: bool  # every instant is working time: business time is elapsed time


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
            special=tuple(sorted(self.closed_dates | self.extra_working_dates)),
            always_open=(all(hours.spans == _ALL_DAY for hours in week) and not self.closed_dates
                         and (not self.extra_working_dates or makeup.spans == _ALL_DAY)),
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


def _plain_week_end(compiled: _Compiled, day: date, day_start: datetime) -> datetime | None:
    """The midnight 7 days after `day` (starting at `day_start`) if those days hold exactly the
    weekly pattern's working time: no special date and no UTC-offset change. Else None.

    The only non-None result is `day_start + _WEEK`, so callers may skip the call when that
    instant is of no use to them."""
    index = bisect_left(compiled.special, day)
    if index < len(compiled.special) and compiled.special[index] < day + _WEEK:
        return None
    # Sampling every midnight catches any offset change, including a change and its reversal
    # days apart (Brazil, October 2000); as in _spans, a change undone within one day is
    # assumed not to occur (none in the tz database since 1990).
    local_start = day_start.astimezone(compiled.tz)
    if local_start.time() != _MIDNIGHT:  # the day starts inside a jump, so it is short
        return None
    offset = local_start.utcoffset()
    for days in range(1, 8):
        if (day_start + days * _DAY).astimezone(compiled.tz).utcoffset() != offset:
            return None
    return day_start + _WEEK


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


def business_seconds_between(cal: CalendarSpec, start: datetime, end: datetime) -> float:
    """Working seconds of `cal` in [start, end); 0 if end <= start."""
    start, end = as_utc(start, "start"), as_utc(end, "end")
    if end <= start:
        return 0.0
    compiled = cal._compiled
    if compiled.always_open:
        # What the day-by-day sum below adds up to when the days' spans touch end to end.
        return (end - start).total_seconds()
    tz = compiled.tz
    day = start.astimezone(tz).date()
    day_start = _midnight(tz, day)
    total = timedelta()
    while day_start < end:
        # _plain_week_end returns None or day_start + _WEEK, so test that bound first.
        week_end = (
            _plain_week_end(compiled, day, day_start)
            if day_start >= start and day_start + _WEEK <= end
            else None
        )
        if week_end is not None:
            total += compiled.week_total
            day, day_start = day + _WEEK, week_end
            continue
        day_end = _midnight(tz, day + _DAY)
        for span_start, span_end in _spans(cal, compiled, day, day_start, day_end):
            overlap = min(span_end, end) - max(span_start, start)
            if overlap > timedelta():
                total += overlap
        day, day_start = day + _DAY, day_end
    return total.total_seconds()


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
        return start_utc + remaining  # as the walk below would find, without walking
    tz = compiled.tz
    day = start_utc.astimezone(tz).date()
    last_day = day + _HORIZON
    day_start = _midnight(tz, day)
    while day <= last_day:
        week_end = (
            _plain_week_end(compiled, day, day_start)
            if day_start >= start_utc and remaining > compiled.week_total
            else None
        )
        if week_end is not None:
            remaining -= compiled.week_total
            day, day_start = day + _WEEK, week_end
            continue
        day_end = _midnight(tz, day + _DAY)
        for span_start, span_end in _spans(cal, compiled, day, day_start, day_end):
            usable_start = max(span_start, start_utc)
            if usable_start < span_end:
                if remaining <= span_end - usable_start:
                    return usable_start + remaining
                remaining -= span_end - usable_start
        day, day_start = day + _DAY, day_end
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
