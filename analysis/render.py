"""The analyses as plain-text tables for the terminal."""

from collections.abc import Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from analysis.customers import CustomerStory, SegmentKpis
from analysis.duplicates import DuplicateSuggestion
from analysis.paths import ProcessReport, TemplateFlow
from analysis.tables import format_table, percent
from analysis.waits import LongWait
from analysis.whatif import GroupCompliance, WhatIfReport
from presentation.text import format_duration

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _compliance_rows(groups: Sequence[GroupCompliance]) -> list[list[str]]:
    return [[g.group, str(g.clocks), str(g.warned_current), str(g.warned_proposed),
             str(g.breached_current), str(g.breached_proposed),
             percent(g.compliance_current), percent(g.compliance_proposed),
             f"{100 * (g.compliance_proposed - g.compliance_current):+.1f}"]
            for g in groups]


def render_whatif(report: WhatIfReport, *, flips: int) -> str:
    header = ["", "clocks", "warned now", "warned proposed", "breached now",
              "breached proposed", "compliance now", "compliance proposed", "change (pts)"]
    parts = [
        f"requests replayed: {report.requests}; skipped: {len(report.skipped)}\n",
        format_table("By department", ["department", *header[1:]],
                     _compliance_rows(report.by_department)),
        format_table("By role", ["department/role", *header[1:]],
                     _compliance_rows(report.by_role)),
        format_table("By customer tier", ["tier", *header[1:]], _compliance_rows(report.by_tier)),
        format_table("Escalations that fire", ["department", "level", "now", "proposed"],
                     [[e.department_id, str(e.level), str(e.current), str(e.proposed)]
                      for e in report.escalations]),
        format_table(f"Escalations that change ({len(report.escalation_changes)}, first {flips}"
                     " shown)", ["request", "clock", "level", "recipient", "department", "at",
                                 "now", "proposed"],
                     [[c.escalation.request_id, c.escalation.clock_id, str(c.escalation.level),
                       c.escalation.recipient_id, c.escalation.department_id,
                       _local(c.escalation.at), "fires" if c.fires_current else "-",
                       "fires" if c.fires_proposed else "-"]
                      for c in report.escalation_changes[:flips]]),
        format_table(f"Clocks that flip ({len(report.flips)}, first {flips} shown)",
                     ["request", "clock", "department/role", "tier", "now", "proposed"],
                     [[f.request_id, f.clock_id, f"{f.department_id}/{f.role}", f.tier,
                       "breached" if f.breached_current else "met",
                       "breached" if f.breached_proposed else "met"]
                      for f in report.flips[:flips]]),
    ]
    if report.skipped:
        parts.append(format_table("Skipped requests", ["request", "reason"],
                                  [[s.request_id, s.reason] for s in report.skipped[:flips]]))
    return "\n".join(parts)


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f}"


def _median(seconds: float | None) -> str:
    return format_duration(seconds)


def _render_flow(flow: TemplateFlow, *, deviations: int) -> list[str]:
    title = f"Process {flow.template_id}: {flow.requests} requests, {flow.loops} loop(s) back, " \
            f"{flow.reopens} reopen(s)"
    return [
        format_table(f"{title}\nPaths (directly-follows)",
                     ["from", "to", "requests", "median gap", "loop"],
                     [[e.source, e.target, str(e.count), _median(e.median_seconds),
                       "loop" if e.loop else ""] for e in flow.edges]),
        format_table("Stages (hours summed over steps)",
                     ["stage", "name", "visits", "median wall", "median business", "working",
                      "queue", "waiting customer", "waiting third party", "outside hours"],
                     [[n.stage_id, n.name, str(n.visits), _median(n.median_wall_seconds),
                       _median(n.median_business_seconds), _hours(n.split.working),
                       _hours(n.split.queue), _hours(n.split.waiting_customer),
                       _hours(n.split.waiting_third_party), _hours(n.split.outside_hours)]
                      for n in flow.nodes]),
        format_table("Handoffs", ["from", "to", "count", "median pickup"],
                     [[h.from_department_id, h.to_department_id, str(h.count),
                       _median(h.median_pickup_seconds)] for h in flow.handoffs]),
        format_table(f"Deviating requests ({len(flow.deviations)}, first {deviations} shown)",
                     ["request", "how"],
                     [[d.request_id, "; ".join(d.reasons)] for d in flow.deviations[:deviations]]),
    ]


def render_paths(report: ProcessReport, *, deviations: int) -> str:
    parts = [part for flow in report.flows for part in _render_flow(flow, deviations=deviations)]
    parts.append(format_table(
        "Bottleneck per department and role (business hours)",
        ["department", "role", "steps", "business", "most on", "costliest stage", "its hours"],
        [[b.department_id, b.role, str(b.steps), _hours(b.split.business), b.split.largest(),
          b.stage_id, _hours(b.stage_business_seconds)] for b in report.bottlenecks]))
    return "\n".join(parts)





def _local(at: datetime | None) -> str:
    return "-" if at is None else at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _days(seconds: float) -> str:
    return f"{seconds / 86400:.1f} d"


def render_story(story: CustomerStory) -> str:
    """Times in Asia/Shanghai."""
    head = [
        f"Customer {story.customer_id}: {' / '.join(story.names)}",
        *([f"merged into it: {', '.join(story.merged_ids)}"] if story.merged_ids else []),
        "tier: " + " -> ".join(f"{tier} (from {_local(at)})" for at, tier in story.tiers),
        f"requests: {len(story.requests)} ({story.open_requests} open); with a breach: "
        f"{story.breached_requests}; reopens: {story.reopens}",
        f"last contact: {_local(story.last_contact_at)} "
        f"({_days(story.seconds_since_last_contact)} ago)", "",
    ]
    return "\n".join([
        *head,
        format_table("Requests", ["submitted", "request", "customer id", "channel", "type",
                                  "tier", "priority", "status", "departments", "breaches",
                                  "reopens", "satisfaction"],
                     [[_local(r.submitted_at), r.request_id, r.customer_id, r.channel,
                       r.request_type, r.tier,
                       r.priority, r.status, ",".join(r.departments), str(r.breaches),
                       str(r.reopens), "-" if r.satisfaction is None else str(r.satisfaction)]
                      for r in story.requests]),
        format_table("Satisfaction over time", ["at", "request", "satisfaction"],
                     [[_local(r.at), r.request_id, str(r.satisfaction)]
                      for r in story.ratings]),
    ])


def render_duplicates(suggestions: Sequence[DuplicateSuggestion], *, customers: int) -> str:
    return format_table(
        f"Possible duplicate customers among {customers} (suggestions only; nothing is merged)",
        ["customer", "name", "customer", "name", "similarity", "why"],
        [[s.customer_ids[0], s.names[0], s.customer_ids[1], s.names[1], f"{s.similarity:.3f}",
          s.reason] for s in suggestions])


def _maybe(value: float | None, show: Callable[[float], str]) -> str:
    return "-" if value is None else show(value)


def _segment_rows(segments: Sequence[SegmentKpis]) -> list[list[str]]:
    return [[s.segment, str(s.requests), str(s.resolved),
             _maybe(s.median_handling_seconds, format_duration),
             _maybe(s.sla_compliance, percent), _maybe(s.csat, lambda v: f"{v:.2f}"),
             _maybe(s.reopen_rate, percent)] for s in segments]


def render_segments(by_tier: Sequence[SegmentKpis], by_channel: Sequence[SegmentKpis],
                    waits: Sequence[LongWait]) -> str:
    header = ["requests", "resolved", "median handling", "SLA compliance", "CSAT",
              "reopen rate"]
    return "\n".join([
        format_table("By customer tier", ["tier", *header], _segment_rows(by_tier)),
        format_table("By channel", ["channel", *header], _segment_rows(by_channel)),
        format_table("Longest waits (submission to first resolution; business hours of steps)",
                     ["request", "customer", "name", "tier", "wait", "resolved", "working",
                      "queue", "waiting customer", "waiting third party", "cause"],
                     [[w.request_id, w.customer_id, w.customer_name, w.tier,
                       format_duration(w.wait_seconds), "yes" if w.resolved else "no",
                       _hours(w.split.working), _hours(w.split.queue),
                       _hours(w.split.waiting_customer), _hours(w.split.waiting_third_party),
                       w.cause] for w in waits]),
    ])
