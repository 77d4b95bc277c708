"""Who may see which report, and with which fields (PIPL: personal information only to those
whose role needs it). Pure: decided from the roster, never from what a caller claims. Who may
open one request is ``domain.visibility``'s rule.

- **Reports** (the monthly figures, who owns what now, what is breaching): a person with the
  role ``reporting`` reads every department's figures; the supervisor or head of a department
  reads that department's; anyone else on the roster reads only their own work.
- **Customers' personal fields** (name, subject) in those reports: shown for the requests a
  reader owns or has a step on, and for the requests of the departments they lead (owning the
  request or holding one of its steps); withheld otherwise, so an organisation-wide reader sees
  counts and durations of other departments without who the customers are."""

from collections.abc import Iterable
from dataclasses import dataclass

from domain.org import Department

REPORTING_ROLE = "reporting"
"""The roster role that reads every department's figures (without their customers' names)."""


class NotVisible(PermissionError):
    """A view refused to this reader; the message names what they may see instead."""


@dataclass(frozen=True)
class RequestFacts:
    """What decides who may see a request: its owner and owning department, and the
    department and owner of each of its steps (and of the people who handed them on)."""

    owner_id: str | None
    owner_department_id: str
    step_departments: frozenset[str]
    people: frozenset[str]
    """Everyone who owns or has owned the request or one of its steps."""


@dataclass(frozen=True)
class ReportScope:
    """What one report a reader asked for covers, after their rights: ``person`` set means the
    reader's own work only."""

    department: str | None
    role: str | None
    person: str | None


@dataclass(frozen=True)
class Reader:
    """A roster person as the visibility rules see them."""

    person_id: str
    organisation_wide: bool
    leads: frozenset[str]
    """Departments of which they are supervisor or head."""
    member_of: frozenset[str]

    def report_scope(self, department: str | None, role: str | None) -> ReportScope:
        """The report this reader gets for ``department`` and ``role``; NotVisible when they
        asked for a department they do not lead. A reader who leads one department and names
        none gets that department; a reader who leads none gets their own work."""
        if self.organisation_wide:
            return ReportScope(department=department, role=role, person=None)
        if department is None and len(self.leads) == 1:
            department = next(iter(self.leads))
        if department is not None and department in self.leads:
            return ReportScope(department=department, role=role, person=None)
        if department is None and not self.leads:
            return ReportScope(department=None, role=role, person=self.person_id)
        if department is None:
            raise NotVisible(f"{self.person_id} leads {', '.join(sorted(self.leads))}: name "
                             "one of them as department")
        if self.leads:
            raise NotVisible(f"{self.person_id} may read the figures of "
                             f"{', '.join(sorted(self.leads))} only, not of {department}")
        raise NotVisible(f"{self.person_id} may read their own figures only, not those of "
                         f"department {department}: only its supervisor or head may")

    def sees_personal_fields(self, request: RequestFacts) -> bool:
        """Whether the customer's name and the subject of ``request`` are shown to this
        reader in a report."""
        if self.person_id in request.people:
            return True
        departments = {request.owner_department_id} | request.step_departments
        return bool(self.leads & departments)


def reader_of(departments: Iterable[Department], person_id: str) -> Reader | None:
    """``person_id`` as a reader of the organisation ``departments``; None if they are on no
    roster there (they may see nothing)."""
    leads: set[str] = set()
    member_of: set[str] = set()
    organisation_wide = False
    for department in departments:
        member = department.member(person_id)
        if member is None:
            continue
        member_of.add(department.id)
        organisation_wide = organisation_wide or REPORTING_ROLE in member.roles
        if person_id in (department.supervisor_id, department.head_id):
            leads.add(department.id)
    if not member_of:
        return None
    return Reader(person_id=person_id, organisation_wide=organisation_wide,
                  leads=frozenset(leads), member_of=frozenset(member_of))


def facts_of(owner_id: str | None, owner_department_id: str,
             steps: Iterable[tuple[str, str]], others: Iterable[str] = ()) -> RequestFacts:
    """A request's facts from its owner, its steps' ``(department, owner)`` pairs and anyone
    else who has owned a part of it (e.g. people who handed a step on)."""
    pairs = list(steps)
    people = {owner for _, owner in pairs} | set(others)
    if owner_id:
        people.add(owner_id)
    return RequestFacts(owner_id=owner_id, owner_department_id=owner_department_id,
                        step_departments=frozenset(d for d, _ in pairs),
                        people=frozenset(people))

