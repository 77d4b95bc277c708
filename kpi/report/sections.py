"""The report's decision-analysis sections (customer segments and the longest waits; where the
time goes per process), as HTML and as CSV rows. Computed by ``analysis``; shown here."""

from collections.abc import Sequence

from analysis.graph_svg import render_flow_svg
from analysis.steps import TimeSplit
from kpi.report.charts import escape
from kpi.report.model import MonthlyReport

SPLIT_ZH = (("working", "处理"), ("queue", "排队待认领"), ("waiting_customer", "等待客户"),
            ("waiting_third_party", "等待第三方/审批"), ("outside_hours", "非工作时间"))
SEGMENT_HEADER = ("segment_kind", "segment", "requests", "resolved", "median_handling_seconds",
                  "sla_compliance", "csat", "reopen_rate")
WAIT_HEADER = ("request_id", "customer_id", "customer_name", "tier", "resolved", "wait_seconds",
               "cause", *(key + "_seconds" for key, _ in SPLIT_ZH))
BOTTLENECK_HEADER = ("department_id", "role", "steps", "busiest_stage_id",
                     "busiest_stage_business_seconds", *(key + "_seconds" for key, _ in SPLIT_ZH))


def _num(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def cause(split: TimeSplit) -> str:
    """The largest part of a time split: why the time went."""
    return max(SPLIT_ZH, key=lambda part: getattr(split, part[0]))[0]


def _split_cells(split: TimeSplit) -> list[str]:
    return [_num(getattr(split, key)) for key, _ in SPLIT_ZH]


def csv_sections(report: MonthlyReport) -> dict[str, tuple[Sequence[str], list[list[str]]]]:
    """segments.csv, longest_waits.csv and bottlenecks.csv, when the report has the sections."""
    tables: dict[str, tuple[Sequence[str], list[list[str]]]] = {}
    if report.segments is not None:
        found = report.segments
        tables["segments.csv"] = (SEGMENT_HEADER, [
            [kind, s.segment, str(s.requests), str(s.resolved), _num(s.median_handling_seconds),
             _num(s.sla_compliance, 4), _num(s.csat, 2), _num(s.reopen_rate, 4)]
            for kind, group in (("tier", found.by_tier), ("channel", found.by_channel))
            for s in group])
        tables["longest_waits.csv"] = (WAIT_HEADER, [
            [w.request_id, w.customer_id, w.customer_name, w.tier, str(w.resolved).lower(),
             _num(w.wait_seconds), cause(w.split), *_split_cells(w.split)]
            for w in found.longest_waits])
    if report.process is not None:
        tables["bottlenecks.csv"] = (BOTTLENECK_HEADER, [
            [b.department_id, b.role, str(b.steps), b.stage_id, _num(b.stage_business_seconds),
             *_split_cells(b.split)] for b in report.process.bottlenecks])
    return tables


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _hours(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 3600:.1f} 小时"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def html_sections(report: MonthlyReport) -> str:
    """The sections' HTML (empty when the report has none)."""
    parts: list[str] = []
    if report.segments is not None:
        found = report.segments
        header = ("分组", "请求数", "已解决", "处理时长中位数", "SLA 达标率", "满意度", "重开率")
        for title, group in (("按客户等级（全公司）", found.by_tier),
                             ("按渠道（全公司）", found.by_channel)):
            parts += [f"<h2>{title}</h2>", _table(header, [
                [s.segment, str(s.requests), str(s.resolved), _hours(s.median_handling_seconds),
                 _share(s.sla_compliance), _num(s.csat, 2) or "-", _share(s.reopen_rate)]
                for s in group])]
        names = dict(SPLIT_ZH)
        parts += ["<h2>等待最久的客户</h2>", _table(
            ("请求", "客户", "等级", "等待", "主要原因", *names.values()),
            [[w.request_id, w.customer_name, w.tier, _hours(w.wait_seconds),
              names[cause(w.split)], *(_hours(getattr(w.split, key)) for key in names)]
             for w in found.longest_waits])]
    if report.process is not None:
        parts.append("<h2>流程路径与瓶颈（全公司）</h2>")
        parts += [render_flow_svg(flow) for flow in report.process.flows]
        names = dict(SPLIT_ZH)
        parts.append(_table(
            ("部门", "角色", "步骤数", "最耗时阶段", "该阶段工作时长", *names.values()),
            [[report.names.department(b.department_id), b.role, str(b.steps), b.stage_id,
              _hours(b.stage_business_seconds), *(_hours(getattr(b.split, key)) for key in names)]
             for b in report.process.bottlenecks]))
    return "".join(parts)
