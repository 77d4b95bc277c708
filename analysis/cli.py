"""``python -m analysis``: the decision analyses of a month, printed as tables.

    python -m analysis whatif --month 2026-11 --proposed proposals/sla-2027/
"""

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from analysis.period import month_range, parse_month
from analysis.store import logs_submitted_between
from analysis.tables import format_table, percent
from analysis.whatif import GroupCompliance, WhatIfReport, compare
from domain.configuration import ConfigError, load_catalog_around
from domain.events import DomainEvent
from eventstore.engine import create_engine, unreadable_schema
from eventstore.errors import DATABASE_URL_SETTING, StoreUnavailable
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
    for command in (whatif,):
        command.add_argument("--month", required=True, help="YYYY-MM: requests submitted then")
        command.add_argument("--tz", default=DEFAULT_TZ,
                             help=f"time zone of the month's boundaries (default {DEFAULT_TZ})")
        command.add_argument("--database-url", default=store_url_from(env),
                             help=f"event store URL (default ${DATABASE_URL_SETTING})")
        command.add_argument("--config-dir", default=str(config_dir_from(env)),
                             help=f"today's configuration (default ${CONFIG_DIR_SETTING})")
    return parser


_COMMANDS = {"whatif": _whatif}


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
