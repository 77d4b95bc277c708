"""Who may read a request (its state, timeline, conversation and live events), as a service
desk expects: the people it has touched, and the departments it has passed through.

A staff person may read a request when
- they have acted on it (submitted it, claimed, noted, handed off, ...), or own or have owned
  it or one of its steps, or were sent one of its escalations: people keep sight of what they
  worked on, even after moving to another department;
- or they are today a member of a department the request is owned by, has or had a step in,
  or was handed to or from. Supervisors and heads are members of their departments, so they
  see all of those. Membership is read from today's roster: someone who leaves a department
  stops seeing its requests they never touched.
Anyone else, however senior elsewhere, may not: a request's conversation holds the customer's
personal information (PIPL), and the need to know follows the work. Integrations read by
channel and customers by their signed link (api/); this rule is for staff."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from domain.org import Department


@dataclass(frozen=True)
class RequestParties:
    """What a request's record says about who it has touched."""

    request_id: str
    people: frozenset[str]
    """Everyone who acted on it, owns or owned it or a step, or received an escalation."""
    departments: frozenset[str]
    """Its owning department, every department it has or had a step in, handoffs' ends."""

    @classmethod
    def of(cls, request_id: str, people: Iterable[str | None],
           departments: Iterable[str | None]) -> "RequestParties":
        return cls(request_id=request_id,
                   people=frozenset(p for p in people if p),
                   departments=frozenset(d for d in departments if d))


def may_read(person_id: str, parties: RequestParties,
             roster: Mapping[str, Department]) -> bool:
    """True when ``person_id`` may read the request ``parties`` describe (see module doc)."""
    if person_id in parties.people:
        return True
    return any(department.member(person_id) is not None
               for department_id in sorted(parties.departments)
               if (department := roster.get(department_id)) is not None)


def read_refusal(person_id: str, request_id: str) -> str:
    """The one line a person who may not read a request is told."""
    return (f"{person_id} may not read request {request_id}: only the people who worked on "
            "it and members of the departments it passed through may")
