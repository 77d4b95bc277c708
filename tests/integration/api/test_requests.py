"""Requests over HTTP: idempotent submission, every action with its typed body and the actor
taken from the caller, domain refusals mapped to 403/404/409/422, and reading a request back
(live state, timeline, conversation) as staff and as the customer."""

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from domain.commands import ACTIONS
from schema.tables import requests
from tests.integration.api.conftest import Api

pytestmark = pytest.mark.integration


async def _act(api: Api, request_id: str, action: str, headers: dict[str, str],
               body: dict[str, Any], *, status: int = 200) -> dict[str, Any]:
    response = await api.http.post(f"/api/v1/requests/{request_id}/{action}", headers=headers,
                                   json=body)
    assert response.status_code == status, f"{action}: {response.status_code} {response.text}"
    result: dict[str, Any] = response.json()
    return result


def _step(view: dict[str, Any], stage: str, department: str | None = None) -> dict[str, Any]:
    return next(s for s in view["steps"] if s["step_key"].startswith(f"{stage}.")
                and s["status"] != "completed"
                and (department is None or s["department_id"] == department))


async def test_submission_is_idempotent_by_key(api: Api) -> None:
    headers = {**api.staff("wang.fang"), "Idempotency-Key": "TK-20261202-0001"}
    body = api.submission_body()
    first = await api.http.post("/api/v1/requests", headers=headers, json=body)
    again = await api.http.post("/api/v1/requests", headers=headers, json=body)
    assert first.status_code == again.status_code == 200, again.text
    request_id = first.json()["request_id"]
    assert again.json()["request_id"] == request_id
    assert first.headers["location"] == f"/api/v1/requests/{request_id}"
    different = await api.http.post("/api/v1/requests", headers=headers,
                                    json={**body, "subject": "另一件事"})
    assert different.status_code == 422, different.text
    assert "already used" in different.json()["detail"]
    missing = await api.http.post("/api/v1/requests", headers=api.staff("wang.fang"), json=body)
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["field"] == "header.idempotency-key"
    await _act(api, request_id, "cancel", api.staff(first.json()["owner_id"]),
               {"reason": "客户撤回"})
    closed = await api.http.post("/api/v1/requests", headers=headers, json=body)
    assert closed.status_code == 200, closed.text
    assert closed.json()["request_id"] == request_id
    assert closed.json()["status"] == "cancelled"


async def test_concurrent_submissions_make_one_request(api: Api) -> None:
    headers = {**api.staff("wang.fang"), "Idempotency-Key": f"K-{uuid.uuid4().hex}"}
    body = api.submission_body()
    responses = await asyncio.gather(*(api.http.post("/api/v1/requests", headers=headers,
                                                     json=body) for _ in range(4)))
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 409}, statuses
    created = {r.json()["request_id"] for r in responses if r.status_code == 200}
    assert len(created) == 1
    for refused in (r for r in responses if r.status_code == 409):
        assert refused.headers["retry-after"]
    async with api.flow.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(requests)) == 1


async def test_every_action_over_http_and_the_request_read_back(api: Api) -> None:
    view = await api.submit(subject="发票金额错误")
    rid = str(view["request_id"])
    owner = api.staff(str(view["owner_id"]))
    link = (await api.http.post(f"/api/v1/requests/{rid}/customer-links", headers=owner,
                                json={})).json()["token"]
    customer = api.bearer(link)
    done: set[str] = set()

    async def act(action: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        done.add(action)
        return await _act(api, rid, action, headers, body)

    await act("claim", owner, {})
    await act("add_note", owner, {"text": "客户来电两次，语气焦急"})
    await act("change_priority", owner, {"priority": "P1", "reason": "战略客户"})
    assert (await act("ask_customer", owner, {"question": "请提供合同编号"}))[
        "status"] == "waiting_on_customer"
    assert (await act("record_customer_reply", customer, {"message": "合同编号 HT-2026-88"}))[
        "status"] == "in_progress"
    triage = _step(await act("add_note", owner, {"text": "已核实"}), "triage")
    await act("claim", api.staff(triage["owner_id"]), {"step_key": triage["step_key"]})
    view = await act("complete_step", api.staff(triage["owner_id"]),
                     {"step_key": triage["step_key"], "outcome": "转财务与技术"})
    finance, tech = _step(view, "investigate", "finance"), _step(view, "investigate",
                                                                 "technical_support")
    other = "guo.peng" if finance["owner_id"] == "lin.xiaoyan" else "lin.xiaoyan"
    view = await act("reassign", api.staff("zheng.li"), {
        "step_key": finance["step_key"], "to_person_id": other, "reason": "熟悉该客户"})
    view = await act("hand_off", api.staff(tech["owner_id"]), {
        "step_key": tech["step_key"], "to_department_id": "legal", "role": "specialist",
        "reason": "涉及合同条款"})
    for step in [s for s in view["steps"] if s["status"] != "completed"]:
        view = await act("complete_step", api.staff(step["owner_id"]),
                         {"step_key": step["step_key"]})
    confirm = _step(view, "confirm")
    await act("complete_step", api.staff(confirm["owner_id"]), {"step_key": confirm["step_key"]})
    assert (await act("resolve", owner, {"summary": "退还两个席位费用"}))["status"] == "resolved"
    await act("customer_feedback", customer, {"accepted": False, "satisfaction": 2,
                                              "comment": "只退了一半"})
    assert (await act("reopen", customer, {"reason": "只退了一半"}))["status"] == "in_progress"
    refused = await _act(api, rid, "acknowledge_escalation", owner,
                         {"clock_id": "resolution"}, status=422)
    done.add("acknowledge_escalation")
    assert "no escalation" in refused["detail"]
    assert (await act("cancel", owner, {"reason": "客户另行处理"}))["status"] == "cancelled"
    assert done == set(ACTIONS)

    detail = (await api.http.get(f"/api/v1/requests/{rid}", headers=owner)).json()
    assert detail["live"]["status"] == "cancelled"
    assert detail["timeline"]["request"]["priority"] == "P1"
    assert [h["to_department_id"] for h in detail["timeline"]["handoffs"]] == ["legal"]
    written = [(entry["kind"], entry["text"]) for entry in detail["conversation"]]
    assert written[:4] == [("description", "客户反映十月账单多收了两个席位的费用。"),
                           ("note", "客户来电两次，语气焦急"), ("question", "请提供合同编号"),
                           ("reply", "合同编号 HT-2026-88")]
    assert ("resolution", "退还两个席位费用") in written
    feedback = next(e for e in detail["conversation"] if e["kind"] == "feedback")
    assert (feedback["author_kind"], feedback["satisfaction"], feedback["accepted"]) == (
        "customer", 2, False)
    public = (await api.http.get(f"/api/v1/requests/{rid}", headers=customer)).json()
    assert "note" not in {entry["kind"] for entry in public["conversation"]}
    assert public["status"] == "cancelled"


async def test_refusals_map_to_statuses_and_change_nothing(api: Api) -> None:
    view = await api.submit()
    rid = str(view["request_id"])
    owner = api.staff(str(view["owner_id"]))
    await _act(api, rid, "claim", owner, {})
    before = await api.event_count()
    forbidden = await _act(api, rid, "resolve", api.staff("han.mei"), {"summary": "x"},
                           status=403)
    assert "may not" in forbidden["detail"]
    conflict = await _act(api, rid, "claim", owner, {}, status=409)
    assert "already claimed" in conflict["detail"]
    unknown_step = await _act(api, rid, "complete_step", owner, {"step_key": "nope.1"},
                              status=422)
    assert "has no step" in unknown_step["detail"]
    invalid = await _act(api, rid, "customer_feedback", owner,
                         {"accepted": True, "satisfaction": 9}, status=422)
    assert invalid["errors"][0]["field"] == "body.satisfaction"
    extra = await _act(api, rid, "add_note", owner, {"text": "x", "colour": "red"}, status=422)
    assert extra["errors"][0]["field"] == "body.colour"
    missing = await _act(api, str(uuid.uuid4()), "add_note", owner, {"text": "x"}, status=404)
    assert "unknown request" in missing["detail"]
    for problem in (forbidden, conflict, unknown_step, invalid, missing):
        assert "Activity task failed" not in problem["detail"]
    assert await api.event_count() == before
