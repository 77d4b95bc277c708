"""A calendar open around the clock answers in one step (business time is elapsed time) exactly
what the day-by-day walk answers: checked against the same calendar written as two half-days
per day, which the walk handles, on random instants across clock changes."""

import random
from datetime import UTC, datetime, time, timedelta

from domain.calendar import (
    CalendarSpec,
    add_business_seconds,
    always_open,
    business_seconds_between,
)

ZONES = ("UTC", "Asia/Shanghai", "Europe/Berlin", "America/Santiago", "Australia/Lord_Howe")
NOON = time(12, 0)
MIDNIGHT = time(0, 0)


def _walked(zone: str) -> CalendarSpec:
    return CalendarSpec(name="halves", timezone=zone,
                        weekly_hours={day: [(MIDNIGHT, NOON), (NOON, MIDNIGHT)]
                                      for day in range(7)})


def test_an_always_open_calendar_answers_as_the_walk_does() -> None:
    rng = random.Random(24)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    for zone in ZONES:
        fast, walked = always_open(timezone=zone), _walked(zone)
        assert fast._compiled.always_open
        assert not walked._compiled.always_open
        for _ in range(300):
            start = base + timedelta(seconds=rng.randrange(0, 2 * 365 * 86400),
                                     microseconds=rng.randrange(0, 10**6))
            end = start + timedelta(seconds=rng.uniform(-3600, 40 * 86400))
            assert business_seconds_between(fast, start, end) == business_seconds_between(
                walked, start, end), (zone, start, end)
            seconds = rng.choice([0.5, 59.0, 3600.0, rng.uniform(0, 90 * 86400)])
            assert add_business_seconds(fast, start, seconds) == add_business_seconds(
                walked, start, seconds), (zone, start, seconds)


def test_a_closed_date_or_short_make_up_day_is_not_always_open() -> None:
    full = {day: [(MIDNIGHT, MIDNIGHT)] for day in range(7)}
    closed = CalendarSpec(name="c", timezone="UTC", weekly_hours=full,
                          closed_dates=frozenset({datetime(2026, 10, 1).date()}))
    makeup = CalendarSpec(name="m", timezone="UTC", weekly_hours=full,
                          extra_working_dates=frozenset({datetime(2026, 10, 10).date()}),
                          makeup_day_hours=[(time(9), time(18))])
    assert not closed._compiled.always_open
    assert not makeup._compiled.always_open
