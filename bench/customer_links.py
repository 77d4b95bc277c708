"""What following merges costs each read: every view folds the whole customer facts' log
(domain.customers.CustomerLinks) and maps each customer to its survivor, so this measures the
fold of N facts, a decision against them, and the survivor map of the customers.

    .venv/bin/python -m bench.customer_links [--facts 100000] [--customers 100000]

Figures are printed and written to ``bench/results/customer-links-<time>.json``."""

import argparse
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from analysis.queries import merged_names
from domain.customers import (
    CustomerEvent,
    CustomerEventType,
    CustomerLinks,
    MergeReason,
    decide,
)
from domain.request import CustomerTier

RESULTS = Path(__file__).parent / "results"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _facts(count: int, customers: int) -> list[CustomerEvent]:
    """Merges of pairs (2i+1 into 2i), every third one unmerged, and tier changes."""
    facts: list[CustomerEvent] = []
    pair = 0
    while len(facts) < count:
        at = T0 + timedelta(seconds=len(facts))
        survivor, duplicate = f"C-{2 * pair % customers}", f"C-{(2 * pair + 1) % customers}"
        merge = CustomerEvent(key=f"m-{pair}", event_type=CustomerEventType.MERGED,
                              customer_id=survivor, duplicate_id=duplicate,
                              reason=MergeReason.SAME_COMPANY, by="zhou.min", occurred_at=at)
        facts.append(merge)
        if pair % 3 == 0:
            facts.append(CustomerEvent(key=f"u-{pair}", event_type=CustomerEventType.UNMERGED,
                                       customer_id=survivor, duplicate_id=duplicate,
                                       reverses=merge.key, by="zhou.min", occurred_at=at))
        facts.append(CustomerEvent(key=f"t-{pair}", event_type=CustomerEventType.TIER_CHANGED,
                                   customer_id=survivor, tier=CustomerTier.KEY,
                                   by="integration:crm", occurred_at=at))
        pair += 1
    return facts[:count]


def _timed(label: str, work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    print(f"{label:<60} {seconds * 1000:>9.1f} ms")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.customer_links")
    parser.add_argument("--facts", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    facts = _facts(args.facts, args.customers)
    links = CustomerLinks(facts)
    names = {f"C-{n}": f"客户{n}有限公司" for n in range(args.customers)}
    known = set(names)
    fresh = CustomerEvent(key="new", event_type=CustomerEventType.TIER_CHANGED,
                          customer_id=f"C-{args.customers - 2}", tier=CustomerTier.STRATEGIC,
                          by="zhou.min", occurred_at=T0)
    figures: dict[str, Any] = {
        "facts": args.facts, "customers": args.customers,
        "load_average": os.getloadavg()[0],
        "fold_seconds": _timed(f"fold {args.facts:,} facts", lambda: CustomerLinks(facts)),
        "decide_seconds": _timed("decide one new fact against them", lambda: decide(
            links, fresh, known=known, suggested=set())),
        "survivor_map_seconds": _timed(f"survivor map of {args.customers:,} customers",
                                       lambda: merged_names(links, names.items())),
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"customer-links-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"  written to bench/results/{path.name}")


if __name__ == "__main__":
    main()
