"""Erasure of customers' personal data, for a data protection officer (PIPL):

    python -m operations.erasure customer CUSTOMER_ID --by PERSON
    python -m operations.erasure retention [--days N] --by PERSON [--dry-run]

The store is the worker's (``CASEFLOW_DATABASE_URL``, else the embedded store); the roster that
says who is a data protection officer is the organisation in ``CASEFLOW_CONFIG_DIR``."""

import argparse
import asyncio
import os
import sys

from sqlalchemy.ext.asyncio import AsyncEngine

from catalog.loader import load_catalog_around
from catalog.problems import ConfigError
from eventstore.engine import create_engine
from eventstore.erasure import (
    RETENTION_SETTING,
    Erasure,
    ErasureRefused,
    apply_retention,
    check_officer,
    due_for_retention,
    erase_customer,
)
from eventstore.errors import StoreUnavailable
from operations.erasure_notices import tell_live_requests
from runtime.connection import TemporalUnavailable, connect
from runtime.settings import config_dir_from, from_env, store_url_from

PROGRAM = "operations.erasure"


async def _run(args: argparse.Namespace) -> None:
    catalog = load_catalog_around(config_dir_from(os.environ))
    check_officer(catalog, args.by)
    engine = create_engine(args.database_url)
    try:
        if args.command == "customer":
            done = await erase_customer(engine, catalog, args.customer_id, by=args.by)
            await _tell(engine, done)
            print(f"erased customer {done.customer_id} ({done.requests} requests)" if done.done
                  else f"customer {done.customer_id} was already erased: nothing changed")
        elif args.dry_run:
            due = await due_for_retention(engine, days=args.days)
            for customer_id, count in due:
                print(f"would erase customer {customer_id} ({count} requests)")
            print(f"{len(due)} customers due for erasure (retention {args.days:g} days)")
        else:
            erased = await apply_retention(engine, catalog, days=args.days, by=args.by)
            for done in erased:
                await _tell(engine, done)
            print(f"erased {sum(e.done for e in erased)} customers "
                  f"(retention {args.days:g} days)")
    finally:
        await engine.dispose()


async def _tell(engine: AsyncEngine, erasure: Erasure) -> None:
    """Live requests append the erasure to their logs themselves, told through Temporal."""
    if not erasure.live:
        return
    settings = from_env()
    try:
        client = await connect(settings.temporal_address, settings.namespace,
                               transport=settings.temporal_transport)
    except TemporalUnavailable as error:
        print(f"erased, but the live requests {', '.join(erasure.live)} were not told, so "
              f"their logs do not record it: {error}", file=sys.stderr)
        return
    for request_id in await tell_live_requests(client, engine, erasure):
        print(f"request {request_id} was not told of the erasure (Temporal refused): its log "
              "does not record it", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {PROGRAM}",
                                     description="erase customers' personal data")
    parser.add_argument("--database-url", default=store_url_from(os.environ),
                        help="event store URL (default: the worker's store)")
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("customer", help="erase one customer")
    one.add_argument("customer_id")
    one.add_argument("--by", required=True, help="the data protection officer's person id")
    due = commands.add_parser("retention", help="erase customers past the retention period")
    due.add_argument("--days", type=float, default=None,
                     help=f"the retention period (default: ${RETENTION_SETTING})")
    due.add_argument("--by", required=True, help="the data protection officer's person id")
    due.add_argument("--dry-run", action="store_true", help="list, erase nothing")
    args = parser.parse_args(argv)
    if args.command == "retention" and args.days is None:
        configured = os.environ.get(RETENTION_SETTING, "")
        try:
            args.days = float(configured)
        except ValueError:
            print(f"{PROGRAM}: pass --days or set {RETENTION_SETTING} to a number of "
                  f"days (it is {configured[:20]!r})", file=sys.stderr)
            return 2
    try:
        asyncio.run(_run(args))
    except (ErasureRefused, StoreUnavailable, ConfigError, ValueError) as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
