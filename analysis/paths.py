"""The paths requests actually took, per process template: a directly-follows graph of stages
(with START and END), handoffs between departments, loops back (a stage entered again: rework
or a reopen), the time split per stage, the bottleneck per department and role, and the
requests that deviate from their template."""

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from itertools import pairwise

from pydantic import BaseModel, ConfigDict

from analysis.history import what_happened
from analysis.steps import StepVisit, TimeSplit, trace_steps
from domain.calendar import CalendarSpec
from domain.events import Claimed, DomainEvent, EventType, HandedOff, Submitted
from domain.process import ProcessTemplate

START = "START"
END = "END"
_ENDINGS = frozenset({EventType.RESOLVED, EventType.CLOSED, EventType.CANCELLED})


class StageVisit(BaseModel):
    """The steps of one stage in one cycle (parallel branches together)."""

    model_config = ConfigDict(frozen=True)

    stage_id: str
    stage_index: int
    cycle: int
    started_at: datetime
    ended_at: datetime


class Handoff(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: str
    step_key: str
    from_department_id: str
    to_department_id: str
    at: datetime
    pickup_seconds: float | None  # until someone in the receiving department claimed it


class RequestPath(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: str
    template_id: str
    ended: bool
    stages: tuple[StageVisit, ...]
    steps: tuple[StepVisit, ...]
    handoffs: tuple[Handoff, ...]
    reopens: int


def _stage_visits(steps: Sequence[StepVisit]) -> tuple[StageVisit, ...]:
    grouped: dict[tuple[int, str], list[StepVisit]] = defaultdict(list)
    for step in steps:
        grouped[(step.cycle, step.stage_id)].append(step)
    visits = [StageVisit(stage_id=stage, stage_index=group[0].stage_index, cycle=cycle,
                         started_at=min(s.started_at for s in group),
                         ended_at=max(s.ended_at for s in group))
              for (cycle, stage), group in grouped.items()]
    return tuple(sorted(visits, key=lambda v: (v.started_at, v.cycle, v.stage_index)))


def _handoffs(events: Sequence[DomainEvent]) -> tuple[Handoff, ...]:
    found: list[Handoff] = []
    for n, event in enumerate(events):
        handoff = event.payload
        if not isinstance(handoff, HandedOff):
            continue
        claim = next((later for later in events[n + 1:]
                      if isinstance(later.payload, Claimed)
                      and later.payload.step_key == handoff.step_key), None)
        pickup = None if claim is None else (claim.occurred_at - event.occurred_at).total_seconds()
        found.append(Handoff(request_id=event.request_id, step_key=handoff.step_key,
                             from_department_id=handoff.from_department_id,
                             to_department_id=handoff.to_department_id,
                             at=event.occurred_at, pickup_seconds=pickup))
    return tuple(found)


def _ended(events: Sequence[DomainEvent]) -> bool:
    """Resolved, closed or cancelled, and not reopened since."""
    last_end = max((n for n, e in enumerate(events) if e.event_type in _ENDINGS), default=-1)
    last_reopen = max((n for n, e in enumerate(events) if e.event_type is EventType.REOPENED),
                      default=-1)
    return last_end > last_reopen


def trace_request(events: Sequence[DomainEvent], calendars: Mapping[str, CalendarSpec],
                  until: datetime) -> RequestPath:
    """The path of one request's log (events in sequence order, the submission first)."""
    events = what_happened(events)
    submitted = events[0].payload if events else None
    if not isinstance(submitted, Submitted):
        raise ValueError("a request's log must begin with its submission")
    steps = trace_steps(events, calendars, until)
    return RequestPath(
        request_id=events[0].request_id, template_id=submitted.template_id,
        ended=_ended(events),
        stages=_stage_visits(steps), steps=tuple(steps), handoffs=_handoffs(events),
        reopens=sum(e.event_type is EventType.REOPENED for e in events))


def trace_requests(logs: Iterable[Sequence[DomainEvent]], calendars: Mapping[str, CalendarSpec],
                   until: datetime) -> tuple[list[RequestPath], list[tuple[str, str]]]:
    """The paths of ``logs``, and (request id, reason) for each log that cannot be traced."""
    paths: list[RequestPath] = []
    skipped: list[tuple[str, str]] = []
    for events in logs:
        try:
            paths.append(trace_request(events, calendars, until))
        except ValueError as error:
            skipped.append((events[0].request_id if events else "", str(error)))
    return paths, skipped


# -- the graph and its figures --------------------------------------------------------------


class Edge(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str
    target: str
    count: int
    median_seconds: float  # from the end of the source stage to the start of the target
    loop: bool  # back to a stage already passed: rework or a reopen


class Node(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage_id: str
    name: str
    visits: int
    median_wall_seconds: float
    median_business_seconds: float
    split: TimeSplit  # summed over every step of the stage


class HandoffPair(BaseModel):
    model_config = ConfigDict(frozen=True)

    from_department_id: str
    to_department_id: str
    count: int
    median_pickup_seconds: float | None


class Deviation(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: str
    reasons: tuple[str, ...]


class TemplateFlow(BaseModel):
    model_config = ConfigDict(frozen=True)

    template_id: str
    requests: int
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    handoffs: tuple[HandoffPair, ...]
    loops: int
    reopens: int
    deviations: tuple[Deviation, ...]


class Bottleneck(BaseModel):
    """Where a department's role spent most business time, and on what."""

    model_config = ConfigDict(frozen=True)

    department_id: str
    role: str
    steps: int
    split: TimeSplit
    stage_id: str  # the stage with the most business time for this role
    stage_business_seconds: float


class ProcessReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    flows: tuple[TemplateFlow, ...]
    bottlenecks: tuple[Bottleneck, ...]


def _median(values: Iterable[float]) -> float:
    found = list(values)
    return statistics.median(found) if found else 0.0


def _sum(splits: Iterable[TimeSplit]) -> TimeSplit:
    total = TimeSplit()
    for split in splits:
        total = total.plus(split)
    return total


def _transitions(path: RequestPath) -> list[tuple[str, str, float]]:
    """(source, target, gap seconds) of each step along the path, START and END included."""
    stages = path.stages
    if not stages:
        return []
    found = [(START, stages[0].stage_id, 0.0)]
    found += [(a.stage_id, b.stage_id, max(0.0, (b.started_at - a.ended_at).total_seconds()))
              for a, b in pairwise(stages)]
    if path.ended:
        found.append((stages[-1].stage_id, END, 0.0))
    return found


def _deviations(path: RequestPath, template: ProcessTemplate | None) -> tuple[str, ...]:
    reasons: list[str] = []
    if path.handoffs:
        reasons.append(f"{len(path.handoffs)} handoff(s)")
    repeated = sorted(stage for stage, n in Counter(v.stage_id for v in path.stages).items()
                      if n > 1)
    if repeated:
        reasons.append(f"repeated {', '.join(repeated)}")
    if template is not None:
        expected = [stage.id for stage in template.stages]
        first_cycle = [v.stage_id for v in path.stages if v.cycle == 1]
        if first_cycle != expected[:len(first_cycle)]:
            reasons.append("stages out of template order")
        planned = {(stage.id, b.department_id) for stage in template.stages
                   for b in stage.branches}
        elsewhere = sorted({step.stage_id for step in path.steps
                            if (step.stage_id, step.department_id) not in planned})
        if elsewhere:
            reasons.append(f"ended outside the planned department: {', '.join(elsewhere)}")
    return tuple(reasons)


def _flow(template_id: str, paths: Sequence[RequestPath],
          template: ProcessTemplate | None) -> TemplateFlow:
    order = {stage.id: n for n, stage in enumerate(template.stages)} if template else {}
    names = {stage.id: stage.name for stage in template.stages} if template else {}
    gaps: dict[tuple[str, str], list[float]] = defaultdict(list)
    loops = 0
    for path in paths:
        seen: set[str] = set()
        for source, target, gap in _transitions(path):
            gaps[(source, target)].append(gap)
            loops += target in seen
            seen.add(target)
    steps_by_stage: dict[str, list[StepVisit]] = defaultdict(list)
    visits_by_stage: dict[str, list[StageVisit]] = defaultdict(list)
    for path in paths:
        for step in path.steps:
            steps_by_stage[step.stage_id].append(step)
        for visit in path.stages:
            visits_by_stage[visit.stage_id].append(visit)
    nodes = tuple(Node(
        stage_id=stage, name=names.get(stage, stage), visits=len(visits),
        median_wall_seconds=_median((v.ended_at - v.started_at).total_seconds() for v in visits),
        median_business_seconds=_median(s.split.business for s in steps_by_stage[stage]),
        split=_sum(s.split for s in steps_by_stage[stage]))
        for stage, visits in sorted(visits_by_stage.items(),
                                    key=lambda item: (order.get(item[0], len(order)), item[0])))
    rank = {START: -1, END: len(order) + 1, **order}
    edges = tuple(Edge(source=source, target=target, count=len(values),
                       median_seconds=_median(values),
                       loop=source != START and target != END
                       and rank.get(target, 0) <= rank.get(source, 0))
                  for (source, target), values in sorted(gaps.items()))
    pairs: dict[tuple[str, str], list[Handoff]] = defaultdict(list)
    for path in paths:
        for handoff in path.handoffs:
            pairs[(handoff.from_department_id, handoff.to_department_id)].append(handoff)
    handoffs = tuple(HandoffPair(
        from_department_id=a, to_department_id=b, count=len(found),
        median_pickup_seconds=_median(h.pickup_seconds for h in found
                                      if h.pickup_seconds is not None)
        if any(h.pickup_seconds is not None for h in found) else None)
        for (a, b), found in sorted(pairs.items()))
    deviations = tuple(Deviation(request_id=path.request_id, reasons=reasons)
                       for path in paths if (reasons := _deviations(path, template)))
    return TemplateFlow(template_id=template_id, requests=len(paths), nodes=nodes, edges=edges,
                        handoffs=handoffs, loops=loops, reopens=sum(p.reopens for p in paths),
                        deviations=deviations)


def _bottlenecks(paths: Sequence[RequestPath]) -> tuple[Bottleneck, ...]:
    by_role: dict[tuple[str, str], list[StepVisit]] = defaultdict(list)
    for path in paths:
        for step in path.steps:
            by_role[(step.department_id, step.role)].append(step)
    found: list[Bottleneck] = []
    for (department, role), steps in sorted(by_role.items()):
        per_stage: defaultdict[str, float] = defaultdict(float)
        for step in steps:
            per_stage[step.stage_id] += step.split.business
        stage, seconds = max(per_stage.items(), key=lambda item: (item[1], item[0]))
        found.append(Bottleneck(department_id=department, role=role, steps=len(steps),
                                split=_sum(s.split for s in steps), stage_id=stage,
                                stage_business_seconds=seconds))
    return tuple(found)


def analyse_paths(paths: Sequence[RequestPath],
                  templates: Mapping[str, ProcessTemplate]) -> ProcessReport:
    by_template: dict[str, list[RequestPath]] = defaultdict(list)
    for path in paths:
        by_template[path.template_id].append(path)
    return ProcessReport(
        flows=tuple(_flow(template_id, found, templates.get(template_id))
                    for template_id, found in sorted(by_template.items())),
        bottlenecks=_bottlenecks(paths))
