"""Erasure on the append-only log, with real requests on the real dev server and PostgreSQL:
the raw event rows hold no personal field in clear; an authorised read opens them; erasing the
customer (by a data protection officer only) leaves every row and sequence as it was while the
log, the projections, a rebuild and the timeline read the fields as erased, with counts and
durations unchanged and another customer untouched; the erasure is audited, a second one
changes nothing, and the request goes on. Retention lists first, then erases."""

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import commands as cmd
from domain.actors import Actor
from domain.catalog import Catalog
from domain.erasure import DATA_PROTECTION_ROLE
from domain.org import Member
from domain.request import workflow_id_for
from domain.state import RequestStatus, rebuild
from eventstore.erasure import (
    ErasureRefused,
    apply_retention,
    due_for_retention,
    erase_customer,
)
from eventstore.log import stored_events
from eventstore.personal import ERASED, PersonalData
from eventstore.rebuild import rebuild_projections
from eventstore.timeline import format_timeline, request_timeline
from operations.erasure_notices import tell_live_requests
from schema.tables import erasures, events, requests
from stack.paths import REPO_ROOT
from tests.integration.conftest import Caseflow
from tests.integration.log_rebuild import assert_logs_rebuild_states
from tests.integration.requests import billing_dispute, patient
from tests.paths import FAST_CONFIG
from workflows import client as calls
from workflows.request import CustomerRequestWorkflow

OFFICER = "lin.dpo"


def with_officer(catalog: Catalog) -> Catalog:
    legal = catalog.departments["legal"]
    officer = Member(id=OFFICER, name="林数据", roles=frozenset({DATA_PROTECTION_ROLE}))
    return catalog.model_copy(update={"departments": {
        **catalog.departments, "legal": legal.model_copy(
            update={"members": (*legal.members, officer)})}})


async def submit(flow: Caseflow, catalog: Catalog, texts: dict[str, str]) -> str:
    submission = billing_dispute(catalog, customer_id=texts["id"])
    submission = submission.model_copy(update={
        "customer": submission.customer.model_copy(update={"name": texts["name"]}),
        "subject": texts["subject"], "description": texts["description"]})
    submitted = await calls.submit_request(flow.client, catalog, submission,
                                             task_queue=flow.task_queue)
    await calls.act(flow.client, submitted.request_id, "add_note",
                      cmd.AddNote(actor=Actor(id=submitted.view.owner_id), text=texts["note"]))
    return submitted.request_id


def customer(tag: str) -> dict[str, str]:
    mark = uuid.uuid4().hex[:6]
    return {"id": f"CUST-{tag}-{mark}", "name": f"宁波{tag}海运有限公司{mark}",
            "subject": f"提单{mark}的费用有误", "description": f"联系人王芳{mark}，微信wf{mark}",
            "note": f"已与王芳{mark}通话"}


async def raw_rows(engine: AsyncEngine, request_id: str) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(events).where(events.c.request_id == request_id)
                                        .order_by(events.c.sequence))).all())


def clear_in(rows: list[Any], texts: dict[str, str]) -> list[str]:
    raw = json.dumps([row.payload for row in rows], ensure_ascii=False)
    return [what for what, text in texts.items() if what != "id" and text in raw]


async def opened(engine: AsyncEngine, rows: list[Any]) -> str:
    async with engine.connect() as conn:
        personal = PersonalData(conn)
        return json.dumps([(await personal.event_of(row)).payload.model_dump(mode="json")
                           for row in rows], ensure_ascii=False)


async def projection(engine: AsyncEngine, request_id: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        return dict((await conn.execute(select(requests).where(
            requests.c.request_id == request_id))).one()._mapping)


async def test_erasing_a_customer_keeps_the_log_and_forgets_the_person(
        caseflow: Caseflow) -> None:
    catalog = patient(caseflow.catalog)
    erased, kept = customer("甲"), customer("乙")
    request_id = await submit(caseflow, catalog, erased)
    other_id = await submit(caseflow, catalog, kept)
    engine = caseflow.engine

    rows = await raw_rows(engine, request_id)
    assert not clear_in(rows, erased), "personal text in the raw event rows"
    assert erased["name"] in await opened(engine, rows)  # an authorised read
    before = await projection(engine, request_id)
    assert (before["customer_name"], before["subject"]) == (erased["name"], erased["subject"])

    with pytest.raises(ErasureRefused, match="only a person with the role 'data_protection'"):
        await erase_customer(engine, with_officer(catalog), erased["id"],
                             by=before["owner_id"])
    done = await erase_customer(engine, with_officer(catalog), erased["id"], by=OFFICER)
    assert (done.done, done.requests) == (True, 1)

    after_rows = await raw_rows(engine, request_id)
    assert [(r.id, r.sequence, r.payload) for r in after_rows] == \
        [(r.id, r.sequence, r.payload) for r in rows], "the log is untouched"
    readable = await opened(engine, after_rows)
    assert not [t for w, t in erased.items() if w != "id" and t in readable]
    assert ERASED in readable
    assert kept["name"] in await opened(engine, await raw_rows(engine, other_id))

    def unchanged(row: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in row.items()
                if k not in ("customer_name", "subject", "updated_at")}

    for view in (await projection(engine, request_id),):
        assert (view["customer_name"], view["subject"]) == (ERASED, ERASED)
        assert unchanged(view) == unchanged(before)
    await rebuild_projections(engine)
    rebuilt = await projection(engine, request_id)
    assert (rebuilt["customer_name"], rebuilt["subject"]) == (ERASED, ERASED)
    assert unchanged(rebuilt) == unchanged(before)
    assert (await projection(engine, other_id))["customer_name"] == kept["name"]
    timeline = await request_timeline(engine, request_id)
    assert (timeline.request.customer_name, timeline.request.subject) == (ERASED, ERASED)

    again = await erase_customer(engine, with_officer(catalog), erased["id"], by=OFFICER)
    assert not again.done
    async with engine.connect() as conn:
        audit = (await conn.execute(select(erasures).where(
            erasures.c.customer_id == erased["id"]))).all()
    assert [(a.erased_by, a.basis, a.requests) for a in audit] == [(OFFICER, "request", 1)]

    # The request goes on; what is written about the erased customer now is not kept either.
    owner = Actor(id=before["owner_id"] or "")
    await calls.act(caseflow.client, request_id, "add_note",
                      cmd.AddNote(actor=owner, text=erased["note"]))
    latest = await raw_rows(engine, request_id)
    assert [r.sequence for r in latest] == list(range(1, len(latest) + 1))
    assert len(latest) == len(rows) + 1
    assert not clear_in(latest, erased)

    # The customer comes back: a new request, under a new key; the old one stays erased.
    returning = {**erased, "subject": f"再次咨询{uuid.uuid4().hex[:6]}"}
    again_id = await submit(caseflow, catalog, returning)
    assert not clear_in(await raw_rows(engine, again_id), returning)
    assert returning["subject"] in await opened(engine, await raw_rows(engine, again_id))
    assert (await projection(engine, again_id))["customer_name"] == erased["name"]
    assert erased["name"] not in await opened(engine, await raw_rows(engine, request_id))


async def test_retention_lists_first_then_erases_customers_whose_requests_all_ended(
        caseflow: Caseflow) -> None:
    catalog = patient(caseflow.catalog)
    ended, still_open = customer("丙"), customer("丁")
    ended_id = await submit(caseflow, catalog, ended)
    await submit(caseflow, catalog, still_open)
    owner = (await projection(caseflow.engine, ended_id))["owner_id"]
    await calls.act(caseflow.client, ended_id, "cancel",
                      cmd.Cancel(actor=Actor(id=owner), reason="客户撤回"))
    later = datetime.now(UTC) + timedelta(days=31)

    assert await due_for_retention(caseflow.engine, days=30) == []
    due = await due_for_retention(caseflow.engine, days=30, now=later)
    assert due == [(ended["id"], 1)]
    assert ended["name"] in (await projection(caseflow.engine, ended_id))["customer_name"]

    with pytest.raises(ErasureRefused):
        await apply_retention(caseflow.engine, catalog, days=30, by=OFFICER, now=later)
    done = await apply_retention(caseflow.engine, with_officer(catalog), days=30, by=OFFICER,
                                 now=later)
    assert [(e.customer_id, e.done) for e in done] == [(ended["id"], True)]
    assert (await projection(caseflow.engine, ended_id))["customer_name"] == ERASED
    assert await due_for_retention(caseflow.engine, days=30, now=later) == []
    async with caseflow.engine.connect() as conn:
        basis = await conn.scalar(select(func.max(erasures.c.basis)).where(
            erasures.c.customer_id == ended["id"]))
    assert basis == "retention"


async def test_an_ended_requests_log_records_its_erasure_once(caseflow: Caseflow) -> None:
    """The store appends ``customer_erased`` at the next sequence of an ended request (its
    workflow writes nothing more), holding no erased datum; the timeline shows it; a second
    erasure writes nothing; the log still rebuilds the workflow's state."""
    catalog = patient(caseflow.catalog)
    texts = customer("戊")
    request_id = await submit(caseflow, catalog, texts)
    owner = (await projection(caseflow.engine, request_id))["owner_id"]
    await calls.act(caseflow.client, request_id, "cancel",
                    cmd.Cancel(actor=Actor(id=owner), reason="客户撤回"))
    before = await raw_rows(caseflow.engine, request_id)

    await erase_customer(caseflow.engine, with_officer(catalog), texts["id"], by=OFFICER)
    await erase_customer(caseflow.engine, with_officer(catalog), texts["id"], by=OFFICER)

    after = await raw_rows(caseflow.engine, request_id)
    assert [r.sequence for r in after] == list(range(1, len(before) + 2))
    audit = after[-1]
    assert (audit.event_type, audit.actor_id, audit.actor_role) == (
        "customer_erased", OFFICER, DATA_PROTECTION_ROLE)
    assert audit.payload == {"customer_id": texts["id"], "basis": "request"}
    assert not clear_in(after, texts)
    assert (await projection(caseflow.engine, request_id))["last_sequence"] == audit.sequence
    timeline = await request_timeline(caseflow.engine, request_id)
    assert [(e.sequence, e.erased_by, e.basis) for e in timeline.erasures] == [
        (audit.sequence, OFFICER, "request")]
    assert "个人信息删除" in format_timeline(timeline)
    await rebuild_projections(caseflow.engine)
    assert (await projection(caseflow.engine, request_id))["last_sequence"] == audit.sequence
    state = await caseflow.client.get_workflow_handle(workflow_id_for(request_id)).query(
        CustomerRequestWorkflow.state)
    log = await stored_events(caseflow.engine, request_id, 1, audit.sequence)
    assert rebuild(log).status == state.status == RequestStatus.CANCELLED


async def test_a_live_requests_workflow_appends_its_erasure_itself_once(
        caseflow: Caseflow) -> None:
    """Told of the erasure, the workflow appends ``customer_erased`` at its next sequence (the
    store wrote none for a live request), once however often it is told; the request goes on
    and its log still rebuilds its state."""
    catalog = patient(caseflow.catalog)
    texts = customer("己")
    request_id = await submit(caseflow, catalog, texts)
    before = await raw_rows(caseflow.engine, request_id)

    done = await erase_customer(caseflow.engine, with_officer(catalog), texts["id"], by=OFFICER)
    assert done.live == (request_id,)
    assert len(await raw_rows(caseflow.engine, request_id)) == len(before)
    assert await tell_live_requests(caseflow.client, caseflow.engine, done) == []
    assert await tell_live_requests(caseflow.client, caseflow.engine, done) == []
    # The note takes the workflow's lock after both signals' handlers (the lock is FIFO).
    owner = (await projection(caseflow.engine, request_id))["owner_id"]
    view = await calls.act(caseflow.client, request_id, "add_note",
                           cmd.AddNote(actor=Actor(id=owner), text="删除后的备注"))
    assert view.parked is None
    latest = await raw_rows(caseflow.engine, request_id)
    assert [r.event_type for r in latest[len(before):]] == ["customer_erased", "note_added"]
    audit = latest[len(before)]
    assert (audit.sequence, audit.actor_id) == (len(before) + 1, OFFICER)
    assert audit.payload == {"customer_id": texts["id"], "basis": "request"}
    state = await caseflow.client.get_workflow_handle(workflow_id_for(request_id)).query(
        CustomerRequestWorkflow.state)
    assert state.sequence == len(latest)
    timeline = await request_timeline(caseflow.engine, request_id)
    assert [e.sequence for e in timeline.erasures] == [audit.sequence]
    assert await assert_logs_rebuild_states(caseflow.client, caseflow.engine,
                                            caseflow.task_queue) >= 1


async def test_a_request_that_ended_before_it_was_told_gets_the_audit_once(
        caseflow: Caseflow) -> None:
    """Live when erased, ended before the signal: the signal finds no running workflow, so the
    store appends the audit to the ended log, once."""
    catalog = patient(caseflow.catalog)
    texts = customer("庚")
    request_id = await submit(caseflow, catalog, texts)
    done = await erase_customer(caseflow.engine, with_officer(catalog), texts["id"], by=OFFICER)
    assert done.live == (request_id,)
    owner = (await projection(caseflow.engine, request_id))["owner_id"]
    await calls.act(caseflow.client, request_id, "cancel",
                    cmd.Cancel(actor=Actor(id=owner), reason="客户撤回"))
    handle = caseflow.client.get_workflow_handle(workflow_id_for(request_id))
    await handle.result()

    assert await tell_live_requests(caseflow.client, caseflow.engine, done) == []
    assert await tell_live_requests(caseflow.client, caseflow.engine, done) == []
    rows = await raw_rows(caseflow.engine, request_id)
    assert [r.event_type for r in rows].count("customer_erased") == 1
    assert [r.sequence for r in rows] == list(range(1, len(rows) + 1))


async def test_erasing_again_tells_the_live_requests_an_interrupted_erasure_did_not(
        caseflow: Caseflow) -> None:
    """The first erasure's process stopped before it told the live request: erasing again
    changes no data but names that request, whose workflow then appends the audit once; once
    recorded, a third erasure has no one left to tell."""
    catalog = with_officer(patient(caseflow.catalog))
    texts = customer("辛")
    request_id = await submit(caseflow, catalog, texts)
    first = await erase_customer(caseflow.engine, catalog, texts["id"], by=OFFICER)
    assert (first.done, first.live) == (True, (request_id,))  # ... and it is never told

    again = await erase_customer(caseflow.engine, catalog, texts["id"], by=OFFICER)
    assert (again.done, again.live) == (False, (request_id,))
    assert again.notice is not None
    assert await tell_live_requests(caseflow.client, caseflow.engine, again) == []
    owner = (await projection(caseflow.engine, request_id))["owner_id"]
    await calls.act(caseflow.client, request_id, "add_note",
                    cmd.AddNote(actor=Actor(id=owner), text="补记删除"))  # after the signal
    rows = await raw_rows(caseflow.engine, request_id)
    assert [r.event_type for r in rows].count("customer_erased") == 1
    audit = next(r for r in rows if r.event_type == "customer_erased")
    assert audit.actor_id == OFFICER

    third = await erase_customer(caseflow.engine, catalog, texts["id"], by=OFFICER)
    assert (third.done, third.live, third.notice) == (False, (), None)


def test_the_command_refuses_anyone_but_a_data_protection_officer(pg_store_url: str) -> None:
    env = {**os.environ, "CASEFLOW_DATABASE_URL": pg_store_url,
           "CASEFLOW_CONFIG_DIR": str(FAST_CONFIG)}
    env.pop("CASEFLOW_RETENTION_DAYS", None)
    for args, message in [
        (["customer", "CUST-0086", "--by", "zhou.min"],
         "operations.erasure: only a person with the role 'data_protection' may erase a "
         "customer; 'zhou.min' has not"),
        (["retention", "--by", "zhou.min"],
         "operations.erasure: pass --days or set CASEFLOW_RETENTION_DAYS to a number of days "
         "(it is '')"),
    ]:
        finished = subprocess.run([sys.executable, "-m", "operations.erasure", *args],
                                  cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                                  timeout=60)
        assert (finished.returncode, finished.stderr.strip()) == (2, message)
