"""Business time from the per-day prefix sums (domain.calendar's day table) is what counting
day by day gives, to the microsecond, on many random calendars and instants: lunch breaks,
midnight ends, closed and make-up dates, and zones whose clocks jump, even at midnight."""

import random
from datetime import UTC, date, datetime, time, timedelta

import pytest

from domain import calendar
from domain.calendar import (
    CalendarSpec,
    NoWorkingTimeError,
    add_business_seconds,
    business_seconds_between,
)

ZONES = ("Asia/Shanghai", "Europe/Berlin", "America/Santiago", "Australia/Lord_Howe",
         "America/Los_Angeles", "Pacific/Apia")
DAY = timedelta(days=1)


def _walk_between(cal: CalendarSpec, start: datetime, end: datetime) -> float:
    """The day-by-day count the table replaced: every local day's spans clipped to the range."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return 0.0
    compiled = cal._compiled
    tz = compiled.tz
    day = start.astimezone(tz).date()
    day_start = calendar._midnight(tz, day)
    total = timedelta()
    while day_start < end:
        day_end = calendar._midnight(tz, day + DAY)
        for span_start, span_end in calendar._spans(cal, compiled, day, day_start, day_end):
            overlap = min(span_end, end) - max(span_start, start)
            if overlap > timedelta():
                total += overlap
        day, day_start = day + DAY, day_end
    return total.total_seconds()


def _walk_add(cal: CalendarSpec, start: datetime, seconds: float) -> datetime | None:
    """The day-by-day search the table replaced; None where it finds no working time."""
    start = start.astimezone(UTC)
    compiled = cal._compiled
    tz = compiled.tz
    remaining = timedelta(seconds=seconds)
    day = start.astimezone(tz).date()
    last_day = day + calendar._HORIZON
    day_start = calendar._midnight(tz, day)
    while day <= last_day:
        day_end = calendar._midnight(tz, day + DAY)
        for span_start, span_end in calendar._spans(cal, compiled, day, day_start, day_end):
            usable = max(span_start, start)
            if usable < span_end:
                if remaining <= span_end - usable:
                    return usable + remaining
                remaining -= span_end - usable
        day, day_start = day + DAY, day_end
    return None


def _random_hours(rng: random.Random) -> list[tuple[time, time]]:
    cuts = sorted(rng.sample(range(1, 48), rng.choice((2, 4))))
    if rng.random() < 0.2:
        cuts[-1] = 48  # an interval ending at midnight
    return [(_half_hour(cuts[i]), _half_hour(cuts[i + 1])) for i in range(0, len(cuts), 2)]


def _half_hour(n: int) -> time:
    return time(0, 0) if n == 48 else time(n // 2, 30 * (n % 2))


def _random_calendar(rng: random.Random) -> CalendarSpec:
    days = rng.sample(range(7), rng.randint(1, 7))
    dates = rng.sample([date(2025, 1, 1) + n * DAY for n in range(900)], 60)
    return CalendarSpec(
        name="random", timezone=rng.choice(ZONES),
        weekly_hours={day: _random_hours(rng) for day in days},
        closed_dates=frozenset(dates[:40]), extra_working_dates=frozenset(dates[40:]),
        makeup_day_hours=_random_hours(rng) if rng.random() < 0.5 else None)


def _random_instant(rng: random.Random) -> datetime:
    return (datetime(2025, 1, 1, tzinfo=UTC)
            + timedelta(seconds=rng.randrange(0, 800 * 86400), microseconds=rng.randrange(10**6)))


@pytest.mark.parametrize("seed", range(40))
def test_the_table_counts_what_the_day_by_day_walk_counts(seed: int) -> None:
    rng = random.Random(seed)
    cal = _random_calendar(rng)
    for _ in range(60):
        start = _random_instant(rng)
        end = start + timedelta(seconds=rng.choice((rng.randrange(0, 86400 * 3),
                                                    rng.randrange(0, 86400 * 120))))
        if rng.random() < 0.3:  # out of order: the table grows backwards too
            start, end = end - timedelta(days=400), start - timedelta(days=400)
        assert business_seconds_between(cal, start, end) == _walk_between(cal, start, end), (
            seed, start, end)
        seconds = rng.choice((0.0000004, 1.0, 1800.0, rng.uniform(0, 86400 * 5),
                              rng.uniform(0, 86400 * 60), 3600 * rng.randrange(1, 400)))
        expected = _walk_add(cal, start, seconds)
        if expected is None:
            with pytest.raises(NoWorkingTimeError):
                add_business_seconds(cal, start, seconds)
        else:
            assert add_business_seconds(cal, start, seconds) == expected, (seed, start, seconds)


def test_a_fresh_calendar_answers_as_one_already_grown() -> None:
    """The table's state (grown forwards, backwards or not yet) never changes an answer."""
    rng = random.Random(99)
    spec = _random_calendar(rng)
    cases = [(_random_instant(rng), rng.uniform(0, 86400 * 30)) for _ in range(50)]
    grown = spec.model_validate(spec.model_dump())
    answers = [add_business_seconds(grown, start, seconds) for start, seconds in cases]
    for (start, seconds), answer in zip(cases, answers, strict=True):
        fresh = spec.model_validate(spec.model_dump())
        assert add_business_seconds(fresh, start, seconds) == answer
