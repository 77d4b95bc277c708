"""The issue's "done when": a newcomer works a request from submission to closure in the
console alone, as each step's owner in turn, with a colleague's browser following live."""

from playwright.async_api import Page, expect

from tests.browser.conftest import Site, shoot
from tests.browser.test_agent import LIVE_MS, submit_through_the_form


async def _complete_active_steps(site: Site, pages: dict[str, Page], request_id: str) -> None:
    view = await site.services.gateway.status(request_id)
    for step in [s for s in view.steps if s.status.value == "active"]:
        page = pages.get(step.owner_id) or await site.person(step.owner_id)
        pages[step.owner_id] = page
        await page.goto("/console/work?queue=mine")
        await page.locator(f'[data-request-row="{request_id}"] a').click()
        form = page.locator(
            f'details[data-action="complete_step"]:has(input[value="{step.step_key}"])')
        await form.locator("summary").click()
        await form.get_by_role("button", name="完成步骤").click()
        await expect(page.locator(f'[data-step="{step.step_key}"] [data-step-status]')
                     ).to_have_text("已完成")


async def test_from_submission_to_closure_in_the_console(site: Site) -> None:
    agent = await site.person("wang.fang")
    request_id = await submit_through_the_form(agent, "合同续约后仍按旧价开票")
    owner_id = (await agent.locator("[data-owner]").inner_text()).strip()
    pages = {"wang.fang": agent}
    owner = pages.get(owner_id) or await site.person(owner_id)
    pages[owner_id] = owner
    colleague = await site.person("zhou.min")
    await colleague.goto(f"/console/requests/{request_id}")

    await owner.goto(f"/console/requests/{request_id}")
    claim = owner.locator('details[data-action="claim"]').first
    await claim.locator("summary").click()
    await claim.get_by_role("button", name="认领").click()
    for _ in range(3):  # triage, then the two investigations, then the confirmation
        await _complete_active_steps(site, pages, request_id)
    await expect(colleague.locator("[data-step^='confirm'] [data-step-status]")).to_have_text(
        "已完成", timeout=LIVE_MS)

    await owner.goto(f"/console/requests/{request_id}")
    resolve = owner.locator('details[data-action="resolve"]')
    await resolve.locator("summary").click()
    await resolve.locator("textarea").fill("已按新合同价格重开发票")
    await resolve.get_by_role("button", name="解决").click()
    await expect(owner.locator("[data-status]")).to_have_text("已解决")
    await expect(colleague.locator("[data-status]")).to_have_text("已解决", timeout=LIVE_MS)

    await owner.get_by_role("button", name="客户链接").click()
    link = await owner.locator("#customer-link").get_attribute("href")
    assert link is not None
    customer = await site.person()
    await customer.goto(link)
    await customer.get_by_role("button", name="发送").click()
    await expect(customer.locator("main")).to_contain_text("感谢您的评价（5/5）")
    await expect(colleague.locator("[data-status]")).to_have_text("已关闭", timeout=LIVE_MS)
    await shoot(colleague, "closed")
