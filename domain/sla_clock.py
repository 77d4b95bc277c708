"""SLA clocks: immutable counters of business time that pause, hand off between calendars and
change targets. Pure and deterministic, safe in workflow code.

A clock's timeline is a run of closed segments plus the open one starting at ``since``. While
paused, business time accrues as paused time until the pause cap is used up; beyond the cap it
counts as elapsed although the clock is still nominally paused.
"""

import math
from collections.abc import Collection, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.calendar import (
    CalendarSpec,
    NoWorkingTimeError,
    add_business_seconds,
    as_utc,
    business_seconds_between,
)

_TOLERANCE = 1e-6
"""Business seconds by which elapsed time may fall short of a threshold and still reach it:
instants have microsecond resolution and float sums drift by a few ulps."""

_Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class PauseReason(StrEnum):
    CUSTOMER = "customer"
    THIRD_PARTY = "third_party"
    APPROVAL = "approval"


class Segment(BaseModel):
    """A closed part of a clock's timeline, for the timeline view."""

    model_config = ConfigDict(frozen=True)

    start: AwareDatetime
    end: AwareDatetime
    paused: bool
    reason: PauseReason | None
    business_seconds: float  # in the calendar active during the segment


class SlaClock(BaseModel):
    """An SLA clock's state; every operation returns a new clock."""

    model_config = ConfigDict(frozen=True)

    clock_id: str
    target_seconds: _Seconds
    calendar: CalendarSpec
    started_at: AwareDatetime
    since: AwareDatetime
    counted_seconds: _Seconds = 0.0
    paused_seconds: _Seconds = 0.0
    pause_cap_seconds: _Seconds | None = None
    pause_reason: PauseReason | None = None
    stopped_at: AwareDatetime | None = None
    segments: tuple[Segment, ...] = ()


def _check_seconds(value: float, what: str) -> float:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} must be a finite number >= 0, got {value}")
    return value


def _check_open(clock: SlaClock, operation: str) -> None:
    if clock.stopped_at is not None:
        raise ValueError(
            f"cannot {operation} clock {clock.clock_id!r}:"
            f" stopped at {clock.stopped_at.isoformat()}"
        )


def _cap_room(clock: SlaClock) -> float:
    """Paused business seconds still absorbed by the cap (inf without a cap)."""
    if clock.pause_cap_seconds is None:
        return math.inf
    return max(0.0, clock.pause_cap_seconds - clock.paused_seconds)


def _open_split(clock: SlaClock, now: datetime) -> tuple[float, float]:
    """(counted, paused) business seconds of the open segment up to `now`."""
    now = as_utc(now, "now")
    if clock.stopped_at is not None:
        return 0.0, 0.0
    business = business_seconds_between(clock.calendar, clock.since, now)
    if clock.pause_reason is None:
        return business, 0.0
    paused = min(business, _cap_room(clock))
    return business - paused, paused


def _close(clock: SlaClock, at: datetime, operation: str) -> SlaClock:
    """The clock with its open segment closed at `at`; the next segment keeps its state."""
    _check_open(clock, operation)
    at = as_utc(at, "at")
    if at < clock.since:
        raise ValueError(
            f"cannot {operation} clock {clock.clock_id!r} at {at.isoformat()}:"
            f" before its current segment began at {clock.since.isoformat()}"
        )
    counted, paused = _open_split(clock, at)
    segments = clock.segments
    if at > clock.since:  # zero-length segments would only clutter the timeline
        segment = Segment(
            start=clock.since,
            end=at,
            paused=clock.pause_reason is not None,
            reason=clock.pause_reason,
            business_seconds=counted + paused,
        )
        segments = (*segments, segment)
    return clock.model_copy(
        update={
            "since": at,
            "counted_seconds": clock.counted_seconds + counted,
            "paused_seconds": clock.paused_seconds + paused,
            "segments": segments,
        }
    )


def start_clock(
    clock_id: str,
    target_seconds: float,
    calendar: CalendarSpec,
    at: datetime,
    pause_cap_seconds: float | None = None,
) -> SlaClock:
    """A running clock started at `at`."""
    at = as_utc(at, "at")
    return SlaClock(
        clock_id=clock_id,
        target_seconds=target_seconds,
        calendar=calendar,
        started_at=at,
        since=at,
        pause_cap_seconds=pause_cap_seconds,
    )


def elapsed_seconds(clock: SlaClock, now: datetime) -> float:
    """Business seconds counted up to `now` (paused time beyond the cap included)."""
    counted, _ = _open_split(clock, now)
    return clock.counted_seconds + counted


def remaining_seconds(clock: SlaClock, now: datetime) -> float:
    """Business seconds left before the target at ``now``; negative once it is passed."""
    return clock.target_seconds - elapsed_seconds(clock, now)


def paused_seconds(clock: SlaClock, now: datetime) -> float:
    """Paused business seconds up to `now` that did not count (at most the cap)."""
    _, paused = _open_split(clock, now)
    return clock.paused_seconds + paused


def pause(clock: SlaClock, at: datetime, reason: PauseReason) -> SlaClock:
    """The clock paused at `at` for `reason`; ValueError if it is already paused."""
    _check_open(clock, "pause")
    if clock.pause_reason is not None:
        raise ValueError(f"clock {clock.clock_id!r} is already paused ({clock.pause_reason})")
    return _close(clock, at, "pause").model_copy(update={"pause_reason": PauseReason(reason)})


def resume(clock: SlaClock, at: datetime) -> SlaClock:
    """The clock running again from `at`; ValueError if it is not paused."""
    _check_open(clock, "resume")
    if clock.pause_reason is None:
        raise ValueError(f"clock {clock.clock_id!r} is running, not paused")
    return _close(clock, at, "resume").model_copy(update={"pause_reason": None})


def switch_calendar(clock: SlaClock, at: datetime, calendar: CalendarSpec) -> SlaClock:
    """The clock measuring in `calendar` from `at`, with its elapsed and paused time kept."""
    return _close(clock, at, "switch the calendar of").model_copy(update={"calendar": calendar})


def retarget(clock: SlaClock, target_seconds: float) -> SlaClock:
    """The clock with a new target, still measured from its original start."""
    _check_open(clock, "retarget")
    _check_seconds(target_seconds, "target_seconds")
    return clock.model_copy(update={"target_seconds": target_seconds})


def stop(clock: SlaClock, at: datetime) -> SlaClock:
    """The clock stopped at `at`; it counts nothing more and only reads are allowed."""
    closed = _close(clock, at, "stop")
    return closed.model_copy(update={"stopped_at": closed.since})


def instant_of(clock: SlaClock, fraction: float) -> datetime | None:
    """The instant elapsed time reaches `fraction` of the target, if nothing else happens.

    Already reached: ``clock.since`` (callers treat any instant <= now as due now). None if it is
    never reached: paused without a cap, stopped short of it, or no working time left.
    """
    _check_seconds(fraction, "fraction")
    missing = fraction * clock.target_seconds - clock.counted_seconds
    if missing <= 0:
        return clock.since
    if clock.stopped_at is not None:
        return None
    if clock.pause_reason is not None:
        # Paused time counts only once the rest of the cap has been used up.
        missing += _cap_room(clock)
        if math.isinf(missing):
            return None
    try:
        return add_business_seconds(clock.calendar, clock.since, missing)
    except NoWorkingTimeError:
        return None


def deadline(clock: SlaClock) -> datetime | None:
    """The instant the target is reached (see instant_of)."""
    return instant_of(clock, 1.0)


def fraction_elapsed(clock: SlaClock, now: datetime) -> float:
    """Elapsed time as a fraction of the target; inf for a zero target, which is due at once."""
    elapsed = elapsed_seconds(clock, now)
    return math.inf if clock.target_seconds == 0 else elapsed / clock.target_seconds


def _check_thresholds(thresholds: Sequence[float]) -> None:
    for threshold in thresholds:
        _check_seconds(threshold, "threshold")


def due_thresholds(
    clock: SlaClock,
    now: datetime,
    thresholds: Sequence[float],
    already_fired: Collection[float],
) -> tuple[float | None, list[float]]:
    """(to_emit, to_mark): to_mark lists, ascending, the unfired thresholds reached by `now`;
    to_emit is the highest of them, so several thresholds due at once give one notification."""
    _check_thresholds(thresholds)
    elapsed = elapsed_seconds(clock, now)
    fired = set(already_fired)
    to_mark = sorted(
        {
            threshold
            for threshold in thresholds
            if threshold not in fired and elapsed >= threshold * clock.target_seconds - _TOLERANCE
        }
    )
    return (to_mark[-1] if to_mark else None), to_mark


def next_threshold_instant(
    clock: SlaClock, thresholds: Sequence[float], already_fired: Collection[float]
) -> datetime | None:
    """The earliest instant an unfired threshold is reached; None if none ever will be."""
    _check_thresholds(thresholds)
    fired = set(already_fired)
    pending = [threshold for threshold in thresholds if threshold not in fired]
    # instant_of is non-decreasing in the fraction, so the smallest pending threshold is first.
    return instant_of(clock, min(pending)) if pending else None
