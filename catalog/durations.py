"""Durations as configuration writes them: ``"90s"``, ``"4h"``, ``"2d"``, ``"1h30m"``, in
business time."""

import re
from typing import Annotated

from pydantic import BeforeValidator

BUSINESS_DAY_SECONDS = 8 * 3600.0
"""What ``1d`` means in a duration: one business day of eight working hours (the convention of
issue trackers such as Jira), not 24 hours: SLA durations are business time of a calendar."""

_DURATION_SYNTAX = re.compile(r"\s*(?:\d+\s*[A-Za-z]+\s*)+")
_DURATION_PART = re.compile(r"(\d+)\s*([A-Za-z]+)")
_UNIT_SECONDS = {"d": BUSINESS_DAY_SECONDS, "h": 3600.0, "m": 60.0, "s": 1.0}
_DURATION_HELP = (
    "expected whole numbers with units d (business day = 8h), h, m, s, largest first,"
    " e.g. '90s', '30m', '4h', '2d', '1h30m'"
)


def parse_duration(text: str) -> float:
    """Seconds of business time in ``text`` such as ``"90s"``, ``"4h"``, ``"2d"`` or ``"1h30m"``.

    Units: ``d`` (a business day of 8 hours, see BUSINESS_DAY_SECONDS), ``h``, ``m``, ``s``; each
    at most once, largest first, whole numbers only. ValueError with the reason otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"a duration is a string such as '4h' or '1h30m', got {text!r}")
    if not text.strip():
        raise ValueError(f"empty duration: {_DURATION_HELP}")
    if _DURATION_SYNTAX.fullmatch(text) is None:
        raise ValueError(f"invalid duration {text!r}: {_DURATION_HELP}")
    total = 0.0
    previous_rank = -1
    for amount, unit in _DURATION_PART.findall(text):
        if unit not in _UNIT_SECONDS:
            raise ValueError(f"invalid duration {text!r}: unknown unit {unit!r} (use d, h, m, s)")
        rank = list(_UNIT_SECONDS).index(unit)
        if rank <= previous_rank:
            raise ValueError(
                f"invalid duration {text!r}: units must go from largest to smallest"
                " (d, h, m, s), each at most once"
            )
        previous_rank = rank
        total += int(amount) * _UNIT_SECONDS[unit]
    return total


def _positive_duration(value: object) -> float:
    if not isinstance(value, str):
        raise ValueError(f"a duration is a string such as '4h' or '1h30m', got {value!r}")
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError(f"duration {value!r} must be longer than zero")
    return seconds


Duration = Annotated[float, BeforeValidator(_positive_duration)]
