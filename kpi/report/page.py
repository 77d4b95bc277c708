"""The report as one self-contained HTML page in Chinese (inline CSS and SVG, no script)."""

from collections.abc import Iterable, Sequence
from datetime import datetime

from domain.state import RequestStatus, StepStatus
from kpi.report.charts import escape, svg_bar_chart, svg_column_chart
from kpi.report.model import Figures, MonthlyReport, ReportNames, RequestLine
from kpi.report.sections import html_sections
from presentation.text import duration_zh

STATUS_ZH: dict[str, str] = {
    RequestStatus.OPEN: "待处理", RequestStatus.IN_PROGRESS: "处理中",
    RequestStatus.WAITING_ON_CUSTOMER: "等待客户", RequestStatus.RESOLVED: "已解决",
    RequestStatus.CLOSED: "已关闭", RequestStatus.CANCELLED: "已取消",
}
AGE_ZH: dict[str, str] = {"lt_1d": "1 天以内", "1d_3d": "1-3 天", "3d_7d": "3-7 天",
                          "gt_7d": "7 天以上"}
STEP_STATUS_ZH: dict[str, str] = {
    StepStatus.ACTIVE: "进行中", StepStatus.COMPLETED: "已完成", StepStatus.CANCELLED: "已取消",
}

_CSS = """
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC",
sans-serif;margin:24px;color:#1f2933;font-size:14px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid
#d9e2ec;padding-bottom:4px}.meta{color:#52606d;margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #d9e2ec;border-radius:6px;
padding:10px 14px;min-width:120px}.card b{display:block;font-size:20px}
.card span{color:#52606d;font-size:12px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #d9e2ec;
padding:4px 8px;text-align:left;vertical-align:top}th{background:#f0f4f8}td.n{text-align:right;
white-space:nowrap}.chart{display:block;margin:8px 0}.chart-title{font-size:13px;
font-weight:bold;fill:#1f2933}.chart-label,.chart-value,.chart-tick,.chart-empty{font-size:12px;
fill:#334e68}.chart-bar{fill:#2f80ed}.chart-axis{stroke:#9fb3c8}
.breached{color:#c62828;font-weight:bold}ol.steps{margin:0;padding-left:18px}
dl.defs dt{font-weight:bold;margin-top:6px}dl.defs dd{margin:2px 0 0 16px;color:#334e68}
""".strip()


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]],
           numeric: Iterable[int] = ()) -> str:
    """A table; header and cells are HTML already escaped by the caller."""
    right = set(numeric)
    head = "".join(f"<th>{cell}</th>" for cell in header)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="n">{cell}</td>' if index in right else f"<td>{cell}</td>"
            for index, cell in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_FIGURE_TH = ("处理步骤", "平均工作时长", "P50 工作时长", "P90 工作时长", "平均历时",
              "P90 历时", "转交", "SLA 达标率", "超时", "升级", "请求数", "平均首次响应",
              "P90 首次响应", "重开率", "满意度 (评价数)")
_FIGURE_COLUMNS = range(2, 2 + len(_FIGURE_TH))


def _figure_tds(f: Figures) -> list[str]:
    csat = "-" if f.csat_average is None else f"{f.csat_average:.2f} ({f.csat_responses})"
    return [str(f.steps_handled), duration_zh(f.handling_avg_seconds),
            duration_zh(f.handling_p50_seconds), duration_zh(f.handling_p90_seconds),
            duration_zh(f.wall_avg_seconds), duration_zh(f.wall_p90_seconds), str(f.handoffs),
            percent(f.sla_compliance), str(f.breaches),
            str(f.escalations), str(f.requests), duration_zh(f.first_response_avg_seconds),
            duration_zh(f.first_response_p90_seconds), percent(f.reopen_rate), escape(csat)]


def _who(names: ReportNames, person_id: str | None) -> str:
    if not person_id:
        return "-"
    name = names.person(person_id)
    return f"{escape(name)} ({escape(person_id)})" if name else escape(person_id)


def render_html(report: MonthlyReport) -> str:
    """The report as one self-contained HTML page (UTF-8; inline CSS and SVG, no script)."""
    tz = report.zone
    names = report.names
    year, month = report.month.split("-")
    scope = []
    if report.department:
        scope.append(f"部门：{names.department(report.department)} ({report.department})")
    if report.role:
        scope.append(f"角色：{report.role}")
    title = f"caseflow 月度绩效报告 · {year}年{int(month)}月"
    if scope:
        title += " · " + "，".join(scope)

    def at(value: datetime | None) -> str:
        return "-" if value is None else value.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    o, t = report.overview, report.totals
    cards = [
        ("到达请求", str(o.arrived)), ("已解决", str(o.resolved)),
        ("本月内解决", str(o.resolved_in_month)), ("未解决", str(o.unresolved)),
        ("已取消", str(o.cancelled)), ("完成步骤", str(t.steps_handled)),
        ("步骤 SLA 达标率", percent(t.sla_compliance)), ("超时步骤", str(t.breaches)),
        ("升级", str(t.escalations)), ("平均首次响应", duration_zh(t.first_response_avg_seconds)),
        ("P90 首次响应", duration_zh(t.first_response_p90_seconds)),
        ("重开率", percent(t.reopen_rate)),
        ("平均满意度", _number(t.csat_average)),
    ]
    status_rows = [(escape(STATUS_ZH.get(status, status)), escape(status), str(count))
                   for status, count in o.by_status.items()]
    daily = svg_column_chart(
        [(f"{d.day.day}日", float(d.arrived)) for d in o.days],
        title=f"每日到达请求数（{report.tz}）")
    role_chart = svg_bar_chart(
        [(f"{names.department(r.department_id)} / {r.role}", r.figures.sla_compliance or 0.0)
         for r in report.roles if r.figures.steps_handled],
        title="各角色步骤 SLA 达标率", max_value=1.0, value_label=percent)
    volume_chart = svg_bar_chart(
        [(p.name or p.person_id, float(p.figures.steps_handled))
         for p in report.people if p.figures.steps_handled],
        title="各人员处理步骤数", value_label=lambda v: f"{v:.0f}")
    role_table = _table(
        ("部门", "角色", *_FIGURE_TH),
        ([escape(names.department(r.department_id)), escape(r.role), *_figure_tds(r.figures)]
         for r in report.roles),
        numeric=_FIGURE_COLUMNS)
    people_table = _table(
        ("人员", "部门", *_FIGURE_TH),
        ([_who(names, p.person_id), escape("、".join(names.department(d) for d in p.departments)),
          *_figure_tds(p.figures)] for p in report.people),
        numeric=_FIGURE_COLUMNS)
    handed_by = {(h.request_id, h.step_key): h.from_owner_id for h in report.handoffs}

    def steps_cell(request: RequestLine) -> str:
        if not request.steps:
            return "-"
        items = []
        for s in request.steps:
            state = (f"工作 {duration_zh(s.business_seconds)} / 历时 "
                     f"{duration_zh(s.wall_seconds)}" if s.status == StepStatus.COMPLETED
                     else STEP_STATUS_ZH.get(s.status, s.status))
            mark = ' <span class="breached">超时</span>' if s.breached else ""
            giver = handed_by.get((s.request_id, s.step_key))
            handed = f"，由 {_who(names, giver)} 转交" if giver else ""
            items.append(f"<li>{escape(s.step_name)} @ {escape(names.department(s.department_id))}"
                         f" / {_who(names, s.owner_id)}（{escape(state)}{handed}）{mark}</li>")
        return f'<ol class="steps">{"".join(items)}</ol>'

    request_table = _table(
        ("请求", "主题", "客户", "类型", "优先级", "渠道", "负责人", "提交", "解决", "状态",
         "满意度", "步骤（工作时长）"),
        ([escape(r.request_id[:8]), escape(r.subject), escape(r.customer_name),
          escape(r.request_type), escape(r.priority), escape(r.channel),
          _who(names, r.owner_id), at(r.submitted_at), at(r.resolved_at),
          escape(STATUS_ZH.get(r.status, r.status)),
          "-" if r.satisfaction is None else str(r.satisfaction), steps_cell(r)]
         for r in report.requests))
    handoff_table = _table(
        ("时间", "请求", "步骤", "角色", "转出", "转入"),
        ([at(h.occurred_at), escape(h.request_id[:8]), escape(h.step_name), escape(h.role),
          f"{escape(names.department(h.from_department_id))} / {_who(names, h.from_owner_id)}",
          f"{escape(names.department(h.to_department_id))} / {_who(names, h.to_owner_id)}"]
         for h in report.handoffs))
    backlog_rows = [(escape(AGE_ZH.get(a.age, a.age)), str(a.requests)) for a in o.backlog]
    withheld = (f'<p class="meta">{report.personal_fields_withheld} 个请求的客户名称和主题'
                "不在您的查看范围内，已隐去。</p>" if report.personal_fields_withheld else "")
    definitions = [
        ("统计月份", f"{at(report.period_start)} 至 {at(report.period_end)}（不含），"
                  f"时区 {report.tz}。"),
        ("到达请求", "本月提交的请求；状态、负责人为报告生成时的数据。"),
        ("已解决 / 本月内解决",
         "当前有解决时间（已解决或解决后关闭）；本月内解决指最近一次解决在月末之前。"),
        ("处理步骤", "本月内完成的步骤，计入完成时的部门、角色和负责人（转交、改派之后）。"),
        ("工作时长 / 历时", "工作时长：步骤的工作时间（按部门工作日历，不含暂停）；"
                        "历时：从步骤开始到完成的自然时长。P50 为中位数（最近秩法）。"),
        ("转交", "本月内发生的步骤转交：由谁（转出部门与人员）转给谁（转入部门与人员）、何时。"),
        ("积压账龄",
         "本报告的请求中尚未解决、关闭或取消的，按自提交起的自然时长分组（报告生成时）。"),
        ("首次响应",
         "从提交到首次认领的自然时长（人员：其负责的本月请求；角色：有该角色步骤的本月请求）。"),
        ("P90", "最近秩法：将数值从小到大排列，取第 ceil(0.9n) 个（n 为数值个数）。"),
        ("SLA 达标率", "未超时的处理步骤 / 全部处理步骤；超时指步骤时钟在最近一次运行中曾超时。"),
        ("升级", "处理步骤的步骤时钟上的升级次数（各级合计）。"),
        ("重开率", "至少重开一次的请求 / 至少解决过一次的请求。"),
        ("满意度", "请求最近一次满意度评分（1-5 分）的平均值。"),
    ]
    definition_html = "".join(f"<dt>{escape(term)}</dt><dd>{escape(text)}</dd>"
                              for term, text in definitions)
    generated = report.generated_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    return "".join([
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">统计期间 {at(report.period_start)} 至 {at(report.period_end)}'
        f"（{escape(report.tz)}）· 生成于 {generated}</p>",
        "<h2>概览</h2><div class=\"cards\">",
        "".join(f'<div class="card"><b>{escape(value)}</b><span>{escape(label)}</span></div>'
                for label, value in cards),
        "</div>",
        _table(("状态", "代码", "请求数"), status_rows, numeric=[2]),
        daily,
        "<h2>积压账龄</h2>", _table(("账龄", "请求数"), backlog_rows, numeric=[1]),
        "<h2>按角色</h2>", role_chart, role_table,
        "<h2>按人员</h2>", volume_chart, people_table,
        f"<h2>转交（{len(report.handoffs)}）</h2>", handoff_table,
        html_sections(report),
        f"<h2>请求明细（{len(report.requests)}）</h2>", withheld, request_table,
        f'<h2>指标定义</h2><dl class="defs">{definition_html}</dl>',
        "</body></html>\n",
    ])
