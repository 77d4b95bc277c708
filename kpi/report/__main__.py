"""``python -m kpi.report``: the monthly report of one month as HTML and CSV files."""

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from catalog.loader import load_catalog_around
from catalog.problems import ConfigError
from domain.catalog import Catalog
from eventstore.engine import create_engine, unreadable_schema
from eventstore.errors import StoreUnavailable
from kpi.report.csv_files import write_csvs
from kpi.report.figures import parse_month, zone
from kpi.report.model import DEFAULT_TZ, MonthlyReport, ReportNames
from kpi.report.page import render_html
from kpi.report.queries import build_report, with_analysis
from runtime.exit import run_main
from runtime.settings import (
    CONFIG_DIR_SETTING,
    DATABASE_URL_SETTING,
    config_dir_from,
    store_url_from,
)


def _parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m kpi.report",
        description="caseflow monthly performance report (HTML and CSV)")
    parser.add_argument("--month", required=True, help="YYYY-MM, e.g. 2026-11")
    parser.add_argument("--department", help="only this department's work")
    parser.add_argument("--role", help="only this role's work")
    parser.add_argument("--tz", default=DEFAULT_TZ,
                        help=f"time zone of the month's boundaries (default {DEFAULT_TZ})")
    parser.add_argument("--out", default=".", help="output directory (default: current)")
    parser.add_argument("--database-url",
                        default=store_url_from(env),
                        help=f"event store URL (default ${DATABASE_URL_SETTING})")
    parser.add_argument("--config-dir",
                        default=str(config_dir_from(env)),
                        help=f"organisation configuration, for names (default "
                             f"${CONFIG_DIR_SETTING})")
    return parser


def write_report(report: MonthlyReport, out: Path) -> list[Path]:
    """Writes ``out/<stem>.html`` and the CSVs in ``out/<stem>/``; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    page = out / f"{report.file_stem}.html"
    page.write_text(render_html(report), encoding="utf-8")
    return [page, *write_csvs(report, out / report.file_stem)]


async def _build(args: argparse.Namespace, catalog: Catalog) -> MonthlyReport:
    engine = create_engine(args.database_url)
    try:
        report = await build_report(engine, parse_month(args.month),
                                    department=args.department, role=args.role, tz=args.tz,
                                    names=ReportNames.from_catalog(catalog))
        return await with_analysis(engine, report, catalog)
    except DBAPIError as error:
        raise unreadable_schema(engine, error) from error
    finally:
        await engine.dispose()


def _catalog(args: argparse.Namespace) -> Catalog:
    month = parse_month(args.month)
    zone(args.tz)
    catalog = load_catalog_around(Path(args.config_dir), month)
    if args.department and args.department not in catalog.departments:
        print(f"caseflow report: note: department {args.department!r} is not in the "
              "configuration; reporting what the store holds for it", file=sys.stderr)
    return catalog


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = _parser(os.environ if environ is None else environ).parse_args(
        sys.argv[1:] if argv is None else argv)

    def report() -> None:
        catalog = _catalog(args)
        for path in write_report(asyncio.run(_build(args, catalog)), Path(args.out)):
            print(path)

    return run_main("caseflow report", report, (StoreUnavailable, ConfigError, ValueError, OSError))


if __name__ == "__main__":
    sys.exit(main())
