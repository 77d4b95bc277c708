"""The mail gateway's door and the per-caller rate limit."""

import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from api.rate_limit import RateLimiter
from domain.catalog import Catalog
from tests.integration.api.conftest import Api, api_on
from tests.integration.api.test_streams import stream
from tests.integration.requests import patient

pytestmark = pytest.mark.integration


def _mail(**fields: object) -> dict[str, object]:
    return {"from_address": "li.na@xinghe-trade.cn", "from_name": "李娜",
            "subject": "发票有误", "message_id": f"<{uuid.uuid4().hex}@mail.xinghe-trade.cn>",
            "body": "十月发票金额不对。", **fields}


async def test_a_new_mail_is_a_request_and_a_reply_resumes_it(api: Api) -> None:
    gateway = api.bearer(api.keys.mail)
    mail = _mail()
    created = await api.http.post("/api/v1/channels/email/inbound", headers=gateway, json=mail)
    assert created.status_code == 200, created.text
    assert created.json()["outcome"] == "request_created"
    rid = created.json()["request_id"]
    again = await api.http.post("/api/v1/channels/email/inbound", headers=gateway, json=mail)
    assert again.json() == created.json(), "a redelivered mail made a second request"
    detail = (await api.http.get(f"/api/v1/requests/{rid}", headers=api.staff("zhou.min"))
              ).json()
    assert detail["timeline"]["request"]["channel"] == "email"
    assert detail["timeline"]["request"]["priority"] == "P3"
    owner = api.staff(detail["live"]["owner_id"])
    for action, body in (("claim", {}), ("ask_customer", {"question": "请提供发票号"})):
        response = await api.http.post(f"/api/v1/requests/{rid}/{action}", headers=owner,
                                       json=body)
        assert response.status_code == 200, response.text
    async with stream(api, f"/api/v1/requests/{rid}/events", owner) as events:
        await events.until("waiting_on_customer")
        reply = await api.http.post("/api/v1/channels/email/inbound", headers=gateway,
                                    json=_mail(subject=f"回复：[caseflow {rid}] 发票有误",
                                               body="发票号 FP-20261001"))
        assert reply.status_code == 202, reply.text
        assert reply.json() == {"outcome": "reply_relayed", "request_id": rid}
        replied = (await events.until("customer_replied"))[-1]
    assert replied["payload"]["message"] == "发票号 FP-20261001"
    assert replied["actor_kind"] == "customer"
    status = (await api.http.get(f"/api/v1/requests/{rid}", headers=owner)).json()
    assert status["live"]["status"] == "in_progress"
    by_header = await api.http.post("/api/v1/channels/email/inbound", headers=gateway, json=_mail(
        subject="Re: 发票", in_reply_to=f"<{rid}@caseflow.xinghe.cn>", body="补充一句"))
    assert by_header.json()["outcome"] == "reply_relayed"


async def test_only_the_mail_gateway_delivers_mail_and_closed_requests_start_anew(
        api: Api) -> None:
    for headers in (api.staff("wang.fang"), api.bearer(api.keys.phone)):
        refused = await api.http.post("/api/v1/channels/email/inbound", headers=headers,
                                      json=_mail())
        assert refused.status_code == 403
    view = await api.submit()
    rid = view["request_id"]
    cancelled = await api.http.post(f"/api/v1/requests/{rid}/cancel",
                                    headers=api.staff(view["owner_id"]), json={"reason": "重复"})
    assert cancelled.status_code == 200
    late = await api.http.post("/api/v1/channels/email/inbound", headers=api.bearer(
        api.keys.mail), json=_mail(subject=f"Re: [caseflow {rid}]"))
    assert late.json()["outcome"] == "request_created"
    assert late.json()["request_id"] != rid
    bad = await api.http.post("/api/v1/channels/email/inbound",
                              headers=api.bearer(api.keys.mail),
                              json=_mail(from_address="not an address"))
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body.from_address"


async def test_a_caller_over_its_rate_gets_429_and_others_do_not(
        temporal_env: WorkflowEnvironment, pg_store_url: str, fast_catalog: Catalog,
        tmp_path: Path) -> None:
    async with api_on(temporal_env, pg_store_url, patient(fast_catalog), tmp_path,
                      rate_per_minute=3) as api:
        # 7 calls span at most two one-minute windows of 3: at least one is refused.
        responses = [await api.http.get("/api/v1/requests", headers=api.staff("zhou.min"))
                     for _ in range(7)]
        assert {r.status_code for r in responses} == {200, 429}
        limited = next(r for r in responses if r.status_code == 429)
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.headers["content-type"] == "application/problem+json"
        other = await api.http.get("/api/v1/requests", headers=api.staff("zhang.wei"))
        assert other.status_code == 200


def test_the_rate_window_resets_each_minute() -> None:
    now = [120.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert [limiter.retry_after("a") for _ in range(3)] == [None, None, 61]
    assert limiter.retry_after("b") is None
    now[0] = 179.5
    assert limiter.retry_after("a") == 1
    now[0] = 180.0
    assert limiter.retry_after("a") is None
