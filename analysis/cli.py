"""``python -m analysis``: the decision analyses of a month, printed as tables.

    python -m analysis whatif --month 2026-11 --proposed proposals/sla-2027/
    python -m analysis paths --month 2026-11 --svg-dir reports/
"""

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from analysis.graph_svg import render_flow_svg
from analysis.paths import ProcessReport, TemplateFlow, analyse_paths, trace_requests
from analysis.period import month_range, parse_month
from analysis.store import logs_submitted_between
from analysis.tables import format_table, percent
from analysis.whatif import GroupCompliance, WhatIfReport, compare
from domain.configuration import ConfigError, load_catalog_around
from domain.events import DomainEvent
from eventstore.engine import create_engine, unreadable_schema
from eventstore.errors import DATABASE_URL_SETTING, StoreUnavailable
from eventstore.timeline import format_duration
from runtime.settings import CONFIG_DIR_SETTING, config_dir_from, store_url_from

DEFAULT_TZ = "Asia/Shanghai"


def _compliance_rows(groups: Sequence[GroupCompliance]) -> list[list[str]]:
    return [[g.group, str(g.clocks), str(g.breached_current), str(g.breached_proposed),
             percent(g.compliance_current), percent(g.compliance_proposed),
             f"{100 * (g.compliance_proposed - g.compliance_current):+.1f}"]
            for g in groups]


def render_whatif(report: WhatIfReport, *, flips: int) -> str:
    header = ["", "clocks", "breached now", "breached proposed", "compliance now",
              "compliance proposed", "change (pts)"]
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


async def _read_logs(url: str, start: datetime, end: datetime) -> list[list[DomainEvent]]:
    engine = create_engine(url)
    try:
        return await logs_submitted_between(engine, start, end)
    except DBAPIError as error:
        raise unreadable_schema(engine, error) from error
    finally:
        await engine.dispose()


def _whatif(args: argparse.Namespace) -> str:
    month = parse_month(args.month)
    start, end = month_range(month, args.tz)
    horizon = datetime.now(UTC) if args.as_of is None else _instant(args.as_of)
    current = load_catalog_around(Path(args.config_dir), month)
    proposed = load_catalog_around(Path(args.proposed), month)
    logs = asyncio.run(_read_logs(args.database_url, start, end))
    return render_whatif(compare(logs, current, proposed, horizon), flips=args.flips)


def _paths(args: argparse.Namespace) -> str:
    month = parse_month(args.month)
    start, end = month_range(month, args.tz)
    until = datetime.now(UTC) if args.as_of is None else _instant(args.as_of)
    catalog = load_catalog_around(Path(args.config_dir), month)
    calendars = {key: department.calendar for key, department in catalog.departments.items()}
    logs = asyncio.run(_read_logs(args.database_url, start, end))
    paths, skipped = trace_requests(logs, calendars, until)
    report = analyse_paths(paths, catalog.templates)
    output = render_paths(report, deviations=args.deviations)
    if skipped:
        output += "\n" + format_table("Skipped requests", ["request", "reason"],
                                      [list(s) for s in skipped[:args.deviations]])
    if args.svg_dir:
        folder = Path(args.svg_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for flow in report.flows:
            svg = folder / f"paths-{args.month}-{flow.template_id}.svg"
            svg.write_text(render_flow_svg(flow), encoding="utf-8")
            output += f"{svg}\n"
    return output


def _instant(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--as-of {text[:40]!r}: expected an ISO 8601 instant with its offset, "
                         "e.g. 2026-12-01T00:00+08:00") from None
    if instant.tzinfo is None:
        raise ValueError(f"--as-of {text[:40]!r}: give the offset, e.g. +08:00 or Z")
    return instant.astimezone(UTC)


def _parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis",
                                     description="caseflow decision analyses of a month")
    commands = parser.add_subparsers(dest="command", required=True)
    whatif = commands.add_parser(
        "whatif", help="replay a month's SLA clocks under a proposed policy")
    whatif.add_argument("--proposed", required=True,
                        help="configuration directory of the proposed policy (same format as "
                             "config/: sla.toml, organisation.toml for calendars, processes/)")
    whatif.add_argument("--flips", type=int, default=20,
                        help="how many flipping clocks to list (default 20)")
    whatif.add_argument("--as-of", help="replay time up to this instant (default now)")
    paths = commands.add_parser(
        "paths", help="the paths requests took, where their time went, the bottlenecks")
    paths.add_argument("--svg-dir", help="also write each process's graph as SVG here")
    paths.add_argument("--deviations", type=int, default=20,
                       help="how many deviating requests to list (default 20)")
    paths.add_argument("--as-of", help="trace steps still open up to this instant (default now)")
    for command in (whatif, paths):
        command.add_argument("--month", required=True, help="YYYY-MM: requests submitted then")
        command.add_argument("--tz", default=DEFAULT_TZ,
                             help=f"time zone of the month's boundaries (default {DEFAULT_TZ})")
        command.add_argument("--database-url", default=store_url_from(env),
                             help=f"event store URL (default ${DATABASE_URL_SETTING})")
        command.add_argument("--config-dir", default=str(config_dir_from(env)),
                             help=f"today's configuration (default ${CONFIG_DIR_SETTING})")
    return parser


_COMMANDS = {"whatif": _whatif, "paths": _paths}


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = _parser(os.environ if environ is None else environ).parse_args(
        sys.argv[1:] if argv is None else argv)
    try:
        output = _COMMANDS[args.command](args)
    except (StoreUnavailable, ConfigError, ValueError, OSError) as error:
        text = " ".join(str(error).split())
        print(f"caseflow analysis: {text[:500]}", file=sys.stderr)
        return 2
    print(output, end="")
    return 0
