"""A supervisor's page: the month's KPIs are the monthly report's own figures for the same
month and department (compared with ``kpi.report`` built from the same store): business and
wall-clock time, p50/p90, who handed which step to whom, the backlog by age; the CSV download
is the report's CSV, and who owns what drills down to the person and the request."""

import csv
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from playwright.async_api import expect

from analysis import queries
from analysis.period import month_range
from analysis.proposal import proposed_from_files
from kpi.report.csv_files import csv_tables
from kpi.report.figures import parse_month
from kpi.report.model import ReportNames
from kpi.report.queries import build_report
from tests.browser.conftest import Site, shoot
from tests.browser.test_customer import resolved_request
from tests.integration.requests import billing_dispute

DEPARTMENT = "customer_service"


async def handed_off_request(site: Site, customer_id: str = "CUST-0086") -> str:
    """A billing dispute whose first step its owner hands to finance; left unresolved."""
    body = billing_dispute(site.services.catalog, customer_id=customer_id).model_dump(
        mode="json", exclude={"idempotency_key", "submitted_by"})
    response = await site.http.post("/api/v1/requests", json=body, headers={
        **site.staff("wang.fang"), "Idempotency-Key": f"K-{uuid.uuid4().hex[:12]}"})
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    step = next(s for s in view["steps"] if s["status"] == "active")
    await site.act(view["request_id"], "hand_off", step["owner_id"], {
        "step_key": step["step_key"], "to_department_id": "finance", "role": "accountant",
        "reason": "需要财务核对"})
    return str(view["request_id"])


async def test_the_managers_figures_are_the_reports(site: Site) -> None:
    await resolved_request(site)
    await resolved_request(site)
    handed_off = await handed_off_request(site)
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")  # the report's zone
    report = await build_report(site.services.engine, parse_month(month), department=DEPARTMENT,
                                names=ReportNames.from_catalog(site.services.catalog))
    month = report.month
    page = await site.person("zhou.min")
    await page.goto(f"/console/manage?month={month}&department={DEPARTMENT}")
    expected = {"arrived": report.overview.arrived, "resolved": report.overview.resolved,
                "unresolved": report.overview.unresolved,
                **report.totals.model_dump(include={
                    "steps_handled", "handling_avg_seconds", "handling_p50_seconds",
                    "handling_p90_seconds", "wall_avg_seconds", "wall_p50_seconds",
                    "wall_p90_seconds", "first_response_avg_seconds",
                    "first_response_p90_seconds", "handoffs", "sla_compliance", "breaches",
                    "escalations", "reopen_rate", "csat_average"})}
    assert expected["steps_handled"] >= 4
    assert expected["arrived"] == 3
    assert expected["wall_p50_seconds"] is not None
    for name, value in expected.items():
        shown = await page.locator(f'[data-figure="{name}"]').get_attribute("data-value")
        assert shown == ("" if value is None else str(value)), name
    for person_figures in report.people:
        row = page.locator(f'[data-person="{person_figures.person_id}"]')
        for attribute, value in (("data-p50", person_figures.figures.handling_p50_seconds),
                                 ("data-wall-p50", person_figures.figures.wall_p50_seconds)):
            shown = await row.locator(f"[{attribute}]").get_attribute(attribute)
            assert shown == ("" if value is None else str(value)), attribute

    # Who handed which step to whom: the report's handoffs, one row each.
    assert [h.request_id for h in report.handoffs] == [handed_off]
    for handoff in report.handoffs:
        row = page.locator(f'[data-handoff="{handoff.request_id}:{handoff.sequence}"]')
        assert await row.locator("[data-from]").get_attribute("data-from") == \
            handoff.from_owner_id
        assert await row.locator("[data-to]").get_attribute("data-to") == handoff.to_owner_id
    await expect(page.locator("[data-handoff]")).to_have_count(len(report.handoffs))
    backlog = {b.age: b.requests for b in report.overview.backlog}
    assert sum(backlog.values()) == 1
    for age, requests in backlog.items():
        await expect(page.locator(f'[data-age="{age}"]')).to_have_text(str(requests))
    await expect(page.locator(".charts svg")).to_have_count(2)
    await shoot(page, "manager")

    async with page.expect_download() as download_info:
        await page.locator('[data-csv="people"]').click()
    download = await download_info.value
    path = await download.path()
    downloaded = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    header, rows = csv_tables(report)["people.csv"]
    assert downloaded == [list(header), *rows]

    person = report.people[0].person_id
    await page.locator(f'[data-person="{person}"] a').click()
    await expect(page.locator("#h-owned")).to_contain_text(person)

    phone = await site.person("zhou.min", locale="en", width=390)
    await phone.goto(f"/console/manage?month={month}&department={DEPARTMENT}")
    await expect(phone.locator("#h-handoffs")).to_have_text("Handoffs")
    await expect(phone.locator("#h-backlog")).to_have_text("Backlog by age")
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at 390 px ({width} px wide)"
    await shoot(phone, "manager-390")


async def test_the_managers_pages_are_for_leaders_only(site: Site) -> None:
    page = await site.person("lin.xiaoyan")
    response = await page.goto("/console/manage")
    assert response is not None
    assert response.status == 403
    csv_response = await page.request.get("/console/manage/report.csv?table=people")
    assert csv_response.status == 403
    assert "仅限主管和部门负责人" in await csv_response.text()


async def test_where_the_time_goes(site: Site) -> None:
    await resolved_request(site)
    handed_off_request_id = await handed_off_request(site)
    page = await site.person("zhou.min")
    await page.goto(f"/console/manage?department={DEPARTMENT}")
    await page.locator("[data-time-link]").click()
    month = (await page.locator("#t-month").get_attribute("value")) or ""
    start, end = month_range(parse_month(month), "Asia/Shanghai")
    # The page counts open steps up to the instant it names; the same instant here.
    as_of = datetime.fromisoformat(
        await page.locator("[data-as-of]").get_attribute("data-as-of") or "")
    analysis = await queries.paths(site.services.engine, site.services.catalog, start, end,
                                   as_of)
    assert analysis.report.flows, "no process in the month"
    await expect(page.locator("[data-flow] svg")).to_have_count(len(analysis.report.flows))
    for flow in analysis.report.flows:
        section = page.locator(f'[data-flow="{flow.template_id}"]')
        await expect(section.locator("[data-flow-requests]")).to_have_text(str(flow.requests))
        await expect(section.locator("[data-flow-deviations]")).to_have_text(
            str(len(flow.deviations)))
    billing = page.locator('[data-flow="billing_dispute"]')
    await expect(billing.locator('[data-handoff-pair="customer_service>finance"] [data-count]')
                 ).to_have_text("1")
    await expect(billing).to_contain_text(handed_off_request_id[:8])  # it deviates: a handoff
    rows = page.locator("[data-bottleneck]")
    await expect(rows).to_have_count(len(analysis.report.bottlenecks))
    for b in analysis.report.bottlenecks:
        cell = page.locator(f'[data-bottleneck="{b.department_id}/{b.role}"] [data-seconds]')
        assert await cell.get_attribute("data-seconds") == str(b.stage_business_seconds)
    await shoot(page, "where-the-time-goes")

    agent = await site.person("lin.xiaoyan")
    response = await agent.goto("/console/manage/time")
    assert response is not None
    assert response.status == 403


async def test_the_sla_what_if(site: Site) -> None:
    await resolved_request(site)
    await handed_off_request(site)
    page = await site.person("zhou.min")
    await page.goto(f"/console/manage?department={DEPARTMENT}")
    await page.locator("[data-whatif-link]").click()
    month = (await page.locator("#w-month").input_value())
    today = (site.services.settings.base.config_dir / "sla.toml").read_text(encoding="utf-8")
    assert await page.locator("#w-proposal").input_value() == today
    await page.locator("#w-proposal").fill(today + "\nnot toml [")
    await page.get_by_role("button", name="对比").click()
    await expect(page.locator("#whatif-error")).to_contain_text("sla.toml")
    assert await page.locator("#w-proposal").input_value() == today + "\nnot toml ["

    await page.locator("#w-proposal").fill(today)
    await page.get_by_role("button", name="对比").click()
    as_of = datetime.fromisoformat(
        await page.locator("[data-as-of]").get_attribute("data-as-of") or "")
    start, end = month_range(parse_month(month), "Asia/Shanghai")
    proposed = proposed_from_files(site.services.settings.base.config_dir,
                                   {"sla.toml": today}, parse_month(month))
    report = await queries.whatif(site.services.engine, site.services.catalog, proposed,
                                  start, end, as_of)
    assert report.requests == 2
    await expect(page.locator("[data-whatif-requests]")).to_have_text("2")
    for key, groups in (("department", report.by_department), ("role", report.by_role),
                        ("tier", report.by_tier)):
        assert groups, key
        for group in groups:
            row = page.locator(f'[data-group="{key}:{group.group}"]')
            await expect(row.locator("[data-breached-current]")).to_have_text(
                str(group.breached_current))
            await expect(row.locator("[data-breached-proposed]")).to_have_text(
                str(group.breached_proposed))
    await expect(page.locator("[data-flips]")).to_have_text(str(len(report.flips)))
    await expect(page.locator("[data-flip]")).to_have_count(min(len(report.flips), 200))
    await shoot(page, "whatif")

    agent = await site.person("lin.xiaoyan")
    response = await agent.goto("/console/manage/whatif")
    assert response is not None
    assert response.status == 403
