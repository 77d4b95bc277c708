"""``python -m analysis``: the decision analyses of a month, printed as tables.

    python -m analysis whatif --month 2026-11 --proposed docs/examples/sla-proposal/
    python -m analysis paths --month 2026-11 --svg-dir reports/
    python -m analysis segments --month 2026-11
    python -m analysis customer CUST-0086
    python -m analysis duplicates
"""

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from analysis import queries
from analysis.graph_svg import render_flow_svg
from analysis.period import month_range, parse_month
from analysis.proposal import proposed_from_folder
from analysis.render import (
    render_duplicates,
    render_paths,
    render_segments,
    render_story,
    render_whatif,
)
from analysis.store import logs_submitted_between
from analysis.tables import format_table
from analysis.whatif import compare
from catalog.loader import load_catalog_around
from catalog.problems import ConfigError
from eventstore.engine import create_engine, unreadable_schema
from eventstore.errors import StoreUnavailable
from runtime.settings import (
    CONFIG_DIR_SETTING,
    DATABASE_URL_SETTING,
    config_dir_from,
    store_url_from,
)

DEFAULT_TZ = "Asia/Shanghai"


_T = TypeVar("_T")


def _read(url: str, query: Callable[[AsyncEngine], Awaitable[_T]]) -> _T:
    async def run() -> _T:
        engine = create_engine(url)
        try:
            return await query(engine)
        except DBAPIError as error:
            raise unreadable_schema(engine, error) from error
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _month(args: argparse.Namespace) -> tuple[date, datetime, datetime]:
    month = parse_month(args.month)
    start, end = month_range(month, args.tz)
    return month, start, end


def _whatif(args: argparse.Namespace) -> str:
    month, start, end = _month(args)
    horizon = _as_of(args)
    current = load_catalog_around(Path(args.config_dir), month)
    proposed = proposed_from_folder(Path(args.config_dir), Path(args.proposed), month)
    logs = _read(args.database_url, lambda engine: logs_submitted_between(engine, start, end))
    # Replayed once the store is closed: the worker processes fork from a quiet process.
    report = compare(logs, current, proposed, horizon, workers=args.workers)
    return render_whatif(report, flips=args.flips)


def _paths(args: argparse.Namespace) -> str:
    month, start, end = _month(args)
    catalog = load_catalog_around(Path(args.config_dir), month)
    found = _read(args.database_url,
                  lambda engine: queries.paths(engine, catalog, start, end, _as_of(args)))
    report = found.report
    output = render_paths(report, deviations=args.deviations)
    if found.skipped:
        output += "\n" + format_table("Skipped requests", ["request", "reason"],
                                      [[s.request_id, s.reason]
                                       for s in found.skipped[:args.deviations]])
    if args.svg_dir:
        folder = Path(args.svg_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for flow in report.flows:
            svg = folder / f"paths-{args.month}-{flow.template_id}.svg"
            svg.write_text(render_flow_svg(flow), encoding="utf-8")
            output += f"{svg}\n"
    return output


def _customer(args: argparse.Namespace) -> str:
    found = _read(args.database_url,
                  lambda engine: queries.story(engine, args.customer_id, _as_of(args)))
    if found is None:
        raise ValueError(f"no requests of customer {args.customer_id[:64]!r} in the log")
    return render_story(found)


def _duplicates(args: argparse.Namespace) -> str:
    found = _read(args.database_url, queries.duplicates)
    return render_duplicates(found.suggestions, customers=found.customers)


def _segments(args: argparse.Namespace) -> str:
    month, start, end = _month(args)
    catalog = load_catalog_around(Path(args.config_dir), month)
    found = _read(args.database_url, lambda engine: queries.segments(
        engine, catalog, start, end, _as_of(args), longest=args.longest))
    return render_segments(found.by_tier, found.by_channel, found.longest_waits)


def _as_of(args: argparse.Namespace) -> datetime:
    return datetime.now(UTC) if args.as_of is None else _instant(args.as_of)


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
                        help="directory with the proposal's files, same format as config/ "
                             "(sla.toml; organisation.toml for calendars and holidays); files "
                             "it lacks are today's")
    whatif.add_argument("--flips", type=int, default=20,
                        help="how many flipping clocks to list (default 20)")
    whatif.add_argument("--as-of", help="replay time up to this instant (default now)")
    whatif.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes replaying in parallel (default: one per core)")
    paths = commands.add_parser(
        "paths", help="the paths requests took, where their time went, the bottlenecks")
    paths.add_argument("--svg-dir", help="also write each process's graph as SVG here")
    paths.add_argument("--deviations", type=int, default=20,
                       help="how many deviating requests to list (default 20)")
    paths.add_argument("--as-of", help="trace steps still open up to this instant (default now)")
    segments = commands.add_parser(
        "segments", help="volume, handling time, SLA, CSAT and reopens by tier and channel, "
                         "and the longest waits with their cause")
    segments.add_argument("--longest", type=int, default=10,
                          help="how many of the longest waits to list (default 10)")
    segments.add_argument("--as-of", help="unresolved requests wait up to here (default now)")
    customer = commands.add_parser("customer", help="one customer's whole story")
    customer.add_argument("customer_id")
    customer.add_argument("--as-of", help="time since last contact up to here (default now)")
    duplicates = commands.add_parser(
        "duplicates", help="customers who may be one under two ids (suggestions only)")
    for command in (whatif, paths, segments):
        command.add_argument("--month", required=True, help="YYYY-MM: requests submitted then")
        command.add_argument("--tz", default=DEFAULT_TZ,
                             help=f"time zone of the month's boundaries (default {DEFAULT_TZ})")
    for command in (whatif, paths, segments):
        command.add_argument("--config-dir", default=str(config_dir_from(env)),
                             help=f"today's configuration (default ${CONFIG_DIR_SETTING})")
    for command in (whatif, paths, segments, customer, duplicates):
        command.add_argument("--database-url", default=store_url_from(env),
                             help=f"event store URL (default ${DATABASE_URL_SETTING})")
    return parser


_COMMANDS = {"whatif": _whatif, "paths": _paths, "customer": _customer,
             "duplicates": _duplicates, "segments": _segments}


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
