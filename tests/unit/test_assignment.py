"""choose_assignee: who takes a step under each department rule, and the fallbacks."""

from collections.abc import Mapping

from hypothesis import given
from hypothesis import strategies as st

from domain.assignment import (
    FALLBACK_HEAD,
    FALLBACK_SUPERVISOR,
    LEAST_LOADED,
    ROUND_ROBIN,
    SKILL_MATCH,
    SKILL_MATCH_PARTIAL,
    Assignment,
    choose_assignee,
)
from domain.calendar import always_open
from domain.org import AssignmentRule, Department, Member

CALENDAR = always_open("24x7", "Asia/Shanghai")


def member(
    person_id: str,
    *roles: str,
    skills: tuple[str, ...] = (),
    available: bool = True,
) -> Member:
    return Member(
        id=person_id,
        name=person_id,
        roles=frozenset(roles),
        skills=frozenset(skills),
        available=available,
    )


def department(
    rule: AssignmentRule,
    *members: Member,
    supervisor: str = "zhou.min",
    head: str = "wu.jianguo",
) -> Department:
    leaders = tuple(
        member(person, role)
        for person, role in ((supervisor, "supervisor"), (head, "head"))
        if person not in {m.id for m in members}
    )
    return Department(
        id="customer_service",
        name="客户服务部",
        calendar=CALENDAR,
        assignment=rule,
        supervisor_id=supervisor,
        head_id=head,
        members=(*members, *leaders),
    )


AGENTS = (
    member("zhang.wei", "agent"),
    member("wang.fang", "agent", available=False),
    member("li.na", "agent"),
    member("liu.yang", "agent"),
)


def pick(
    dept: Department,
    role: str = "agent",
    *,
    skills: frozenset[str] = frozenset(),
    open_load: Mapping[str, int] | None = None,
    last_assignee: str | None = None,
    exclude: frozenset[str] = frozenset(),
) -> Assignment:
    return choose_assignee(
        dept,
        role,
        skills=skills,
        open_load=open_load or {},
        last_assignee=last_assignee,
        exclude=exclude,
    )


# ---------------------------------------------------------------------------- round robin


def test_round_robin_starts_with_the_first_candidate() -> None:
    dept = department(AssignmentRule.ROUND_ROBIN, *AGENTS)
    assert pick(dept) == Assignment(person_id="zhang.wei", rule=ROUND_ROBIN)
    assert pick(dept, last_assignee="somebody.else").person_id == "zhang.wei"


def test_round_robin_skips_unavailable_members() -> None:
    dept = department(AssignmentRule.ROUND_ROBIN, *AGENTS)
    assert pick(dept, last_assignee="zhang.wei").person_id == "li.na"


def test_round_robin_continues_after_a_last_assignee_who_became_unavailable() -> None:
    dept = department(AssignmentRule.ROUND_ROBIN, *AGENTS)
    assert pick(dept, last_assignee="wang.fang").person_id == "li.na"


def test_round_robin_wraps_round() -> None:
    dept = department(AssignmentRule.ROUND_ROBIN, *AGENTS)
    assert pick(dept, last_assignee="liu.yang").person_id == "zhang.wei"
    # The supervisor is after every agent in roster order: the next agent is the first one.
    assert pick(dept, last_assignee="zhou.min").person_id == "zhang.wei"


def test_round_robin_cycles_through_every_available_candidate() -> None:
    dept = department(AssignmentRule.ROUND_ROBIN, *AGENTS)
    last = None
    seen = []
    for _ in range(6):
        last = pick(dept, last_assignee=last).person_id
        seen.append(last)
    assert seen == ["zhang.wei", "li.na", "liu.yang", "zhang.wei", "li.na", "liu.yang"]


def test_round_robin_ignores_skills() -> None:
    dept = department(
        AssignmentRule.ROUND_ROBIN, member("a", "agent"), member("b", "agent", skills=("vip",))
    )
    assert pick(dept, skills=frozenset({"vip"})) == Assignment(person_id="a", rule=ROUND_ROBIN)


# ---------------------------------------------------------------------------- least loaded


def test_least_loaded_picks_the_fewest_open_steps() -> None:
    dept = department(AssignmentRule.LEAST_LOADED, *AGENTS)
    load = {"zhang.wei": 3, "li.na": 1, "liu.yang": 2, "wang.fang": 0}
    assert pick(dept, open_load=load) == Assignment(person_id="li.na", rule=LEAST_LOADED)


def test_least_loaded_breaks_ties_by_roster_order() -> None:
    dept = department(AssignmentRule.LEAST_LOADED, *AGENTS)
    assert pick(dept, open_load={"zhang.wei": 2, "li.na": 1, "liu.yang": 1}).person_id == "li.na"
    # Nobody listed counts as zero open steps.
    assert pick(dept).person_id == "zhang.wei"
    assert pick(dept, open_load={"zhang.wei": 1}).person_id == "li.na"


# ---------------------------------------------------------------------------- skill match

FINANCE = (
    member("lin.xiaoyan", "accountant", skills=("invoice", "tax")),
    member("guo.peng", "accountant", skills=("refund", "invoice")),
    member("luo.dan", "accountant", skills=("refund",)),
    member("liang.yu", "accountant", skills=("invoice", "refund", "tax"), available=False),
)


def test_skill_match_prefers_members_with_all_skills_then_least_loaded() -> None:
    dept = department(AssignmentRule.SKILL_MATCH, *FINANCE)
    load = {"lin.xiaoyan": 5, "guo.peng": 4, "luo.dan": 0}
    assert pick(dept, "accountant", skills=frozenset({"invoice"}), open_load=load) == Assignment(
        person_id="guo.peng", rule=SKILL_MATCH
    )
    both = frozenset({"invoice", "refund"})
    assert pick(dept, "accountant", skills=both, open_load=load).person_id == "guo.peng"


def test_skill_match_without_required_skills_is_least_loaded() -> None:
    dept = department(AssignmentRule.SKILL_MATCH, *FINANCE)
    load = {"lin.xiaoyan": 2, "guo.peng": 1, "luo.dan": 1}
    assert pick(dept, "accountant", open_load=load) == Assignment(
        person_id="guo.peng", rule=SKILL_MATCH
    )


def test_skill_match_partial_prefers_the_most_matching_skills() -> None:
    # Only the unavailable liang.yu has invoice + refund + tax; two skills beat one.
    dept = department(AssignmentRule.SKILL_MATCH, *FINANCE)
    wanted = frozenset({"invoice", "refund", "tax"})
    load = {"lin.xiaoyan": 9, "guo.peng": 1, "luo.dan": 0}
    assert pick(dept, "accountant", skills=wanted, open_load=load) == Assignment(
        person_id="guo.peng", rule=SKILL_MATCH_PARTIAL
    )


def test_skill_match_with_no_skill_in_common_is_least_loaded_role_holder() -> None:
    dept = department(AssignmentRule.SKILL_MATCH, *FINANCE)
    load = {"lin.xiaoyan": 3, "guo.peng": 2, "luo.dan": 2}
    assert pick(dept, "accountant", skills=frozenset({"customs"}), open_load=load) == Assignment(
        person_id="guo.peng", rule=SKILL_MATCH_PARTIAL
    )


# ---------------------------------------------------------------------------- fallbacks


def test_nobody_with_the_role_falls_back_to_the_supervisor() -> None:
    dept = department(AssignmentRule.ROUND_ROBIN, *AGENTS)
    assert pick(dept, "engineer") == Assignment(person_id="zhou.min", rule=FALLBACK_SUPERVISOR)


def test_nobody_available_falls_back_to_the_supervisor() -> None:
    dept = department(AssignmentRule.LEAST_LOADED, member("a", "agent", available=False))
    assert pick(dept) == Assignment(person_id="zhou.min", rule=FALLBACK_SUPERVISOR)


def test_excluded_supervisor_falls_back_to_the_head() -> None:
    dept = department(AssignmentRule.ROUND_ROBIN, member("a", "agent"))
    chosen = pick(dept, exclude=frozenset({"a", "zhou.min"}))
    assert chosen == Assignment(person_id="wu.jianguo", rule=FALLBACK_HEAD)


def test_unavailable_supervisor_falls_back_to_the_head() -> None:
    dept = department(AssignmentRule.ROUND_ROBIN, member("zhou.min", "supervisor", available=False))
    assert pick(dept) == Assignment(person_id="wu.jianguo", rule=FALLBACK_HEAD)


def test_never_nobody() -> None:
    dept = department(
        AssignmentRule.ROUND_ROBIN,
        member("zhou.min", "supervisor", available=False),
        member("wu.jianguo", "head", available=False),
    )
    # Everyone away: the supervisor still answers for the step.
    assert pick(dept) == Assignment(person_id="zhou.min", rule=FALLBACK_SUPERVISOR)
    # Supervisor excluded, head away: the head.
    assert pick(dept, exclude=frozenset({"zhou.min"})).person_id == "wu.jianguo"
    # Both excluded: still the head.
    both = frozenset({"zhou.min", "wu.jianguo"})
    assert pick(dept, exclude=both) == Assignment(person_id="wu.jianguo", rule=FALLBACK_HEAD)


def test_a_supervisor_holding_the_role_is_an_ordinary_candidate() -> None:
    dept = department(
        AssignmentRule.LEAST_LOADED,
        member("yang.fan", "engineer"),
        member("huang.lei", "supervisor", "engineer"),
        supervisor="huang.lei",
    )
    chosen = pick(dept, "engineer", open_load={"yang.fan": 1})
    assert chosen == Assignment(person_id="huang.lei", rule=LEAST_LOADED)


# ---------------------------------------------------------------------------- reassignment


def test_reassignment_excludes_the_current_owner() -> None:
    least = department(AssignmentRule.LEAST_LOADED, *AGENTS)
    load = {"zhang.wei": 0, "li.na": 4, "liu.yang": 2}
    chosen = pick(least, open_load=load, exclude=frozenset({"zhang.wei"}))
    assert chosen == Assignment(person_id="liu.yang", rule=LEAST_LOADED)

    robin = department(AssignmentRule.ROUND_ROBIN, *AGENTS)
    chosen = pick(robin, last_assignee="liu.yang", exclude=frozenset({"zhang.wei"}))
    assert chosen.person_id == "li.na"


def test_reassigning_the_only_candidate_goes_to_the_supervisor() -> None:
    dept = department(AssignmentRule.SKILL_MATCH, member("a", "agent"))
    chosen = pick(dept, exclude=frozenset({"a"}))
    assert chosen == Assignment(person_id="zhou.min", rule=FALLBACK_SUPERVISOR)


# ---------------------------------------------------------------------------- properties

ROLES = ("agent", "engineer")
SKILLS = ("invoice", "refund", "tax")


@st.composite
def scenarios(
    draw: st.DrawFn,
) -> tuple[Department, str, frozenset[str], Mapping[str, int], str | None, frozenset[str]]:
    size = draw(st.integers(min_value=1, max_value=6))
    ids = [f"p{index}" for index in range(size)]
    members = tuple(
        Member(
            id=person,
            name=f"成员{person}",
            roles=draw(st.frozensets(st.sampled_from(ROLES))),
            skills=draw(st.frozensets(st.sampled_from(SKILLS))),
            available=draw(st.booleans()),
        )
        for person in ids
    )
    dept = Department(
        id="d",
        name="部门",
        calendar=CALENDAR,
        assignment=draw(st.sampled_from(AssignmentRule)),
        supervisor_id=draw(st.sampled_from(ids)),
        head_id=draw(st.sampled_from(ids)),
        members=members,
    )
    role = draw(st.sampled_from(ROLES))
    skills = draw(st.frozensets(st.sampled_from(SKILLS)))
    load = draw(st.dictionaries(st.sampled_from(ids), st.integers(min_value=0, max_value=5)))
    last = draw(st.none() | st.sampled_from([*ids, "ghost"]))
    exclude = draw(st.frozensets(st.sampled_from(ids)))
    return dept, role, skills, load, last, exclude


@given(scenarios())
def test_always_someone_accountable(
    scenario: tuple[Department, str, frozenset[str], Mapping[str, int], str | None, frozenset[str]],
) -> None:
    dept, role, skills, load, last, exclude = scenario
    chosen = pick(dept, role, skills=skills, open_load=load, last_assignee=last, exclude=exclude)
    again = pick(dept, role, skills=skills, open_load=load, last_assignee=last, exclude=exclude)
    assert chosen == again
    assert dept.member(chosen.person_id) is not None, "someone on the roster, never a ghost"
    candidates = [
        m for m in dept.members if m.available and role in m.roles and m.id not in exclude
    ]
    if candidates:
        picked = dept.member(chosen.person_id)
        assert picked in candidates
        assert chosen.rule in (ROUND_ROBIN, LEAST_LOADED, SKILL_MATCH, SKILL_MATCH_PARTIAL)
        if chosen.rule in (LEAST_LOADED, SKILL_MATCH):
            pool = [m for m in candidates if chosen.rule == LEAST_LOADED or skills <= m.skills]
            assert load.get(chosen.person_id, 0) == min(load.get(m.id, 0) for m in pool)
    else:
        assert (chosen.person_id, chosen.rule) in {
            (dept.supervisor_id, FALLBACK_SUPERVISOR),
            (dept.head_id, FALLBACK_HEAD),
        }
        if dept.supervisor_id not in exclude:
            supervisor = dept.member(dept.supervisor_id)
            assert supervisor is not None
            if supervisor.available:
                assert chosen.person_id == dept.supervisor_id
