"""Who may do what to a request. Rights follow from a person's relation to the request, found in
the roster pinned on it; a caller cannot claim a role. The matrix is documented in README.md."""

from enum import StrEnum

from domain.actors import Actor, ActorKind, ActorRef
from domain.state import RequestState, StepState


class RefusalKind(StrEnum):
    """Which kind of no a refusal is, set where it is raised so that callers (the HTTP API's
    status codes) need not read it from the wording."""

    FORBIDDEN = "forbidden"
    """The actor's rights do not allow it."""
    NOT_FOUND = "not_found"
    """No such request."""
    CONFLICT = "conflict"
    """The request's state does not allow it now."""
    INVALID = "invalid"
    """The input names something that does not exist or does not fit (a step, a person)."""


class Refused(ValueError):
    """An action refused: by rights, by the request's state, or by its input. Nothing changed."""

    def __init__(self, kind: RefusalKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Relation(StrEnum):
    REQUEST_OWNER = "request_owner"
    STEP_OWNER = "step_owner"
    SUPERVISOR = "supervisor"
    HEAD = "head"
    PARTICIPANT = "participant"
    CUSTOMER = "customer"


def _leader_relation(state: RequestState, actor: Actor, department_id: str) -> Relation | None:
    department = state.plan.departments.get(department_id)
    if department is None:
        return None
    if department.supervisor_id == actor.id:
        return Relation.SUPERVISOR
    if department.head_id == actor.id:
        return Relation.HEAD
    return None


def relations(state: RequestState, actor: Actor, step: StepState | None = None,
              department_id: str | None = None) -> list[tuple[Relation, str | None]]:
    """Every relation ``actor`` has to the request (and to ``step`` when given), each with the
    department it holds in, strongest first."""
    if actor.kind is ActorKind.CUSTOMER:
        is_customer = actor.id == state.plan.submission.customer.id
        return [(Relation.CUSTOMER, None)] if is_customer else []
    if actor.kind is not ActorKind.STAFF:
        return []
    found: list[tuple[Relation, str | None]] = []
    if step is not None and step.owner_id == actor.id:
        found.append((Relation.STEP_OWNER, step.department_id))
    if state.owner_id == actor.id:
        found.append((Relation.REQUEST_OWNER, state.owner_department_id))
    scope = department_id or (step.department_id if step else state.owner_department_id)
    leader = _leader_relation(state, actor, scope)
    if leader is not None:
        found.append((leader, scope))
    if actor.id in state.involved_people():
        found.append((Relation.PARTICIPANT, None))
    return found


def authorize(
    state: RequestState,
    actor: Actor,
    action: str,
    allowed: frozenset[Relation],
    *,
    step: StepState | None = None,
    department_id: str | None = None,
) -> ActorRef:
    """The actor as the event will record it, or Refused naming who may do ``action``."""
    for relation, in_department in relations(state, actor, step, department_id):
        if relation in allowed:
            return ActorRef(id=actor.id, kind=actor.kind, role=relation.value,
                            department_id=in_department)
    who = ", ".join(sorted(r.value.replace("_", " ") for r in allowed))
    target = (f"step {step.key} of request {state.request_id}" if step
              else f"request {state.request_id}")
    raise Refused(RefusalKind.FORBIDDEN, f"{actor.id} may not {action} {target}: "
                  f"only the {who} may")


OWNER_SIDE = frozenset({Relation.REQUEST_OWNER, Relation.SUPERVISOR, Relation.HEAD})
STEP_SIDE = frozenset({Relation.STEP_OWNER, Relation.SUPERVISOR, Relation.HEAD})
LEADERS = frozenset({Relation.SUPERVISOR, Relation.HEAD})

# The documented rights matrix: action -> relations that may take it.
RIGHTS: dict[str, frozenset[Relation]] = {
    "claim": frozenset({Relation.STEP_OWNER, Relation.REQUEST_OWNER}),
    "add a note to": frozenset({*OWNER_SIDE, Relation.STEP_OWNER, Relation.PARTICIPANT}),
    "ask the customer about": frozenset({Relation.REQUEST_OWNER, Relation.STEP_OWNER}),
    "record the customer's reply on": frozenset(
        {Relation.REQUEST_OWNER, Relation.STEP_OWNER, Relation.CUSTOMER}),
    "complete": STEP_SIDE,
    "hand off": STEP_SIDE,
    "reassign": LEADERS,
    "change the priority of": OWNER_SIDE,
    "resolve": OWNER_SIDE,
    "record feedback on": frozenset({Relation.REQUEST_OWNER, Relation.CUSTOMER}),
    "reopen": frozenset({*OWNER_SIDE, Relation.CUSTOMER}),
    "cancel": OWNER_SIDE,
}
