"""The rules of customer facts (domain.customers): what may be merged, what an unmerge
restores, who may record them, and that the links fold the same from the log every time."""

from datetime import UTC, datetime, timedelta

import pytest

from analysis.queries import merged_names
from catalog.loader import load_catalog_around
from domain.authorization import RefusalKind, Refused
from domain.customers import (
    CustomerEvent,
    CustomerEventType,
    CustomerLinks,
    MergeReason,
    check_customer_manager,
    decide,
)
from domain.request import CustomerTier
from tests.paths import FAST_CONFIG

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
KNOWN = frozenset({"A", "B", "C", "D"})
SUGGESTED = {frozenset(("A", "B")), frozenset(("B", "C")), frozenset(("A", "C"))}


def merged(key: str, survivor: str, duplicate: str, minutes: int = 0) -> CustomerEvent:
    return CustomerEvent(key=key, event_type=CustomerEventType.MERGED, customer_id=survivor,
                         duplicate_id=duplicate, reason=MergeReason.SAME_COMPANY,
                         by="zhou.min", occurred_at=T0 + timedelta(minutes=minutes))


def unmerged(key: str, merge: CustomerEvent) -> CustomerEvent:
    return CustomerEvent(key=key, event_type=CustomerEventType.UNMERGED,
                         customer_id=merge.customer_id, duplicate_id=merge.duplicate_id,
                         reverses=merge.key, by="zhou.min", occurred_at=T0 + timedelta(hours=1))


def tier(key: str, customer_id: str, to: CustomerTier) -> CustomerEvent:
    return CustomerEvent(key=key, event_type=CustomerEventType.TIER_CHANGED,
                         customer_id=customer_id, tier=to, by="integration:crm",
                         occurred_at=T0 + timedelta(days=1))


def recorded(*facts: CustomerEvent) -> CustomerLinks:
    """The links after each fact was decided and written in turn."""
    links = CustomerLinks()
    for fact in facts:
        assert decide(links, fact, known=KNOWN, suggested=SUGGESTED)
        links.apply(fact)
    return links


def refusal(links: CustomerLinks, fact: CustomerEvent) -> Refused:
    with pytest.raises(Refused) as caught:
        decide(links, fact, known=KNOWN, suggested=SUGGESTED)
    return caught.value


def test_a_merge_joins_the_ids_and_its_unmerge_restores_exactly_that() -> None:
    first, second = merged("m1", "A", "B"), merged("m2", "A", "C", minutes=1)
    links = recorded(first, second)
    assert {links.survivor(c) for c in "ABC"} == {"A"}
    assert links.members("B") == {"A", "B", "C"}
    links = recorded(first, second, unmerged("u1", first))
    assert links.survivor("B") == "B"
    assert links.members("B") == {"B"}
    assert links.survivor("C") == "A"
    assert links.members("A") == {"A", "C"}


def test_a_chain_of_merges_follows_to_the_last_survivor_and_unwinds_one_link() -> None:
    into_b, b_into_c = merged("m1", "B", "A"), merged("m2", "C", "B", minutes=1)
    links = recorded(into_b, b_into_c)
    assert links.survivor("A") == "C"
    assert links.members("A") == {"A", "B", "C"}
    links = recorded(into_b, b_into_c, unmerged("u2", b_into_c))
    assert links.survivor("A") == "B"
    assert links.survivor("C") == "C"


def test_what_may_not_be_merged_is_refused_with_the_reason() -> None:
    links = recorded(merged("m1", "A", "B"))
    cases = [
        (merged("m2", "C", "B"), RefusalKind.CONFLICT, "B is already merged into A"),
        (merged("m3", "B", "C"), RefusalKind.CONFLICT, "B is already merged into A"),
        (merged("m4", "A", "A"), RefusalKind.INVALID, "into itself"),
        (merged("m5", "A", "Z"), RefusalKind.NOT_FOUND, "no request of customer Z"),
        (merged("m6", "A", "D"), RefusalKind.CONFLICT, "not suggested as duplicates"),
        (merged("m1", "A", "C"), RefusalKind.CONFLICT, "key m1 was already used"),
    ]
    for fact, kind, words in cases:
        error = refusal(links, fact)
        assert (error.kind, words in str(error)) == (kind, True), str(error)


def test_the_same_fact_again_is_a_retry_that_writes_nothing() -> None:
    first = merged("m1", "A", "B")
    links = recorded(first)
    again = first.model_copy(update={"occurred_at": T0 + timedelta(days=3)})
    assert decide(links, again, known=KNOWN, suggested=SUGGESTED) is False


def test_an_unmerge_reverses_one_live_merge_once() -> None:
    first = merged("m1", "A", "B")
    links = recorded(first, unmerged("u1", first))
    assert "already reversed" in str(refusal(links, unmerged("u2", first)))
    links = recorded(first)
    wrong = unmerged("u3", first).model_copy(update={"duplicate_id": "C"})
    assert "merged B into A, not C into A" in str(refusal(links, wrong))
    nothing = unmerged("u4", first).model_copy(update={"reverses": "nope"})
    assert "merge nope is no merge" in str(refusal(links, nothing))


def test_a_tier_change_is_kept_beside_the_earlier_ones_and_refused_on_a_merged_id() -> None:
    links = recorded(tier("t1", "A", CustomerTier.KEY), tier("t2", "A", CustomerTier.STRATEGIC))
    assert [t for _, t in links.tier_changes["A"]] == [CustomerTier.KEY, CustomerTier.STRATEGIC]
    assert links.current_tier("A") is CustomerTier.STRATEGIC
    links = recorded(merged("m1", "A", "B"))
    error = refusal(links, tier("t3", "B", CustomerTier.KEY))
    assert "change the tier of A" in str(error)
    assert refusal(links, tier("t4", "Z", CustomerTier.KEY)).kind is RefusalKind.NOT_FOUND
    mixed = tier("t5", "A", CustomerTier.KEY).model_copy(update={"duplicate_id": "B"})
    assert refusal(links, mixed).kind is RefusalKind.INVALID


def test_only_a_supervisor_or_head_may_merge() -> None:
    catalog = load_catalog_around(FAST_CONFIG)
    check_customer_manager(catalog, "zhou.min")
    with pytest.raises(Refused) as caught:
        check_customer_manager(catalog, "wang.fang")
    assert caught.value.kind is RefusalKind.FORBIDDEN


def test_the_facts_hold_no_free_text() -> None:
    """Ids, a tier and codes only: nothing personal that an erasure would have to reach."""
    text_fields = {name for name, field in CustomerEvent.model_fields.items()
                   if field.annotation in (str, str | None)}
    assert text_fields == {"key", "customer_id", "duplicate_id", "reverses", "by"}


def test_a_merged_customer_is_named_by_the_latest_request_of_any_of_its_ids() -> None:
    links = recorded(merged("m1", "A", "B"))
    named = [("A", "甲公司"), ("B", "乙公司"), ("A", "甲有限公司"), ("B", "乙有限公司"),
             ("C", "丙公司")]
    assert merged_names(links, named) == {"A": "乙有限公司", "C": "丙公司"}
    assert merged_names(CustomerLinks(), named) == {"A": "甲有限公司", "B": "乙有限公司",
                                                    "C": "丙公司"}
