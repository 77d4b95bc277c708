"""Choosing who works a step: pure and deterministic, safe in workflow code.

The candidates for a step are the department's members who hold the step's role, are available
and are not excluded (reassignment excludes the current owner). The department's assignment rule
picks one of them:

``round_robin``
    The first candidate after ``last_assignee`` in roster order, wrapping round; the first
    candidate when there is no last assignee or they are no longer on the roster. Roster order is
    the order of ``Department.members``, so a last assignee who has become unavailable still marks
    the place in the rotation.
``least_loaded``
    The candidate with the fewest open steps (``open_load``, absent = 0); ties go to the earlier
    member in roster order.
``skill_match``
    Among the candidates holding *all* required skills, the least loaded (rule ``skill_match``).
    If nobody holds all of them, the candidates holding the most of the required skills, least
    loaded first (rule ``skill_match_partial``) - with no skill in common that is simply the least
    loaded role holder. Other rules ignore ``skills``.

With no candidate at all the step goes to the department supervisor (``fallback_supervisor``),
or to the head (``fallback_head``) when the supervisor is excluded or unavailable. When every
leader is excluded or unavailable, the first of supervisor, head that is not excluded is chosen
even though unavailable, and if both are excluded the head: a step is never left with nobody.
"""

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict

from domain.org import AssignmentRule, Department, Member

ROUND_ROBIN = AssignmentRule.ROUND_ROBIN.value
LEAST_LOADED = AssignmentRule.LEAST_LOADED.value
SKILL_MATCH = AssignmentRule.SKILL_MATCH.value
SKILL_MATCH_PARTIAL = "skill_match_partial"
FALLBACK_SUPERVISOR = "fallback_supervisor"
FALLBACK_HEAD = "fallback_head"

_NO_LOAD: Mapping[str, int] = MappingProxyType({})


class Assignment(BaseModel):
    """Who was chosen and by which rule (one of the module's rule labels)."""

    model_config = ConfigDict(frozen=True)

    person_id: str
    rule: str


def choose_assignee(
    department: Department,
    role: str,
    *,
    skills: frozenset[str] = frozenset(),
    open_load: Mapping[str, int] = _NO_LOAD,
    last_assignee: str | None = None,
    exclude: frozenset[str] = frozenset(),
) -> Assignment:
    """The member of ``department`` who should take a step needing ``role`` (see module doc)."""
    candidates = [
        member
        for member in department.members
        if member.available and role in member.roles and member.id not in exclude
    ]
    if not candidates:
        return _fallback(department, exclude)
    rule = department.assignment
    if rule is AssignmentRule.ROUND_ROBIN:
        return Assignment(
            person_id=_next_after(department, candidates, last_assignee).id, rule=ROUND_ROBIN
        )
    if rule is AssignmentRule.LEAST_LOADED:
        return Assignment(person_id=_least_loaded(candidates, open_load).id, rule=LEAST_LOADED)
    skilled = [member for member in candidates if skills <= member.skills]
    if skilled:
        return Assignment(person_id=_least_loaded(skilled, open_load).id, rule=SKILL_MATCH)
    best = max(len(skills & member.skills) for member in candidates)
    closest = [member for member in candidates if len(skills & member.skills) == best]
    return Assignment(person_id=_least_loaded(closest, open_load).id, rule=SKILL_MATCH_PARTIAL)


def _next_after(
    department: Department, candidates: Sequence[Member], last_assignee: str | None
) -> Member:
    roster = [member.id for member in department.members]
    if last_assignee is None or last_assignee not in roster:
        return candidates[0]
    place = roster.index(last_assignee)
    # Candidates are in roster order: the first one after `place`, else wrap to the first.
    return next((m for m in candidates if roster.index(m.id) > place), candidates[0])


def _least_loaded(candidates: Sequence[Member], open_load: Mapping[str, int]) -> Member:
    # min() keeps the first of equal keys, and candidates are in roster order.
    return min(candidates, key=lambda member: open_load.get(member.id, 0))


def _fallback(department: Department, exclude: frozenset[str]) -> Assignment:
    leaders = ((department.supervisor_id, FALLBACK_SUPERVISOR), (department.head_id, FALLBACK_HEAD))
    allowed = [(person, rule) for person, rule in leaders if person not in exclude]
    for person, rule in allowed:
        member = department.member(person)
        if member is not None and member.available:
            return Assignment(person_id=person, rule=rule)
    if allowed:
        person, rule = allowed[0]
        return Assignment(person_id=person, rule=rule)
    return Assignment(person_id=department.head_id, rule=FALLBACK_HEAD)
