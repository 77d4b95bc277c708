"""Alembic environment of the event store.

``eventstore.migrate.upgrade`` passes an open connection in ``config.attributes["connection"]``;
the ``alembic`` command line (with ``eventstore/alembic.ini`` and ``-x url=...`` or
CASEFLOW_DATABASE_URL) gets an engine of its own."""

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from eventstore.engine import create_engine, parse_url
from schema.tables import metadata

config = context.config
target_metadata = metadata


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get(
        "CASEFLOW_DATABASE_URL"
    )
    if not url:
        url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("no database URL: pass -x url=... or set CASEFLOW_DATABASE_URL")
    return url


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )


def run_migrations_offline() -> None:
    context.configure(
        url=parse_url(_url()),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(_url())
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run_sync)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        asyncio.run(_run_async())
    else:
        _run_sync(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
