"""Random but lawful request lives, written by the pure domain exactly as the workflow writes
them (``Driver``): random actions by the people allowed to take them, random waits in between,
every timer that falls due fired. What the domain refuses is simply not done."""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain import commands as cmd
from domain.actors import Actor, ActorKind
from domain.authorization import Refused
from domain.decisions import Command
from domain.events import DomainEvent
from domain.request import Priority
from domain.state import RequestStatus
from tests.unit.request_driver import HOUR, START, Driver, plan

CUSTOMER = Actor(id="CUST-1", kind=ActorKind.CUSTOMER)


def _some_command(rng: random.Random, driver: Driver) -> Command | None:
    state = driver.state
    owner = Actor(id=state.owner_id)
    steps = state.active_steps()
    step = rng.choice(steps) if steps else None
    choice = rng.random()
    if state.status is RequestStatus.RESOLVED:
        if choice < 0.3:
            return cmd.Reopen(actor=CUSTOMER, reason="问题没有解决")
        return cmd.CustomerFeedback(actor=CUSTOMER, accepted=choice < 0.8,
                                    satisfaction=rng.randint(1, 5))
    if state.status is RequestStatus.WAITING_ON_CUSTOMER and choice < 0.6:
        return cmd.RecordCustomerReply(actor=CUSTOMER, message="附件已补充")
    if state.breaches and choice < 0.15:
        breach = rng.choice(list(state.breaches.values()))
        if breach.recipient_id:
            return cmd.AcknowledgeEscalation(actor=Actor(id=breach.recipient_id),
                                             clock_id=breach.clock_id)
    if step is None:
        return cmd.Resolve(actor=owner, summary="已处理")
    step_owner = Actor(id=step.owner_id)
    if choice < 0.3:
        return cmd.Claim(actor=step_owner, step_key=step.key)
    if choice < 0.65:
        return cmd.CompleteStep(actor=step_owner, step_key=step.key)
    if choice < 0.72:
        return cmd.AskCustomer(actor=owner, question="请提供发票照片")
    if choice < 0.78:
        return cmd.ChangePriority(actor=owner, priority=rng.choice(list(Priority)),
                                  reason="客户升级")
    if choice < 0.85:
        to = rng.choice(["finance", "technical_support", "legal"])
        return cmd.HandOff(actor=step_owner, step_key=step.key, to_department_id=to,
                           reason="需要其他部门协助")
    return cmd.AddNote(actor=owner, text="已联系客户")


@dataclass(frozen=True)
class Walk:
    events: list[DomainEvent]
    ended_at: datetime  # the driver's clock at the end: every timer due by then has fired


def random_walk(rng: random.Random, request_id: str, *, at: datetime = START,
                actions: int = 14) -> Walk:
    """One request's life: up to ``actions`` attempted actions, then time runs on a day."""
    driver = Driver(plan(priority=rng.choice([Priority.P1, Priority.P2]))
                    .model_copy(update={"request_id": request_id}), at=at)
    for _ in range(actions):
        if driver.state.is_final:
            break
        driver.advance(rng.uniform(0, 1.5 * HOUR))
        command = _some_command(rng, driver)
        if command is None:
            continue
        try:
            driver.do(command)
        except Refused:
            continue
    driver.advance(24 * HOUR)
    return Walk(events=driver.log, ended_at=driver.now)


def random_walks(count: int, *, seed: int = 15, spread: timedelta = timedelta(days=20)
                 ) -> list[Walk]:
    rng = random.Random(seed)
    return [random_walk(rng, f"walk-{n:05d}", at=START + spread * rng.random())
            for n in range(count)]
