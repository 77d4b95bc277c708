"""Business-time arithmetic: hand-computed cases and properties."""

import ast
import math
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.calendar import (
    CalendarSpec,
    NoWorkingTimeError,
    add_business_seconds,
    always_open,
    business_seconds_between,
    is_working_time,
)
from stack.paths import REPO_ROOT

SHANGHAI = ZoneInfo("Asia/Shanghai")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
LONDON = ZoneInfo("Europe/London")
AUCKLAND = ZoneInfo("Pacific/Auckland")
HOUR = 3600.0

LUNCH_BREAK = [(time(9), time(12)), (time(13), time(18))]  # 8 h
NINE_TO_SIX = [(time(9), time(18))]  # 9 h


def weekdays(hours: list[tuple[time, time]]) -> dict[int, list[tuple[time, time]]]:
    return dict.fromkeys(range(5), hours)


def sh(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


OFFICE = CalendarSpec(
    name="上海客服中心", timezone="Asia/Shanghai", weekly_hours=weekdays(LUNCH_BREAK)
)

# China 2026, entered by hand (the holidays-derived build is tested in test_calendars_cn.py).
CN_2026 = CalendarSpec(
    name="Shanghai office",
    timezone="Asia/Shanghai",
    weekly_hours=weekdays(NINE_TO_SIX),
    closed_dates=frozenset(
        [date(2026, 2, day) for day in (16, 17, 18, 19, 20, 23)]
        + [date(2026, 9, 25)]
        + [date(2026, 10, day) for day in (1, 2, 3, 5, 6, 7)]
    ),
    extra_working_dates=frozenset(
        [date(2026, 2, 14), date(2026, 2, 28), date(2026, 9, 20), date(2026, 10, 10)]
    ),
)

# Works Sunday nights in Los Angeles, across both 2026 DST changes (both on a Sunday).
LA_SUNDAY = CalendarSpec(
    name="LA Sunday batch", timezone="America/Los_Angeles", weekly_hours={6: [(time(1), time(4))]}
)
LA_OFFICE = CalendarSpec(
    name="LA office", timezone="America/Los_Angeles", weekly_hours=weekdays(NINE_TO_SIX)
)


# --- ordinary days, nights and weekends ---------------------------------------------------


def test_lunch_break_is_not_counted() -> None:
    assert business_seconds_between(OFFICE, sh(2026, 3, 2, 10), sh(2026, 3, 2, 14)) == 3 * HOUR


def test_is_working_time_respects_half_open_intervals() -> None:
    assert is_working_time(OFFICE, sh(2026, 3, 2, 9))
    assert is_working_time(OFFICE, sh(2026, 3, 2, 11, 59, 59))
    assert not is_working_time(OFFICE, sh(2026, 3, 2, 12))
    assert not is_working_time(OFFICE, sh(2026, 3, 2, 12, 30))
    assert is_working_time(OFFICE, sh(2026, 3, 2, 13))
    assert not is_working_time(OFFICE, sh(2026, 3, 2, 18))
    assert not is_working_time(OFFICE, sh(2026, 3, 7, 10))  # Saturday


def test_add_runs_overnight() -> None:
    result = add_business_seconds(OFFICE, sh(2026, 3, 2, 17), 2 * HOUR)
    assert result == sh(2026, 3, 3, 10)
    assert result.tzinfo is UTC


def test_add_over_the_weekend() -> None:
    friday = sh(2026, 3, 6, 17)
    assert add_business_seconds(OFFICE, friday, 2 * HOUR) == sh(2026, 3, 9, 10)
    assert business_seconds_between(OFFICE, friday, sh(2026, 3, 9, 10)) == 2 * HOUR


def test_add_starting_in_the_lunch_break() -> None:
    assert add_business_seconds(OFFICE, sh(2026, 3, 2, 12, 30), 1) == sh(2026, 3, 2, 13, 0, 1)


def test_add_returns_the_earliest_instant_at_an_interval_end() -> None:
    assert add_business_seconds(OFFICE, sh(2026, 3, 2, 9), 3 * HOUR) == sh(2026, 3, 2, 12)
    assert add_business_seconds(OFFICE, sh(2026, 3, 2, 9), 8 * HOUR) == sh(2026, 3, 2, 18)


def test_add_zero_returns_start_unchanged() -> None:
    start = sh(2026, 3, 7, 3)
    assert add_business_seconds(OFFICE, start, 0) is start


def test_between_is_zero_for_empty_or_reversed_spans() -> None:
    assert business_seconds_between(OFFICE, sh(2026, 3, 2, 10), sh(2026, 3, 2, 10)) == 0
    assert business_seconds_between(OFFICE, sh(2026, 3, 2, 14), sh(2026, 3, 2, 10)) == 0


def test_many_weeks_use_the_weekly_total() -> None:
    # 10 working weeks of 40 h plus the Monday morning 09:00-10:00.
    start = sh(2026, 3, 2, 0)
    assert (
        business_seconds_between(OFFICE, start, start + timedelta(weeks=10, hours=10))
        == (400 + 1) * HOUR
    )
    assert add_business_seconds(OFFICE, start, 401 * HOUR) == sh(2026, 5, 11, 10)


def test_midnight_end_means_end_of_day() -> None:
    late = CalendarSpec(name="late", timezone="UTC", weekly_hours={0: [(time(20), time(0))]})
    monday = datetime(2026, 3, 2, tzinfo=UTC)
    assert business_seconds_between(late, monday, monday + timedelta(days=7)) == 4 * HOUR
    assert add_business_seconds(late, monday, 4 * HOUR) == datetime(2026, 3, 3, tzinfo=UTC)


# --- China: holiday weeks and make-up working days ----------------------------------------


def test_national_day_week_is_closed_and_makeup_days_work() -> None:
    assert add_business_seconds(CN_2026, sh(2026, 9, 18, 17), 2 * HOUR) == sh(2026, 9, 20, 10)
    last_day_before = sh(2026, 9, 30, 17)
    assert add_business_seconds(CN_2026, last_day_before, 2 * HOUR) == sh(2026, 10, 8, 10)
    assert add_business_seconds(CN_2026, last_day_before, 19 * HOUR) == sh(2026, 10, 9, 18)
    assert add_business_seconds(CN_2026, last_day_before, 20 * HOUR) == sh(2026, 10, 10, 10)
    # Sep 28-30: 27 h; Oct 8-9: 18 h; Saturday Oct 10 (make-up): 9 h.
    assert business_seconds_between(CN_2026, sh(2026, 9, 28), sh(2026, 10, 12)) == 54 * HOUR
    assert is_working_time(CN_2026, sh(2026, 10, 10, 9))
    assert not is_working_time(CN_2026, sh(2026, 10, 6, 10))


def test_spring_festival() -> None:
    # Feb 9-13: 45 h; Sat Feb 14: 9 h; Feb 16-20 and 23 closed; Feb 24-27: 36 h; Sat Feb 28: 9 h.
    assert business_seconds_between(CN_2026, sh(2026, 2, 9), sh(2026, 3, 2)) == 99 * HOUR
    assert add_business_seconds(CN_2026, sh(2026, 2, 13, 17), 2 * HOUR) == sh(2026, 2, 14, 10)
    assert add_business_seconds(CN_2026, sh(2026, 2, 14, 17), 2 * HOUR) == sh(2026, 2, 24, 10)


def test_makeup_day_hours_default_to_the_first_weekday_with_hours() -> None:
    cal = CalendarSpec(
        name="closed Mondays, short Tuesdays",
        timezone="Asia/Shanghai",
        weekly_hours={0: [], 1: [(time(10), time(16))], 2: NINE_TO_SIX, 6: NINE_TO_SIX},
        extra_working_dates=frozenset([date(2026, 3, 7)]),
    )
    saturday = sh(2026, 3, 7)
    assert business_seconds_between(cal, saturday, saturday + timedelta(days=1)) == 6 * HOUR
    explicit = CalendarSpec.model_validate(
        {**cal.model_dump(), "makeup_day_hours": [(time(9), time(10))]}
    )
    assert business_seconds_between(explicit, saturday, saturday + timedelta(days=1)) == HOUR


# --- DST -----------------------------------------------------------------------------------


def test_los_angeles_spring_forward() -> None:
    day = datetime(2026, 3, 8, tzinfo=LOS_ANGELES)
    # 01:00 PST (09:00Z) to 04:00 PDT (11:00Z).
    assert business_seconds_between(LA_SUNDAY, day, day + timedelta(days=1)) == 2 * HOUR
    assert add_business_seconds(LA_SUNDAY, day, HOUR) == datetime(2026, 3, 8, 10, tzinfo=UTC)
    la_24x7 = always_open(timezone="America/Los_Angeles")
    next_day = datetime(2026, 3, 9, tzinfo=LOS_ANGELES)
    assert business_seconds_between(la_24x7, day, next_day) == 23 * HOUR
    saturday_noon = datetime(2026, 3, 7, 12, tzinfo=LOS_ANGELES)
    assert add_business_seconds(la_24x7, saturday_noon, 24 * HOUR) == datetime(
        2026, 3, 8, 13, tzinfo=LOS_ANGELES
    )


def test_los_angeles_fall_back() -> None:
    day = datetime(2026, 11, 1, tzinfo=LOS_ANGELES)
    # 01:00 PDT (08:00Z) to 04:00 PST (12:00Z): the repeated hour is worked.
    assert business_seconds_between(LA_SUNDAY, day, day + timedelta(days=1)) == 4 * HOUR
    la_24x7 = always_open(timezone="America/Los_Angeles")
    assert business_seconds_between(la_24x7, day, datetime(2026, 11, 2, tzinfo=LOS_ANGELES)) == (
        25 * HOUR
    )


def test_weekday_hours_are_unaffected_by_a_weekend_dst_change() -> None:
    assert (
        business_seconds_between(
            LA_OFFICE,
            datetime(2026, 3, 2, tzinfo=LOS_ANGELES),
            datetime(2026, 3, 16, tzinfo=LOS_ANGELES),
        )
        == 90 * HOUR
    )
    friday = datetime(2026, 3, 6, 17, tzinfo=LOS_ANGELES)
    assert add_business_seconds(LA_OFFICE, friday, 2 * HOUR) == datetime(
        2026, 3, 9, 10, tzinfo=LOS_ANGELES
    )


def test_london_dst_both_ways() -> None:
    night = CalendarSpec(
        name="night", timezone="Europe/London", weekly_hours={6: [(time(0), time(3))]}
    )
    spring, autumn = datetime(2026, 3, 29, tzinfo=LONDON), datetime(2026, 10, 25, tzinfo=LONDON)
    # 00:00 GMT to 03:00 BST is 2 h; 00:00 BST to 03:00 GMT is 4 h.
    assert business_seconds_between(night, spring, spring + timedelta(days=1)) == 2 * HOUR
    assert business_seconds_between(night, autumn, autumn + timedelta(days=1)) == 4 * HOUR


def test_an_interval_inside_the_spring_gap_has_no_working_time() -> None:
    gap = CalendarSpec(
        name="gap", timezone="Europe/London", weekly_hours={6: [(time(1, 15), time(1, 45))]}
    )
    spring = datetime(2026, 3, 29, tzinfo=LONDON)
    assert business_seconds_between(gap, spring, spring + timedelta(days=1)) == 0
    assert business_seconds_between(
        gap, spring + timedelta(days=7), spring + timedelta(days=8)
    ) == (0.5 * HOUR)
    assert add_business_seconds(gap, spring, 60) == datetime(2026, 4, 5, 0, 16, tzinfo=UTC)


def test_midnight_dst_changes_in_santiago() -> None:
    cal = always_open(timezone="America/Santiago")
    santiago = ZoneInfo("America/Santiago")

    def day_length(day: date) -> float:
        start = datetime.combine(day, time(0), tzinfo=santiago)
        return business_seconds_between(cal, start, start + timedelta(days=1))

    assert day_length(date(2026, 4, 4)) == 25 * HOUR  # 00:00 -> back to 23:00 at its end
    assert day_length(date(2026, 9, 6)) == 23 * HOUR  # 00:00 does not exist
    # Whole weeks from the short day on: 14 days less the skipped hour.
    two_weeks = business_seconds_between(
        cal, datetime(2026, 9, 6, tzinfo=santiago), datetime(2026, 9, 20, tzinfo=santiago)
    )
    assert two_weeks == (14 * 24 - 1) * HOUR
    assert add_business_seconds(
        cal, datetime(2026, 9, 5, 12, tzinfo=santiago), 24 * HOUR
    ) == datetime(2026, 9, 6, 13, tzinfo=santiago)


def test_a_dst_change_reversed_a_week_later() -> None:
    # Boa Vista started DST at midnight on Sun 2000-10-08 and undid it a week later.
    boa_vista = ZoneInfo("America/Boa_Vista")
    cal = CalendarSpec(
        name="Sunday nights", timezone="America/Boa_Vista", weekly_hours={6: [(time(0), time(2))]}
    )
    first, second = (
        datetime(2000, 10, 8, tzinfo=boa_vista),
        datetime(2000, 10, 15, tzinfo=boa_vista),
    )
    assert business_seconds_between(cal, first, second) == HOUR  # 00:00-01:00 did not exist
    assert business_seconds_between(cal, second, second + timedelta(days=7)) == 2 * HOUR


# --- either side of the date line ----------------------------------------------------------


def test_the_same_instant_is_a_different_weekday_across_the_date_line() -> None:
    instant = datetime(2026, 3, 6, 20, tzinfo=UTC)  # Sat 09:00 Auckland, Fri 10:00 Honolulu
    auckland = CalendarSpec(
        name="AKL", timezone="Pacific/Auckland", weekly_hours=weekdays(NINE_TO_SIX)
    )
    honolulu = CalendarSpec.model_validate(
        {**auckland.model_dump(), "timezone": "Pacific/Honolulu"}
    )
    assert not is_working_time(auckland, instant)
    assert is_working_time(honolulu, instant)
    assert is_working_time(LA_OFFICE, instant)  # Fri 12:00 PST
    assert add_business_seconds(honolulu, instant, HOUR) == instant + timedelta(hours=1)
    assert add_business_seconds(auckland, instant, HOUR) == datetime(
        2026, 3, 9, 10, tzinfo=AUCKLAND
    )


# --- 24x7 ---------------------------------------------------------------------------------


def test_always_open_counts_wall_time() -> None:
    cal = always_open()
    start = datetime(2026, 3, 2, 12, 0, 0, 250_000, tzinfo=UTC)
    assert add_business_seconds(cal, start, 1.5) == start + timedelta(seconds=1.5)
    assert business_seconds_between(cal, start, start + timedelta(days=30)) == 30 * 86400
    assert is_working_time(cal, start)


# --- validation and errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"timezone": "America"}, "unknown time zone 'America'"),
        ({"weekly_hours": {0: [(time(18), time(9))]}}, "weekday 0: interval 18:00:00-09:00:00"),
        ({"weekly_hours": {2: [(time(9), time(9))]}}, "must start before it ends"),
        (
            {"weekly_hours": {0: [(time(9), time(12)), (time(11), time(18))]}},
            "interval 11:00:00-18:00:00 overlaps",
        ),
        ({"weekly_hours": {7: NINE_TO_SIX}}, r"weekday 7 is outside 0 \(Monday\)..6 \(Sunday\)"),
        ({"weekly_hours": {-1: NINE_TO_SIX}}, "weekday -1 is outside"),
        ({"makeup_day_hours": [(time(10), time(8))]}, "makeup_day_hours: interval"),
        (
            {"weekly_hours": {0: [(time(9, tzinfo=UTC), time(10))]}},
            "must use local times without tzinfo",
        ),
        (
            {
                "closed_dates": frozenset([date(2026, 10, 10), date(2026, 10, 1)]),
                "extra_working_dates": frozenset([date(2026, 10, 10)]),
            },
            r"dates both closed and extra working: 2026-10-10 \[",
        ),
    ],
)
def test_invalid_calendars_are_rejected_with_a_clear_message(
    fields: dict[str, object], message: str
) -> None:
    spec: dict[str, object] = {
        "name": "bad",
        "timezone": "Asia/Shanghai",
        "weekly_hours": weekdays(NINE_TO_SIX),
    }
    with pytest.raises(ValidationError, match=message):
        CalendarSpec.model_validate({**spec, **fields})


def test_adjacent_and_unsorted_intervals_are_accepted_and_sorted() -> None:
    cal = CalendarSpec.model_validate(
        {
            "name": "split",
            "timezone": "UTC",
            "weekly_hours": {"0": [("13:00", "00:00"), ("09:00", "13:00")]},
        }
    )
    assert cal.weekly_hours[0] == [(time(9), time(13)), (time(13), time(0))]
    monday = datetime(2026, 3, 2, tzinfo=UTC)
    assert business_seconds_between(cal, monday, monday + timedelta(days=1)) == 15 * HOUR


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2026, 3, 2, 10)
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        business_seconds_between(OFFICE, naive, sh(2026, 3, 3))
    with pytest.raises(ValueError, match="end must be timezone-aware"):
        business_seconds_between(OFFICE, sh(2026, 3, 1), naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_seconds(OFFICE, naive, 1)
    with pytest.raises(ValueError, match="at must be timezone-aware"):
        is_working_time(OFFICE, naive)


@pytest.mark.parametrize("seconds", [-1.0, math.nan, math.inf])
def test_add_rejects_negative_and_non_finite_seconds(seconds: float) -> None:
    with pytest.raises(ValueError, match="finite number >= 0"):
        add_business_seconds(OFFICE, sh(2026, 3, 2), seconds)


def test_add_on_a_calendar_without_working_time_fails_fast() -> None:
    closed = CalendarSpec(name="closed", timezone="UTC", weekly_hours={})
    with pytest.raises(NoWorkingTimeError, match="calendar 'closed' has no working hours at all"):
        add_business_seconds(closed, sh(2026, 3, 2), 1)


def test_add_gives_up_at_the_horizon() -> None:
    once = CalendarSpec(
        name="once",
        timezone="UTC",
        weekly_hours={},
        extra_working_dates=frozenset([date(2026, 3, 7)]),
        makeup_day_hours=[(time(9), time(10))],
    )
    assert add_business_seconds(once, sh(2026, 3, 1), HOUR) == datetime(2026, 3, 7, 10, tzinfo=UTC)
    with pytest.raises(NoWorkingTimeError, match="within 20 years"):
        add_business_seconds(once, sh(2026, 3, 1), HOUR + 1)
    with pytest.raises(NoWorkingTimeError, match="search horizon"):
        add_business_seconds(OFFICE, sh(2026, 3, 1), 1e12)


def test_calendar_survives_a_json_round_trip() -> None:
    restored = CalendarSpec.model_validate_json(CN_2026.model_dump_json())
    assert restored == CN_2026
    start = sh(2026, 9, 30, 17)
    assert add_business_seconds(restored, start, 20 * HOUR) == sh(2026, 10, 10, 10)


def test_workflow_safe_imports_only() -> None:
    """calendar.py and sla_clock.py run in the workflow sandbox: stdlib and pydantic only."""
    allowed = {
        "bisect",
        "collections",
        "dataclasses",
        "datetime",
        "functools",
        "enum",
        "math",
        "typing",
        "zoneinfo",
        "pydantic",
        "domain",
    }
    domain = REPO_ROOT / "domain"
    for module in ("calendar.py", "sla_clock.py"):
        tree = ast.parse((domain / module).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert {name.split(".")[0] for name in names} <= allowed, (module, names)


def test_a_long_span_of_business_time_measures_back_exactly() -> None:
    # How fast this is is measured by bench/clock_arithmetic.py, not asserted here.
    start = sh(2026, 1, 5, 9)
    for cal in (OFFICE, CN_2026):
        end = add_business_seconds(cal, start, 365 * 86400)
        assert business_seconds_between(cal, start, end) == 365 * 86400


# --- properties ----------------------------------------------------------------------------

CALENDARS = [
    OFFICE,
    CN_2026,
    LA_SUNDAY,
    LA_OFFICE,
    always_open(),
    always_open(timezone="America/Santiago"),
    CalendarSpec(
        name="London nights",
        timezone="Europe/London",
        weekly_hours={
            day: [(time(0, 30), time(1, 30)), (time(1, 45), time(3))] for day in range(7)
        },
    ),
    CalendarSpec(name="AKL", timezone="Pacific/Auckland", weekly_hours=weekdays(LUNCH_BREAK)),
]
calendars = st.sampled_from(CALENDARS)
instants = st.datetimes(
    min_value=datetime(2025, 12, 1), max_value=datetime(2027, 6, 30), timezones=st.just(UTC)
)
business_seconds = st.floats(min_value=0, max_value=120 * 86400, allow_nan=False)
PROPERTY = settings(max_examples=200, deadline=None)


@PROPERTY
@given(calendars, instants, business_seconds)
def test_add_and_between_are_inverse(cal: CalendarSpec, start: datetime, seconds: float) -> None:
    end = add_business_seconds(cal, start, seconds)
    assert end >= start
    assert business_seconds_between(cal, start, end) == pytest.approx(seconds, abs=1e-6)


@PROPERTY
@given(calendars, instants, st.floats(min_value=1e-3, max_value=30 * 86400))
def test_add_returns_the_earliest_instant(
    cal: CalendarSpec, start: datetime, seconds: float
) -> None:
    end = add_business_seconds(cal, start, seconds)
    assert is_working_time(cal, end - timedelta(microseconds=1))


@PROPERTY
@given(calendars, instants, instants, instants)
def test_between_is_additive(cal: CalendarSpec, a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    whole = business_seconds_between(cal, a, c)
    parts = business_seconds_between(cal, a, b) + business_seconds_between(cal, b, c)
    assert parts == pytest.approx(whole, abs=1e-6)
    assert 0 <= whole <= (c - a).total_seconds()


@PROPERTY
@given(calendars, instants)
def test_is_working_time_agrees_with_between(cal: CalendarSpec, at: datetime) -> None:
    tick = business_seconds_between(cal, at, at + timedelta(microseconds=1))
    assert tick == (1e-6 if is_working_time(cal, at) else 0)
