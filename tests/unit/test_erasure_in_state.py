"""The request's state knows its log holds the customer's erasure, so the workflow writes the
event once however many notices come, and a continued run (which starts from this state) and a
rebuild from the log know it too."""

from domain.actors import ActorKind, ActorRef
from domain.events import CustomerErased
from domain.state import RequestState, rebuild
from tests.unit.request_driver import Driver


def test_an_erasure_in_the_log_is_in_the_state_and_survives_a_rebuild() -> None:
    driver = Driver()
    assert not driver.state.customer_erased
    before = driver.state.model_copy(deep=True)
    officer = ActorRef(id="lin.feng", kind=ActorKind.STAFF, role="data_protection")
    driver._commit(officer, [CustomerErased(customer_id="CUST-1", basis="request")])
    assert driver.state.customer_erased
    assert rebuild(driver.log).customer_erased
    carried = RequestState.model_validate_json(driver.state.model_dump_json())
    assert carried.customer_erased  # what continue-as-new hands the next run
    # nothing else the request decides on changed
    assert driver.state.model_dump(exclude={"sequence", "customer_erased"}) == before.model_dump(
        exclude={"sequence", "customer_erased"})
