"""Master-key rotation of the event store, for operators:

    python -m operations.rekey --dry-run     # how many customer keys each old master key wraps
    python -m operations.rekey [--limit N]   # re-wrap them under the ring's current key

The ring is the store's (``CASEFLOW_STORE_MASTER_KEYS`` / ``_FILE``, else the state folder's),
and must hold the new key as current and the old ones beside it. Safe to stop and run again:
see ``eventstore.rekey``. Once nothing is left under an old key, drop it from the ring."""

import argparse
import asyncio
import os
import sys

from eventstore.engine import create_engine
from eventstore.errors import StoreUnavailable
from eventstore.personal import store_master_ring
from eventstore.rekey import pending, rotate
from privacy.keys import KeyRingError
from runtime.settings import store_url_from

PROGRAM = "operations.rekey"


async def _run(args: argparse.Namespace) -> None:
    master = store_master_ring()
    engine = create_engine(args.database_url)
    try:
        if args.dry_run:
            due = await pending(engine, master)
            for key_id, count in sorted(due.items()):
                print(f"would re-wrap {count} customer keys under {key_id!r}")
            print(f"{sum(due.values())} customer keys to re-wrap under {master.current!r}")
            return
        done = await rotate(engine, master, limit=args.limit)
        print(f"re-wrapped {done.rewrapped} customer keys under {done.current!r}")
        for key_id, count in sorted(done.remaining.items()):
            print(f"still under {key_id!r}: {count} (run again)")
        if done.done:
            print("no customer key is under an older master key: the old ones may be dropped "
                  "from the ring")
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m {PROGRAM}",
        description="re-wrap every customer data key under the master ring's current key")
    parser.add_argument("--database-url", default=store_url_from(os.environ),
                        help="event store URL (default: the worker's store)")
    parser.add_argument("--dry-run", action="store_true", help="count, change nothing")
    parser.add_argument("--limit", type=int, default=None,
                        help="re-wrap at most this many keys in this run")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        print(f"{PROGRAM}: --limit must be at least 1", file=sys.stderr)
        return 2
    try:
        asyncio.run(_run(args))
    except (KeyRingError, StoreUnavailable) as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
