"""Value types of the file format shared by its tables: times of day, working intervals, dates,
choices among names, and the strict base of every TOML-shaped model (its field names are the
keys the author wrote, so a validation error points at them)."""

import re
from collections.abc import Callable, Sequence
from datetime import date, time
from itertools import pairwise
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict

ID_PATTERN = r"^[a-z][a-z0-9_]*$"

_TIME = re.compile(r"^(\d{2}):(\d{2})$")


def _clock(text: str, *, end: bool) -> time:
    match = _TIME.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time HH:MM")
    hours, minutes = int(match[1]), int(match[2])
    if end and (hours, minutes) == (24, 0):
        return time(0, 0)  # midnight at the end of the day, as CalendarSpec writes it
    if hours > 23 or minutes > 59:
        raise ValueError(f"{text!r} is not a time of day (00:00-23:59, or 24:00 as an end)")
    if end and (hours, minutes) == (0, 0):
        raise ValueError("an interval cannot end at 00:00; write 24:00 for midnight")
    return time(hours, minutes)


def _interval(value: object) -> tuple[time, time]:
    if not isinstance(value, str) or value.count("-") != 1:
        raise ValueError(f'expected a string "HH:MM-HH:MM" such as "09:00-12:00", got {value!r}')
    start_text, end_text = (part.strip() for part in value.split("-"))
    start, end = _clock(start_text, end=False), _clock(end_text, end=True)
    if end != time(0, 0) and end <= start:
        raise ValueError(f"interval {value!r} must start before it ends")
    return start, end


def _iso_date(value: object) -> date:
    if isinstance(value, date) and type(value) is date:
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}")


Interval = Annotated[tuple[time, time], BeforeValidator(_interval)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]


def _end(interval: tuple[time, time]) -> tuple[int, int]:
    end = interval[1]
    return (24, 0) if end == time(0, 0) else (end.hour, end.minute)


def no_overlap(intervals: list[tuple[time, time]]) -> list[tuple[time, time]]:
    ordered = sorted(intervals)
    for first, second in pairwise(ordered):
        if (second[0].hour, second[0].minute) < _end(first):
            raise ValueError(f"intervals {_show(first)} and {_show(second)} overlap")
    return ordered


def _show(interval: tuple[time, time]) -> str:
    end_hour, end_minute = _end(interval)
    return f"{interval[0]:%H:%M}-{end_hour:02d}:{end_minute:02d}"


class TomlTable(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def choice(allowed: Sequence[str], what: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        if value not in allowed:
            raise ValueError(f"unknown {what} {value!r} (known: {', '.join(allowed)})")
        return str(value)

    return check
