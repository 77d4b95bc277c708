"""The bare workflow's one activity: a row inserted through raw asyncpg (kept out of the
workflow's module, which the sandbox imports again for every run)."""

import asyncpg  # type: ignore[import-untyped]
from temporalio import activity

from bench.baseline.workflow import INSERT_ROW, Row

TABLE = """CREATE TABLE IF NOT EXISTS bare_rows (
    request_id text NOT NULL, sequence integer NOT NULL, action text NOT NULL,
    payload jsonb NOT NULL, PRIMARY KEY (request_id, sequence))"""


class BareActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name=INSERT_ROW)
    async def insert_row(self, row: Row) -> None:
        """Idempotent by (request_id, sequence), as caseflow's append is."""
        await self._pool.execute(
            "INSERT INTO bare_rows VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT DO NOTHING",
            row.request_id, row.sequence, row.action, row.payload)
