"""The what-if's speed-ups change no result: a sample month replayed with 24x7 calendars (the
one-step path) gives the report that the same calendars written as half-days (the day-by-day
walk) give, in one process and in two."""

from datetime import time

from analysis.whatif import compare
from bench.whatif_replay import HORIZON, month_of_logs, worlds
from domain.calendar import CalendarSpec
from domain.catalog import Catalog

NOON, MIDNIGHT = time(12, 0), time(0, 0)


def _walked(world: Catalog) -> Catalog:
    """``world`` with each always-open calendar written so that the walk must sum it."""
    departments = {}
    for key, department in world.departments.items():
        calendar = department.calendar
        if calendar._compiled.always_open:
            calendar = CalendarSpec(name=calendar.name, timezone=calendar.timezone,
                                    weekly_hours={day: [(MIDNIGHT, NOON), (NOON, MIDNIGHT)]
                                                  for day in range(7)})
        departments[key] = department.model_copy(update={"calendar": calendar})
    return world.model_copy(update={"departments": departments})


def test_fast_paths_and_workers_give_the_walks_report() -> None:
    today, proposal = worlds()
    assert all(d.calendar._compiled.always_open for d in today.departments.values())
    logs = month_of_logs(60, 30, seed=7)
    walked = compare(logs, _walked(today), proposal, HORIZON)
    assert walked.flips, "a sample where the proposal changes something"
    assert compare(logs, today, proposal, HORIZON) == walked
    assert compare(logs, today, proposal, HORIZON, workers=2) == walked
