"""Business-time arithmetic, the hot path of every timer recomputation.

    .venv/bin/python -m bench.clock_arithmetic
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time

from catalog.calendars_cn import build_calendar
from domain.calendar import CalendarSpec, add_business_seconds, business_seconds_between
from domain.sla_clock import PauseReason, next_threshold_instant, pause, resume, start_clock

HOURS = [("09:00", "12:00"), ("13:00", "18:00")]


def _calendar() -> CalendarSpec:
    weekly = {day: [(clock_time.fromisoformat(a), clock_time.fromisoformat(b))
                    for a, b in HOURS] for day in range(5)}
    return build_calendar("上海", "Asia/Shanghai", weekly, "CN", None, [2026, 2027])


def _rate(label: str, runs: int, work: Callable[[int], object]) -> None:
    started = time.perf_counter()
    for n in range(runs):
        work(n)
    elapsed = time.perf_counter() - started
    print(f"{label:<58} {runs / elapsed:>10,.0f} /s   {elapsed / runs * 1e6:>8.1f} µs each")


def main() -> None:
    calendar = _calendar()
    start = datetime(2026, 9, 28, 1, 0, tzinfo=UTC)  # just before National Day week
    _rate("add 8 business hours (across the National Day week)", 20_000,
          lambda n: add_business_seconds(calendar, start + timedelta(minutes=n % 600), 8 * 3600))
    _rate("add 250 business days (a year)", 2_000,
          lambda n: add_business_seconds(calendar, start, 250 * 8 * 3600))
    _rate("add 365 x 24 business hours and measure them back", 200,
          lambda n: business_seconds_between(
              calendar, start, add_business_seconds(calendar, start, 365 * 86400)))
    _rate("business seconds between two instants 30 days apart", 20_000,
          lambda n: business_seconds_between(calendar, start, start + timedelta(days=30)))
    clock = start_clock("step:x", 4 * 3600, calendar, start, pause_cap_seconds=3 * 3600)
    _rate("next warning/breach instant of a running clock", 20_000,
          lambda n: next_threshold_instant(clock, (0.5, 0.75, 0.9, 1.0), ()))
    _rate("pause + resume + next instant", 10_000, lambda n: next_threshold_instant(
        resume(pause(clock, start + timedelta(hours=1), PauseReason.CUSTOMER),
               start + timedelta(hours=30)), (0.5, 0.75, 0.9, 1.0), ()))


if __name__ == "__main__":
    main()
