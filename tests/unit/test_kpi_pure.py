"""The pure parts of the KPI collector and the monthly report: age buckets, month boundaries,
compliance, nearest-rank p90, the report's figures and formats, the SVG charts, and the
collector's exposition of a snapshot."""

import csv
import math
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest

from catalog.loader import load_catalog
from eventstore.engine import create_engine
from kpi.collector import KpiCollector, parse_settings
from kpi.report.charts import svg_bar_chart, svg_column_chart
from kpi.report.csv_files import CSV_ENCODING, neutralise_formula, step_path, write_csvs
from kpi.report.figures import figures, mean, nearest_rank, parse_month, zone
from kpi.report.model import MonthlyReport, Overview, ReportNames, RequestLine, StepLine
from kpi.snapshot import (
    AGE_LABELS,
    KpiSnapshot,
    Roster,
    age_bucket,
    age_cutoffs,
    compliance_ratio,
    current_month,
    month_bounds,
)
from presentation.text import duration_zh
from tests.paths import FAST_CONFIG

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"

# -- backlog age --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "bucket"),
    [
        (timedelta(seconds=-30), "lt_1d"),  # clock skew: submitted "in the future"
        (timedelta(0), "lt_1d"),
        (timedelta(hours=23, minutes=59, seconds=59), "lt_1d"),
        (timedelta(days=1), "1d_3d"),
        (timedelta(days=2, hours=23), "1d_3d"),
        (timedelta(days=3), "3d_7d"),
        (timedelta(days=6, hours=23, minutes=59), "3d_7d"),
        (timedelta(days=7), "gt_7d"),
        (timedelta(days=400), "gt_7d"),
    ],
)
def test_age_bucket_bounds_are_exclusive_above(age: timedelta, bucket: str) -> None:
    assert age_bucket(age) == bucket


def _bucket_by_cutoffs(submitted_at: datetime, now: datetime) -> str:
    """What the collector's SQL CASE computes from ``age_cutoffs``."""
    for cutoff, label in age_cutoffs(now):
        if submitted_at > cutoff:
            return label
    return AGE_LABELS[-1]


@given(st.integers(min_value=-3600, max_value=30 * 86400))
def test_the_sql_cutoffs_agree_with_age_bucket(age_seconds: int) -> None:
    submitted_at = NOW - timedelta(seconds=age_seconds)
    assert _bucket_by_cutoffs(submitted_at, NOW) == age_bucket(NOW - submitted_at)


def test_age_cutoffs_are_youngest_first() -> None:
    assert age_cutoffs(NOW) == [
        (NOW - timedelta(days=1), "lt_1d"),
        (NOW - timedelta(days=3), "1d_3d"),
        (NOW - timedelta(days=7), "3d_7d"),
    ]
    assert AGE_LABELS == ("lt_1d", "1d_3d", "3d_7d", "gt_7d")


# -- compliance and months -------------------------------------------------------------------


def test_compliance_ratio() -> None:
    assert compliance_ratio(9, 10) == 0.9
    assert compliance_ratio(10, 10) == 1.0
    assert compliance_ratio(0, 3) == 0.0
    assert compliance_ratio(2, 3) == 2 / 3
    assert compliance_ratio(0, 0) is None  # no completions: no data, not 0 % nor 100 %
    with pytest.raises(ValueError, match="met=4 completed=3"):
        compliance_ratio(4, 3)
    with pytest.raises(ValueError, match="met=-1"):
        compliance_ratio(-1, 3)


def test_month_bounds_in_utc_and_in_shanghai() -> None:
    assert month_bounds(date(2026, 11, 17)) == (
        datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    assert month_bounds(date(2026, 11, 1), SHANGHAI) == (
        datetime(2026, 10, 31, 16, 0, tzinfo=UTC), datetime(2026, 11, 30, 16, 0, tzinfo=UTC))
    # December rolls over into the next year; February of a leap year.
    assert month_bounds(date(2026, 12, 31), SHANGHAI) == (
        datetime(2026, 11, 30, 16, 0, tzinfo=UTC), datetime(2026, 12, 31, 16, 0, tzinfo=UTC))
    assert month_bounds(date(2028, 2, 10))[1] - month_bounds(date(2028, 2, 10))[0] == \
        timedelta(days=29)


def test_month_bounds_across_a_daylight_saving_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start, end = month_bounds(date(2026, 3, 1), berlin)
    assert start == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)  # CET, UTC+1
    assert end == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)  # CEST, UTC+2
    assert end - start == timedelta(days=31) - timedelta(hours=1)


def test_the_collectors_month_is_the_utc_month() -> None:
    # 2026-12-01 03:00 in Shanghai is still November in UTC.
    assert current_month(datetime(2026, 12, 1, 3, 0, tzinfo=SHANGHAI)) == (
        datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))


def test_parse_month_and_zone() -> None:
    assert parse_month("2026-11") == date(2026, 11, 1)
    assert parse_month(" 2027-01 ") == date(2027, 1, 1)
    for bad in ("2026-13", "2026-1", "11/2026", "2026-11-01", ""):
        with pytest.raises(ValueError, match="expected YYYY-MM"):
            parse_month(bad)
    assert zone("Asia/Shanghai") == SHANGHAI
    with pytest.raises(ValueError, match="unknown time zone 'Asia/Beijing'"):
        zone("Asia/Beijing")


# -- nearest-rank p90 and mean -----------------------------------------------------------------


def test_nearest_rank_p90() -> None:
    assert nearest_rank([]) is None
    assert nearest_rank([42.0]) == 42.0
    ten = [float(v) for v in range(10, 0, -1)]  # unsorted: 10 .. 1
    assert nearest_rank(ten) == 9.0  # ceil(0.9 * 10) = 9th
    assert nearest_rank([float(v) for v in range(1, 12)]) == 10.0  # ceil(9.9) = 10th of 11
    assert nearest_rank([float(v) for v in range(1, 21)]) == 18.0  # exactly the 18th of 20
    assert nearest_rank([1.0, 2.0, 3.0]) == 3.0  # ceil(2.7) = 3rd
    assert nearest_rank([5.0, 1.0], 50) == 1.0
    assert nearest_rank([5.0, 1.0], 100) == 5.0
    with pytest.raises(ValueError, match="percent=0"):
        nearest_rank([1.0], 0)


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=200))
def test_nearest_rank_is_an_observed_value_with_90_percent_at_or_below(
        values: list[int]) -> None:
    p90 = nearest_rank([float(v) for v in values])
    assert p90 is not None
    assert p90 in values
    n = len(values)
    assert sum(1 for v in values if v <= p90) >= 0.9 * n
    assert sum(1 for v in values if v < p90) < 0.9 * n


def test_mean_is_exact_and_order_independent() -> None:
    assert mean([]) is None
    values = [0.1] * 10 + [1e16, -1e16]
    assert mean(values) == mean(list(reversed(values))) == math.fsum(values) / 12


# -- report figures and formats ------------------------------------------------------------


def _step(business: float, breached: bool = False, escalations: int = 0,
          status: str = "completed", handoffs: int = 0) -> StepLine:
    at = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
    return StepLine(
        request_id="r", step_key="verify.1", stage_id="verify", stage_index=0,
        step_name="核对发票", cycle=1, department_id="finance", role="accountant",
        owner_id="lin.xiaoyan", status=status, started_at=at, claimed_at=None,
        ended_at=at + timedelta(seconds=business), target_seconds=14400.0,
        business_seconds=business, wall_seconds=business * 3, paused_seconds=0.0,
        breached=breached, escalation_count=escalations, handoff_count=handoffs,
        reassign_count=0)


def _request(first_response_minutes: int | None, *, resolved: bool, reopens: int = 0,
             satisfaction: int | None = None) -> RequestLine:
    submitted = datetime(2026, 11, 3, 1, 0, tzinfo=UTC)
    first = (None if first_response_minutes is None
             else submitted + timedelta(minutes=first_response_minutes))
    return RequestLine(
        request_id="r", subject="发票金额错误", customer_id="C-1", customer_name="上海星河贸易",
        customer_tier="key", request_type="billing_dispute", priority="P2", channel="phone",
        status="resolved" if resolved else "in_progress", sla_state="on_track",
        owner_id="zhang.wei", owner_department_id="customer_service", submitted_at=submitted,
        first_response_at=first, resolved_at=submitted + timedelta(days=1) if resolved else None,
        closed_at=None, breach_count=0, escalation_count=0, reopen_count=reopens,
        satisfaction=satisfaction)


def test_figures_arithmetic() -> None:
    steps = [_step(600.0), _step(1200.0, breached=True, escalations=2), _step(1800.0),
             _step(3600.0, breached=True, escalations=1, handoffs=2)]
    requests = [
        _request(10, resolved=True, satisfaction=5),
        _request(30, resolved=True, reopens=1, satisfaction=2),
        _request(None, resolved=False),
        _request(20, resolved=False, reopens=1),  # reopened, not yet resolved again
    ]
    f = figures(steps, requests)
    assert f.steps_handled == 4
    assert f.handling_avg_seconds == 1800.0
    assert f.handling_p90_seconds == 3600.0  # ceil(3.6) = 4th of 4
    assert f.handling_p50_seconds == 1200.0  # ceil(2.0) = 2nd of 4
    # Wall-clock time beside business time (here three times as long).
    assert (f.wall_avg_seconds, f.wall_p50_seconds, f.wall_p90_seconds) == (
        5400.0, 3600.0, 10800.0)
    assert f.handoffs == 2
    assert (f.breaches, f.sla_compliance, f.escalations) == (2, 0.5, 3)
    assert (f.requests, f.first_responses) == (4, 3)
    assert f.first_response_avg_seconds == 1200.0  # (600 + 1800 + 1200) / 3
    assert f.first_response_p90_seconds == 1800.0
    # resolved at least once: two resolved now + one reopened; reopened: two.
    assert (f.resolved_requests, f.reopened_requests, f.reopen_rate) == (3, 2, 2 / 3)
    assert (f.csat_responses, f.csat_average) == (2, 3.5)


def test_figures_of_nothing_are_none_not_zero() -> None:
    f = figures([], [])
    assert f.steps_handled == f.requests == 0
    assert f.handling_avg_seconds is f.handling_p90_seconds is f.sla_compliance is None
    assert f.handling_p50_seconds is f.wall_avg_seconds is f.wall_p90_seconds is None
    assert f.handoffs == 0
    assert f.first_response_avg_seconds is f.reopen_rate is f.csat_average is None


def test_step_path_and_durations() -> None:
    assert step_path(_step(7500.0)) == "verify@finance/lin.xiaoyan (2h 05m / 6h 15m)"
    assert step_path(_step(0.0, status="active")) == "verify@finance/lin.xiaoyan (active)"
    assert step_path(_step(0.0, status="cancelled")) == \
        "verify@finance/lin.xiaoyan (cancelled)"
    assert duration_zh(None) == "-"
    assert duration_zh(42.9) == "42秒"
    assert duration_zh(90) == "1分"
    assert duration_zh(7500) == "2小时05分"
    assert duration_zh(3 * 86400 + 3600 + 60) == "3天1小时01分"


@pytest.mark.parametrize("cell", [
    "=HYPERLINK(\"http://x\",\"y\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
    "\t=1", "\r=1", "=",
])
def test_a_formula_cell_gets_a_leading_quote(cell: str) -> None:
    assert neutralise_formula(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["-1.5", "-3", "+2", "0.25", "", "发票金额错误", "a=b", "'=1"])
def test_numbers_and_plain_text_are_left_alone(cell: str) -> None:
    assert neutralise_formula(cell) == cell


def test_the_written_csvs_neutralise_hostile_customer_text(tmp_path: Path) -> None:
    hostile = _request(10, resolved=True).model_copy(
        update={"subject": "=cmd|' /C calc'!A0", "customer_name": "@上海星河贸易"})
    period = datetime(2026, 11, 1, tzinfo=UTC)
    report = MonthlyReport(
        month="2026-11", tz="UTC", period_start=period, period_end=period, department=None,
        role=None, generated_at=period, names=ReportNames(),
        overview=Overview(arrived=1, resolved=1, resolved_in_month=1, cancelled=0,
                          unresolved=0, by_status={}, days=()),
        totals=figures([], []), requests=(hostile,), steps=(), people=(), roles=())
    write_csvs(report, tmp_path)
    with (tmp_path / "requests.csv").open(encoding=CSV_ENCODING, newline="") as file:
        header, row = list(csv.reader(file))
    cells = dict(zip(header, row, strict=True))
    assert cells["subject"] == "'=cmd|' /C calc'!A0"
    assert cells["customer"] == "'@上海星河贸易"
    assert cells["first_response_seconds"] == "600.0"


# -- SVG charts -------------------------------------------------------------------------------


HOSTILE = '<script>alert("x")</script> & 财务部 \'引号\''


def test_bar_chart_escapes_labels_and_title_and_is_well_formed_svg() -> None:
    svg = svg_bar_chart([(HOSTILE, 3.0), ("王芳", 1.0)], title=f"标题 {HOSTILE}",
                        value_label=lambda v: f"<{v:g}>")
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert "&amp;" in svg
    assert "&quot;" in svg
    root = ET.fromstring(svg)  # well-formed XML, nothing unescaped
    assert root.tag == f"{SVG}svg"
    assert root.attrib["aria-label"] == f"标题 {HOSTILE}"
    bars = root.findall(f"{SVG}rect")
    assert len(bars) == 2
    assert float(bars[0].attrib["width"]) > float(bars[1].attrib["width"]) > 0
    tooltips = [bar.find(f"{SVG}title") for bar in bars]
    assert [t.text for t in tooltips if t is not None] == [f"{HOSTILE}: <3>", "王芳: <1>"]
    texts = "".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "王芳" in texts


def test_bar_chart_cuts_long_labels_by_display_width() -> None:
    label = "客户服务部 / 非常非常非常非常非常长的角色名称"
    root = ET.fromstring(svg_bar_chart([(label, 1.0)], title="t"))
    shown = [t.text or "" for t in root.iter(f"{SVG}text") if t.attrib.get("class") ==
             "chart-label"]
    assert shown
    assert shown[0].endswith("…")
    assert len(shown[0]) < len(label)
    rect_title = root.find(f"{SVG}rect/{SVG}title")
    assert rect_title is not None
    assert rect_title.text == f"{label}: 1"


def test_charts_without_data() -> None:
    empty = ET.fromstring(svg_bar_chart([], title="空"))
    assert any(t.text == "无数据" for t in empty.iter(f"{SVG}text"))
    zeros = ET.fromstring(svg_column_chart([("1日", 0.0), ("2日", 0.0)], title="零"))
    assert [float(r.attrib["height"]) for r in zeros.iter(f"{SVG}rect")] == [0.0, 0.0]


def test_column_chart_escapes_and_scales() -> None:
    root = ET.fromstring(svg_column_chart([(HOSTILE, 2.0), ("2日", 4.0)], title=HOSTILE))
    heights = [float(r.attrib["height"]) for r in root.iter(f"{SVG}rect")]
    assert heights[1] == 2 * heights[0] > 0
    title = root.find(f"{SVG}title")
    assert title is not None
    assert title.text == HOSTILE


# -- the collector's organisation, settings and exposition --------------------------------------


def test_roster_from_the_fast_catalog() -> None:
    catalog = load_catalog(FAST_CONFIG, years=[2026])
    roster = Roster.from_catalog(catalog)
    assert set(roster.members) == set(catalog.departments)
    assert roster.members["customer_service"] == ("zhang.wei", "wang.fang", "zhou.min",
                                                  "wu.jianguo")
    template_roles = {(branch.department_id, branch.role)
                      for template in catalog.templates.values()
                      for stage in template.stages for branch in stage.branches}
    assert {(d, r) for d, roles in roster.step_roles.items() for r in roles} == template_roles
    assert roster.departments[: len(catalog.departments)] == tuple(catalog.departments)


def test_collector_settings_from_environment_and_flags() -> None:
    settings = parse_settings([], {"CASEFLOW_DATABASE_URL": "sqlite+aiosqlite:///x.db"})
    assert (settings.port, settings.interval) == (9466, 15.0)
    assert settings.database_url == "sqlite+aiosqlite:///x.db"
    settings = parse_settings(["--port", "9500", "--interval", "2.5"],
                              {"CASEFLOW_METRICS_PORT": "9466"})
    assert (settings.port, settings.interval) == (9500, 2.5)
    assert parse_settings([], {"CASEFLOW_METRICS_PORT": "9499"}).port == 9499
    with pytest.raises(ValueError, match="CASEFLOW_METRICS_PORT='http' is not a TCP port"):
        parse_settings([], {"CASEFLOW_METRICS_PORT": "http"})
    with pytest.raises(ValueError, match="--port='0' is not a TCP port"):
        parse_settings(["--port", "0"], {})
    with pytest.raises(ValueError, match="--interval=0 must be a positive"):
        parse_settings(["--interval", "0"], {})


async def test_collector_exposes_a_snapshot_with_its_label_names() -> None:
    engine = create_engine("sqlite+aiosqlite:///:memory:")  # never queried here
    collector = KpiCollector(engine, Roster.of({"finance": ["lin.xiaoyan"]}))
    registry = CollectorRegistry()
    registry.register(collector)
    before = generate_latest(registry).decode()
    assert "caseflow_kpi_collector_last_success_timestamp_seconds 0.0" in before
    assert "caseflow_open_requests{" not in before  # no figures before the first pass

    taken = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    collector.publish(KpiSnapshot(
        taken_at=taken,
        open_requests=MappingProxyType({("finance", "in_progress", "warning"): 2}),
        open_steps=MappingProxyType({("finance", "accountant", "breached"): 1}),
        backlog=MappingProxyType({("finance", "gt_7d"): 2}),
        open_load=MappingProxyType({("finance", "lin.xiaoyan"): 1, ("finance", "王芳"): 0}),
        month_compliance=MappingProxyType({("finance", "accountant"): 0.75}),
        month_completed=MappingProxyType({("finance", "accountant"): 4}),
    ))

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert value("caseflow_open_requests", department="finance", status="in_progress",
                 sla_state="warning") == 2
    assert value("caseflow_open_steps", department="finance", role="accountant",
                 sla_state="breached") == 1
    assert value("caseflow_backlog_requests", department="finance", age="gt_7d") == 2
    assert value("caseflow_open_load", department="finance", person="王芳") == 0
    assert value("caseflow_month_sla_compliance_ratio", department="finance",
                 role="accountant") == 0.75
    assert value("caseflow_kpi_collector_last_success_timestamp_seconds") == taken.timestamp()
    assert value("caseflow_kpi_collector_refresh_failures_total") == 0
    await engine.dispose()
