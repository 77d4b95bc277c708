"""domain.loop, the writes the workflow and the unit driver both run: people first, then one
commit per command; the late-resolution commit only where the request's version has it."""

from domain import commands as cmd
from domain import loop
from domain.actors import Actor
from domain.assignment import Assignment
from domain.decisions import decide
from domain.events import StepStarted
from tests.unit.request_driver import START, Driver


def test_a_command_that_opens_a_stage_staffs_it_before_its_one_commit() -> None:
    driver = Driver()
    triage = driver.step("triage")
    owner = driver.owner_of(triage)
    driver.do(cmd.Claim(actor=owner, step_key=triage))
    command = cmd.CompleteStep(actor=owner, step_key=triage)
    decision = decide(driver.state, command, START)
    writes = loop.command_writes(driver.state, command, decision, lambda: START,
                                 late_resolution_window=lambda: True)

    staffing = next(writes)
    assert isinstance(staffing, loop.Staff)
    assert [n.department_id for n in staffing.needs] == ["finance", "technical_support"]
    chosen = driver.state.plan.departments
    people = [chosen[n.department_id].with_role(n.role)[0] for n in staffing.needs]
    commit = writes.send([Assignment(person_id=p.id, rule="round_robin") for p in people])
    assert isinstance(commit, loop.Commit)
    started = [p for p in commit.payloads if isinstance(p, StepStarted)]
    assert [p.owner_id for p in started] == [p.id for p in people]


def test_a_resolution_commits_twice_only_with_the_late_resolution_window() -> None:
    for window, commits in ((True, 2), (False, 1)):
        driver = _ready_to_resolve()
        command = cmd.Resolve(actor=Actor(id=driver.state.owner_id), summary="完成")
        decision = decide(driver.state, command, START)
        writes = loop.command_writes(driver.state, command, decision, lambda: START,
                                     late_resolution_window=lambda: window)  # noqa: B023
        assert sum(isinstance(effect, loop.Commit) for effect in writes) == commits


def _ready_to_resolve() -> Driver:
    driver = Driver()
    while active := [k for k, s in driver.state.steps.items() if s.status == "active"]:
        for key in active:
            driver.do(cmd.CompleteStep(actor=driver.owner_of(key), step_key=key))
    return driver

