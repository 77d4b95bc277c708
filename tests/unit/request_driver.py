"""Drives a request through the pure domain with the workflow's own loop (``domain.loop``:
decide, staff, append, apply) but with no Temporal and no database: assignments come from the
pure rules with no load, events are kept in a list."""

from datetime import UTC, datetime, timedelta

from domain import commands as cmd
from domain import loop
from domain.actors import Actor, ActorKind, ActorRef
from domain.assignment import Assignment, choose_assignee
from domain.authorization import RefusalKind, Refused
from domain.calendar import CalendarSpec, always_open
from domain.commands import HandOff
from domain.decisions import Command, decide
from domain.events import DomainEvent, EventPayload, new_event
from domain.org import AssignmentRule, Department, Member
from domain.plan import RequestPlan, plan_request
from domain.policy import EscalationLevel, EscalationPolicy, SlaPolicy, SlaTargets, TargetRule
from domain.process import Branch, ProcessTemplate, Stage
from domain.request import Channel, Customer, CustomerTier, Priority, RequestSubmission
from domain.state import RequestState, apply, initial_state

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MINUTE = 60.0
HOUR = 3600.0


def department(dept_id: str, name: str, people: list[tuple[str, str, set[str]]],
               calendar: CalendarSpec | None = None) -> Department:
    members = tuple(Member(id=i, name=n, roles=frozenset(r)) for i, n, r in people)
    return Department(
        id=dept_id, name=name, calendar=calendar or always_open(),
        assignment=AssignmentRule.ROUND_ROBIN,
        supervisor_id=next(m.id for m in members if "supervisor" in m.roles),
        head_id=next(m.id for m in members if "head" in m.roles), members=members)


DEPARTMENTS = {
    "customer_service": department("customer_service", "客户服务部", [
        ("wang.fang", "王芳", {"agent"}), ("li.lei", "李雷", {"agent"}),
        ("zhao.min", "赵敏", {"supervisor"}), ("sun.li", "孙丽", {"head"})]),
    "finance": department("finance", "财务部", [
        ("chen.jing", "陈静", {"accountant"}), ("liu.yang", "刘洋", {"accountant"}),
        ("zhou.qiang", "周强", {"supervisor"}), ("wu.hua", "吴华", {"head"})]),
    "technical_support": department("technical_support", "技术支持部", [
        ("huang.lei", "黄磊", {"engineer"}), ("xu.ming", "徐明", {"engineer"}),
        ("ma.jun", "马军", {"supervisor"}), ("hu.bin", "胡斌", {"head"})]),
    "legal": department("legal", "法务部", [
        ("guo.yan", "郭燕", {"engineer", "counsel"}), ("he.ping", "何平", {"supervisor"}),
        ("lin.feng", "林峰", {"head"})]),
}

TEMPLATE = ProcessTemplate(
    id="billing_dispute", version=2, name="账单争议", owner_department_id="customer_service",
    owner_role="agent",
    stages=(
        Stage(id="triage", name="分诊", branches=(
            Branch(department_id="customer_service", role="agent"),)),
        Stage(id="investigate", name="调查", branches=(
            Branch(department_id="finance", role="accountant"),
            Branch(department_id="technical_support", role="engineer"))),
        Stage(id="confirm", name="确认", branches=(
            Branch(department_id="customer_service", role="agent"),)),
    ),
)


def policy(*, auto_reassign: EscalationLevel | None = EscalationLevel.SUPERVISOR,
           pause_cap: float | None = None) -> SlaPolicy:
    return SlaPolicy(
        id="standard", version=3, warning_thresholds=(0.5, 0.75, 0.9),
        pause_cap_seconds=pause_cap, reopen_window_seconds=7 * 24 * HOUR,
        escalation=EscalationPolicy(supervisor_after_seconds=30 * MINUTE,
                                    head_after_seconds=30 * MINUTE,
                                    auto_reassign_at=auto_reassign),
        rules=(
            TargetRule(targets=SlaTargets(first_response_seconds=HOUR,
                                          resolution_seconds=24 * HOUR,
                                          step_default_seconds=4 * HOUR,
                                          step_seconds={"investigate": 2 * HOUR})),
            TargetRule(priority=Priority.P1, targets=SlaTargets(
                first_response_seconds=15 * MINUTE, resolution_seconds=4 * HOUR,
                step_default_seconds=HOUR, step_seconds={"investigate": 30 * MINUTE})),
        ),
    )


def submission(key: str = "T-1", priority: Priority = Priority.P2) -> RequestSubmission:
    return RequestSubmission(
        idempotency_key=key, customer=Customer(id="CUST-1", name="上海星河贸易有限公司",
                                               tier=CustomerTier.KEY),
        channel=Channel.PHONE, request_type="billing_dispute", priority=priority,
        subject="发票金额错误", description="十月账单多收费用", submitted_by="wang.fang")


def plan(sla: SlaPolicy | None = None, priority: Priority = Priority.P2) -> RequestPlan:
    return plan_request("req-1", submission(priority=priority), templates={TEMPLATE.id: TEMPLATE},
                        policy=sla or policy(), departments=DEPARTMENTS)


class Driver:
    """One request, its state and its log, run through the workflow's own loop
    (``domain.loop``)."""

    def __init__(self, request_plan: RequestPlan | None = None, at: datetime = START) -> None:
        self.state: RequestState = initial_state(request_plan or plan())
        self.log: list[DomainEvent] = []
        self.now = at
        self._run(loop.submission(self.state, self._clock))

    def _clock(self) -> datetime:
        return self.now

    def _run(self, writes: loop.Writes) -> list[DomainEvent]:
        """What the workflow's runner does with activities, in memory: people chosen by the
        pure rules with no load, events kept in ``log``."""
        written: list[DomainEvent] = []
        answer: list[Assignment] | None = None
        try:
            effect = next(writes)
            while True:
                if isinstance(effect, loop.Staff):
                    answer = [choose_assignee(effect.departments[n.department_id], n.role,
                                              skills=n.skills, exclude=n.exclude)
                              for n in effect.needs]
                else:
                    written += self._commit(effect.actor, effect.payloads)
                    answer = []
                effect = writes.send(answer)
        except StopIteration:
            return written

    def _commit(self, actor: ActorRef, payloads: list[EventPayload]) -> list[DomainEvent]:
        events = [new_event(self.state.request_id, self.state.sequence + i, actor, self.now, p)
                  for i, p in enumerate(payloads, start=1)]
        for event in events:
            apply(self.state, event)
        self.log.extend(events)
        return events

    def do(self, command: Command) -> list[DomainEvent]:
        decision = decide(self.state, command, self.now)
        if (isinstance(command, HandOff)
                and command.to_department_id not in self.state.plan.departments):
            # The workflow looks the department up as configured now: here, DEPARTMENTS.
            department = DEPARTMENTS.get(command.to_department_id)
            if department is None:
                raise Refused(RefusalKind.INVALID,
                              f"unknown department {command.to_department_id!r}")
            decision = loop.with_department_pinned(self.state, command, department, self.now)
        return self._run(loop.command_writes(self.state, command, decision, self._clock,
                                             late_resolution_window=lambda: True))

    def advance(self, seconds: float) -> list[DomainEvent]:
        """Moves time on and lets every timer that falls due fire, in order."""
        self.now += timedelta(seconds=seconds)
        return self._run(loop.due_work(self.state, self._clock))

    def step(self, stage_id: str, branch: int = 1) -> str:
        key = f"{stage_id}.{branch}" if self.state.cycle == 1 else \
            f"{stage_id}.{branch}.r{self.state.cycle}"
        assert key in self.state.steps, f"{key} not in {list(self.state.steps)}"
        return key

    def owner_of(self, step_key: str) -> Actor:
        return Actor(id=self.state.steps[step_key].owner_id)


def lifecycle_batches(request_id: str) -> list[list[DomainEvent]]:
    """One request's life as the workflow would commit it, batch by batch."""
    driver = Driver(plan().model_copy(update={"request_id": request_id}))
    batches = [list(driver.log)]
    customer = Actor(id="CUST-1", kind=ActorKind.CUSTOMER)

    def commit(events: list[DomainEvent]) -> None:
        if events:
            batches.append(events)

    triage = driver.step("triage")
    commit(driver.do(cmd.Claim(actor=driver.owner_of(triage), step_key=triage)))
    commit(driver.do(cmd.CompleteStep(actor=driver.owner_of(triage), step_key=triage)))
    commit(driver.advance(1.5 * HOUR))
    for key in (driver.step("investigate", 1), driver.step("investigate", 2)):
        commit(driver.do(cmd.CompleteStep(actor=driver.owner_of(key), step_key=key)))
    confirm = driver.step("confirm")
    commit(driver.do(cmd.CompleteStep(actor=driver.owner_of(confirm), step_key=confirm)))
    commit(driver.do(cmd.Resolve(actor=Actor(id=driver.state.owner_id), summary="已处理")))
    commit(driver.do(cmd.CustomerFeedback(actor=customer, accepted=True, satisfaction=5)))
    return batches
