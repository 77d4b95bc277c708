"""The managers' figures and the role-filtered views over HTTP, on a real uvicorn in front of
a real worker, Temporal dev server and PostgreSQL: the monthly report's JSON is the report
``kpi.report`` computes for the same month and reader; its CSV and HTML downloads carry the
same figures; each reader sees what domain.report_visibility gives them and nothing more; who owns
what now and what is breaching drill down to the person and the request."""

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from domain.catalog import Catalog
from domain.report_visibility import REPORTING_ROLE, reader_of
from kpi.report.figures import parse_month
from kpi.report.model import ReportNames
from kpi.report.queries import build_report
from kpi.report.withheld import WITHHELD, withhold_personal_fields
from tests.integration.api.conftest import Api, api_on
from tests.integration.requests import patient
from tests.integration.test_monthly_report import fill, month_of_logs

pytestmark = pytest.mark.integration

ORGANISATION_READER = "yang.fan"  # an engineer of technical_support, who leads nothing


def with_reporting_role(catalog: Catalog, person: str) -> Catalog:
    departments = {
        key: department.model_copy(update={"members": tuple(
            m.model_copy(update={"roles": m.roles | {REPORTING_ROLE}}) if m.id == person else m
            for m in department.members)})
        for key, department in catalog.departments.items()}
    return catalog.model_copy(update={"departments": departments})


@pytest.fixture
async def api(temporal_env: WorkflowEnvironment, pg_store_url: str, fast_catalog: Catalog,
              tmp_path: Path) -> AsyncIterator[Api]:
    catalog = with_reporting_role(patient(fast_catalog), ORGANISATION_READER)
    async with api_on(temporal_env, pg_store_url, catalog, tmp_path) as ready:
        yield ready


async def _get(api: Api, caller: str, path: str = "/api/v1/reports/monthly",
               status: int = 200, **params: Any) -> Any:
    response = await api.http.get(path, headers=api.staff(caller), params=params)
    assert response.status_code == status, response.text
    return response.json() if "json" in response.headers["content-type"] else response


def _comparable(report: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in report.items() if key != "generated_at"}


async def _expected(api: Api, caller: str, **scope: Any) -> dict[str, Any]:
    """The report kpi.report computes for ``caller``'s scope, withheld as for them."""
    catalog = api.services.catalog
    reader = reader_of(catalog.departments.values(), caller)
    assert reader is not None
    report = await build_report(api.flow.engine, parse_month("2026-11"),
                                names=ReportNames.from_catalog(catalog), **scope)
    withheld = withhold_personal_fields(report, reader.sees_personal_fields)
    return _comparable(withheld.model_dump(mode="json"))


async def test_the_monthly_figures_over_http_are_the_reports_for_each_reader(api: Api) -> None:
    await fill(api.flow.engine, month_of_logs(60, seed=1311))

    # A supervisor: their department's figures, the same as the report's.
    finance = await _get(api, "zheng.li", month="2026-11")
    assert finance["department"] == "finance"
    assert _comparable(finance) == await _expected(api, "zheng.li", department="finance")
    assert finance["totals"]["steps_handled"] > 0
    assert finance["handoffs"], "the month's handoffs into and out of finance"
    assert all("finance" in (h["from_department_id"], h["to_department_id"])
               for h in finance["handoffs"])
    assert finance["totals"]["wall_p90_seconds"] >= finance["totals"]["handling_p90_seconds"]
    assert [a["age"] for a in finance["overview"]["backlog"]] == [
        "lt_1d", "1d_3d", "3d_7d", "gt_7d"]
    figures_only = await _get(api, "zheng.li", month="2026-11", rows="false")
    assert (figures_only["requests"], figures_only["steps"]) == ([], [])
    assert (figures_only["totals"], figures_only["people"], figures_only["handoffs"]) == (
        finance["totals"], finance["people"], finance["handoffs"])
    role = await _get(api, "zheng.li", month="2026-11", role="approver")
    assert _comparable(role) == await _expected(api, "zheng.li", department="finance",
                                                role="approver")
    refused = await _get(api, "zheng.li", status=403, month="2026-11",
                         department="customer_service")
    assert "of finance only, not of customer_service" in refused["detail"]

    # The organisation-wide reader: every figure, no customer of a department they do not
    # lead.
    everything = await _get(api, ORGANISATION_READER, month="2026-11")
    assert _comparable(everything) == await _expected(api, ORGANISATION_READER)
    assert everything["personal_fields_withheld"] == len(everything["requests"]) > 0
    assert {r["subject"] for r in everything["requests"]} == {WITHHELD}
    assert {r["customer_name"] for r in everything["requests"]} == {WITHHELD}
    unfiltered = await build_report(api.flow.engine, parse_month("2026-11"))
    assert everything["totals"] == unfiltered.totals.model_dump(mode="json")

    # An agent: their own work only, their customers shown.
    own = await _get(api, "zhang.wei", month="2026-11")
    assert own["person"] == "zhang.wei"
    assert _comparable(own) == await _expected(api, "zhang.wei", person="zhang.wei")
    assert {s["owner_id"] for s in own["steps"]} == {"zhang.wei"}
    assert [p["person_id"] for p in own["people"]] == ["zhang.wei"]
    assert own["personal_fields_withheld"] == 0
    assert WITHHELD not in {r["subject"] for r in own["requests"]}
    await _get(api, "zhang.wei", status=403, month="2026-11", department="finance")

    # Bad input: one short problem naming the field; callers who are not staff: refused.
    bad = await _get(api, "zheng.li", status=422, month="2026-13")
    assert bad["errors"][0]["field"] == "query.month"
    assert "expected YYYY-MM" in bad["detail"]
    bad = await _get(api, "zheng.li", status=422, month="2026-11", tz="Mars/Olympus")
    assert bad["errors"][0]["field"] == "query.tz"
    phone = await api.http.get("/api/v1/reports/monthly", params={"month": "2026-11"},
                               headers=api.bearer(api.keys.phone))
    assert phone.status_code == 403, phone.text

    # The downloads carry the same figures.
    download = await _get(api, "zheng.li", month="2026-11", format="csv", table="people")
    assert download.headers["content-type"].startswith("text/csv")
    assert "caseflow-report-2026-11-finance-people.csv" in download.headers[
        "content-disposition"]
    assert download.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert [(row["person"], int(row["steps_handled"]), int(row["handoffs"])) for row in rows] \
        == [(p["person_id"], p["figures"]["steps_handled"], p["figures"]["handoffs"])
            for p in finance["people"]]
    handoffs = await api.http.get("/api/v1/reports/monthly", headers={
        **api.staff("zheng.li"), "Accept": "text/csv"}, params={"month": "2026-11",
                                                                "table": "handoffs"})
    assert handoffs.status_code == 200, handoffs.text
    handoff_rows = list(csv.DictReader(io.StringIO(handoffs.content.decode("utf-8-sig"))))
    assert [(r["request_id"], int(r["sequence"]), r["from_owner"], r["to_owner"])
            for r in handoff_rows] == [
        (h["request_id"], h["sequence"], h["from_owner_id"], h["to_owner_id"])
        for h in finance["handoffs"]]
    page = await api.http.get("/api/v1/reports/monthly", headers={
        **api.staff("zheng.li"), "Accept": "text/html"}, params={"month": "2026-11"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "caseflow 月度绩效报告 · 2026年11月 · 部门：财务部 (finance)" in page.text
    assert f"<h2>转交（{len(finance['handoffs'])}）</h2>" in page.text
    hidden = await _get(api, ORGANISATION_READER, month="2026-11", format="html")
    assert "不在您的查看范围内" in hidden.text


async def test_requests_and_the_work_now_are_shown_to_whom_they_concern(api: Api) -> None:
    request = await api.submit(priority="P1", subject="系统无法登录")
    request_id = request["request_id"]
    owner = request["owner_id"]
    path = f"/api/v1/requests/{request_id}"

    # The request: its department's people and leaders, and who works on it; nobody else.
    for person in ("zhou.min", "wu.jianguo", "zhang.wei", "wang.fang"):
        assert (await api.http.get(path, headers=api.staff(person))).status_code == 200, person
    for person in ("han.mei", "zheng.li", ORGANISATION_READER):
        refused = await api.http.get(path, headers=api.staff(person))
        assert refused.status_code == 403, person
        assert f"may not read request {request_id}" in refused.json()["detail"]
        live = await api.http.get(f"{path}/events", headers=api.staff(person))
        assert live.status_code == 403, person

    # Who owns what now, and what is breaching (first response is due within the hour).
    now = await _get(api, "zhou.min", "/api/v1/reports/now", within_hours=2)
    assert now["departments"] == ["customer_service"]
    owners = {o["person_id"]: o for o in now["owners"]}
    assert [r["request_id"] for r in owners[owner]["requests"]] == [request_id]
    assert owners[owner]["requests"][0]["subject"] == "系统无法登录"
    assert [i["request_id"] for i in now["breaching"]] == [request_id]
    assert now["breached"] == []
    assert sum(a["requests"] for a in now["backlog"]) == 1
    assert (await _get(api, "zhou.min", "/api/v1/reports/now", within_hours=0.5))[
        "breaching"] == []
    # Drill-down to the person, then to the request.
    theirs = await _get(api, "zhou.min", "/api/v1/reports/now", person=owner)
    assert [o["person_id"] for o in theirs["owners"]] == [owner]
    assert (await _get(api, "zhou.min", path))["timeline"]["request"]["request_id"] == \
        request_id

    # The organisation-wide reader sees the work, not who the customer is.
    seen = await _get(api, ORGANISATION_READER, "/api/v1/reports/now",
                      department="customer_service", within_hours=2)
    assert [i["request_id"] for i in seen["breaching"]] == [request_id]
    assert seen["breaching"][0]["customer_name"] == WITHHELD
    assert seen["personal_fields_withheld"] > 0
    # An agent sees their own work only.
    other = "wang.fang" if owner == "zhang.wei" else "zhang.wei"
    mine = await _get(api, owner, "/api/v1/reports/now")
    assert mine["person"] == owner
    assert [o["person_id"] for o in mine["owners"]] == [owner]
    await _get(api, owner, "/api/v1/reports/now", status=403, person=other)
    assert {o["person_id"] for o in (await _get(api, other, "/api/v1/reports/now"))[
        "owners"]} <= {other}
    await _get(api, "zheng.li", "/api/v1/reports/now", status=403,
               department="customer_service")
