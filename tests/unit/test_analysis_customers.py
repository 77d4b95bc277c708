"""The customer's story, KPIs by segment and duplicate suggestions, on hand-written logs."""

from datetime import timedelta

import pytest

from analysis.customers import customer_story, kpis_by, summarise
from analysis.duplicates import latest_names, normalise_name, suggest_duplicates
from analysis.paths import trace_requests
from analysis.waits import longest_waits
from domain.calendar import always_open
from domain.events import DomainEvent
from domain.request import Customer, CustomerTier
from tests.integration.event_factory import CUSTOMERS, T0, RequestLog

STANDARD = Customer(id="C-1001", name="上海星河贸易有限公司", tier=CustomerTier.STANDARD)
KEY = STANDARD.model_copy(update={"tier": CustomerTier.KEY})


def resolved_request(customer: Customer, *, days: int, satisfaction: int | None,
                     breach: bool = False, reopen: bool = False) -> list[DomainEvent]:
    log = RequestLog(at=T0 + timedelta(days=days))
    log.submitted(customer=customer)
    log.assigned("wang.fang")
    log.claimed("wang.fang", "service", first_response=True)
    started = log.step_started("verify.1", "finance", "zhang.wei")
    if breach:
        log.breached("step:verify.1", "zhang.wei", "finance")
    log.handed_off("verify.1", ("finance", "zhang.wei"), ("legal", "wu.qiang"))
    log.step_completed("verify.1", "legal", "wu.qiang", started_at=started.occurred_at,
                       wall_seconds=60, business_seconds=60, after=timedelta(hours=1))
    log.resolved()
    if reopen:
        log.rejected(2, customer)
        log.reopened()
        log.resolved(after=timedelta(hours=2))
    if satisfaction is not None:
        log.confirmed(satisfaction, customer)
        log.closed()
    return log.events


def test_a_request_summary_reads_its_log() -> None:
    events = resolved_request(STANDARD, days=0, satisfaction=4, breach=True, reopen=True)
    summary = summarise(events)
    assert summary.departments == ("service", "finance", "legal")
    assert (summary.tier, summary.channel, summary.status) == ("standard", "phone", "closed")
    assert (summary.breaches, summary.reopens) == (1, 1)
    assert [r.satisfaction for r in summary.ratings] == [2, 4]
    assert summary.satisfaction == 4
    first_resolved = next(e for e in events if e.event_type == "resolved").occurred_at
    assert summary.handling_seconds == (first_resolved - events[0].occurred_at).total_seconds()
    confirmed = next(e for e in events if e.event_type == "resolution_confirmed")
    assert summary.last_contact_at == confirmed.occurred_at  # closing is not a contact


def test_the_story_keeps_the_tier_as_of_each_request_and_the_time_since_last_contact() -> None:
    logs = [resolved_request(STANDARD, days=0, satisfaction=3),
            resolved_request(KEY, days=10, satisfaction=5, breach=True),
            resolved_request(KEY, days=20, satisfaction=None),
            resolved_request(CUSTOMERS[1], days=5, satisfaction=1)]
    summaries = [summarise(log) for log in logs]
    last = logs[2][-1].occurred_at
    story = customer_story("C-1001", summaries, last + timedelta(days=2))
    assert [r.tier for r in story.requests] == ["standard", "key", "key"]
    assert [tier for _, tier in story.tiers] == ["standard", "key"]
    assert story.tiers[1][0] == logs[1][0].occurred_at
    assert [r.satisfaction for r in story.ratings] == [3, 5]
    assert story.breached_requests == 1
    assert story.open_requests == 0  # the third is resolved, awaiting the customer
    assert story.last_contact_at == last
    assert story.seconds_since_last_contact == 2 * 86400
    with pytest.raises(ValueError, match="no requests of customer 'C-9'"):
        customer_story("C-9", summaries, last)


def test_a_merged_story_holds_both_ids_requests_and_the_recorded_tier_changes() -> None:
    other = CUSTOMERS[1]
    logs = [resolved_request(STANDARD, days=0, satisfaction=3),
            resolved_request(other, days=5, satisfaction=1)]
    summaries = [summarise(log) for log in logs]
    changed = T0 + timedelta(days=7)
    story = customer_story("C-1001", summaries, T0 + timedelta(days=30),
                           merged_ids={"C-1001", other.id}, tier_changes=[(changed, "key")])
    assert story.merged_ids == (other.id,)
    assert [r.customer_id for r in story.requests] == ["C-1001", other.id]
    assert story.names == (STANDARD.name, other.name)
    # The tier on each request stays what it was; the change from the CRM follows them.
    assert [r.tier for r in story.requests] == ["standard", other.tier.value]
    assert story.tiers[-1] == (changed, "key")


def test_kpis_by_tier_and_channel() -> None:
    summaries = [summarise(log) for log in (
        resolved_request(STANDARD, days=0, satisfaction=3, reopen=True),
        resolved_request(STANDARD, days=1, satisfaction=5, breach=True),
        resolved_request(KEY, days=2, satisfaction=None))]
    by_tier = {k.segment: k for k in kpis_by(summaries, lambda s: s.tier)}
    standard = by_tier["standard"]
    assert (standard.requests, standard.resolved) == (2, 2)
    assert standard.sla_compliance == 0.5
    assert standard.csat == 4.0
    assert standard.reopen_rate == 0.5
    assert by_tier["key"].csat is None
    handling = sorted(s.handling_seconds or 0 for s in summaries if s.tier == "standard")
    assert standard.median_handling_seconds == sum(handling) / 2
    (phone,) = kpis_by(summaries, lambda s: s.channel)
    assert (phone.segment, phone.requests) == ("phone", 3)


def test_names_are_normalised_before_they_are_compared() -> None:
    assert normalise_name("上海星河贸易 有限公司") == "上海星河贸易"
    assert normalise_name("上海星河贸易有限公司（上海）") == normalise_name("上海星河贸易（上海）")
    full_width_abc = "\uff21\uff22\uff23"
    assert normalise_name(f"{full_width_abc} Trading Co., Ltd.") == "abctrading"
    assert normalise_name("有限公司") == "有限公司"


def test_duplicate_suggestions_are_pairs_with_their_reason() -> None:
    names = {"C-1": "上海星河贸易有限公司", "C-2": "上海星河贸易 有限公司",
             "C-3": "上海星河贸易（集团）有限公司", "C-4": "北京华信科技股份有限公司",
             "C-5": "上海星河商贸有限公司"}
    found = suggest_duplicates(names)
    pairs = {s.customer_ids: s for s in found}
    assert pairs[("C-1", "C-2")].reason == "same name once normalised"
    assert pairs[("C-1", "C-2")].similarity == 1.0
    assert ("C-1", "C-4") not in pairs
    assert all(s.similarity >= 0.88 for s in found)
    assert found[0].customer_ids == ("C-1", "C-2")
    assert latest_names([("C-1", "旧名"), ("C-1", "新名")]) == {"C-1": "新名"}


def test_the_longest_waits_come_first_with_their_cause() -> None:
    logs = [resolved_request(STANDARD, days=0, satisfaction=3),
            resolved_request(KEY, days=1, satisfaction=None, reopen=True)]
    unresolved = RequestLog(at=T0 + timedelta(days=2))
    unresolved.submitted(customer=CUSTOMERS[1])
    unresolved.step_started("verify.1", "finance", "zhang.wei")
    logs.append(unresolved.events)
    summaries = [summarise(log) for log in logs]
    calendars = {d: always_open() for d in ("service", "finance", "legal")}
    now = T0 + timedelta(days=3)
    paths, _ = trace_requests(logs, calendars, now)
    waits = longest_waits(summaries, {p.request_id: p for p in paths}, now, limit=2)
    assert [w.customer_id for w in waits] == ["C-1002", "C-1001"]
    first = waits[0]
    assert not first.resolved
    assert first.wait_seconds == (now - logs[2][0].occurred_at).total_seconds()
    assert first.cause == "queue"  # never claimed
    assert waits[1].resolved
    assert waits[1].cause == "queue"  # the factory's steps are never claimed
