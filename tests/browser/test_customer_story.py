"""The customer's whole story, for managers: opened from the request page, every request of
the customer with its tier, departments and SLA outcome, and the open, breached and reopened
counts as the log has them; an agent gets no link and the page refuses them."""

import uuid

from playwright.async_api import expect

from tests.browser.conftest import Site, shoot
from tests.browser.test_customer import resolved_request
from tests.browser.test_manager import handed_off_request


async def test_a_manager_reads_the_customers_whole_story(site: Site) -> None:
    customer_id = f"CUST-{uuid.uuid4().hex[:8]}"
    resolved, _ = await resolved_request(site, customer_id)
    handed_off = await handed_off_request(site, customer_id)

    page = await site.person("zhou.min")
    await page.goto(f"/console/requests/{resolved}")
    await page.locator("[data-customer-story]").click()
    await expect(page.locator("h1")).to_contain_text(customer_id)
    for name, shown in (("requests", "2"), ("open", "1"), ("breached", "0"), ("reopens", "0")):
        await expect(page.locator(f'[data-story="{name}"]')).to_have_text(shown)
    await expect(page.locator("[data-story-request]")).to_have_count(2)
    # Newest first: the handed-off request went through finance, and is still open.
    first = page.locator("[data-story-request]").first
    assert await first.get_attribute("data-story-request") == handed_off
    await expect(first).to_contain_text("财务部")
    await expect(page.locator(f'[data-story-request="{resolved}"]')).to_contain_text("已解决")
    await expect(page.locator("[data-tier]")).to_have_count(1)  # one tier, never changed
    await shoot(page, "customer-story")

    phone = await site.person("zhou.min", locale="en", width=390)
    await phone.goto(f"/console/customers/{customer_id}")
    await expect(phone.locator("#h-summary")).to_have_text("Their story")
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at 390 px ({width} px wide)"

    agent = await site.person("lin.xiaoyan")
    await agent.goto(f"/console/requests/{resolved}")
    await expect(agent.locator("#h-customer")).to_be_visible()
    await expect(agent.locator("[data-customer-story]")).to_have_count(0)
    response = await agent.goto(f"/console/customers/{customer_id}")
    assert response is not None
    assert response.status == 403
    missing = await page.goto("/console/customers/CUST-none")
    assert missing is not None
    assert missing.status == 404
