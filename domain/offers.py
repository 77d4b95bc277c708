"""The actions a person may take on a request now, found by asking ``decide`` itself, so that
what a page offers follows the very rules (rights and the request's state) the workflow applies
and cannot drift from them. Each action is tried with stand-in text; a refusal of its rights or
of the request's state hides it, a refusal of the stand-in input (INVALID) does not, since the
rights and state were checked before the input."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from domain import commands as cmd
from domain.actors import Actor
from domain.authorization import RefusalKind, Refused
from domain.decisions import decide
from domain.request import Priority
from domain.state import RequestState, RequestStatus

_STAND_IN = "·"
# No roster or department id is this, so a command naming it is refused as INVALID only after
# the actor's rights and the request's state allowed it.
_NOBODY = "\u2205"


@dataclass(frozen=True)
class Offer:
    action: str
    step_key: str | None = None
    clock_id: str | None = None


def _probes(state: RequestState, actor: Actor) -> Iterator[tuple[Offer, cmd.RequestCommand]]:
    """Every action worth trying, most common first (the order of the console's keys)."""
    if state.status is RequestStatus.RESOLVED:
        yield Offer("customer_feedback"), cmd.CustomerFeedback(actor=actor, accepted=True,
                                                               satisfaction=5)
        yield Offer("reopen"), cmd.Reopen(actor=actor, reason=_STAND_IN)
        return
    active = state.active_steps()
    yield Offer("claim"), cmd.Claim(actor=actor)
    for step in active:
        yield Offer("claim", step.key), cmd.Claim(actor=actor, step_key=step.key)
    yield Offer("add_note"), cmd.AddNote(actor=actor, text=_STAND_IN)
    yield Offer("ask_customer"), cmd.AskCustomer(actor=actor, question=_STAND_IN)
    yield Offer("record_customer_reply"), cmd.RecordCustomerReply(actor=actor)
    for step in active:
        yield Offer("complete_step", step.key), cmd.CompleteStep(actor=actor, step_key=step.key)
        yield Offer("hand_off", step.key), cmd.HandOff(
            actor=actor, step_key=step.key, to_department_id=_NOBODY, reason=_STAND_IN)
        yield Offer("reassign", step.key), cmd.Reassign(
            actor=actor, step_key=step.key, to_person_id=_NOBODY, reason=_STAND_IN)
    yield Offer("resolve"), cmd.Resolve(actor=actor, summary=_STAND_IN)
    other = next(p for p in Priority if p is not state.priority)
    yield Offer("change_priority"), cmd.ChangePriority(actor=actor, priority=other,
                                                       reason=_STAND_IN)
    yield Offer("cancel"), cmd.Cancel(actor=actor, reason=_STAND_IN)
    for clock_id, breach in state.breaches.items():
        if breach.level == 0:  # breached, but no escalation sent yet: nothing to acknowledge
            continue
        yield Offer("acknowledge_escalation", clock_id=clock_id), cmd.AcknowledgeEscalation(
            actor=actor, clock_id=clock_id)


def offers(state: RequestState, actor: Actor, at: datetime) -> list[Offer]:
    """What ``actor`` may do to the request at ``at``: the actions ``decide`` would not refuse
    for their rights or for the request's state."""
    found: list[Offer] = []
    for offer, command in _probes(state, actor):
        try:
            decide(state, command, at)
        except Refused as refusal:
            if refusal.kind is not RefusalKind.INVALID:
                continue
        found.append(offer)
    return found
