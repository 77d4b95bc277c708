"""Recording the facts about a customer that every view follows (domain.customers): a tier
change, a merge of a suggested duplicate, the unmerge of one merge. The rules are the domain's;
this gathers what they judge by (the customers the log knows, the duplicates suggested now)
and has the store write the fact once."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from analysis.duplicates import suggest_duplicates
from analysis.queries import merged_names
from analysis.store import customers_submitted
from domain.authorization import RefusalKind, Refused
from domain.customers import (
    CustomerEvent,
    CustomerEventType,
    CustomerLinks,
    MergeReason,
    decide,
)
from domain.request import CustomerTier
from eventstore.customer_facts import customer_links, record


async def _record(engine: AsyncEngine, fact: CustomerEvent) -> tuple[CustomerEvent, bool]:
    named = await customers_submitted(engine)
    suggested = {frozenset(s.customer_ids) for s in suggest_duplicates(
        merged_names(await customer_links(engine), named))}
    known = {customer_id for customer_id, _ in named}
    return await record(engine, fact, lambda links: decide(links, fact, known=known,
                                                           suggested=suggested))


async def change_tier(engine: AsyncEngine, customer_id: str, tier: CustomerTier, *, key: str,
                      by: str, now: datetime) -> tuple[CustomerEvent, bool]:
    """Records that ``customer_id`` is of ``tier`` from ``now`` on (its requests keep the tier
    they were submitted with); the fact as stored and whether this call wrote it."""
    return await _record(engine, CustomerEvent(
        key=key, event_type=CustomerEventType.TIER_CHANGED, customer_id=customer_id,
        tier=tier, by=by, occurred_at=now))


async def merge(engine: AsyncEngine, survivor: str, duplicate: str, reason: MergeReason, *,
                key: str, by: str, now: datetime) -> tuple[CustomerEvent, bool]:
    """Merges the suggested duplicate ``duplicate`` into ``survivor``."""
    return await _record(engine, CustomerEvent(
        key=key, event_type=CustomerEventType.MERGED, customer_id=survivor,
        duplicate_id=duplicate, reason=reason, by=by, occurred_at=now))


def _merge_named(links: CustomerLinks, customer_id: str, merge_key: str) -> CustomerEvent:
    merge = links.keys.get(merge_key)
    if merge is None or merge.event_type is not CustomerEventType.MERGED:
        raise Refused(RefusalKind.NOT_FOUND, f"no merge with key {merge_key}")
    if customer_id not in (merge.customer_id, merge.duplicate_id):
        raise Refused(RefusalKind.INVALID, f"merge {merge_key} merged {merge.duplicate_id} "
                                           f"into {merge.customer_id}, not {customer_id}")
    return merge


async def unmerge(engine: AsyncEngine, customer_id: str, merge_key: str, *, key: str, by: str,
                  now: datetime) -> tuple[CustomerEvent, bool]:
    """Reverses the merge ``merge_key`` (``customer_id`` is either of its ids): the duplicate
    has its own story again, and the pair may be suggested again."""
    merge = _merge_named(await customer_links(engine), customer_id, merge_key)
    return await _record(engine, CustomerEvent(
        key=key, event_type=CustomerEventType.UNMERGED, customer_id=merge.customer_id,
        duplicate_id=merge.duplicate_id, reverses=merge_key, by=by, occurred_at=now))
