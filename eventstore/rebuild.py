"""Rebuilds the projections from the log: empties them and replays every event in log order.

    python -m eventstore.rebuild [URL]

URL defaults to the worker's store: $CASEFLOW_DATABASE_URL, else the embedded store in
$CASEFLOW_STATE_DIR.

Runs in one transaction, so readers see the old projections until the new ones are complete.
On PostgreSQL the log is locked against appends for the duration (reads go on); on SQLite the
transaction holds the write lock. ``events`` and ``notifications`` are never touched."""

import asyncio
import os
import sys

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.codec import event_from_row
from eventstore.engine import create_engine, transaction
from eventstore.errors import DATABASE_URL_SETTING, StoreUnavailable, safe_url
from eventstore.projector import WorkloadChanges, project
from runtime.settings import STATE_DIR_SETTING, store_url_from
from schema.tables import PROJECTION_TABLES, events

BATCH_SIZE = 1000


async def rebuild_projections(engine: AsyncEngine, *, batch_size: int = BATCH_SIZE) -> int:
    """Deletes every projection row and replays the whole log through ``project`` in log
    (id) order, fetching ``batch_size`` events at a time; returns the number replayed."""
    replayed = 0
    async with transaction(engine, write=True) as conn:
        if conn.dialect.name == "postgresql":
            # Appends wait (they would project onto half-rebuilt rows); reads do not.
            await conn.execute(text("LOCK TABLE events IN EXCLUSIVE MODE"))
        for table in reversed(PROJECTION_TABLES):
            await conn.execute(delete(table))
        after_id = 0
        while True:
            rows = (
                await conn.execute(
                    select(events)
                    .where(events.c.id > after_id)
                    .order_by(events.c.id)
                    .limit(batch_size)
                )
            ).all()
            if not rows:
                break
            workload = WorkloadChanges()
            for row in rows:
                await project(conn, event_from_row(row), workload)
            await workload.write(conn)
            replayed += len(rows)
            after_id = rows[-1].id
    return replayed


async def _rebuild_url(url: str) -> int:
    engine = create_engine(url)
    try:
        return await rebuild_projections(engine)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(f"usage: python -m eventstore.rebuild [URL]   (default: ${DATABASE_URL_SETTING}, "
              f"else the embedded store in ${STATE_DIR_SETTING})")
        return 0
    url = args[0] if args else store_url_from(os.environ)
    try:
        count = asyncio.run(_rebuild_url(url))
    except StoreUnavailable as error:
        print(f"eventstore.rebuild: {error}", file=sys.stderr)
        return 1
    print(f"rebuilt the projections of {safe_url(url)} from {count} events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
