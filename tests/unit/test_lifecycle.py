"""The request lifecycle in the pure domain: decisions, events, state and timers."""

import json
from datetime import timedelta

import pytest

from domain import commands as cmd
from domain.actors import SYSTEM, Actor, ActorKind
from domain.authorization import Refused
from domain.events import (
    DomainEvent,
    Escalated,
    EventType,
    Reassigned,
    ReopenWindowRestarted,
    SlaBreached,
    SlaWarning,
    StepCompleted,
    validate_event,
)
from domain.policy import EscalationLevel
from domain.request import Priority
from domain.sla_clock import PauseReason, elapsed_seconds
from domain.state import RequestStatus, StepStatus, apply, initial_state
from domain.timers import late_resolution
from tests.unit.request_driver import HOUR, MINUTE, Driver, plan, policy

CUSTOMER = Actor(id="CUST-1", kind=ActorKind.CUSTOMER)


def types(events: list) -> list[EventType]:  # type: ignore[type-arg]
    return [e.event_type for e in events]


def status(driver: Driver) -> RequestStatus:
    """Read afresh each time, so type narrowing does not carry across actions."""
    return driver.state.status


def to_resolution(driver: Driver, summary: str) -> None:
    """From the investigation stage, every remaining step done and the request resolved."""
    for key in (driver.step("investigate", 1), driver.step("investigate", 2)):
        driver.do(cmd.CompleteStep(actor=driver.owner_of(key), step_key=key))
    confirm = driver.step("confirm")
    driver.do(cmd.CompleteStep(actor=driver.owner_of(confirm), step_key=confirm))
    driver.do(cmd.Resolve(actor=Actor(id="wang.fang"), summary=summary))


def through_triage(driver: Driver) -> None:
    triage = driver.step("triage")
    driver.do(cmd.Claim(actor=driver.owner_of(triage), step_key=triage))
    driver.do(cmd.CompleteStep(actor=driver.owner_of(triage), step_key=triage))


def test_submission_names_an_owner_and_starts_the_first_stage() -> None:
    driver = Driver()
    assert types(driver.log) == [EventType.PLAN_PINNED, EventType.SUBMITTED, EventType.ASSIGNED,
                                 EventType.STEP_STARTED]
    assert [e.sequence for e in driver.log] == [1, 2, 3, 4]
    assert driver.state.owner_id == "wang.fang"
    assert status(driver) is RequestStatus.OPEN
    step = driver.state.steps["triage.1"]
    assert (step.department_id, step.owner_id) == ("customer_service", "wang.fang")


def test_fan_out_waits_for_every_branch_then_moves_on() -> None:
    driver = Driver()
    through_triage(driver)
    assert {s.department_id for s in driver.state.active_steps()} == {"finance",
                                                                        "technical_support"}
    finance, tech = driver.step("investigate", 1), driver.step("investigate", 2)
    driver.do(cmd.CompleteStep(actor=driver.owner_of(finance), step_key=finance))
    assert [s.key for s in driver.state.active_steps()] == [tech]
    events = driver.do(cmd.CompleteStep(actor=driver.owner_of(tech), step_key=tech))
    assert types(events) == [EventType.STEP_COMPLETED, EventType.STEP_STARTED]
    assert driver.state.active_steps()[0].stage_id == "confirm"


def test_first_claim_is_the_first_response_and_stops_its_clock() -> None:
    driver = Driver()
    driver.now += timedelta(minutes=20)
    events = driver.do(cmd.Claim(actor=Actor(id="wang.fang"), step_key="triage.1"))
    payload = events[0].payload
    assert payload.first_response is True  # type: ignore[attr-defined]
    assert payload.business_seconds == pytest.approx(20 * MINUTE)  # type: ignore[attr-defined]
    assert status(driver) is RequestStatus.IN_PROGRESS
    assert "first_response" not in driver.state.active_clocks()


def test_full_lifecycle_to_closed_with_satisfaction() -> None:
    driver = Driver()
    through_triage(driver)
    to_resolution(driver, "已退款")
    assert status(driver) is RequestStatus.RESOLVED
    events = driver.do(cmd.CustomerFeedback(actor=CUSTOMER, accepted=True, satisfaction=5))
    assert types(events) == [EventType.RESOLUTION_CONFIRMED, EventType.CLOSED]
    assert status(driver) is RequestStatus.CLOSED
    assert driver.state.satisfaction == 5


def test_a_step_breach_warns_once_per_threshold_then_climbs_the_ladder() -> None:
    driver = Driver(plan(policy(auto_reassign=None)))
    through_triage(driver)
    finance = driver.step("investigate", 1)  # target 2 h
    fired = driver.advance(1.01 * HOUR)
    assert [(p.clock_id, p.threshold) for p in (e.payload for e in fired)
            if isinstance(p, SlaWarning)] == [(f"step:{finance}", 0.5),
                                               ("step:investigate.2", 0.5)]
    driver.advance(0.5 * HOUR)  # 75 %
    driver.advance(0.3 * HOUR)  # 90 %
    breach = driver.advance(0.2 * HOUR)  # past 2 h
    payloads = [e.payload for e in breach]
    assert [type(p) for p in payloads] == [SlaBreached, SlaBreached, Escalated, Escalated]
    assert {p.recipient_id for p in payloads if isinstance(p, Escalated)} == {
        driver.state.steps[finance].owner_id, driver.state.steps["investigate.2"].owner_id}
    assert driver.advance(29 * MINUTE) == []
    supervisor = [e.payload for e in driver.advance(1 * MINUTE)]
    assert {(p.level_name, p.recipient_id) for p in supervisor} == {  # type: ignore[attr-defined]
        ("supervisor", "zhou.qiang"), ("supervisor", "ma.jun")}
    driver.do(cmd.AcknowledgeEscalation(actor=Actor(id="zhou.qiang"),
                                        clock_id=f"step:{finance}"))
    head = [e.payload for e in driver.advance(30 * MINUTE)]
    assert [(p.level_name, p.recipient_id) for p in head] == [  # type: ignore[attr-defined]
        ("head", "hu.bin")]
    later = [e.payload for e in driver.advance(10 * HOUR)]
    assert not [p for p in later if isinstance(p, Escalated)]


def test_exactly_one_escalation_per_level_however_time_is_sliced() -> None:
    coarse, fine = Driver(plan(policy(auto_reassign=None))), Driver(
        plan(policy(auto_reassign=None)))
    for driver in (coarse, fine):
        through_triage(driver)
    coarse.advance(5 * HOUR)
    for _ in range(300):
        fine.advance(1 * MINUTE)
    def ladder(driver: Driver) -> list[tuple[str, int]]:
        return sorted((p.clock_id, p.level) for p in (e.payload for e in driver.log)
                      if isinstance(p, Escalated))
    assert ladder(coarse) == ladder(fine)
    assert len(ladder(fine)) == 2 * 3  # both investigate steps, 3 levels each


def test_auto_reassignment_at_the_supervisor_level() -> None:
    driver = Driver()
    through_triage(driver)
    finance = driver.step("investigate", 1)
    before = driver.state.steps[finance].owner_id
    driver.advance(2 * HOUR + 30 * MINUTE)
    moves = [p for p in (e.payload for e in driver.log) if isinstance(p, Reassigned)]
    assert any(p.step_key == finance and p.automatic and p.from_owner_id == before
               for p in moves)
    assert driver.state.steps[finance].owner_id != before


def test_priority_change_past_the_new_target_breaches_once_without_warnings() -> None:
    driver = Driver()
    through_triage(driver)
    driver.advance(40 * MINUTE)  # 33 % of 2 h: no warning yet
    driver.do(cmd.ChangePriority(actor=Actor(id="wang.fang"), priority=Priority.P1,
                                 reason="客户升级为紧急"))
    fired = driver.advance(1)
    step_alerts = [p for p in (e.payload for e in fired)
                   if isinstance(p, SlaWarning | SlaBreached) and p.clock_id.startswith("step:")]
    assert [type(p) for p in step_alerts] == [SlaBreached, SlaBreached]
    clock = driver.state.steps[driver.step("investigate", 1)].clock
    assert clock.target_seconds == 30 * MINUTE
    assert elapsed_seconds(clock, driver.now) == pytest.approx(40 * MINUTE + 1)


def _step_alerts(events: list[DomainEvent], step_key: str) -> list[tuple[str, float]]:
    """(kind, threshold or level) of the alerts on ``step_key``'s clock among ``events``."""
    found: list[tuple[str, float]] = []
    for payload in (e.payload for e in events):
        if isinstance(payload, SlaWarning | SlaBreached | Escalated) and \
                payload.clock_id == f"step:{step_key}":
            found.append(
                ("warning", payload.threshold) if isinstance(payload, SlaWarning)
                else ("breach", payload.breach_number) if isinstance(payload, SlaBreached)
                else ("escalation", payload.level))
    return found


def test_priority_lowered_after_a_breach_resets_the_ladder_to_the_new_target() -> None:
    """ServiceNow's and Jira's semantics: the alerts follow the new target. A breach the new
    target does not reach stops its ladder; warnings come again as the new target's
    thresholds are reached, and a breach of the new target starts a new ladder."""
    driver = Driver(plan(priority=Priority.P1))
    through_triage(driver)
    finance = driver.step("investigate", 1)
    fired = driver.advance(31 * MINUTE)  # past P1's 30 min on investigate
    assert ("breach", 1) in _step_alerts(fired, finance)
    assert driver.state.breaches[f"step:{finance}"].level == EscalationLevel.OWNER

    events = driver.do(cmd.ChangePriority(actor=Actor(id="wang.fang"), priority=Priority.P2,
                                          reason="客户同意延后"))
    assert types(events) == [EventType.PRIORITY_CHANGED, EventType.SLA_RETARGETED]
    assert f"step:{finance}" not in driver.state.breaches
    # 31 of P2's 120 min: no supervisor escalation at the old ladder's 30 min, no warning yet.
    assert _step_alerts(driver.advance(28 * MINUTE), finance) == []
    assert _step_alerts(driver.advance(2 * MINUTE), finance) == [("warning", 0.5)]
    assert _step_alerts(driver.advance(30 * MINUTE), finance) == [("warning", 0.75)]
    assert _step_alerts(driver.advance(18 * MINUTE), finance) == [("warning", 0.9)]
    assert _step_alerts(driver.advance(12 * MINUTE), finance) == [
        ("breach", 2), ("escalation", EscalationLevel.OWNER)]


def test_priority_lowered_while_still_past_the_new_target_keeps_the_ladder() -> None:
    driver = Driver(plan(priority=Priority.P1))
    through_triage(driver)
    finance = driver.step("investigate", 1)
    driver.advance(2 * HOUR + MINUTE)  # past both P1's 30 min and P2's 2 h
    level = driver.state.breaches[f"step:{finance}"].level
    events = driver.do(cmd.ChangePriority(actor=Actor(id="wang.fang"), priority=Priority.P2,
                                          reason="客户同意延后"))
    assert driver.state.breaches[f"step:{finance}"].level == level
    assert _step_alerts(driver.advance(1), finance) == [], "no second breach, no warnings"
    assert EventType.SLA_RETARGETED in types(events)


def test_waiting_on_the_customer_pauses_step_and_resolution_clocks() -> None:
    driver = Driver()
    through_triage(driver)
    finance = driver.step("investigate", 1)
    driver.advance(30 * MINUTE)
    driver.do(cmd.AskCustomer(actor=driver.owner_of(finance), question="请提供合同编号"))
    assert status(driver) is RequestStatus.WAITING_ON_CUSTOMER
    assert driver.advance(10 * HOUR) == []
    driver.do(cmd.RecordCustomerReply(actor=CUSTOMER, message="XH-2026-118"))
    assert status(driver) is RequestStatus.IN_PROGRESS
    events = driver.advance(60 * MINUTE)  # 90 min counted of 2 h: 50 % and 75 % warnings
    assert {p.threshold for p in (e.payload for e in events)
            if isinstance(p, SlaWarning) and p.clock_id == f"step:{finance}"} == {0.75}
    done = driver.do(cmd.CompleteStep(actor=driver.owner_of(finance), step_key=finance))
    completed = done[0].payload
    assert isinstance(completed, StepCompleted)
    assert completed.business_seconds == pytest.approx(90 * MINUTE)
    assert completed.paused_seconds == pytest.approx(10 * HOUR)
    assert completed.wall_seconds == pytest.approx(11.5 * HOUR)


def test_rejected_resolution_is_reopened_and_worked_again() -> None:
    driver = Driver()
    through_triage(driver)
    to_resolution(driver, "已处理")
    driver.do(cmd.CustomerFeedback(actor=CUSTOMER, accepted=False, satisfaction=2,
                                   comment="退款金额不对"))
    events = driver.do(cmd.Reopen(actor=CUSTOMER, reason="退款金额不对"))
    assert types(events) == [EventType.REOPENED, EventType.STEP_STARTED]
    assert driver.state.cycle == 2
    assert driver.state.reopen_count == 1
    again = driver.step("confirm")
    assert again == "confirm.1.r2"
    driver.do(cmd.CompleteStep(actor=driver.owner_of(again), step_key=again))
    driver.do(cmd.Resolve(actor=Actor(id="wang.fang"), summary="已补退差额"))
    driver.do(cmd.CustomerFeedback(actor=CUSTOMER, accepted=True, satisfaction=4))
    assert status(driver) is RequestStatus.CLOSED


def test_the_reopen_window_ends_in_a_close() -> None:
    driver = Driver()
    through_triage(driver)
    to_resolution(driver, "已处理")
    closing = driver.advance(7 * 24 * HOUR)
    assert types(closing) == [EventType.CLOSED]
    with pytest.raises(Refused, match="closed"):
        driver.do(cmd.Reopen(actor=CUSTOMER, reason="太晚了"))


def test_a_resolution_applied_late_gets_its_whole_reopen_window_from_then() -> None:
    driver = Driver()
    through_triage(driver)
    to_resolution(driver, "已处理")
    resolved_at = driver.now
    assert late_resolution(driver.state, resolved_at + timedelta(seconds=0.5)) == []
    applied = resolved_at + timedelta(hours=2)  # the store was down for two hours
    restarted = late_resolution(driver.state, applied)
    assert restarted == [ReopenWindowRestarted(reopen_until=applied + timedelta(days=7),
                                               late_seconds=2 * HOUR)]
    driver.now = applied
    driver._commit(SYSTEM, restarted)
    assert driver.advance(7 * 24 * HOUR - MINUTE) == [], "the window runs from the apply"
    assert types(driver.advance(MINUTE)) == [EventType.CLOSED]


def test_handoff_to_another_department_keeps_the_clock() -> None:
    driver = Driver()
    through_triage(driver)
    finance = driver.step("investigate", 1)
    driver.advance(20 * MINUTE)
    events = driver.do(cmd.HandOff(actor=driver.owner_of(finance), step_key=finance,
                                   to_department_id="legal", role="counsel",
                                   reason="涉及合同条款"))
    assert types(events) == [EventType.DEPARTMENT_PINNED, EventType.HANDED_OFF]
    step = driver.state.steps[finance]
    assert (step.department_id, step.owner_id) == ("legal", "guo.yan")
    assert elapsed_seconds(step.clock, driver.now) == pytest.approx(20 * MINUTE)


def test_cancel_stops_every_clock_and_refuses_what_follows() -> None:
    driver = Driver()
    through_triage(driver)
    driver.do(cmd.Cancel(actor=Actor(id="zhao.min"), reason="客户撤回"))
    assert status(driver) is RequestStatus.CANCELLED
    assert driver.state.active_clocks() == {}
    assert all(s.status is not StepStatus.ACTIVE for s in driver.state.steps.values())
    assert driver.advance(100 * HOUR) == []
    with pytest.raises(Refused, match="cancelled"):
        driver.do(cmd.AddNote(actor=Actor(id="wang.fang"), text="还在吗"))


@pytest.mark.parametrize(("command", "message", "kind"), [
    (cmd.Resolve(actor=Actor(id="wang.fang"), summary="x"), "open steps", "conflict"),
    (cmd.Claim(actor=Actor(id="li.lei"), step_key="investigate.1"), "may not claim", "forbidden"),
    (cmd.CompleteStep(actor=Actor(id="huang.lei"), step_key="investigate.1"),
     "may not complete", "forbidden"),
    (cmd.CompleteStep(actor=Actor(id="chen.jing"), step_key="nope.1"),
     "no step 'nope.1'", "invalid"),
    (cmd.Reassign(actor=Actor(id="wang.fang"), step_key="investigate.1",
                  to_person_id="liu.yang", reason="x"), "may not reassign", "forbidden"),
    (cmd.Reassign(actor=Actor(id="zhou.qiang"), step_key="investigate.1",
                  to_person_id="huang.lei", reason="x"), "not a member", "invalid"),
    (cmd.Reopen(actor=Actor(id="wang.fang"), reason="x"), "only a resolved", "conflict"),
    (cmd.CustomerFeedback(actor=CUSTOMER, accepted=True, satisfaction=5),
     "not resolved", "conflict"),
    (cmd.CustomerFeedback(actor=Actor(id="CUST-2", kind=ActorKind.CUSTOMER), accepted=True,
                          satisfaction=5), "not resolved", "conflict"),
    (cmd.ChangePriority(actor=Actor(id="wang.fang"), priority=Priority.P2, reason="x"),
     "already has priority", "conflict"),
    (cmd.HandOff(actor=Actor(id="chen.jing"), step_key="investigate.1",
                 to_department_id="finance", reason="x"), "already with finance", "conflict"),
    (cmd.HandOff(actor=Actor(id="chen.jing"), step_key="investigate.1",
                 to_department_id="legal", role="pilot", reason="x"), "role 'pilot'", "invalid"),
    (cmd.AcknowledgeEscalation(actor=Actor(id="zhou.qiang"), clock_id="step:investigate.1"),
     "no escalation", "invalid"),
    (cmd.RecordCustomerReply(actor=CUSTOMER), "not waiting", "conflict"),
])
def test_refusals_change_nothing(command: cmd.RequestCommand, message: str,
                                 kind: str) -> None:
    driver = Driver()
    through_triage(driver)
    before = driver.state.model_copy(deep=True)
    with pytest.raises(Refused, match=message) as refused:
        driver.do(command)  # type: ignore[arg-type]
    assert driver.state == before
    assert refused.value.kind == kind


def test_state_rebuilt_from_the_log_equals_the_live_state() -> None:
    driver = Driver()
    through_triage(driver)
    driver.advance(3 * HOUR)
    driver.do(cmd.AskCustomer(actor=Actor(id="wang.fang"), question="?",
                              reason=PauseReason.APPROVAL))
    driver.advance(HOUR)
    driver.do(cmd.RecordCustomerReply(actor=Actor(id="wang.fang")))
    # From what was pinned at submission (not the live state's plan) and each event as the log
    # stores it (JSON, parsed back): whatever the live state holds that came neither from the
    # submission nor through ``apply`` of a logged event makes the two differ.
    stored = [validate_event(json.loads(event.model_dump_json())) for event in driver.log]
    rebuilt = initial_state(plan())
    for event in stored:
        apply(rebuilt, event)
    assert rebuilt == driver.state


def test_escalation_levels_follow_the_policy_delays() -> None:
    escalation = policy().escalation
    assert escalation.delay_before(EscalationLevel.OWNER) == 0
    assert escalation.delay_before(EscalationLevel.SUPERVISOR) == 30 * MINUTE
    assert escalation.delay_before(EscalationLevel.HEAD) == 60 * MINUTE
