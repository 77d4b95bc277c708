"""SLA what-if on logs the pure domain wrote exactly as the workflow writes them: replaying a
log under its own policy reproduces every recorded breach and escalation; other targets,
thresholds, escalation delays and calendars change the outcome as the clock rules say."""

from datetime import UTC, datetime, time, timedelta

import pytest

from analysis.customers import summarise
from analysis.paths import trace_request
from analysis.replay import (
    NotReplayable,
    recorded_breaches,
    recorded_escalations,
    replay_request,
)
from analysis.whatif import compare
from domain import commands as cmd
from domain.actors import Actor
from domain.calendar import CalendarSpec
from domain.catalog import Catalog
from domain.events import DomainEvent, EventType, SlaBreached, SlaWarning
from domain.policy import EscalationPolicy, SlaTargets, TargetRule
from domain.state import FIRST_RESPONSE, RESOLUTION
from tests.unit.request_driver import DEPARTMENTS, HOUR, MINUTE, TEMPLATE, Driver, policy
from tests.unit.request_walks import random_walks

WORLD = Catalog(departments=DEPARTMENTS, templates={TEMPLATE.id: TEMPLATE}, policy=policy())
WALKS = random_walks(150)


def with_policy(**changes: object) -> Catalog:
    return WORLD.model_copy(update={"policy": WORLD.policy.model_copy(update=changes)})


def single_targets(first_response: float, resolution: float, step: float) -> tuple[TargetRule]:
    return (TargetRule(targets=SlaTargets(first_response_seconds=first_response,
                                          resolution_seconds=resolution,
                                          step_default_seconds=step)),)


def test_walks_cover_what_the_replay_must_reproduce() -> None:
    kinds = {e.event_type for walk in WALKS for e in walk.events}
    assert {EventType.SLA_BREACHED, EventType.ESCALATED, EventType.ESCALATION_ACKNOWLEDGED,
            EventType.WAITING_ON_CUSTOMER, EventType.PRIORITY_CHANGED, EventType.REOPENED,
            EventType.REASSIGNED} <= kinds


def test_replay_under_its_own_policy_reproduces_the_recorded_breaches_exactly() -> None:
    for walk in WALKS:
        replayed = replay_request(walk.events, WORLD, walk.ended_at)
        assert replayed.breach_keys() == recorded_breaches(walk.events), walk.events[0].request_id
        assert replayed.escalation_keys() == recorded_escalations(walk.events)
        warned = {e.payload.clock_id for e in walk.events if isinstance(e.payload, SlaWarning)}
        # The driver wakes only when told, so several thresholds may fall due at once and only
        # the highest is written; the replay wakes at each threshold, as the workflow's timer.
        assert {c.clock_id for c in replayed.clocks if c.warned} >= warned
        recorded_at = {(e.payload.clock_id, e.payload.breach_number):
                       e.payload.model_dump(mode="json")["breached_at"]
                       for e in walk.events if isinstance(e.payload, SlaBreached)}
        for breach in replayed.breaches:
            stamp = breach.at.isoformat().replace("+00:00", "Z")
            assert recorded_at[(breach.clock_id, breach.number)] == stamp


def test_the_same_policy_flips_nothing() -> None:
    report = compare((w.events for w in WALKS), WORLD, WORLD, max(w.ended_at for w in WALKS))
    assert report.requests == len(WALKS)
    assert report.flips == ()
    assert not report.skipped
    for group in (*report.by_department, *report.by_role, *report.by_tier):
        assert group.breached_current == group.breached_proposed
        assert group.warned_current == group.warned_proposed
    assert all(e.current == e.proposed for e in report.escalations)
    assert report.escalation_changes == ()
    breached_clocks = sum(len({clock for clock, _ in recorded_breaches(w.events)})
                          for w in WALKS)
    assert sum(g.breached_current for g in report.by_department) == breached_clocks


def test_generous_targets_clear_every_breach_and_each_cleared_clock_is_a_flip() -> None:
    generous = with_policy(rules=single_targets(1000 * HOUR, 1000 * HOUR, 1000 * HOUR))
    horizon = max(w.ended_at for w in WALKS)
    report = compare((w.events for w in WALKS), WORLD, generous, horizon)
    assert sum(g.breached_proposed for g in report.by_department) == 0
    changes = report.escalation_changes
    assert all(c.fires_current and not c.fires_proposed for c in changes)
    assert len(changes) == sum(len(recorded_escalations(w.events)) for w in WALKS)
    breached_now = {(w.events[0].request_id, clock_id) for w in WALKS
                    for clock_id, _ in recorded_breaches(w.events)}
    assert {(f.request_id, f.clock_id) for f in report.flips} == breached_now
    assert all(f.breached_current and not f.breached_proposed for f in report.flips)
    for group in report.by_department:
        assert group.compliance_proposed == 1.0
        assert group.compliance_current <= 1.0


def test_replaying_in_worker_processes_gives_the_same_report() -> None:
    generous = with_policy(rules=single_targets(2 * HOUR, 24 * HOUR, 4 * HOUR))
    horizon = max(w.ended_at for w in WALKS)
    logs = [w.events for w in WALKS[:40]]
    assert compare(logs, WORLD, generous, horizon, workers=2) == \
        compare(logs, WORLD, generous, horizon, workers=1)


def first_response_log(claim_after: float) -> tuple[list[DomainEvent], datetime]:
    """A request whose first response (target 1 h in the world) comes ``claim_after`` s late."""
    driver = Driver()
    driver.advance(claim_after)
    triage = driver.step("triage")
    driver.do(cmd.Claim(actor=driver.owner_of(triage), step_key=triage))
    driver.do(cmd.CompleteStep(actor=driver.owner_of(triage), step_key=triage))
    return driver.log, driver.now


def first_response_breached(events: list[DomainEvent], world: Catalog, horizon: datetime
                            ) -> bool:
    clocks = replay_request(events, world, horizon).clocks
    return next(c for c in clocks if c.clock_id == FIRST_RESPONSE).breached


def test_a_longer_first_response_target_clears_a_late_claim() -> None:
    events, now = first_response_log(90 * MINUTE)
    assert (FIRST_RESPONSE, 1) in recorded_breaches(events)
    assert first_response_breached(events, WORLD, now)
    two_hours = with_policy(rules=single_targets(2 * HOUR, 24 * HOUR, 4 * HOUR))
    assert not first_response_breached(events, two_hours, now)
    report = compare([events], WORLD, two_hours, now)
    assert [(f.clock_id, f.breached_current, f.breached_proposed) for f in report.flips] == [
        (FIRST_RESPONSE, True, False)]


def test_escalation_delays_decide_which_levels_fire_before_the_claim() -> None:
    events, now = first_response_log(100 * MINUTE)  # breach at 60 min, claimed at 100 min
    levels = [e.level for e in replay_request(events, WORLD, now).escalations]
    assert levels == [1, 2]  # the supervisor at 90 min; the head's 120 min never comes
    quick = with_policy(escalation=EscalationPolicy(supervisor_after_seconds=10 * MINUTE,
                                                    head_after_seconds=10 * MINUTE))
    assert [e.level for e in replay_request(events, quick, now).escalations] == [1, 2, 3]


def test_earlier_thresholds_warn_more_and_never_change_breaches() -> None:
    events, now = first_response_log(20 * MINUTE)  # claimed at a third of its hour
    assert not first_response_breached(events, WORLD, now)
    early = with_policy(warning_thresholds=(0.25,))
    assert not first_response_breached(events, early, now)
    assert replay_request(events, early, now).escalations == ()
    report = compare([events], WORLD, early, now)
    service = next(g for g in report.by_department if g.group == "customer_service")
    assert service.warned_proposed == service.warned_current + 1  # the first response
    assert service.breached_proposed == service.breached_current


def office_hours() -> CalendarSpec:
    """09:00-17:30 in Shanghai on weekdays: START (09:00 UTC) is 17:00 there."""
    week = {day: [(time(9), time(17, 30))] for day in range(5)}
    return CalendarSpec(name="上海办公时间", timezone="Asia/Shanghai", weekly_hours=week)


def test_office_hours_stop_the_clock_overnight() -> None:
    events, now = first_response_log(3 * HOUR)  # 17:00-20:00 Shanghai: half a working hour
    assert first_response_breached(events, WORLD, now)
    calendar = office_hours()
    departments = {key: d.model_copy(update={"calendar": calendar})
                   for key, d in DEPARTMENTS.items()}
    shanghai = WORLD.model_copy(update={"departments": departments})
    replayed = replay_request(events, shanghai, now)
    assert not next(c for c in replayed.clocks if c.clock_id == FIRST_RESPONSE).breached
    # The 24 h resolution clock, still open, breaches on the fourth working day, not tomorrow:
    # 0.5 h on Monday, 8.5 h on Tuesday and Wednesday, 6.5 h on Thursday.
    later = replay_request(events, shanghai, now + timedelta(days=7))
    resolution = next(c for c in later.clocks if c.clock_id == RESOLUTION)
    assert resolution.breached_at == datetime(2026, 11, 26, 7, 30, tzinfo=UTC)  # 15:30 CST


def test_a_holiday_moves_a_breach_by_a_day() -> None:
    events, now = first_response_log(3 * HOUR)
    calendar = office_hours()
    closed = CalendarSpec.model_validate({**calendar.model_dump(),
                                          "closed_dates": {datetime(2026, 11, 24).date()}})
    departments = {key: d.model_copy(update={"calendar": closed})
                   for key, d in DEPARTMENTS.items()}
    world = WORLD.model_copy(update={"departments": departments})
    later = replay_request(events, world, now + timedelta(days=7))
    resolution = next(c for c in later.clocks if c.clock_id == RESOLUTION)
    assert resolution.breached_at == datetime(2026, 11, 27, 7, 30, tzinfo=UTC)


def test_an_acknowledgement_of_a_breach_that_no_longer_happens_is_left_out() -> None:
    driver = Driver()
    driver.advance(61 * MINUTE)
    driver.do(cmd.AcknowledgeEscalation(actor=Actor(id=driver.state.owner_id),
                                        clock_id=FIRST_RESPONSE))
    assert EventType.ESCALATION_ACKNOWLEDGED in {e.event_type for e in driver.log}
    generous = with_policy(rules=single_targets(2 * HOUR, 24 * HOUR, 4 * HOUR))
    replayed = replay_request(driver.log, generous, driver.now)
    assert replayed.breaches == ()


def test_the_recorded_log_is_left_as_it_was() -> None:
    walk = WALKS[0]
    before = [e.model_dump() for e in walk.events]
    generous = with_policy(rules=single_targets(1000 * HOUR, 1000 * HOUR, 1000 * HOUR))
    compare([walk.events], WORLD, generous, walk.ended_at)
    assert [e.model_dump() for e in walk.events] == before


def test_a_log_that_cannot_be_replayed_is_skipped_with_its_reason() -> None:
    walk = WALKS[1]
    unsubmitted = [e for e in walk.events if e.event_type is not EventType.SUBMITTED]
    report = compare([unsubmitted, walk.events], WORLD, WORLD, walk.ended_at)
    assert report.requests == 1
    assert [s.reason for s in report.skipped] == ["its log does not begin with its submission"]
    with pytest.raises(NotReplayable, match="'billing_dispute' is not in the policy"):
        replay_request(walk.events, WORLD.model_copy(update={"templates": {}}), walk.ended_at)
    strategic_only = with_policy(rules=(TargetRule(tier="strategic", targets=SlaTargets(
        first_response_seconds=HOUR, resolution_seconds=HOUR, step_default_seconds=HOUR)),))
    with pytest.raises(NotReplayable, match="no targets for billing_dispute"):
        replay_request(walk.events, strategic_only, walk.ended_at)



def test_every_analysis_reads_a_log_that_begins_with_its_pinned_plan() -> None:
    # The workflow's logs begin with plan_pinned; each analysis reads past it to the submission.
    walk = WALKS[0]
    assert walk.events[0].event_type is EventType.PLAN_PINNED
    calendars = {d.id: d.calendar for d in DEPARTMENTS.values()}
    assert summarise(walk.events).request_id == walk.events[0].request_id
    assert trace_request(walk.events, calendars, walk.ended_at).steps
    assert replay_request(walk.events, WORLD, walk.ended_at).clocks
