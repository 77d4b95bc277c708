"""The production Prometheus config, recording rules and alerts: promtool checks them and runs
their unit tests (deploy/prometheus/tests), every rule has such a test, every alert is
documented, and against a real Prometheus every recording rule yields data from the metrics the
code really exports."""

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from stack.errors import StackError
from stack.prometheus import LocalPrometheus, promtool
from tests.deploy.support import (
    PROMETHEUS_CONFIG,
    README,
    RULE_FILES,
    RULE_TEST_FILES,
    assert_succeeded,
    load_yaml,
)

RECORD_NAME = re.compile(r"^[a-z_]*:[a-z0-9_]+:[a-z0-9_]+$")
SEVERITIES = {"critical", "warning"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _rules() -> list[dict[str, Any]]:
    return [rule for path in RULE_FILES for group in load_yaml(path)["groups"]
            for rule in group["rules"]]


def _records() -> list[str]:
    return [rule["record"] for rule in _rules() if "record" in rule]


def _alerts() -> list[dict[str, Any]]:
    return [rule for rule in _rules() if "alert" in rule]


def _rule_tests() -> list[dict[str, Any]]:
    return [test for path in RULE_TEST_FILES for test in load_yaml(path)["tests"]]


def _promtool(*args: str | Path, cwd: Path | None = None) -> None:
    try:
        result = promtool(*args, cwd=cwd)
    except StackError as error:
        pytest.fail(f"promtool is missing: {error} (bin/bootstrap installs it)", pytrace=False)
    assert_succeeded(result)


def test_both_rule_files_and_their_tests_exist() -> None:
    assert {path.name for path in RULE_FILES} == {"caseflow-recording.yml", "caseflow-alerts.yml"}
    assert RULE_TEST_FILES, "deploy/prometheus/tests/*.yml holds the promtool unit tests"


def test_promtool_checks_the_rule_files() -> None:
    _promtool("check", "rules", *RULE_FILES)


def test_promtool_checks_the_config_and_finds_its_rules_from_any_directory(
        tmp_path: Path) -> None:
    """The config names its rule files relative to itself, so a clean clone checks anywhere."""
    config = load_yaml(PROMETHEUS_CONFIG)
    assert sorted(config["rule_files"]) == sorted(f"rules/{path.name}" for path in RULE_FILES)
    _promtool("check", "config", PROMETHEUS_CONFIG, cwd=tmp_path)


def test_production_config_scrapes_the_three_caseflow_jobs() -> None:
    config = load_yaml(PROMETHEUS_CONFIG)
    ports = {}
    for job in config["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            ports[job["job_name"]] = sd["port"]
    assert ports == {"caseflow-worker": 9464, "caseflow-worker-sdk": 9465, "caseflow-kpi": 9466}


def test_promtool_unit_tests_of_the_rules_pass() -> None:
    _promtool("test", "rules", *RULE_TEST_FILES)


def test_recording_rule_names_follow_level_metric_operations() -> None:
    names = _records()
    assert len(names) == len(set(names)), "a recording rule name is defined twice"
    bad = [name for name in names if not RECORD_NAME.match(name)]
    assert not bad, f"not level:metric:operations: {bad}"


def test_every_recording_rule_has_a_promtool_unit_test() -> None:
    tested = {case["expr"].strip() for test in _rule_tests()
              for case in test.get("promql_expr_test", [])
              if case.get("exp_samples")}
    untested = [name for name in _records() if name not in tested]
    assert not untested, f"recording rules without a promql_expr_test with samples: {untested}"


def test_every_alert_has_a_firing_and_a_quiet_promtool_case() -> None:
    cases = [case for test in _rule_tests() for case in test.get("alert_rule_test", [])]
    for alert in _alerts():
        name = alert["alert"]
        own = [case for case in cases if case["alertname"] == name]
        assert any(case.get("exp_alerts") for case in own), f"{name}: no firing case"
        assert any(not case.get("exp_alerts") for case in own), f"{name}: no quiet case"


def test_every_alert_has_severity_annotations_and_a_runbook_section() -> None:
    readme = README.read_text(encoding="utf-8")
    anchors = {re.sub(r"[^a-z0-9-]", "", heading.strip().lower().replace(" ", "-"))
               for heading in re.findall(r"^#+ (.+)$", readme, flags=re.MULTILINE)}
    for alert in _alerts():
        name = alert["alert"]
        assert name.startswith("Caseflow"), name
        assert alert["labels"]["severity"] in SEVERITIES, name
        annotations = alert["annotations"]
        assert annotations["summary"], name
        assert annotations["description"], name
        assert CJK.search(annotations["description_zh"]), f"{name}: description_zh"
        assert annotations["runbook"] == f"deploy/README.md#{name.lower()}", name
        assert name.lower() in anchors, f"deploy/README.md has no section headed {name}"


@pytest.mark.integration
async def test_every_recording_rule_yields_data_from_the_real_metrics(
        live_prometheus: LocalPrometheus) -> None:
    """The rules run against CaseflowMetrics' real exposition, so a renamed metric or label
    leaves a recording rule empty and fails here."""
    for name in _records():
        series = await live_prometheus.query(f"{{__name__={name!r}}}")
        assert series, f"{name} has no data"
        for one in series:
            assert one["value"][1] != "NaN", f"{name} {one['metric']} is NaN"


@pytest.mark.integration
async def test_every_rule_loads_and_evaluates_cleanly(live_prometheus: LocalPrometheus) -> None:
    rules = [rule for group in await live_prometheus.rules() for rule in group["rules"]]
    assert len(rules) == len(_rules())
    unhealthy = [(rule["name"], rule.get("lastError")) for rule in rules
                 if rule["health"] != "ok"]
    assert not unhealthy, unhealthy


@pytest.mark.integration
async def test_only_the_alerts_the_sample_calls_for_become_active(
        live_prometheus: LocalPrometheus) -> None:
    """The sample has fresh KPI data, little old backlog, a steady breach rate and polling
    workers, but its SDK capture has a 50% activity failure rate and a failing workflow task:
    exactly those two alerts go pending (all alerts need minutes of `for` to fire)."""
    expected = {"CaseflowActivityFailureRate", "CaseflowWorkflowTaskFailing"}
    names: set[str] = set()
    for _ in range(40):
        alerts = await live_prometheus.query('ALERTS{alertname=~"Caseflow.*"}')
        names = {alert["metric"]["alertname"] for alert in alerts}
        if names == expected:
            break
        await asyncio.sleep(0.5)
    assert names == expected
