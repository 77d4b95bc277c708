"""Asks for outbox messages to be delivered again, with fresh attempts.

    python -m delivery.redeliver [--destination NAME] [--id N ...] [--database-url URL]

Without ``--id``: every dead letter (of ``--destination`` when given). With ``--id``: those
messages whatever their state, so a receiver that lost what it was sent can be sent it again.
The store is the worker's (CASEFLOW_DATABASE_URL, else the embedded default)."""

import argparse
import asyncio
import os
import sys

from eventstore.engine import create_engine
from eventstore.errors import StoreUnavailable
from eventstore.outbox import redeliver
from runtime.settings import store_url_from


async def _redeliver(url: str, ids: list[int], destination: str | None) -> int:
    engine = create_engine(url)
    try:
        return await redeliver(engine, ids=ids, destination=destination)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m delivery.redeliver",
                                     description="deliver outbox messages again")
    parser.add_argument("--destination", help="only messages to this destination (log, "
                        "webhook, or an integration's name)")
    parser.add_argument("--id", type=int, action="append", default=[], dest="ids",
                        help="an outbox message id (repeatable); default: every dead letter")
    parser.add_argument("--database-url", default=store_url_from(os.environ))
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        count = asyncio.run(_redeliver(args.database_url, args.ids, args.destination))
    except StoreUnavailable as error:
        print(f"delivery.redeliver: {error}", file=sys.stderr)
        return 1
    print(f"{count} outbox message{'s' if count != 1 else ''} due for delivery again")
    return 0


if __name__ == "__main__":
    sys.exit(main())
