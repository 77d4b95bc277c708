"""The customer's signed-link page: the public status and messages, never an internal note or
an owner; confirming the resolution with a score closes the request. A link for another
request, or a forged one, opens nothing."""

import asyncio
import uuid
from typing import Any

from playwright.async_api import expect

from tests.browser.conftest import Site, shoot
from tests.integration.requests import billing_dispute

SECRET_NOTE = "内部备注：客户信用额度偏低，勿外传"


async def resolved_request(site: Site, customer_id: str = "CUST-0086") -> tuple[str, str]:
    """A billing dispute worked to resolution through the HTTP API, with an internal note."""
    body = billing_dispute(site.services.catalog, customer_id=customer_id).model_dump(
        mode="json", exclude={"idempotency_key", "submitted_by"})
    response = await site.http.post("/api/v1/requests", json=body, headers={
        **site.staff("wang.fang"), "Idempotency-Key": f"K-{uuid.uuid4().hex[:12]}"})
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    request_id, owner = view["request_id"], view["owner_id"]
    await site.act(request_id, "claim", owner, {})
    await site.act(request_id, "add_note", owner, {"text": SECRET_NOTE})
    for _ in range(4):
        active = [s for s in view["steps"] if s["status"] == "active"]
        if not active:
            break
        for step in active:
            view = await site.act(request_id, "complete_step", step["owner_id"],
                                  {"step_key": step["step_key"]})
    view = await site.act(request_id, "resolve", owner, {"summary": "已退还两个席位的费用"})
    assert view["status"] == "resolved"
    return request_id, owner


async def test_the_customer_confirms_with_a_score_and_sees_nothing_internal(
        site: Site) -> None:
    request_id, owner_id = await resolved_request(site)
    staff = await site.person(owner_id)
    await staff.goto(f"/console/requests/{request_id}")
    await expect(staff.locator(".entry-note")).to_contain_text(SECRET_NOTE)
    await staff.get_by_role("button", name="客户链接").click()
    url = await staff.locator("#customer-link").get_attribute("href")
    assert url is not None
    assert "link=cfl_" in url

    customer = await site.person()  # a browser of its own: no staff session
    await customer.goto(url)
    await expect(customer.locator("[data-status]")).to_have_text("已解决，请确认")
    text = await customer.locator("main").inner_text()
    assert "已退还两个席位的费用" in text
    assert "客户反映十月账单" in text
    html = await customer.content()
    for internal in (SECRET_NOTE, owner_id, "wang.fang", "内部备注"):
        assert internal not in html, f"the customer's page shows {internal!r}"
    await shoot(customer, "customer")
    await customer.get_by_label("4", exact=True).check()
    await customer.fill("#comment", "处理及时")
    await customer.get_by_role("button", name="发送").click()
    await expect(customer.locator("main")).to_contain_text("感谢您的评价（4/5）")
    for _ in range(50):
        view = await site.services.gateway.status(request_id)
        if view.status.value == "closed":
            break
        await asyncio.sleep(0.1)
    assert (view.status.value, view.satisfaction) == ("closed", 4)
    assert SECRET_NOTE not in await customer.content()


async def test_a_forged_or_foreign_link_opens_nothing(site: Site) -> None:
    request_id, _ = await resolved_request(site)
    token, _ = site.services.links.issue("00000000-0000-5000-8000-000000000000", "CUST-0086")
    customer = await site.person()
    for link in (token, "cfl_forged", ""):
        response = await customer.goto(f"/console/c/{request_id}?link={link}")
        assert response is not None
        assert response.status == 403
        await expect(customer.locator("h1")).to_have_text("此链接无法使用")
    posted = await customer.request.post(f"/console/c/{request_id}/feedback", form={
        "link": token, "csrf": "x", "accepted": "true", "satisfaction": "5"})
    assert posted.status == 403
    assert (await site.services.gateway.status(request_id)).status.value == "resolved"
