"""SLA what-if: a period's requests replayed under today's policy and under a proposed one,
compared: breaches and compliance per department, role and tier, the clocks that would flip,
and the escalations that would have fired."""

import gc
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from multiprocessing import get_context

from pydantic import BaseModel, ConfigDict, TypeAdapter

from analysis.replay import (
    ClockOutcome,
    FiredEscalation,
    NotReplayable,
    PolicyWorld,
    ReplayedRequest,
    replay_request,
)
from domain.events import DomainEvent


class GroupCompliance(BaseModel):
    """SLA clocks of one department, role or tier: how many breach under each policy."""

    model_config = ConfigDict(frozen=True)

    group: str
    clocks: int
    breached_current: int
    breached_proposed: int
    warned_current: int  # clocks that reached a warning threshold
    warned_proposed: int

    @property
    def compliance_current(self) -> float:
        return 1.0 - self.breached_current / self.clocks if self.clocks else 1.0

    @property
    def compliance_proposed(self) -> float:
        return 1.0 - self.breached_proposed / self.clocks if self.clocks else 1.0


class Flip(BaseModel):
    """A clock that breaches under one policy and not under the other."""

    model_config = ConfigDict(frozen=True)

    request_id: str
    clock_id: str
    department_id: str
    role: str
    tier: str
    breached_current: bool
    breached_proposed: bool


class EscalationCount(BaseModel):
    model_config = ConfigDict(frozen=True)

    department_id: str
    level: int
    current: int
    proposed: int


class EscalationChange(BaseModel):
    """An escalation that fires under one policy and not under the other."""

    model_config = ConfigDict(frozen=True)

    escalation: FiredEscalation  # as it fires under the policy that has it
    fires_current: bool
    fires_proposed: bool


class Skipped(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: str
    reason: str


class WhatIfReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    requests: int
    by_department: tuple[GroupCompliance, ...]
    by_role: tuple[GroupCompliance, ...]
    by_tier: tuple[GroupCompliance, ...]
    flips: tuple[Flip, ...]
    escalations: tuple[EscalationCount, ...]
    escalation_changes: tuple[EscalationChange, ...]
    skipped: tuple[Skipped, ...]


_Pair = tuple[ReplayedRequest, ReplayedRequest]


class _PairedClock(BaseModel):
    """One clock as replayed under today's policy, and whether it breaches under the proposal
    (a proposal cannot change which clocks a request has, only their outcome)."""

    request_id: str
    tier: str
    clock: ClockOutcome
    breached_proposed: bool
    warned_proposed: bool


def _paired_clocks(pairs: Sequence[_Pair]) -> list[_PairedClock]:
    found: list[_PairedClock] = []
    for current, proposed in pairs:
        outcome = {clock.clock_id: clock for clock in proposed.clocks}
        for clock in current.clocks:
            then = outcome.get(clock.clock_id)
            found.append(_PairedClock(
                request_id=current.request_id, tier=current.tier, clock=clock,
                breached_proposed=then is not None and then.breached,
                warned_proposed=then is not None and then.warned))
    return found


def _groups(paired: Sequence[_PairedClock],
            key: Callable[[_PairedClock], str]) -> tuple[GroupCompliance, ...]:
    clocks: Counter[str] = Counter()
    now: Counter[str] = Counter()
    then: Counter[str] = Counter()
    warned_now: Counter[str] = Counter()
    warned_then: Counter[str] = Counter()
    for pair in paired:
        group = key(pair)
        clocks[group] += 1
        now[group] += pair.clock.breached
        then[group] += pair.breached_proposed
        warned_now[group] += pair.clock.warned
        warned_then[group] += pair.warned_proposed
    return tuple(GroupCompliance(group=group, clocks=clocks[group], breached_current=now[group],
                                 breached_proposed=then[group], warned_current=warned_now[group],
                                 warned_proposed=warned_then[group]) for group in sorted(clocks))


def _escalation_counts(pairs: Sequence[_Pair]) -> tuple[EscalationCount, ...]:
    now = Counter((e.department_id, e.level) for current, _ in pairs for e in current.escalations)
    then = Counter((e.department_id, e.level) for _, proposed in pairs
                   for e in proposed.escalations)
    return tuple(EscalationCount(department_id=department, level=level,
                                 current=now[(department, level)],
                                 proposed=then[(department, level)])
                 for department, level in sorted(now.keys() | then.keys()))


def _escalation_changes(pairs: Sequence[_Pair]) -> tuple[EscalationChange, ...]:
    changes: list[EscalationChange] = []
    for current, proposed in pairs:
        now, then = current.escalation_keys(), proposed.escalation_keys()
        changes += [EscalationChange(escalation=e, fires_current=True, fires_proposed=False)
                    for e in current.escalations
                    if (e.clock_id, e.breach_number, e.level) not in then]
        changes += [EscalationChange(escalation=e, fires_current=False, fires_proposed=True)
                    for e in proposed.escalations
                    if (e.clock_id, e.breach_number, e.level) not in now]
    return tuple(changes)


def _replay_all(logs: Sequence[Sequence[DomainEvent]], current: PolicyWorld,
                proposed: PolicyWorld, horizon: datetime) -> list[_Pair | Skipped]:
    replayed: list[_Pair | Skipped] = []
    for events in logs:
        try:
            replayed.append((replay_request(events, current, horizon),
                             replay_request(events, proposed, horizon)))
        except NotReplayable as error:
            replayed.append(Skipped(request_id=events[0].request_id if events else "",
                                    reason=str(error)))
    return replayed


_Job = tuple[Sequence[Sequence[DomainEvent]], PolicyWorld, PolicyWorld, datetime]
_inherited: _Job | None = None
"""The job of a parallel replay, set before the worker processes fork: they inherit it instead
of receiving a month of logs pickled (which cost as much CPU as replaying them)."""


_RESULTS = TypeAdapter(list[_Pair | Skipped])
"""A slice's results as they travel back from a worker: as JSON, which pydantic writes and
reads about three times faster than pickle does these models."""


def _replay_slice(start: int, stop: int) -> bytes:
    assert _inherited is not None, "set before the workers forked"
    logs, current, proposed, horizon = _inherited
    return _RESULTS.dump_json(_replay_all(logs[start:stop], current, proposed, horizon))


def _replayed(logs: Sequence[Sequence[DomainEvent]], current: PolicyWorld,
              proposed: PolicyWorld, horizon: datetime, workers: int) -> list[_Pair | Skipped]:
    global _inherited
    if workers <= 1 or len(logs) < 2 * workers:
        return _replay_all(logs, current, proposed, horizon)
    # Replays are independent and CPU-bound: one process per core, a few slices each.
    size = -(-len(logs) // (4 * workers))
    starts = range(0, len(logs), size)
    _inherited = (logs, current, proposed, horizon)
    # Frozen objects are left out of the workers' garbage collections, which would otherwise
    # walk (and so copy, page by page) the whole inherited month of logs again and again.
    gc.freeze()
    try:
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            parts = pool.map(_replay_slice, starts, [start + size for start in starts])
            return [result for part in parts for result in _RESULTS.validate_json(part)]
    finally:
        gc.unfreeze()
        _inherited = None


def compare(histories: Iterable[Sequence[DomainEvent]], current: PolicyWorld,
            proposed: PolicyWorld, horizon: datetime, *, workers: int = 1) -> WhatIfReport:
    """Replays every request's log (events in sequence order) under both policies with time
    running up to ``horizon``, in ``workers`` processes; a log that cannot be replayed is
    listed as skipped, not fatal."""
    pairs: list[_Pair] = []
    skipped: list[Skipped] = []
    for result in _replayed(list(histories), current, proposed, horizon, workers):
        if isinstance(result, Skipped):
            skipped.append(result)
        else:
            pairs.append(result)
    paired = _paired_clocks(pairs)
    flips = tuple(
        Flip(request_id=p.request_id, clock_id=p.clock.clock_id,
             department_id=p.clock.department_id, role=p.clock.role, tier=p.tier,
             breached_current=p.clock.breached, breached_proposed=p.breached_proposed)
        for p in paired if p.clock.breached != p.breached_proposed)
    return WhatIfReport(
        requests=len(pairs),
        by_department=_groups(paired, lambda p: p.clock.department_id),
        by_role=_groups(paired, lambda p: f"{p.clock.department_id}/{p.clock.role}"),
        by_tier=_groups(paired, lambda p: p.tier),
        flips=flips,
        escalations=_escalation_counts(pairs),
        escalation_changes=_escalation_changes(pairs),
        skipped=tuple(skipped))

