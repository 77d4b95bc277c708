"""The decision analyses over HTTP on a real uvicorn: each route answers, for a manager, exactly
what the analysis computes from the store at the same instant (and the what-if flips the clocks
a stricter proposal breaches); anyone else is refused; bad input is refused in one line."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from analysis import queries
from analysis.period import month_range, parse_month
from analysis.proposal import proposed_from_files
from tests.integration.api.conftest import Api
from tests.paths import FAST_CONFIG

pytestmark = pytest.mark.integration

MANAGER = "zhou.min"  # the fast organisation's customer service supervisor
STRICT_SLA = (FAST_CONFIG / "sla.toml").read_text(encoding="utf-8")  # seconds, not hours


def _json(model: Any) -> Any:
    return model.model_dump(mode="json")


def _json_all(models: Any) -> list[Any]:
    return [_json(model) for model in models]


async def _two_near_twins(api: Api) -> tuple[str, str]:
    tag = uuid.uuid4().hex[:6].upper()
    first, second = f"CUST-A-{tag}", f"CUST-B-{tag}"
    await api.submit(customer={"id": first, "name": f"宁波{tag}海运有限公司", "tier": "key"})
    await api.submit(customer={"id": second, "name": f"宁波{tag}海运 有限公司",
                               "tier": "standard"})
    return first, second


async def test_a_manager_reads_every_analysis_as_the_store_computes_it(api: Api) -> None:
    first, second = await _two_near_twins(api)
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    start, end = month_range(parse_month(month), "Asia/Shanghai")
    as_of = datetime.now(UTC) + timedelta(hours=1)
    engine, catalog, manager = api.flow.engine, api.services.catalog, api.staff(MANAGER)
    params = {"month": month, "as_of": as_of.isoformat()}

    response = await api.http.post("/api/v1/analysis/whatif", headers=manager, json={
        "month": month, "as_of": as_of.isoformat(), "proposal": {"sla.toml": STRICT_SLA},
        "limit": 1})
    assert response.status_code == 200, response.text
    body = response.json()
    proposed = proposed_from_files(FAST_CONFIG, {"sla.toml": STRICT_SLA}, parse_month(month))
    report = await queries.whatif(engine, catalog, proposed, start, end, as_of)
    assert body["flips_total"] == len(report.flips) > 1
    assert body["report"] == _json(report.model_copy(update={
        "flips": report.flips[:1], "escalation_changes": report.escalation_changes[:1]}))
    # Hour-long targets today, seconds proposed: an hour on, requests nobody worked breach
    # only under the proposal, never the other way round.
    assert all(f.breached_proposed and not f.breached_current for f in report.flips)
    assert {"key", "standard"} <= {f.tier for f in report.flips}

    response = await api.http.get("/api/v1/analysis/paths", headers=manager, params=params)
    assert response.status_code == 200, response.text
    assert response.json() == _json(await queries.paths(engine, catalog, start, end, as_of))
    assert response.json()["report"]["flows"], "the month's requests have a path"

    response = await api.http.get("/api/v1/analysis/segments", headers=manager,
                                  params={**params, "longest": 3})
    assert response.status_code == 200, response.text
    segments = await queries.segments(engine, catalog, start, end, as_of, longest=3)
    assert response.json() == _json(segments)
    assert {"key", "standard"} <= {s["segment"] for s in response.json()["by_tier"]}

    response = await api.http.get(f"/api/v1/customers/{first}", headers=manager,
                                  params={"as_of": as_of.isoformat()})
    assert response.status_code == 200, response.text
    assert response.json() == _json(await queries.story(engine, first, as_of))
    assert len(response.json()["requests"]) == 1

    wanted = f"宁波{first.removeprefix('CUST-A-')}"  # the part of the name the two share
    response = await api.http.get("/api/v1/customers", headers=manager, params={"q": wanted})
    assert response.status_code == 200, response.text
    assert response.json() == _json_all(await queries.search(engine, wanted, limit=20))
    assert [m["customer_id"] for m in response.json()] == [first, second]

    response = await api.http.get("/api/v1/analysis/duplicates", headers=manager)
    assert response.status_code == 200, response.text
    assert response.json() == _json(await queries.duplicates(engine))
    assert sorted([first, second]) in [sorted(s["customer_ids"])
                                       for s in response.json()["suggestions"]]


async def test_only_managers_and_only_good_input(api: Api) -> None:
    first, _ = await _two_near_twins(api)
    events = await api.event_count()
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    routes = [("GET", "/api/v1/analysis/paths", {"month": month}),
              ("GET", "/api/v1/analysis/segments", {"month": month}),
              ("GET", "/api/v1/analysis/duplicates", {}),
              ("GET", "/api/v1/customers", {"q": "宁波"}),
              ("GET", f"/api/v1/customers/{first}", {}),
              ("POST", "/api/v1/analysis/whatif", {})]
    for refused in (api.staff("wang.fang"), api.bearer(api.keys.phone)):
        for method, path, params in routes:
            body = {"month": month, "proposal": {}} if method == "POST" else None
            response = await api.http.request(method, path, headers=refused, params=params,
                                              json=body)
            assert response.status_code == 403, (path, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
    detail = (await api.http.get("/api/v1/analysis/duplicates",
                                 headers=api.staff("wang.fang"))).json()["detail"]
    assert "supervisor or head" in detail

    manager = api.staff(MANAGER)
    unknown = await api.http.get("/api/v1/customers/CUST-NOBODY", headers=manager)
    assert unknown.status_code == 404, unknown.text
    for params in ({"month": "2026-13"}, {"month": month, "tz": "Mars/Olympus"},
                   {"month": month, "as_of": "2026-12-01T00:00"}):
        response = await api.http.get("/api/v1/analysis/paths", headers=manager, params=params)
        assert response.status_code == 422, (params, response.text)
    for proposal, named in (({"../sla.toml": "x"}, "../sla.toml"),
                            ({"sla.toml": "targets = ["}, "sla.toml")):
        response = await api.http.post("/api/v1/analysis/whatif", headers=manager,
                                       json={"month": month, "proposal": proposal})
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]
        assert named in detail, detail
        assert "caseflow-proposal-" not in detail, detail
    assert await api.event_count() == events, "the analyses write nothing"
