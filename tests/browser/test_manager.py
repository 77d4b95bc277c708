"""A supervisor's page: the month's KPIs are the monthly report's own figures for the same
month and department (compared with ``kpi.report`` built from the same store), the CSV
download is the report's CSV, and who owns what drills down to the person and the request."""

import csv
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.async_api import expect

from kpi.report.csv_files import csv_tables
from kpi.report.figures import parse_month
from kpi.report.model import ReportNames
from kpi.report.queries import build_report
from tests.browser.conftest import Site, shoot
from tests.browser.test_customer import resolved_request

DEPARTMENT = "customer_service"


async def test_the_managers_figures_are_the_reports(site: Site) -> None:
    await resolved_request(site)
    await resolved_request(site)
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")  # the report's zone
    report = await build_report(site.services.engine, parse_month(month), department=DEPARTMENT,
                                names=ReportNames.from_catalog(site.services.catalog))
    month = report.month
    page = await site.person("zhou.min")
    await page.goto(f"/console/manage?month={month}&department={DEPARTMENT}")
    expected = {"arrived": report.overview.arrived, "resolved": report.overview.resolved,
                "unresolved": report.overview.unresolved,
                **report.totals.model_dump(include={
                    "steps_handled", "handling_avg_seconds", "handling_p90_seconds",
                    "first_response_avg_seconds", "sla_compliance", "breaches", "escalations",
                    "reopen_rate", "csat_average"})}
    assert expected["steps_handled"] >= 4
    assert expected["arrived"] == 2
    for name, value in expected.items():
        shown = await page.locator(f'[data-figure="{name}"]').get_attribute("data-value")
        assert shown == ("" if value is None else str(value)), name
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


async def test_the_managers_pages_are_for_leaders_only(site: Site) -> None:
    page = await site.person("lin.xiaoyan")
    response = await page.goto("/console/manage")
    assert response is not None
    assert response.status == 403
    csv_response = await page.request.get("/console/manage/report.csv?table=people")
    assert csv_response.status == 403
    assert "仅限主管和部门负责人" in await csv_response.text()
