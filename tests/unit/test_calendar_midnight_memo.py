"""The memo of local midnights (domain.calendar._midnight) answers what the computation does,
on every day of years with clock changes in both directions and a zone whose midnight itself
is skipped (America/Santiago jumps 00:00 -> 01:00)."""

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from domain import calendar


def test_memoised_midnights_equal_computed_ones() -> None:
    computed = calendar._midnight.__wrapped__
    for zone in ("Asia/Shanghai", "Europe/Berlin", "America/Santiago", "Australia/Lord_Howe"):
        tz = ZoneInfo(zone)
        day = date(2025, 1, 1)
        while day < date(2027, 1, 1):
            assert calendar._midnight(tz, day) == computed(tz, day), (zone, day)
            # Asked twice: the second answer comes from the memo.
            assert calendar._midnight(tz, day) == computed(tz, day), (zone, day)
            day += timedelta(days=1)
