"""Work queues from the projections: each queue and filter returns what the projections
hold for the caller, nearest deadline first, and cursor pagination walks every item once."""

from typing import Any

import pytest

from tests.integration.api.conftest import Api

pytestmark = pytest.mark.integration


async def _ids(api: Api, person: str, **params: Any) -> list[str]:
    response = await api.http.get("/api/v1/requests", headers=api.staff(person), params=params)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    deadlines = [item["nearest_deadline"] for item in items]
    assert deadlines == sorted(deadlines), "not sorted by nearest deadline"
    return [item["request_id"] for item in items]


async def test_queues_and_filters_return_what_the_projections_hold(api: Api) -> None:
    urgent = await api.submit(priority="P1", subject="系统无法登录")
    waiting = await api.submit(priority="P3", subject="发票抬头修改")
    refund = await api.submit(priority="P2", subject="申请退款", channel="web",
                              customer={"id": "CUST-0100", "name": "杭州云帆", "tier": "strategic"})
    everyone = {urgent["request_id"], waiting["request_id"], refund["request_id"]}
    waiting_owner = waiting["owner_id"]
    await api.http.post(f"/api/v1/requests/{waiting['request_id']}/claim",
                        headers=api.staff(waiting_owner), json={})
    asked = await api.http.post(f"/api/v1/requests/{waiting['request_id']}/ask_customer",
                                headers=api.staff(waiting_owner), json={"question": "新抬头？"})
    assert asked.status_code == 200, asked.text
    views = [urgent, waiting, refund]

    for person in ("zhang.wei", "wang.fang"):
        owned = {v["request_id"] for v in views if v["owner_id"] == person}
        assert set(await _ids(api, person, queue="owned")) == owned, person
        mine = {v["request_id"] for v in views
                if any(s["owner_id"] == person for s in v["steps"])}
        assert set(await _ids(api, person, queue="mine")) == mine, person
        others = {v["request_id"] for v in views
                  if any(s["owner_id"] != person and s["role"] == "agent" for s in v["steps"])}
        assert set(await _ids(api, person, queue="role")) == others, person
    supervisor = "zhou.min"
    assert set(await _ids(api, supervisor, queue="department")) == everyone
    assert await _ids(api, "han.mei", queue="department") == []
    assert await _ids(api, supervisor, queue="waiting") == [waiting["request_id"]]
    assert await _ids(api, supervisor, queue="breached") == []
    # First responses are due in an hour (24x7 calendar); the waiting one was answered.
    assert set(await _ids(api, supervisor, queue="breaching", within_hours=2)) == {
        urgent["request_id"], refund["request_id"]}
    assert await _ids(api, supervisor, queue="breaching", within_hours=0.5) == []

    department = {"queue": "department"}
    assert await _ids(api, supervisor, **department, priority="P1") == [urgent["request_id"]]
    assert await _ids(api, supervisor, **department, q="退款") == [refund["request_id"]]
    assert await _ids(api, supervisor, **department, channel="web") == [refund["request_id"]]
    assert await _ids(api, supervisor, **department, tier="strategic") == [refund["request_id"]]
    assert await _ids(api, supervisor, **department, customer_id="CUST-0100") == [
        refund["request_id"]]
    assert await _ids(api, supervisor, **department, status="waiting_on_customer") == [
        waiting["request_id"]]
    assert await _ids(api, supervisor, **department, q="100%_") == []


async def test_cursor_pagination_walks_every_item_once(api: Api) -> None:
    submitted = {str((await api.submit())["request_id"]) for _ in range(5)}
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"queue": "department", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await api.http.get("/api/v1/requests", headers=api.staff("zhou.min"),
                                   params=params)).json()
        seen.extend(item["request_id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(submitted)
    assert seen == await _ids(api, "zhou.min", queue="department")
    bad = await api.http.get("/api/v1/requests", headers=api.staff("zhou.min"),
                             params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.cursor"
    refused = await api.http.get("/api/v1/requests", headers=api.bearer(api.keys.phone))
    assert refused.status_code == 403
