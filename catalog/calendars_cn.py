"""Builds CalendarSpecs from configuration with public holidays and China's make-up working days
(调休). Config side only: it imports ``holidays``, so workflow code must not import it."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, time
from importlib.metadata import version

import holidays
from holidays.countries.china import ChinaStaticHolidays

from domain.calendar import CalendarSpec

_CHINA = {"CN", "CHN"}
_SATURDAY = 5


def public_holidays(
    country: str, subdivision: str | None, years: Iterable[int], language: str | None = None
) -> dict[date, str]:
    """Public holidays (observed days included) of `country` in `years`, date -> name."""
    found = holidays.country_holidays(
        country, subdiv=subdivision, years=list(years), language=language
    )
    return dict(sorted(found.items()))


def makeup_working_days(country: str, years: Iterable[int]) -> frozenset[date]:
    """Weekend days in `years` that are worked to make up for a longer holiday (China only).

    ``holidays`` lists each substituted day off as (month, day, from_month, from_day[, from_year])
    under the year of the day off; the "from" day is the worked one. It may fall in the
    neighbouring year, so the neighbouring years' entries are read too.
    """
    if country.upper() not in _CHINA:
        return frozenset()
    wanted = set(years)
    if not wanted:
        return frozenset()
    table = ChinaStaticHolidays.special_public_holidays
    worked: set[date] = set()
    for year in range(min(wanted) - 1, max(wanted) + 2):
        entries = table.get(year, ())
        if entries and isinstance(entries[0], int):  # a year with a single entry
            entries = (entries,)
        for entry in entries:
            # Named special holidays, (month, day, name), have no worked day.
            if len(entry) < 4 or not isinstance(entry[2], int):
                continue
            from_year = entry[4] if len(entry) > 4 else year
            day = date(from_year, entry[2], entry[3])
            if day.year in wanted and day.weekday() >= _SATURDAY:
                worked.add(day)
    return frozenset(worked)


def unscheduled_years(country: str | None, years: Iterable[int]) -> tuple[int, ...]:
    """The years in ``years`` whose holiday schedule the State Council has set but the installed
    ``holidays`` does not hold (China only): their days off moved around a holiday and their
    make-up working days are unknown, so only the statutory holidays count. The schedule of a
    year is announced late in the year before and arrives in a later ``holidays`` release."""
    if country is None or country.upper() not in _CHINA:
        return ()
    known = ChinaStaticHolidays.special_public_holidays
    return tuple(sorted(year for year in set(years) if year not in known))


def holidays_version() -> str:
    return version("holidays")


def build_calendar(
    name: str,
    timezone: str,
    weekly_hours: Mapping[int, Sequence[tuple[time, time]]],
    country: str | None,
    subdivision: str | None,
    years: Iterable[int],
    extra_closed: Iterable[date] = (),
    extra_working: Iterable[date] = (),
    makeup_day_hours: Sequence[tuple[time, time]] | None = None,
) -> CalendarSpec:
    """A calendar closed on `country`'s public holidays and working its make-up days in `years`.

    Explicit `extra_closed` / `extra_working` dates override the derived ones; a date in both is
    rejected by CalendarSpec.
    """
    years = list(years)
    extra_closed, extra_working = set(extra_closed), set(extra_working)
    closed: set[date] = set()
    working: set[date] = set()
    if country is not None:
        closed = set(public_holidays(country, subdivision, years))
        working = set(makeup_working_days(country, years))
    return CalendarSpec(
        name=name,
        timezone=timezone,
        weekly_hours={day: list(intervals) for day, intervals in weekly_hours.items()},
        closed_dates=frozenset((closed - extra_working) | extra_closed),
        extra_working_dates=frozenset((working - extra_closed) | extra_working),
        makeup_day_hours=None if makeup_day_hours is None else list(makeup_day_hours),
    )
