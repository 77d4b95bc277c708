"""Rebuilds the projections from the log: empties them and replays every event in log order.

    python -m eventstore.rebuild [URL]    # default: the store of the settings (README)

Runs in one transaction, so readers see the old projections until the new ones are complete.
On PostgreSQL the log is locked against appends for the duration (reads go on); on SQLite the
transaction holds the write lock. ``events`` and ``notifications`` are never touched.

The new projections are built in memory and written in bulk at the end, so memory grows with
the number of requests in the log (several KB each: their request, step and escalation rows
as dicts)."""

import asyncio
import sys

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.engine import create_engine, transaction
from eventstore.errors import StoreUnavailable, safe_url
from eventstore.personal import PersonalData
from eventstore.projection_rows import ProjectionRows
from eventstore.projector import UNPROJECTED, project
from runtime.exit import run_main
from runtime.settings import store_url_argument
from schema.tables import PROJECTION_TABLES, events

BATCH_SIZE = 1000


async def rebuild_projections(engine: AsyncEngine, *, batch_size: int = BATCH_SIZE) -> int:
    """Deletes every projection row and replays the whole log through ``project`` in log
    (id) order, fetching ``batch_size`` events at a time, then writes the projections in bulk;
    returns the number of events replayed."""
    replayed = 0
    async with transaction(engine, write=True) as conn:
        if conn.dialect.name == "postgresql":
            # Appends wait (they would project onto half-rebuilt rows); reads do not.
            await conn.execute(text("LOCK TABLE events IN EXCLUSIVE MODE"))
        for table in reversed(PROJECTION_TABLES):
            await conn.execute(delete(table))
        after_id = 0
        personal = PersonalData(conn)
        # Projected in memory from empty tables, then written in bulk: one statement per
        # few thousand rows instead of two or three per event.
        projection = ProjectionRows()
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
            for row in rows:
                # A pinned plan (a request's first event) changes no projection, and parsing
                # it (calendars, rosters) cost more than every other event of its request.
                if row.event_type not in UNPROJECTED:
                    project(projection, await personal.event_of(row))
            replayed += len(rows)
            after_id = rows[-1].id
        await projection.write(conn)
    return replayed


async def _rebuild_url(url: str) -> int:
    engine = create_engine(url)
    try:
        return await rebuild_projections(engine)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    url = store_url_argument("python -m eventstore.rebuild",
                             "Rebuilds the projections from the event log.", argv)

    def rebuild() -> None:
        count = asyncio.run(_rebuild_url(url))
        print(f"rebuilt the projections of {safe_url(url)} from {count} events")

    return run_main("eventstore.rebuild", rebuild, (StoreUnavailable,), status=1)


if __name__ == "__main__":
    sys.exit(main())
