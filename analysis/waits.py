"""Which customers waited longest, and why: each request's wait (submission to first
resolution, or to now if unresolved) with its steps' time split, so the largest part names the
cause (a queue before claim, the customer, a third party, the work itself)."""

from collections.abc import Iterable, Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from analysis.customers import CustomerRequest
from analysis.paths import RequestPath
from analysis.steps import TimeSplit


class LongWait(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: str
    customer_id: str
    customer_name: str
    tier: str
    resolved: bool
    wait_seconds: float
    split: TimeSplit  # summed over the request's steps

    @property
    def cause(self) -> str:
        return self.split.largest() if self.split.business > 0 else "-"


def longest_waits(summaries: Iterable[CustomerRequest], paths: Mapping[str, RequestPath],
                  now: datetime, *, limit: int) -> tuple[LongWait, ...]:
    """The ``limit`` longest waits, longest first."""
    waits: list[LongWait] = []
    for summary in summaries:
        end = summary.first_resolved_at or now
        path = paths.get(summary.request_id)
        split = TimeSplit()
        for step in path.steps if path else ():
            split = split.plus(step.split)
        waits.append(LongWait(
            request_id=summary.request_id, customer_id=summary.customer_id,
            customer_name=summary.customer_name, tier=summary.tier,
            resolved=summary.first_resolved_at is not None,
            wait_seconds=max(0.0, (end - summary.submitted_at).total_seconds()), split=split))
    waits.sort(key=lambda w: (-w.wait_seconds, w.request_id))
    return tuple(waits[:limit])
