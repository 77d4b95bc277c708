"""An agent's day in the console: submit through the web form (its validation in Chinese), see
the request in the queue with its SLA badges, claim and complete a step, a colleague's page
following live, and a refused action shown with its reason in Chinese."""

import re

from playwright.async_api import Page, expect

from tests.browser.conftest import Site, shoot

LIVE_MS = 2000  # the bound: another desk's change shows within 2 s
UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
    .filter(e => e.type !== 'hidden' && e.labels.length === 0 && !e.closest('[hidden]'))
    .map(e => e.name || e.id)"""


async def assert_every_field_labelled(page: Page) -> None:
    assert await page.evaluate(UNLABELLED) == [], "form fields without a label"


async def submit_through_the_form(page: Page, subject: str) -> str:
    await page.goto("/console/new")
    await page.fill("#f-customer_id", "CUST-0086")
    await page.fill("#f-customer_name", "上海星河贸易有限公司")
    await page.select_option("#f-tier", "key")
    await page.select_option("#f-priority", "P2")
    await page.fill("#f-subject", subject)
    await page.fill("#f-description", "十月账单多收了两个席位的费用")
    await page.get_by_role("button", name="提交").click()
    await page.wait_for_url(re.compile(r".*/console/requests/[0-9a-f-]+$"))
    return page.url.rsplit("/", 1)[1]


async def test_the_web_form_explains_its_problems_in_chinese(site: Site) -> None:
    page = await site.person("wang.fang")
    await page.goto("/console/new")
    await page.fill("#f-customer_name", "上海星河贸易有限公司")
    await page.fill("#f-subject", "   ")
    await page.get_by_role("button", name="提交").click()
    await expect(page.locator(".error")).to_have_text("请更正标出的字段。")
    assert await page.locator("#f-subject-p").inner_text() == "此项为必填项。"
    assert await page.locator("#f-customer_id-p").inner_text() == "此项为必填项。"
    assert await page.locator("#f-subject").get_attribute("aria-invalid") == "true"
    # what was typed is kept, nothing was submitted
    assert await page.locator("#f-customer_name").input_value() == "上海星河贸易有限公司"
    await page.fill("#f-subject", "长" * 201)
    await page.fill("#f-customer_id", "CUST-0086")
    await page.get_by_role("button", name="提交").click()
    assert await page.locator("#f-subject-p").inner_text() == "内容过长：最多 200 个字符。"
    await shoot(page, "new-request-invalid")
    await assert_every_field_labelled(page)


async def test_submit_claim_complete_with_a_colleague_watching_live(site: Site) -> None:
    agent = await site.person("wang.fang")
    request_id = await submit_through_the_form(agent, "十月发票金额与合同不符")
    owner_id = (await agent.locator("[data-owner]").inner_text()).strip()
    owner = agent if owner_id == "wang.fang" else await site.person(owner_id)

    # the owner's queue lists it with a badge per running clock
    await owner.goto("/console/work?queue=owned")
    row = owner.locator(f'[data-request-row="{request_id}"]')
    await expect(row).to_contain_text("十月发票金额与合同不符")
    await expect(row).to_contain_text("重点客户")
    await expect(row).to_contain_text("网页")
    await expect(row.locator('.badge[data-clock="first_response"]')).to_be_visible()
    await expect(row.locator('.badge[data-clock="resolution"]')).to_contain_text("小时")
    assert await owner.locator('[data-queue="owned"] .count').inner_text() == "1"
    await shoot(owner, "queue")

    # the supervisor watches the request page while the owner works it elsewhere
    supervisor = await site.person("zhou.min")
    await supervisor.goto(f"/console/requests/{request_id}")
    await expect(supervisor.locator("[data-status]")).to_have_text("待处理")

    await owner.goto(f"/console/requests/{request_id}")
    await owner.locator('details[data-action="claim"]').first.locator("summary").click()
    await owner.locator('details[data-action="claim"]').first.get_by_role(
        "button", name="认领").click()
    await expect(owner.locator("[data-status]")).to_have_text("处理中")
    await expect(supervisor.locator("[data-status]")).to_have_text("处理中", timeout=LIVE_MS)

    # the triage step's owner claims and completes it from the keyboard; the supervisor sees
    # the investigation start without reloading
    view = await site.services.gateway.status(request_id)
    triage = next(step for step in view.steps if step.step_key.startswith("triage"))
    worker = owner if triage.owner_id == owner_id else await site.person(triage.owner_id)
    await worker.goto(f"/console/requests/{request_id}")
    await worker.keyboard.press("c")
    claim = worker.locator(f'details[data-action="claim"]:has(input[value="{triage.step_key}"])')
    await claim.get_by_role("button", name="认领").click()
    await expect(worker.locator(f'[data-step="{triage.step_key}"] [data-step-status]')
                 ).to_contain_text("已认领")
    await worker.keyboard.press("d")
    complete = worker.locator('details[data-action="complete_step"]').first
    await complete.locator("textarea").fill("转财务与技术核实")
    await complete.get_by_role("button", name="完成步骤").click()
    await expect(worker.locator(f'[data-step="{triage.step_key}"] [data-step-status]')
                 ).to_have_text("已完成")
    await expect(supervisor.locator(f'[data-step="{triage.step_key}"] [data-step-status]')
                 ).to_have_text("已完成", timeout=LIVE_MS)
    await expect(supervisor.locator("[data-step^='investigate']")).to_have_count(
        2, timeout=LIVE_MS)
    await shoot(supervisor, "request")

    # a note from another desk (the HTTP API) appears on the owner's page live
    await site.act(request_id, "add_note", owner_id, {"text": "客户来电催办"})
    await expect(owner.locator(".entry-note")).to_contain_text("客户来电催办", timeout=LIVE_MS)


async def test_a_refused_action_shows_the_servers_reason_in_chinese(site: Site) -> None:
    agent = await site.person("wang.fang")
    request_id = await submit_through_the_form(agent, "发票抬头错误")
    supervisor = await site.person("zhou.min")  # customer service's
    await supervisor.goto(f"/console/requests/{request_id}")
    # What the page offers is what the server's rules allow now: not resolving with open steps.
    await expect(supervisor.locator('details[data-action="hand_off"]')).to_have_count(1)
    await expect(supervisor.locator('details[data-action="resolve"]')).to_have_count(0)
    hand_off = supervisor.locator('details[data-action="hand_off"]')
    await hand_off.locator("summary").click()
    await hand_off.locator('select[name="to_department_id"]').select_option("finance")
    await hand_off.locator('input[name="role"]').fill("agent")
    await hand_off.locator('textarea[name="reason"], input[name="reason"]').fill("需要财务核对")
    await hand_off.get_by_role("button", name="移交").click()
    refusal = supervisor.locator("#refusal")
    await expect(refusal).to_contain_text("财务部（finance）没有角色为 agent 的人")
    assert (await supervisor.locator("[data-status]").inner_text()) == "待处理"
    # what was typed is still in the form
    assert await supervisor.locator('details[data-action="hand_off"] input[name="role"]'
                               ).input_value() == "agent"
    await shoot(supervisor, "refused")
    await assert_every_field_labelled(supervisor)
    await supervisor.locator("body").click(position={"x": 5, "y": 300})
    await supervisor.keyboard.press("?")
    await expect(supervisor.locator("#cheatsheet")).to_be_visible()
    await expect(supervisor.locator("#cheatsheet")).to_contain_text("认领")
    await supervisor.keyboard.press("Escape")
    await expect(supervisor.locator("#cheatsheet")).to_be_hidden()


async def test_the_queue_at_a_phone_width_and_in_english(site: Site) -> None:
    page = await site.person("wang.fang", locale="en", width=390)
    await submit_through_the_form_english(page)
    await page.goto("/console/work?queue=department")
    await expect(page.locator("h1")).to_have_text("My work")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at 390 px ({width} px wide)"
    await expect(page.locator("td[data-label='Subject']").first).to_be_visible()
    await shoot(page, "queue-390")


async def submit_through_the_form_english(page: Page) -> None:
    await page.goto("/console/new")
    await page.fill("#f-customer_id", "CUST-0100")
    await page.fill("#f-customer_name", "杭州云帆网络")
    await page.fill("#f-subject", "Invoice address wrong")
    await page.get_by_role("button", name="Submit").click()
    await page.wait_for_url(re.compile(r".*/console/requests/[0-9a-f-]+$"))


async def test_a_banner_says_when_the_page_may_be_stale_and_goes_once_live_again(
        site: Site) -> None:
    agent = await site.person("wang.fang")
    request_id = await submit_through_the_form(agent, "网络中断时的页面")
    banner = agent.locator("#stale")
    await expect(banner).to_be_hidden()
    await agent.context.set_offline(True)  # the browser's own network goes away
    await expect(banner).to_be_visible(timeout=5000)
    await expect(banner).to_contain_text("本页数据可能已过时")
    await site.act(request_id, "add_note", "wang.fang", {"text": "断网期间的备注"})
    await agent.context.set_offline(False)
    # the stream reconnects (retry: 2 s) and the page catches up with what it missed
    await expect(banner).to_be_hidden(timeout=10_000)
    await expect(agent.locator(".entry-note")).to_contain_text("断网期间的备注",
                                                               timeout=10_000)


async def test_a_queue_follows_a_new_request_live(site: Site) -> None:
    supervisor = await site.person("zhou.min")
    await supervisor.goto("/console/work?queue=department")
    await expect(supervisor.locator(".empty")).to_be_visible()
    colleague = await site.person("wang.fang")
    request_id = await submit_through_the_form(colleague, "新到的请求")
    row = supervisor.locator(f'[data-request-row="{request_id}"]')
    await expect(row).to_contain_text("新到的请求", timeout=LIVE_MS)
    await expect(supervisor.locator('[data-queue="department"] .count')).to_have_text("1")
