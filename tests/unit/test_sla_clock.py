"""SLA clocks: pauses, pause caps, calendar handoffs, retargets and threshold notifications."""

import math
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import CalendarSpec, always_open, business_seconds_between
from domain.sla_clock import (
    PauseReason,
    Segment,
    SlaClock,
    deadline,
    due_thresholds,
    elapsed_seconds,
    fraction_elapsed,
    instant_of,
    next_threshold_instant,
    pause,
    paused_seconds,
    resume,
    retarget,
    start_clock,
    stop,
    switch_calendar,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
HOUR = 3600.0
T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)
THRESHOLDS = (0.5, 0.75, 0.9, 1.0)
WEEKDAYS = range(5)

TWENTY_FOUR_SEVEN = always_open()
SHANGHAI_OFFICE = CalendarSpec(
    name="上海客服中心",
    timezone="Asia/Shanghai",
    weekly_hours={key: [(time(9), time(12)), (time(13), time(18))] for key in WEEKDAYS},
)
BERLIN_OFFICE = CalendarSpec(
    name="Berlin",
    timezone="Europe/Berlin",
    weekly_hours={key: [(time(9), time(17))] for key in WEEKDAYS},
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def sh(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant in Shanghai in March 2026 (Mar 2 is a Monday)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


def clock_24x7(target: float = 100, cap: float | None = None) -> SlaClock:
    return start_clock("resolution", target, TWENTY_FOUR_SEVEN, T0, pause_cap_seconds=cap)


# --- running --------------------------------------------------------------------------------


def test_running_clock_counts_wall_time_on_24x7() -> None:
    clock = clock_24x7()
    assert elapsed_seconds(clock, at(90)) == 90
    assert elapsed_seconds(clock, at(-5)) == 0
    assert fraction_elapsed(clock, at(25)) == 0.25
    assert deadline(clock) == at(100)
    assert instant_of(clock, 0.5) == at(50)


def test_business_hours_deadline_skips_the_weekend() -> None:
    clock = start_clock("first_response", 4 * HOUR, SHANGHAI_OFFICE, sh(6, 17))  # Friday
    assert deadline(clock) == sh(9, 12)
    assert instant_of(clock, 0.5) == sh(9, 10)
    assert fraction_elapsed(clock, sh(9, 9, 30)) == 0.375


# --- pauses ---------------------------------------------------------------------------------


def test_pause_spanning_closed_hours() -> None:
    clock = start_clock("resolution", 8 * HOUR, SHANGHAI_OFFICE, sh(9, 9))
    clock = pause(clock, sh(9, 11), PauseReason.CUSTOMER)
    assert deadline(clock) is None
    assert instant_of(clock, 0.1) == sh(9, 11)  # already reached: the pause instant
    clock = resume(clock, sh(10, 10))
    # Paused: Mon 11-12, 13-18 and Tue 9-10 = 7 h; counted: Mon 9-11 and Tue 10-11.
    assert elapsed_seconds(clock, sh(10, 11)) == 3 * HOUR
    assert paused_seconds(clock, sh(10, 11)) == 7 * HOUR
    assert deadline(clock) == sh(10, 17)
    assert clock.segments == (
        Segment(
            start=sh(9, 9), end=sh(9, 11), paused=False, reason=None, business_seconds=2 * HOUR
        ),
        Segment(
            start=sh(9, 11),
            end=sh(10, 10),
            paused=True,
            reason=PauseReason.CUSTOMER,
            business_seconds=7 * HOUR,
        ),
    )


def test_pause_cap_reached_mid_pause() -> None:
    clock = pause(clock_24x7(target=100, cap=30), at(10), PauseReason.THIRD_PARTY)
    assert elapsed_seconds(clock, at(40)) == 10
    assert elapsed_seconds(clock, at(50)) == 20  # 30 s absorbed by the cap, then it counts
    assert paused_seconds(clock, at(50)) == 30
    assert deadline(clock) == at(130)  # 90 s missing + 30 s of cap
    clock = resume(clock, at(60))
    assert (clock.counted_seconds, clock.paused_seconds) == (30, 30)
    assert clock.segments[-1].business_seconds == 50
    # With the cap used up, a new pause no longer holds the clock.
    clock = pause(clock, at(70), PauseReason.APPROVAL)
    assert elapsed_seconds(clock, at(80)) == 50
    assert deadline(clock) == at(130)


def test_pause_without_cap_has_no_deadline() -> None:
    clock = pause(clock_24x7(), at(10), PauseReason.CUSTOMER)
    assert elapsed_seconds(clock, at(1000)) == 10
    assert deadline(clock) is None
    assert next_threshold_instant(clock, THRESHOLDS, ()) is None


def test_pause_and_resume_state_errors() -> None:
    clock = pause(clock_24x7(), at(10), PauseReason.CUSTOMER)
    with pytest.raises(ValueError, match="already paused"):
        pause(clock, at(20), PauseReason.APPROVAL)
    with pytest.raises(ValueError, match="is running, not paused"):
        resume(resume(clock, at(20)), at(30))
    with pytest.raises(ValueError, match="before its current segment began"):
        resume(clock, at(5))


def test_zero_length_segments_are_not_recorded() -> None:
    clock = resume(pause(clock_24x7(), T0, PauseReason.CUSTOMER), T0)
    assert clock.segments == ()


# --- calendar handoff and retarget ----------------------------------------------------------


def test_switch_from_shanghai_to_berlin_keeps_elapsed() -> None:
    clock = start_clock("step:diagnose.1", 8 * HOUR, SHANGHAI_OFFICE, sh(9, 9))
    handoff = sh(9, 15)  # 07:00Z, 08:00 in Berlin
    assert elapsed_seconds(clock, handoff) == 5 * HOUR
    clock = switch_calendar(clock, handoff, BERLIN_OFFICE)
    assert elapsed_seconds(clock, handoff) == 5 * HOUR
    # 10:00 Berlin is 17:00 Shanghai: Berlin counts 1 h where Shanghai would count 2 h.
    assert elapsed_seconds(clock, datetime(2026, 3, 9, 10, tzinfo=BERLIN)) == 6 * HOUR
    assert deadline(clock) == datetime(2026, 3, 9, 12, tzinfo=BERLIN)
    assert clock.segments[-1].business_seconds == 5 * HOUR
    assert clock.calendar == BERLIN_OFFICE


def test_switch_while_paused_stays_paused() -> None:
    clock = pause(clock_24x7(cap=30), at(10), PauseReason.APPROVAL)
    clock = switch_calendar(clock, at(20), always_open("24x7 Berlin", "Europe/Berlin"))
    assert clock.pause_reason is PauseReason.APPROVAL
    assert paused_seconds(clock, at(50)) == 30
    assert elapsed_seconds(clock, at(50)) == 20


def test_retarget_keeps_elapsed_and_measures_from_the_start() -> None:
    clock = retarget(clock_24x7(target=100), 200)
    assert elapsed_seconds(clock, at(60)) == 60
    assert deadline(clock) == at(200)


def test_retarget_below_elapsed_emits_only_the_breach() -> None:
    clock = clock_24x7(target=100)
    assert due_thresholds(clock, at(40), THRESHOLDS, ()) == (None, [])
    assert due_thresholds(clock, at(60), THRESHOLDS, ()) == (0.5, [0.5])
    clock = retarget(clock, 50)
    assert due_thresholds(clock, at(60), THRESHOLDS, {0.5}) == (1.0, [0.75, 0.9, 1.0])
    due = next_threshold_instant(clock, THRESHOLDS, {0.5})
    assert due is not None
    assert due <= at(60)
    assert next_threshold_instant(clock, THRESHOLDS, THRESHOLDS) is None


def test_several_thresholds_crossed_at_once_give_one_notification() -> None:
    assert due_thresholds(clock_24x7(), at(95), THRESHOLDS, ()) == (0.9, [0.5, 0.75, 0.9])


def test_next_threshold_instant_is_the_lowest_unfired_threshold() -> None:
    clock = clock_24x7()
    assert next_threshold_instant(clock, THRESHOLDS, ()) == at(50)
    assert next_threshold_instant(clock, THRESHOLDS, [0.5]) == at(75)


def test_thresholds_are_due_exactly_at_their_instant_on_business_time() -> None:
    clock = start_clock("resolution", 10 * HOUR + 1 / 3, SHANGHAI_OFFICE, sh(6, 17, 7))
    for threshold in (1 / 3, *THRESHOLDS):
        instant = instant_of(clock, threshold)
        assert instant is not None
        assert due_thresholds(clock, instant, [threshold], ())[0] == threshold
        before = instant - timedelta(milliseconds=1)
        assert due_thresholds(clock, before, [threshold], ()) == (None, [])


def test_zero_target_is_due_at_once() -> None:
    clock = clock_24x7(target=0)
    assert fraction_elapsed(clock, T0) == math.inf
    assert due_thresholds(clock, T0, THRESHOLDS, ()) == (1.0, list(THRESHOLDS))
    assert deadline(clock) == T0


# --- stop -----------------------------------------------------------------------------------


def test_stopped_clock_counts_nothing_more() -> None:
    clock = stop(clock_24x7(target=100), at(40))
    assert clock.stopped_at == at(40)
    assert elapsed_seconds(clock, at(500)) == 40
    assert deadline(clock) is None
    assert instant_of(clock, 0.25) == at(40)
    operations: tuple[Callable[[], SlaClock], ...] = (
        lambda: pause(clock, at(50), PauseReason.CUSTOMER),
        lambda: resume(clock, at(50)),
        lambda: switch_calendar(clock, at(50), SHANGHAI_OFFICE),
        lambda: retarget(clock, 10),
        lambda: stop(clock, at(50)),
    )
    for operation in operations:
        with pytest.raises(ValueError, match="stopped at 2026-03-02T12:00:40"):
            operation()


def test_stop_while_paused_closes_the_paused_segment() -> None:
    clock = stop(pause(clock_24x7(cap=5), at(10), PauseReason.CUSTOMER), at(20))
    assert (elapsed_seconds(clock, at(99)), paused_seconds(clock, at(99))) == (15, 5)
    assert clock.segments[-1].paused


# --- validation, calendars without working time, serialization ------------------------------


def test_invalid_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        elapsed_seconds(clock_24x7(), datetime(2026, 3, 2, 12))
    with pytest.raises(ValueError, match="at must be timezone-aware"):
        start_clock("x", 1, TWENTY_FOUR_SEVEN, datetime(2026, 3, 2, 12))
    with pytest.raises(ValueError, match="target_seconds must be a finite number >= 0"):
        retarget(clock_24x7(), -1)
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        clock_24x7(target=-1)
    with pytest.raises(ValueError, match="threshold must be a finite number >= 0"):
        due_thresholds(clock_24x7(), T0, [math.nan], ())


def test_calendar_without_working_time_has_no_deadline() -> None:
    closed = CalendarSpec(name="closed", timezone="UTC", weekly_hours={})
    assert deadline(start_clock("x", 10, closed, T0)) is None


def test_clock_survives_a_json_round_trip() -> None:
    clock = pause(
        start_clock("resolution", 8 * HOUR, SHANGHAI_OFFICE, sh(9, 9), 3600),
        sh(9, 11),
        PauseReason.CUSTOMER,
    )
    restored = SlaClock.model_validate_json(clock.model_dump_json())
    assert restored == clock
    # 6 h missing + 1 h of cap from Mon 11:00: Mon 11-12, 13-18, Tue 9-10.
    assert deadline(restored) == deadline(clock) == sh(10, 10)


# --- properties ----------------------------------------------------------------------------

PROPERTY = settings(max_examples=200, deadline=None)
calendars = st.sampled_from([TWENTY_FOUR_SEVEN, SHANGHAI_OFFICE, BERLIN_OFFICE])
gaps = st.floats(min_value=0, max_value=3 * 86400)
operations = st.lists(
    st.tuples(st.sampled_from(["pause", "resume", "switch"]), gaps, calendars), max_size=6
)


@st.composite
def clocks(draw: st.DrawFn, cap: bool = True) -> SlaClock:
    """A clock started at T0 with a random history of pauses, resumes and handoffs."""
    clock = start_clock(
        "resolution",
        draw(st.floats(min_value=0, max_value=10 * 86400)),
        draw(calendars),
        T0,
        pause_cap_seconds=draw(st.none() | st.floats(min_value=0, max_value=86400))
        if cap
        else None,
    )
    for kind, gap, calendar in draw(operations):
        moment = clock.since + timedelta(seconds=gap)
        if kind == "pause" and clock.pause_reason is None:
            clock = pause(clock, moment, PauseReason.CUSTOMER)
        elif kind == "resume" and clock.pause_reason is not None:
            clock = resume(clock, moment)
        elif kind == "switch":
            clock = switch_calendar(clock, moment, calendar)
    return clock


@PROPERTY
@given(clocks(), gaps, gaps)
def test_elapsed_is_monotonic_and_bounded_by_wall_time(
    clock: SlaClock, first: float, second: float
) -> None:
    earlier = clock.since + timedelta(seconds=first)
    later = earlier + timedelta(seconds=second)
    assert elapsed_seconds(clock, earlier) <= elapsed_seconds(clock, later)
    wall = (later - clock.started_at).total_seconds()
    assert elapsed_seconds(clock, later) + paused_seconds(clock, later) <= wall + 1e-6


@PROPERTY
@given(calendars, st.floats(min_value=0, max_value=86400), gaps, gaps, gaps, st.booleans())
def test_elapsed_plus_paused_is_all_business_time(
    calendar: CalendarSpec, cap: float, before: float, paused: float, after: float, resumed: bool
) -> None:
    clock = start_clock("resolution", 3600, calendar, T0, pause_cap_seconds=cap)
    clock = pause(clock, at(before), PauseReason.CUSTOMER)
    if resumed:
        clock = resume(clock, at(before + paused))
    now = at(before + paused + after)
    total = business_seconds_between(calendar, T0, now)
    assert elapsed_seconds(clock, now) + paused_seconds(clock, now) == pytest.approx(
        total, abs=1e-6
    )
    assert paused_seconds(clock, now) <= cap


@PROPERTY
@given(calendars, gaps, gaps, gaps)
def test_pausing_never_increases_elapsed(
    calendar: CalendarSpec, pause_at: float, pause_for: float, later: float
) -> None:
    running = start_clock("resolution", 3600, calendar, T0)
    paused = resume(pause(running, at(pause_at), PauseReason.CUSTOMER), at(pause_at + pause_for))
    now = at(pause_at + pause_for + later)
    # Summing per-segment floats may differ from one measurement by a few ulps.
    assert elapsed_seconds(paused, now) <= elapsed_seconds(running, now) + 1e-6


@PROPERTY
@given(clocks(), st.sampled_from([0.25, 0.5, 1 / 3, 0.9, 1.0]))
def test_threshold_is_due_at_its_instant_and_not_reached_before(
    clock: SlaClock, fraction: float
) -> None:
    instant = instant_of(clock, fraction)
    if instant is None:
        return
    assert due_thresholds(clock, instant, [fraction], ())[0] == fraction
    if instant > clock.since:
        before = instant - timedelta(milliseconds=1)
        assert elapsed_seconds(clock, before) < fraction * clock.target_seconds
