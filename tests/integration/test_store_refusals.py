"""Every error of the store leaves an activity classified and in one line: data the database
refuses fails it for good (StoreRefused) and writes nothing; an outage is retried
(StoreUnavailable); neither carries the driver's chained traceback, which can exceed Temporal's
failure size. A failed attempt is one line in the worker's log."""

import logging

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import make_url
from temporalio.exceptions import ApplicationError

from activities.contracts import STORE_REFUSED, AppendInput, Notification, StaffingInput
from activities.failures import ACTIVITY_LOGGER, OneLineActivityFailures
from activities.notify import NotifyActivities
from activities.staffing import StaffingActivities
from activities.store import StoreActivities
from domain import commands as cmd
from domain.actors import Actor
from domain.catalog import Catalog
from domain.labels import RequestLabels
from domain.staffing import Purpose, StaffingNeed
from eventstore.engine import create_engine
from kpi.metrics import CaseflowMetrics
from stack.ports import free_port
from tests.integration.conftest import Caseflow
from tests.integration.event_factory import RequestLog
from tests.integration.hostile import MAX_REFUSAL, logged
from tests.integration.requests import billing_dispute, patient
from workflows import client as calls

LABELS = RequestLabels(channel="phone", request_type="billing_dispute", tier="key",
                       priority="P2", owner_department="service")


def assert_one_line(failure: ApplicationError) -> None:
    assert failure.__cause__ is None, "no chained cause travels with the failure"
    assert "\n" not in failure.message, failure.message
    assert len(failure.message) <= MAX_REFUSAL, failure.message[:MAX_REFUSAL]


async def test_data_postgresql_refuses_fails_the_append_for_good_and_writes_nothing(
        pg_store_url: str) -> None:
    engine = create_engine(pg_store_url)
    store = StoreActivities(engine, CaseflowMetrics(CollectorRegistry()))
    log = RequestLog()
    log.submitted()
    try:
        await store.append(AppendInput(events=log.events, labels=LABELS))
        # Past every model (an event is not a command): PostgreSQL's jsonb refuses \u0000 (in
        # a field that is not sealed: personal text reaches the database encrypted).
        log.assigned("wang\x00fang")
        with pytest.raises(ApplicationError) as refused:
            await store.append(AppendInput(events=log.events, labels=LABELS))
        failure = refused.value
        assert (failure.type, failure.non_retryable) == (STORE_REFUSED, True), failure
        assert "the event store refused the data" in failure.message
        assert "nothing was written" in failure.message
        assert_one_line(failure)
        assert await logged(engine, log.request_id) == 1

        log.events.pop()
        log.sequence -= 1
        log.assigned("wang.fang")
        appended = await store.append(AppendInput(events=log.events, labels=LABELS))
        assert (appended.appended, appended.duplicates) == (1, 1)
    finally:
        await engine.dispose()


async def test_an_outage_fails_staffing_and_notify_retryably_in_one_line(
        fast_catalog: Catalog, pg_store_url: str) -> None:
    # Nothing listens on this port: every connection is refused.
    down = make_url(pg_store_url).set(port=free_port()).render_as_string(hide_password=False)
    engine = create_engine(down)
    department = fast_catalog.departments["finance"]
    staffing = StaffingActivities(engine, fast_catalog.departments)
    notify = NotifyActivities(engine, [])
    try:
        with pytest.raises(ApplicationError) as staffing_failed:
            await staffing.choose(StaffingInput(
                needs=[StaffingNeed(purpose=Purpose.START_STEP, department_id=department.id,
                                    role=min(department.members[0].roles))],
                departments={department.id: department}))
        with pytest.raises(ApplicationError) as notify_failed:
            await notify.notify(Notification(key="k-1", request_id="r-1", recipient_id="p",
                                             subject="s", body="b"))
    finally:
        await engine.dispose()
    for failure in (staffing_failed.value, notify_failed.value):
        assert (failure.type, failure.non_retryable) == ("StoreUnavailable", False), failure
        assert "is unavailable" in failure.message
        assert_one_line(failure)


def test_a_failed_activity_attempt_is_logged_on_one_line(
        caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger(f"{ACTIVITY_LOGGER}.one-line-test")
    logger.addFilter(OneLineActivityFailures())
    with caplog.at_level(logging.WARNING, logger=logger.name):
        try:
            raise ApplicationError("event store x is unavailable", type="StoreUnavailable")
        except ApplicationError:
            logger.warning("Completing activity as failed", exc_info=True)
        try:
            raise KeyError("a bug")
        except KeyError:
            logger.warning("Completing activity as failed", exc_info=True)
    stated, bug = caplog.records
    assert stated.getMessage() == ("Completing activity as failed: StoreUnavailable: "
                                   "event store x is unavailable")
    assert stated.exc_info is None
    assert bug.exc_info is not None, "an unexpected error keeps its traceback"


async def test_a_handoff_to_an_unknown_department_is_a_clean_refusal(
        caseflow: Caseflow, caplog: pytest.LogCaptureFixture) -> None:
    submitted = await calls.submit_request(caseflow.client, patient(caseflow.catalog),
                                           billing_dispute(caseflow.catalog),
                                           task_queue=caseflow.task_queue)
    triage = submitted.view.steps[0]
    with (caplog.at_level(logging.WARNING, logger=ACTIVITY_LOGGER),
          pytest.raises(calls.ActionRefused) as refused):
        await calls.act(caseflow.client, submitted.request_id, "hand_off", cmd.HandOff(
            actor=Actor(id=triage.owner_id), step_key=triage.step_key,
            to_department_id="marketing", reason="转交市场部"))
    assert str(refused.value).startswith("unknown department 'marketing' (known: "), refused
    assert "Activity task failed" not in str(refused.value)
    failures = [r for r in caplog.records if r.name == ACTIVITY_LOGGER]
    assert failures, "the failed lookup is logged"
    assert all(r.exc_info is None and "UnknownDepartment" in r.getMessage() for r in failures)
