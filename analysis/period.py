"""The period an analysis covers: a calendar month in a time zone, as a UTC half-open range."""

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from domain.calendar import known_timezone


def parse_month(text: str) -> date:
    """``"2026-11"`` -> ``date(2026, 11, 1)``; ValueError naming the flag otherwise."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        raise ValueError(f"--month {text[:20]!r}: expected YYYY-MM, e.g. 2026-11")
    return date(int(match[1]), int(match[2]), 1)


def month_range(month: date, tz_name: str) -> tuple[datetime, datetime]:
    """``[start, end)`` of ``month`` from local midnight to local midnight, in UTC."""
    tz = ZoneInfo(known_timezone(tz_name))
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    start = datetime(month.year, month.month, 1, tzinfo=tz)
    end = datetime(following.year, following.month, 1, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)
