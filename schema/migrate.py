"""Brings an event store database to the newest schema revision (Alembic ``upgrade head``).

    python -m schema.migrate [URL]

URL defaults to the worker's store: $CASEFLOW_DATABASE_URL, else the embedded store in
$CASEFLOW_STATE_DIR.

The Alembic configuration is built in code (no ini file needed); the migrations are found next
to this module. Safe to run again and from several processes at once: a second run is a no-op
and, on PostgreSQL, concurrent runs queue on an advisory lock."""

import asyncio
import os
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from eventstore.engine import create_engine, transaction
from eventstore.errors import DATABASE_URL_SETTING, StoreUnavailable, safe_url
from runtime.settings import STATE_DIR_SETTING, store_url_from

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_ADVISORY_LOCK_KEY = 0x0CA5EF10  # "caseflow migrations", any constant unique to this app


def alembic_config() -> Config:
    """The Alembic configuration of the event store, with no database URL in it."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest revision the migrations define."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise RuntimeError(f"no Alembic revisions under {MIGRATIONS_DIR}")
    return head


def _upgrade_sync(connection: Connection) -> tuple[str | None, str | None]:
    before = MigrationContext.configure(connection).get_current_revision()
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    after = MigrationContext.configure(connection).get_current_revision()
    return before, after


async def upgrade_reporting(url: str) -> tuple[str | None, str | None]:
    """Upgrades ``url`` to head; returns the revisions before and after (None: empty)."""
    engine = create_engine(url)
    try:
        async with transaction(engine, write=True) as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY}
                )
            return await conn.run_sync(_upgrade_sync)
    finally:
        await engine.dispose()


async def upgrade(url: str) -> None:
    """Brings the database at ``url`` (``postgresql+asyncpg://`` or ``sqlite+aiosqlite://``)
    to the newest schema in one transaction; a no-op when it is already there. Raises
    StoreUnavailable when the URL is bad or the database cannot be reached."""
    await upgrade_reporting(url)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(f"usage: python -m schema.migrate [URL]   (default: ${DATABASE_URL_SETTING}, "
              f"else the embedded store in ${STATE_DIR_SETTING})")
        return 0
    url = args[0] if args else store_url_from(os.environ)
    try:
        before, after = asyncio.run(upgrade_reporting(url))
    except StoreUnavailable as error:
        print(f"schema.migrate: {error}", file=sys.stderr)
        return 1
    if before == after:
        print(f"schema of {safe_url(url)} is already at revision {after}")
    else:
        print(f"schema of {safe_url(url)} upgraded from {before or 'empty'} to {after}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
