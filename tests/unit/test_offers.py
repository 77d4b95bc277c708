"""What a page offers a person follows decide: every action offered is one decide takes from
them (with real input), and what decide refuses them for their rights or the state is hidden."""

from domain import commands as cmd
from domain.actors import Actor, ActorKind
from domain.offers import Offer, offers
from domain.state import RequestStatus
from tests.unit.request_driver import Driver

CUSTOMER = Actor(id="CUST-1", kind=ActorKind.CUSTOMER)


def names(found: list[Offer]) -> set[tuple[str, str | None]]:
    return {(offer.action, offer.step_key) for offer in found}


def test_the_step_owner_is_offered_their_step_and_an_outsider_nothing() -> None:
    driver = Driver()
    triage = driver.step("triage")
    owner = driver.owner_of(triage)
    offered = names(offers(driver.state, owner, driver.now))
    assert {("claim", triage), ("complete_step", triage), ("add_note", None),
            ("ask_customer", None)} <= offered
    assert ("reassign", triage) not in offered  # a leader's right
    assert offers(driver.state, Actor(id="chen.jing"), driver.now) == []  # finance: not involved
    assert offers(driver.state, Actor(id="nobody.here"), driver.now) == []


def test_a_supervisor_may_reassign_and_an_offer_is_what_decide_accepts() -> None:
    driver = Driver()
    triage = driver.step("triage")
    offered = names(offers(driver.state, Actor(id="zhao.min"), driver.now))
    assert ("reassign", triage) in offered
    assert ("resolve", None) not in offered  # decide: the triage step is still open
    driver.do(cmd.Claim(actor=driver.owner_of(triage), step_key=triage))
    after_claim = names(offers(driver.state, driver.owner_of(triage), driver.now))
    assert ("claim", triage) not in after_claim  # claimed already: decide refuses a second
    assert ("complete_step", triage) in after_claim


def test_a_resolved_request_offers_feedback_and_reopen_only() -> None:
    driver = Driver()
    for stage, branches in (("triage", 1), ("investigate", 2), ("confirm", 1)):
        for branch in range(1, branches + 1):
            key = driver.step(stage, branch)
            driver.do(cmd.CompleteStep(actor=driver.owner_of(key), step_key=key))
    assert ("resolve", None) in names(offers(driver.state, Actor(id="zhao.min"), driver.now))
    driver.do(cmd.Resolve(actor=Actor(id="wang.fang"), summary="已退款"))
    assert driver.state.status is RequestStatus.RESOLVED
    owner = Actor(id=str(driver.state.owner_id))
    assert names(offers(driver.state, owner, driver.now)) == {("customer_feedback", None),
                                                              ("reopen", None)}
    assert names(offers(driver.state, CUSTOMER, driver.now)) == {("customer_feedback", None),
                                                                 ("reopen", None)}
    assert offers(driver.state, Actor(id="chen.jing"), driver.now) == []
