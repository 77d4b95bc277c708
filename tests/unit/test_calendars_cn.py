"""Calendars built from configuration: public holidays and China's make-up working days."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from catalog.calendars_cn import build_calendar, makeup_working_days, public_holidays
from domain.calendar import business_seconds_between, is_working_time

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR = 3600.0
LUNCH_BREAK = [(time(9), time(12)), (time(13), time(18))]
WEEK = dict.fromkeys(range(5), LUNCH_BREAK)


def sh(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SHANGHAI)


def test_china_2026_makeup_days() -> None:
    assert makeup_working_days("CN", [2026]) == {
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    }


def test_named_special_holidays_have_no_makeup_day() -> None:
    # 2015 also lists Sep 3 (Victory Day) by name, without a worked day.
    assert makeup_working_days("CN", [2015]) == {
        date(2015, 1, 4),
        date(2015, 2, 15),
        date(2015, 2, 28),
        date(2015, 9, 6),
        date(2015, 10, 10),
    }


def test_makeup_days_in_the_year_before_their_holiday() -> None:
    # The 2002 New Year's days off were made up on Sat/Sun Dec 29-30, 2001.
    assert {date(2001, 12, 29), date(2001, 12, 30)} <= makeup_working_days("CN", [2001])
    assert not any(day.year == 2001 for day in makeup_working_days("CN", [2002]))


def test_makeup_days_are_weekend_days_and_never_holidays() -> None:
    years = range(2001, 2027)
    worked = makeup_working_days("chn", years)
    assert len(worked) > 100
    assert all(day.weekday() >= 5 for day in worked)
    assert not worked & set(public_holidays("CN", None, years))


def test_other_countries_have_no_makeup_days() -> None:
    assert makeup_working_days("US", [2026]) == frozenset()
    assert makeup_working_days("CN", []) == frozenset()


def test_public_holidays_include_observed_and_substituted_days() -> None:
    found = public_holidays("CN", None, [2026], language="en_US")
    national_day = {day for day in found if day.month == 10}
    assert national_day == {date(2026, 10, day) for day in (1, 2, 3, 5, 6, 7)}
    assert {date(2026, 2, day) for day in (16, 17, 18, 19, 20, 23)} <= set(found)
    assert found[date(2026, 10, 1)] == "National Day"
    assert public_holidays("CN", None, [2026], language="zh_CN")[date(2026, 10, 1)] == "国庆节"


def test_build_calendar_for_shanghai_2026() -> None:
    cal = build_calendar("上海客服中心", "Asia/Shanghai", WEEK, "CN", None, [2026])
    assert date(2026, 10, 1) in cal.closed_dates
    assert date(2026, 9, 20) in cal.extra_working_dates
    # Sep 28-30: 24 h; Oct 8-9: 16 h; Sat Oct 10 (make-up, Monday's hours): 8 h.
    assert business_seconds_between(cal, sh(9, 28), sh(10, 12)) == 48 * HOUR
    assert is_working_time(cal, sh(9, 20, 10))
    assert not is_working_time(cal, sh(10, 5, 10))


def test_explicit_dates_override_derived_ones() -> None:
    cal = build_calendar(
        "override",
        "Asia/Shanghai",
        WEEK,
        "CN",
        None,
        [2026],
        extra_closed=[date(2026, 9, 20), date(2026, 12, 24)],
        extra_working=[date(2026, 10, 1)],
        makeup_day_hours=[(time(10), time(12))],
    )
    assert date(2026, 9, 20) in cal.closed_dates
    assert date(2026, 9, 20) not in cal.extra_working_dates
    assert date(2026, 12, 24) in cal.closed_dates
    assert date(2026, 10, 1) not in cal.closed_dates
    assert business_seconds_between(cal, sh(10, 1), sh(10, 2)) == 2 * HOUR


def test_same_date_closed_and_working_is_rejected() -> None:
    with pytest.raises(ValidationError, match="dates both closed and extra working: 2026-06-01"):
        build_calendar(
            "bad",
            "Asia/Shanghai",
            WEEK,
            None,
            None,
            [2026],
            extra_closed=[date(2026, 6, 1)],
            extra_working=[date(2026, 6, 1)],
        )


def test_no_country_means_no_holidays() -> None:
    cal = build_calendar("plain", "Europe/Berlin", WEEK, None, None, [2026])
    assert cal.closed_dates == frozenset()
    assert cal.extra_working_dates == frozenset()
