"""Realistic event sequences for the event store tests, built with ``new_event``.

``RequestLog`` writes one request's log event by event, advancing a clock and the sequence;
``random_lifecycle`` produces a varied but coherent log (owners, steps and workload agree) for
the bulk and rebuild tests. Every deadline payload names the request deadlines explicitly, so the
logs mean the same whether or not a left-out deadline key survives serialisation."""

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from domain.actors import SYSTEM, ActorKind, ActorRef
from domain.events import (
    Assigned,
    Cancelled,
    Claimed,
    Closed,
    CustomerReplied,
    Deadlines,
    DomainEvent,
    Escalated,
    EscalationAcknowledged,
    EventPayload,
    HandedOff,
    NoteAdded,
    PriorityChanged,
    Reassigned,
    ReassignScope,
    Reopened,
    ResolutionConfirmed,
    ResolutionRejected,
    Resolved,
    SlaBreached,
    SlaWarning,
    StepCompleted,
    StepStarted,
    Submitted,
    WaitingOnCustomer,
    new_event,
)
from domain.request import Channel, Customer, CustomerTier, Priority
from domain.sla_clock import PauseReason

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai

CUSTOMERS = (
    Customer(id="C-1001", name="上海星河贸易有限公司", tier=CustomerTier.KEY),
    Customer(id="C-1002", name="北京华信科技股份有限公司", tier=CustomerTier.STRATEGIC),
    Customer(id="C-1003", name="深圳前海物流有限公司"),
    Customer(id="C-1004", name="杭州云端网络科技有限公司"),
    Customer(id="C-1005", name="成都天府食品有限公司", tier=CustomerTier.KEY),
)
SUBJECTS = ("发票金额错误", "货物破损要求退款", "合同续签咨询", "账户无法登录", "发货延迟投诉")
DEPARTMENTS = {
    "service": ("wang.fang", "li.na", "zhao.lei"),
    "finance": ("zhang.wei", "chen.jing", "liu.yang"),
    "logistics": ("sun.hao", "zhou.min"),
    "legal": ("wu.qiang",),
}
STEP_NAMES = {"verify": "核对发票", "refund": "财务退款", "ship": "重新发货", "review": "法务审核"}


def staff(person_id: str, department_id: str, role: str = "agent") -> ActorRef:
    return ActorRef(id=person_id, kind=ActorKind.STAFF, role=role, department_id=department_id)


def customer_actor(customer: Customer) -> ActorRef:
    return ActorRef(id=customer.id, kind=ActorKind.CUSTOMER, role="customer")


def new_request_id() -> str:
    return str(uuid.uuid4())


@dataclass
class RequestLog:
    """One request's log, written event by event."""

    request_id: str = field(default_factory=new_request_id)
    at: datetime = T0
    sequence: int = 0
    events: list[DomainEvent] = field(default_factory=list)
    first_response_deadline: datetime | None = None
    resolution_deadline: datetime | None = None

    def add(self, payload: EventPayload, actor: ActorRef = SYSTEM, *,
            after: timedelta = timedelta(minutes=1)) -> DomainEvent:
        self.at += after
        self.sequence += 1
        event = new_event(self.request_id, self.sequence, actor, self.at, payload)
        self.events.append(event)
        return event

    def deadlines(self, steps: dict[str, datetime | None] | None = None) -> Deadlines:
        """The current request deadlines, named explicitly, plus ``steps``."""
        return Deadlines(first_response=self.first_response_deadline,
                         resolution=self.resolution_deadline, steps=steps or {})

    # -- one method per event type --------------------------------------------------------

    def submitted(self, *, customer: Customer = CUSTOMERS[0], subject: str = SUBJECTS[0],
                  priority: Priority = Priority.P2, after: timedelta = timedelta(0),
                  first_response_hours: float = 2, resolution_hours: float = 24) -> DomainEvent:
        at = self.at + after
        self.first_response_deadline = at + timedelta(hours=first_response_hours)
        self.resolution_deadline = at + timedelta(hours=resolution_hours)
        return self.add(
            Submitted(
                customer=customer, channel=Channel.PHONE, request_type="billing_dispute",
                priority=priority, subject=subject,
                description=f"客户来电反映{subject}。请尽快处理。",
                submitted_by="wang.fang", template_id="billing_dispute", template_version=1,
                policy_id="standard", policy_version=1, owner_department_id="service",
                first_response_target_seconds=first_response_hours * 3600,
                resolution_target_seconds=resolution_hours * 3600,
                deadlines=self.deadlines(),
            ),
            staff("wang.fang", "service"), after=after,
        )

    def assigned(self, owner_id: str, department_id: str = "service", *,
                 after: timedelta = timedelta(minutes=1)) -> DomainEvent:
        return self.add(Assigned(owner_id=owner_id, department_id=department_id,
                                 role="case_owner", rule="round_robin"), after=after)

    def claimed(self, person_id: str, department_id: str, step_key: str | None = None, *,
                first_response: bool = False,
                after: timedelta = timedelta(minutes=5)) -> DomainEvent:
        return self.add(Claimed(step_key=step_key, first_response=first_response,
                                business_seconds=None),
                        staff(person_id, department_id), after=after)

    def step_started(self, step_key: str, department_id: str, owner_id: str, *,
                     stage_index: int = 0, target_hours: float = 4, cycle: int = 1,
                     role: str = "specialist",
                     after: timedelta = timedelta(minutes=1)) -> DomainEvent:
        stage_id = step_key.split(".")[0]
        deadline = self.at + after + timedelta(hours=target_hours)
        return self.add(
            StepStarted(step_key=step_key, stage_id=stage_id, stage_index=stage_index,
                        step_name=STEP_NAMES.get(stage_id, stage_id), department_id=department_id,
                        role=role, owner_id=owner_id, rule="least_loaded",
                        target_seconds=target_hours * 3600, cycle=cycle,
                        deadlines=self.deadlines({step_key: deadline})),
            after=after,
        )

    def step_completed(self, step_key: str, department_id: str, owner_id: str, *,
                       started_at: datetime, wall_seconds: float, business_seconds: float,
                       paused_seconds: float = 0, target_hours: float = 4, breached: bool = False,
                       role: str = "specialist",
                       after: timedelta = timedelta(minutes=1)) -> DomainEvent:
        return self.add(
            StepCompleted(step_key=step_key, stage_id=step_key.split(".")[0],
                          department_id=department_id, role=role,
                          owner_id=owner_id, started_at=started_at, wall_seconds=wall_seconds,
                          business_seconds=business_seconds, paused_seconds=paused_seconds,
                          target_seconds=target_hours * 3600, breached=breached, outcome="done"),
            staff(owner_id, department_id, role), after=after,
        )

    def handed_off(self, step_key: str, from_: tuple[str, str], to: tuple[str, str], *,
                   reason: str = "需要财务部确认金额", deadline_hours: float = 4,
                   after: timedelta = timedelta(minutes=10)) -> DomainEvent:
        deadline = self.at + after + timedelta(hours=deadline_hours)
        return self.add(
            HandedOff(step_key=step_key, from_department_id=from_[0], to_department_id=to[0],
                      from_owner_id=from_[1], to_owner_id=to[1], role="specialist",
                      rule="least_loaded", reason=reason,
                      deadlines=self.deadlines({step_key: deadline})),
            staff(from_[1], from_[0]), after=after,
        )

    def reassigned(self, from_owner: str, to_owner: str, department_id: str,
                   step_key: str | None = None, *,
                   after: timedelta = timedelta(minutes=10)) -> DomainEvent:
        scope = ReassignScope.STEP if step_key else ReassignScope.REQUEST
        return self.add(Reassigned(scope=scope, step_key=step_key, from_owner_id=from_owner,
                                   to_owner_id=to_owner, department_id=department_id,
                                   reason="原负责人休假"),
                        staff("li.na", "service", "supervisor"), after=after)

    def priority_changed(self, to: Priority, *, step_targets: dict[str, float] | None = None,
                         after: timedelta = timedelta(minutes=5)) -> DomainEvent:
        self.resolution_deadline = self.at + after + timedelta(hours=8)
        return self.add(PriorityChanged(from_priority=Priority.P2, to_priority=to,
                                        first_response_target_seconds=3600,
                                        resolution_target_seconds=8 * 3600,
                                        step_target_seconds=step_targets or {},
                                        reason="战略客户升级", deadlines=self.deadlines()),
                        staff("li.na", "service", "supervisor"), after=after)

    def waiting(self, *, after: timedelta = timedelta(minutes=5)) -> DomainEvent:
        self.resolution_deadline = None  # paused without a cap
        return self.add(WaitingOnCustomer(reason=PauseReason.CUSTOMER,
                                          question="请提供原始发票照片",
                                          deadlines=self.deadlines()),
                        staff("wang.fang", "service"), after=after)

    def replied(self, paused_seconds: float, customer: Customer = CUSTOMERS[0]) -> DomainEvent:
        after = timedelta(seconds=paused_seconds)
        self.resolution_deadline = self.at + after + timedelta(hours=20)
        return self.add(CustomerReplied(paused_seconds=paused_seconds, message="照片已上传",
                                        deadlines=self.deadlines()),
                        customer_actor(customer), after=after)

    def warning(self, clock_id: str, owner_id: str, department_id: str, *,
                after: timedelta = timedelta(minutes=30)) -> DomainEvent:
        return self.add(SlaWarning(clock_id=clock_id, threshold=0.8, elapsed_seconds=11520,
                                   target_seconds=14400, department_id=department_id,
                                   owner_id=owner_id), after=after)

    def breached(self, clock_id: str, owner_id: str, department_id: str, *, number: int = 1,
                 after: timedelta = timedelta(minutes=30)) -> DomainEvent:
        return self.add(SlaBreached(clock_id=clock_id, breach_number=number,
                                    breached_at=self.at + after, elapsed_seconds=14400,
                                    target_seconds=14400,
                                    department_id=department_id, owner_id=owner_id), after=after)

    def escalated(self, clock_id: str, recipient_id: str, department_id: str, *, level: int = 1,
                  number: int = 1, after: timedelta = timedelta(seconds=1)) -> DomainEvent:
        names = {1: "主管", 2: "部门经理", 3: "总监"}
        return self.add(Escalated(clock_id=clock_id, breach_number=number, level=level,
                                  level_name=names[level], recipient_id=recipient_id,
                                  department_id=department_id), after=after)

    def acknowledged(self, clock_id: str, person_id: str, department_id: str, *, level: int = 1,
                     number: int = 1, after: timedelta = timedelta(minutes=15)) -> DomainEvent:
        return self.add(EscalationAcknowledged(clock_id=clock_id, breach_number=number,
                                               level=level),
                        staff(person_id, department_id, "supervisor"), after=after)

    def note(self, text: str = "已联系客户。等待回电。", *,
             after: timedelta = timedelta(minutes=3)) -> DomainEvent:
        return self.add(NoteAdded(text=text), staff("wang.fang", "service"), after=after)

    def resolved(self, *, after: timedelta = timedelta(minutes=10)) -> DomainEvent:
        return self.add(Resolved(summary="已退还差额并重开发票", business_seconds=3600,
                                 wall_seconds=7200,
                                 reopen_until=self.at + after + timedelta(days=7)),
                        staff("wang.fang", "service"), after=after)

    def confirmed(self, satisfaction: int = 5, customer: Customer = CUSTOMERS[0], *,
                  after: timedelta = timedelta(hours=1)) -> DomainEvent:
        return self.add(ResolutionConfirmed(satisfaction=satisfaction, comment="处理及时"),
                        customer_actor(customer), after=after)

    def rejected(self, satisfaction: int = 2, customer: Customer = CUSTOMERS[0], *,
                 after: timedelta = timedelta(hours=1)) -> DomainEvent:
        return self.add(ResolutionRejected(satisfaction=satisfaction, comment="金额仍然不对"),
                        customer_actor(customer), after=after)

    def reopened(self, reopen_count: int = 1, *,
                 after: timedelta = timedelta(minutes=5)) -> DomainEvent:
        self.resolution_deadline = self.at + after + timedelta(hours=6)
        return self.add(Reopened(reason="客户反馈金额仍有误", reopen_count=reopen_count,
                                 deadlines=self.deadlines()),
                        staff("wang.fang", "service"), after=after)

    def closed(self, *, after: timedelta = timedelta(days=1)) -> DomainEvent:
        return self.add(Closed(reason="客户确认", wall_seconds=86400), after=after)

    def cancelled(self, *, after: timedelta = timedelta(minutes=20)) -> DomainEvent:
        return self.add(Cancelled(reason="客户撤回请求"), staff("wang.fang", "service"),
                        after=after)


def simple_request(events: int = 10, *, request_id: str | None = None,
                   customer: Customer = CUSTOMERS[0], subject: str = SUBJECTS[0]) -> RequestLog:
    """Submitted, assigned, a step, then notes up to ``events`` events."""
    log = RequestLog(request_id=request_id or new_request_id())
    log.submitted(customer=customer, subject=subject)
    log.assigned("wang.fang")
    log.claimed("wang.fang", "service", first_response=True)
    log.step_started("verify.1", "finance", "zhang.wei")
    while log.sequence < events:
        log.note(f"跟进记录 {log.sequence}")
    return log


def random_lifecycle(rng: random.Random, *, start: datetime = T0) -> RequestLog:
    """A varied but coherent log: owners, steps and workload agree with one another."""
    log = RequestLog(at=start + timedelta(minutes=rng.randrange(0, 60 * 24 * 30)))
    customer = rng.choice(CUSTOMERS)
    log.submitted(customer=customer, subject=rng.choice(SUBJECTS),
                  priority=rng.choice(list(Priority)))
    owner = rng.choice(DEPARTMENTS["service"])
    log.assigned(owner)
    log.claimed(owner, "service", first_response=True, after=timedelta(minutes=rng.randint(1, 90)))
    if rng.random() < 0.1:
        log.cancelled()
        return log
    stages = rng.sample(["verify", "refund", "ship", "review"], k=rng.randint(1, 3))
    cycle = 1
    rounds = 2 if rng.random() < 0.25 else 1
    for round_ in range(rounds):
        for index, stage in enumerate(stages):
            key = f"{stage}.1" if cycle == 1 else f"{stage}.1.r{cycle}"
            department = rng.choice(["finance", "logistics", "legal"])
            person = rng.choice(DEPARTMENTS[department])
            started = log.step_started(key, department, person, stage_index=index, cycle=cycle)
            log.claimed(person, department, key, after=timedelta(minutes=rng.randint(1, 120)))
            clock = f"step:{key}"
            breached = False
            if rng.random() < 0.3:
                log.warning(clock, person, department)
                if rng.random() < 0.6:
                    breached = True
                    log.breached(clock, person, department)
                    log.escalated(clock, "li.na", "service")
                    if rng.random() < 0.5:
                        log.acknowledged(clock, "li.na", "service")
            if rng.random() < 0.25:
                other = rng.choice([d for d in DEPARTMENTS if d not in (department, "service")])
                target = rng.choice(DEPARTMENTS[other])
                log.handed_off(key, (department, person), (other, target))
                department, person = other, target
            if rng.random() < 0.15 and len(DEPARTMENTS[department]) > 1:
                target = rng.choice([p for p in DEPARTMENTS[department] if p != person])
                log.reassigned(person, target, department, key)
                person = target
            if rng.random() < 0.2:
                log.note()
            if rng.random() < 0.1:
                pause = rng.randint(600, 7200)
                log.waiting()
                log.replied(pause, customer)
            wall = rng.randint(1800, 6 * 3600)
            log.step_completed(key, department, person, started_at=started.occurred_at,
                               wall_seconds=wall, business_seconds=wall * 0.8,
                               breached=breached, after=timedelta(seconds=wall))
        if rng.random() < 0.1:
            log.priority_changed(Priority.P1)
        if rng.random() < 0.15:
            new_owner = rng.choice([p for p in DEPARTMENTS["service"] if p != owner])
            log.reassigned(owner, new_owner, "service")
            owner = new_owner
        log.resolved()
        if round_ + 1 < rounds:
            log.rejected(rng.randint(1, 3), customer)
            cycle += 1
            log.reopened(reopen_count=cycle - 1)
    if rng.random() < 0.7:
        log.confirmed(rng.randint(3, 5), customer)
    if rng.random() < 0.8:
        log.closed()
    return log
