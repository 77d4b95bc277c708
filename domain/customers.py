"""Facts about a customer rather than about one request: a tier change (from the CRM or a
manager), a merge of a duplicate id into a survivor, and the unmerge that reverses exactly one
merge. The rules of what may be recorded, and the customer links the facts add up to, are here;
the store keeps the facts append-only and asks these rules before each one.

The facts carry ids, a tier and a reason code only: no name, no free text, so erasing a
customer (whose personal fields are sealed in their requests' logs) leaves nothing personal in
them."""

from collections.abc import Iterable, Set
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.authorization import RefusalKind, Refused
from domain.catalog import Catalog
from domain.request import CustomerTier

ID = Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")


class CustomerEventType(StrEnum):
    TIER_CHANGED = "tier_changed"
    MERGED = "merged"
    UNMERGED = "unmerged"


class MergeReason(StrEnum):
    """Why a supervisor judged two ids one customer (a code, so no personal data is written)."""

    SAME_COMPANY = "same_company"
    SAME_CONTACT = "same_contact"
    ENTRY_ERROR = "entry_error"


class CustomerEvent(BaseModel):
    """One fact about a customer. ``key`` is the caller's idempotency key: the same key with
    the same content is one fact, with other content a conflict."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = ID
    event_type: CustomerEventType
    customer_id: str = ID
    """The customer concerned: whose tier changed, or the survivor of a merge."""
    duplicate_id: str | None = None
    """The id merged into the survivor (merged), or given back its own story (unmerged)."""
    tier: CustomerTier | None = None
    reason: MergeReason | None = None
    reverses: str | None = None
    """The key of the merge an unmerge reverses."""
    by: str = ID
    """The person or integration who recorded it."""
    occurred_at: datetime

    def same_fact(self, other: "CustomerEvent") -> bool:
        """Equal but for when it was recorded: a retried call."""
        return self.model_dump(exclude={"occurred_at"}) == other.model_dump(
            exclude={"occurred_at"})


class CustomerLinks:
    """What the customer facts add up to, folded from them in the order they were recorded:
    which id is merged into which (by which merge), and each tier change."""

    def __init__(self, facts: Iterable[CustomerEvent] = ()) -> None:
        self.merges: dict[str, CustomerEvent] = {}  # key -> the merge, while not undone
        self.merged_into: dict[str, str] = {}  # duplicate id -> survivor id
        self.tier_changes: dict[str, list[tuple[datetime, CustomerTier]]] = {}
        self.keys: dict[str, CustomerEvent] = {}
        for fact in facts:
            self.apply(fact)

    def apply(self, fact: CustomerEvent) -> None:
        self.keys[fact.key] = fact
        if fact.event_type is CustomerEventType.MERGED and fact.duplicate_id is not None:
            self.merges[fact.key] = fact
            self.merged_into[fact.duplicate_id] = fact.customer_id
        elif fact.event_type is CustomerEventType.UNMERGED and fact.reverses is not None:
            merge = self.merges.pop(fact.reverses)
            assert merge.duplicate_id is not None  # a merge always names its duplicate
            del self.merged_into[merge.duplicate_id]
        elif fact.event_type is CustomerEventType.TIER_CHANGED and fact.tier is not None:
            self.tier_changes.setdefault(fact.customer_id, []).append(
                (fact.occurred_at, fact.tier))

    def survivor(self, customer_id: str) -> str:
        """The id whose story ``customer_id`` now belongs to (itself when not merged)."""
        seen = {customer_id}
        while customer_id in self.merged_into:
            customer_id = self.merged_into[customer_id]
            if customer_id in seen:  # never written (decide refuses a cycle); stop anyway
                break
            seen.add(customer_id)
        return customer_id

    def members(self, customer_id: str, known: Iterable[str] = ()) -> frozenset[str]:
        """Every id whose story is ``customer_id``'s survivor's, among ``known`` and the ids
        the links name."""
        root = self.survivor(customer_id)
        candidates = {*known, *self.merged_into, *self.merged_into.values(), customer_id}
        return frozenset(c for c in candidates if self.survivor(c) == root)

    def active_merge_of(self, duplicate_id: str) -> CustomerEvent | None:
        return next((m for m in self.merges.values() if m.duplicate_id == duplicate_id), None)

    def current_tier(self, customer_id: str) -> CustomerTier | None:
        changes = self.tier_changes.get(customer_id)
        return changes[-1][1] if changes else None


def _repeat_or_conflict(links: CustomerLinks, fact: CustomerEvent) -> bool:
    """True when ``fact`` was already recorded under its key (write nothing); Refused when the
    key was used for another fact."""
    earlier = links.keys.get(fact.key)
    if earlier is None:
        return False
    if earlier.same_fact(fact):
        return True
    raise Refused(RefusalKind.CONFLICT, f"key {fact.key} was already used for another "
                                        f"{earlier.event_type.value} fact")


def decide(links: CustomerLinks, fact: CustomerEvent, *, known: Set[str],
           suggested: Set[frozenset[str]]) -> bool:
    """Whether ``fact`` is new and may be recorded (True), or is a retry of a recorded fact
    (False). Refused with the reason otherwise. ``known`` are the customer ids that have
    requests; ``suggested`` the pairs of survivor ids the duplicate finder suggests now (a
    merge must be one of them: a supervisor confirms a suggestion, nothing merges by itself).
    """
    if _repeat_or_conflict(links, fact):
        return False
    if fact.event_type is CustomerEventType.TIER_CHANGED:
        _check_tier(links, fact, known)
    elif fact.event_type is CustomerEventType.MERGED:
        _check_merge(links, fact, known, suggested)
    else:
        _check_unmerge(links, fact)
    return True


def _unknown(customer_id: str) -> Refused:
    return Refused(RefusalKind.NOT_FOUND, f"no request of customer {customer_id} in the log")


def _check_tier(links: CustomerLinks, fact: CustomerEvent, known: Set[str]) -> None:
    if fact.tier is None or fact.duplicate_id or fact.reason or fact.reverses:
        raise Refused(RefusalKind.INVALID, "a tier change names a tier and nothing else")
    if fact.customer_id not in known:
        raise _unknown(fact.customer_id)
    survivor = links.survivor(fact.customer_id)
    if survivor != fact.customer_id:
        raise Refused(RefusalKind.CONFLICT, f"{fact.customer_id} is merged into {survivor}: "
                                            f"change the tier of {survivor}")


def _check_merge(links: CustomerLinks, fact: CustomerEvent, known: Set[str],
                 suggested: Set[frozenset[str]]) -> None:
    duplicate = fact.duplicate_id
    if duplicate is None or fact.reason is None or fact.tier or fact.reverses:
        raise Refused(RefusalKind.INVALID, "a merge names the duplicate and a reason")
    if duplicate == fact.customer_id:
        raise Refused(RefusalKind.INVALID, "a customer cannot be merged into itself")
    for customer_id in (fact.customer_id, duplicate):
        if customer_id not in known:
            raise _unknown(customer_id)
    for customer_id in (fact.customer_id, duplicate):
        into = links.survivor(customer_id)
        if into != customer_id:
            raise Refused(RefusalKind.CONFLICT, f"{customer_id} is already merged into {into}")
    if frozenset((fact.customer_id, duplicate)) not in suggested:
        raise Refused(RefusalKind.CONFLICT, f"{duplicate} and {fact.customer_id} are not "
                                            "suggested as duplicates: only a suggested pair "
                                            "may be merged")


def _check_unmerge(links: CustomerLinks, fact: CustomerEvent) -> None:
    if fact.reverses is None or fact.tier or fact.reason:
        raise Refused(RefusalKind.INVALID, "an unmerge names the key of the merge it reverses")
    merge = links.merges.get(fact.reverses)
    if merge is None:
        undone = links.keys.get(fact.reverses)
        why = ("was already reversed" if undone is not None
               and undone.event_type is CustomerEventType.MERGED else "is no merge")
        raise Refused(RefusalKind.CONFLICT, f"merge {fact.reverses} {why}")
    if (merge.customer_id, merge.duplicate_id) != (fact.customer_id, fact.duplicate_id):
        raise Refused(RefusalKind.CONFLICT, f"merge {fact.reverses} merged "
                                            f"{merge.duplicate_id} into {merge.customer_id}, "
                                            f"not {fact.duplicate_id} into {fact.customer_id}")


def check_customer_manager(catalog: Catalog, person_id: str) -> None:
    """Merges, unmerges and a staff member's tier changes are for a department's supervisor or
    head (the CRM changes tiers through its API key instead)."""
    if any(person_id in (d.supervisor_id, d.head_id) for d in catalog.departments.values()):
        return
    raise Refused(RefusalKind.FORBIDDEN, f"{person_id[:64]} is no department's supervisor or "
                                         "head: merges and tier changes are for managers")
