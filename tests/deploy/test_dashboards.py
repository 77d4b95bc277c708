"""The Grafana dashboards and provisioning. No Grafana runs here, so the dashboards are checked
as JSON models and every panel query is run, the way Grafana would send it, against a real
Prometheus scraping realistic caseflow metrics (tests/deploy/conftest.py).

Every query must return data. Panels reading the Temporal SDK's runtime metrics (temporal_*)
are marked: description starts with "[SDK]" and the title ends with "(SDK)"; here they read a
captured SDK exposition (tests/deploy/fixtures), the end-to-end test reads a live worker's."""

import re
import time
from typing import Any

import pytest

from stack.prometheus import LocalPrometheus
from tests.deploy.support import (
    BOARDS,
    COMPOSE_FILE,
    GRAFANA_DIR,
    VARIABLE,
    load_yaml,
    query_panels,
    substitute,
)

SDK_MARK = "[SDK]"
LABEL_VALUES = re.compile(r"^label_values\((?:(.+),\s*)?(\w+)\)$")
# Metrics without a department label: a managers' panel built only on these is company-wide.
NO_DEPARTMENT = re.compile(r"caseflow_requests_\w+_total|request_type:\w+|:caseflow_\w+")
# Metrics (and recorded series) that carry a role label: their panels must filter on $role.
HAS_ROLE = re.compile(r"caseflow_step_\w+|caseflow_open_steps|caseflow_month_sla_compliance_ratio"
                      r"|department_role\w*:\w+")


def _variables(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {var["name"]: var for var in board["templating"]["list"]}


def _is_sdk(panel: dict[str, Any]) -> bool:
    return any("temporal_" in target["expr"] for target in panel["targets"])


def _provisioned_datasource_uid() -> str:
    config = load_yaml(GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml")
    [source] = config["datasources"]
    assert source["type"] == "prometheus"
    uid: str = source["uid"]
    return uid


QUERIES = [
    pytest.param(name, panel, target, id=f"{name}:{panel['id']}{target['refId']}")
    for name, board in BOARDS.items()
    for panel in query_panels(board)
    for target in panel["targets"]
]


def test_the_two_dashboards_exist_with_unique_uids() -> None:
    assert set(BOARDS) == {"caseflow-managers", "caseflow-ops"}
    uids = [board["uid"] for board in BOARDS.values()]
    assert sorted(uids) == ["caseflow-managers", "caseflow-ops"]


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_dashboard_structure(name: str) -> None:
    board = BOARDS[name]
    assert board["schemaVersion"] == 39
    assert board["title"]
    assert board["id"] is None
    ids = [panel["id"] for panel in board["panels"]]
    ids += [nested["id"] for panel in board["panels"] for nested in panel.get("panels", [])]
    assert len(ids) == len(set(ids)), f"duplicate panel ids in {name}"
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert 0 < grid["w"] <= 24 - grid["x"], panel["title"]
    for panel in query_panels(board):
        assert panel["title"], f"panel {panel['id']} has no title"
        assert panel["targets"], f"{panel['title']} has no query"
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), f"{panel['title']} {target['refId']}: empty expr"
            assert target["datasource"] == panel["datasource"]


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_variables_are_defined_used_and_use_the_provisioned_datasource(name: str) -> None:
    board = BOARDS[name]
    variables = _variables(board)
    source = variables["datasource"]
    assert source["type"] == "datasource"
    assert source["query"] == "prometheus"
    assert source["current"]["value"] == _provisioned_datasource_uid()
    exprs = " ".join(target["expr"] for panel in query_panels(board) for target in panel["targets"])
    for var in variables.values():
        if var["type"] != "query":
            continue
        assert var["datasource"]["uid"] == "${datasource}"
        assert LABEL_VALUES.match(var["query"]["query"]), var["name"]
        assert var["includeAll"], var["name"]
        assert var["allValue"] == ".*", var["name"]
        assert f"${var['name']}" in exprs, f"${var['name']} is used by no panel"
    for match in VARIABLE.finditer(exprs):
        used = match.group(1) or match.group(2)
        assert used in variables or used.startswith("__"), f"${used} is not defined in {name}"


def test_managers_panels_filter_by_department_and_role() -> None:
    board = BOARDS["caseflow-managers"]
    assert {"department", "role"} <= set(_variables(board))
    for panel in query_panels(board):
        for target in panel["targets"]:
            expr = target["expr"]
            if "$department" not in expr:
                metrics = set(re.findall(r"[a-z_:][a-z0-9_:]*(?=\s*[\[{])", expr))
                assert all(NO_DEPARTMENT.fullmatch(metric) for metric in metrics), (
                    f"{panel['title']}: $department missing in {expr}")
                assert "company-wide" in panel["title"], (
                    f"{panel['title']}: a panel without a department filter must say "
                    "company-wide")
            if HAS_ROLE.search(expr):
                assert "$role" in expr, f"{panel['title']}: $role missing in {expr}"


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_sdk_panels_are_marked(name: str) -> None:
    for panel in query_panels(BOARDS[name]):
        marked = panel["description"].startswith(SDK_MARK) and panel["title"].endswith("(SDK)")
        assert marked == _is_sdk(panel), f"{panel['title']}: SDK marking does not match queries"


def test_provisioning_points_grafana_at_the_dashboards() -> None:
    provider = load_yaml(GRAFANA_DIR / "provisioning" / "dashboards" / "caseflow.yml")
    [dashboards] = provider["providers"]
    compose = load_yaml(COMPOSE_FILE)
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./grafana/dashboards:{dashboards['options']['path']}:ro" in mounts
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in mounts


@pytest.mark.integration
@pytest.mark.parametrize(("name", "panel", "target"), QUERIES)
async def test_panel_query_runs(live_prometheus: LocalPrometheus, name: str,
                                panel: dict[str, Any], target: dict[str, Any]) -> None:
    expr = substitute(target["expr"])
    where = f"{name} / {panel['title']} / {target['refId']}"
    if target.get("instant"):
        series = await live_prometheus.query(expr)
        latest = [one["value"][1] for one in series]
    else:
        now = time.time()
        series = await live_prometheus.query_range(expr, start=now - 120, end=now,
                                                   step_seconds=5)
        series = [one for one in series if one["values"]]
        latest = [one["values"][-1][1] for one in series]
    assert series, f"{where}: no data for {expr}"
    assert "NaN" not in latest, f"{where}: NaN in {series}"


@pytest.mark.integration
@pytest.mark.parametrize("name", sorted(BOARDS))
async def test_variable_queries_run(live_prometheus: LocalPrometheus, name: str) -> None:
    for var in _variables(BOARDS[name]).values():
        if var["type"] != "query":
            continue
        match = LABEL_VALUES.match(substitute(var["query"]["query"]))
        assert match, var["name"]
        selector, label = match.group(1), match.group(2)
        values = await live_prometheus.label_values(label, selector)
        assert values, f"${var['name']} lists no values"
