"""Which actions a person may take on a request now, from the same relations the server's
authorization uses (README "Who may do what"), with the fields each action's form asks for.
This only decides what the page offers: the workflow still refuses anything else, and the page
shows its reason."""

from dataclasses import dataclass

from domain.catalog import Catalog
from domain.state import RequestStatus, StepStatus
from workflows.messages import RequestView

OPEN = frozenset({RequestStatus.OPEN, RequestStatus.IN_PROGRESS,
                  RequestStatus.WAITING_ON_CUSTOMER})


@dataclass(frozen=True)
class Offer:
    action: str
    step_key: str | None = None


def _leads(catalog: Catalog, person_id: str, department_id: str) -> bool:
    department = catalog.departments.get(department_id)
    return department is not None and person_id in (department.supervisor_id,
                                                    department.head_id)


def offers(view: RequestView, person_id: str, catalog: Catalog) -> list[Offer]:
    """What ``person_id`` may do now, most common first (the order of the keyboard keys)."""
    if view.parked is not None or view.status not in OPEN | {RequestStatus.RESOLVED}:
        return []
    owner = view.owner_id == person_id
    owner_side = owner or _leads(catalog, person_id, view.owner_department_id)
    found: list[Offer] = []
    if view.status is RequestStatus.RESOLVED:
        if owner:
            found.append(Offer("customer_feedback"))
        if owner_side and view.reopen_until is not None:
            found.append(Offer("reopen"))
        return found
    first_response = next((c for c in view.clocks if c.clock_id == "first_response"), None)
    if owner and first_response is not None and first_response.clock.stopped_at is None:
        found.append(Offer("claim"))
    active = [step for step in view.steps if step.status is StepStatus.ACTIVE]
    for step in active:
        mine = step.owner_id == person_id
        if mine and step.claimed_at is None:
            found.append(Offer("claim", step.step_key))
    involved = owner_side or any(s.owner_id == person_id for s in view.steps) or any(
        _leads(catalog, person_id, s.department_id) for s in view.steps)
    if involved:
        found.append(Offer("add_note"))
    if owner or any(s.owner_id == person_id for s in active):
        found.append(Offer("ask_customer"))
        if view.status is RequestStatus.WAITING_ON_CUSTOMER:
            found.append(Offer("record_customer_reply"))
    for step in active:
        if step.owner_id == person_id or _leads(catalog, person_id, step.department_id):
            found.append(Offer("complete_step", step.step_key))
            found.append(Offer("hand_off", step.step_key))
        if _leads(catalog, person_id, step.department_id):
            found.append(Offer("reassign", step.step_key))
    if owner_side:
        found += [Offer("resolve"), Offer("change_priority"), Offer("cancel")]
    for breach in view.breaches:
        if breach.recipient_id == person_id and not breach.acknowledged:
            found.append(Offer("acknowledge_escalation"))
            break
    return found
