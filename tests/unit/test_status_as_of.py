"""Views are read as of the moment they are read: a view carries the instant it was made and
each clock's state, and ``read_at`` computes elapsed and remaining time again for a later read."""

from datetime import timedelta

from domain import commands as cmd
from domain.sla_clock import PauseReason
from tests.unit.request_driver import MINUTE, Driver
from workflows.messages import read_at, view_of


def test_a_later_read_shows_the_time_that_has_passed() -> None:
    driver = Driver()
    made = view_of(driver.state, driver.now)
    read = read_at(made, driver.now + timedelta(minutes=10))
    assert read.as_of == driver.now + timedelta(minutes=10)
    for before, after in zip(made.clocks, read.clocks, strict=True):
        assert after.elapsed_seconds == before.elapsed_seconds + 10 * MINUTE
        assert after.remaining_seconds == before.remaining_seconds - 10 * MINUTE
        assert after.remaining_seconds == after.target_seconds - after.elapsed_seconds


def test_a_paused_clock_stands_still_and_an_earlier_read_changes_nothing() -> None:
    driver = Driver()
    triage = driver.step("triage")
    owner = driver.owner_of(triage)
    driver.do(cmd.Claim(actor=owner, step_key=triage))
    driver.do(cmd.AskCustomer(actor=owner, question="请提供合同编号",
                              reason=PauseReason.CUSTOMER))
    made = view_of(driver.state, driver.now)
    read = read_at(made, driver.now + timedelta(hours=1))
    paused = [c for c in read.clocks if c.paused]
    assert paused, "asking the customer pauses the step and resolution clocks"
    before = {c.clock_id: c for c in made.clocks}
    for clock in paused:
        assert clock.elapsed_seconds == before[clock.clock_id].elapsed_seconds
    assert read_at(made, driver.now - timedelta(minutes=1)) == made
