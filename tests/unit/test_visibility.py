"""Who may read a request: the people it touched, and today's members of the departments it
passed through (supervisors and heads among them); nobody else."""

from pathlib import Path

from catalog.loader import load_catalog
from domain.visibility import RequestParties, may_read, read_refusal

ROSTER = load_catalog(Path(__file__).parents[2] / "config", years=[2026]).departments


def _outsider(*departments: str) -> str:
    """A roster person in none of ``departments``."""
    inside = {m.id for d in departments for m in ROSTER[d].members}
    return next(m.id for d in ROSTER.values() for m in d.members if m.id not in inside)


PARTIES = RequestParties.of("REQ-1", people=["liu.yang", None, "wang.fang"],
                            departments=["customer_service", "finance", None])


def test_people_who_touched_the_request_may_read_it() -> None:
    assert may_read("liu.yang", PARTIES, ROSTER)
    assert may_read("wang.fang", PARTIES, ROSTER)


def test_every_member_of_a_department_it_passed_through_may_read_it() -> None:
    for department_id in ("customer_service", "finance"):
        department = ROSTER[department_id]
        for person in (department.supervisor_id, department.head_id,
                       *(m.id for m in department.members)):
            assert may_read(person, PARTIES, ROSTER), (department_id, person)


def test_anyone_else_may_not_even_a_head_elsewhere() -> None:
    outsider = _outsider("customer_service", "finance")
    assert not may_read(outsider, PARTIES, ROSTER)
    legal_head = ROSTER["legal"].head_id
    assert legal_head not in {m.id for d in ("customer_service", "finance")
                              for m in ROSTER[d].members}
    assert not may_read(legal_head, PARTIES, ROSTER)


def test_a_department_no_longer_in_the_roster_grants_nothing() -> None:
    gone = RequestParties.of("REQ-2", people=[], departments=["dissolved_department"])
    assert not may_read("liu.yang", gone, ROSTER)


def test_a_person_who_worked_on_it_keeps_sight_after_leaving_its_departments() -> None:
    moved = _outsider("customer_service", "finance")
    parties = RequestParties.of("REQ-3", people=[moved], departments=["finance"])
    assert may_read(moved, parties, ROSTER)


def test_the_refusal_names_who_may_read() -> None:
    assert read_refusal("x.y", "REQ-1") == (
        "x.y may not read request REQ-1: only the people who worked on it and members of the "
        "departments it passed through may")
