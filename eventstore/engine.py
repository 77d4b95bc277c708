"""Engines and transactions of the event store, for PostgreSQL (asyncpg) and SQLite (aiosqlite).

SQLite runs in WAL mode with a busy timeout, and SQLAlchemy (not the sqlite3 driver) emits
BEGIN so every transaction, DDL included, is a real one; writers begin with ``BEGIN IMMEDIATE``
(see ``transaction(..., write=True)``) so two writers serialise instead of failing on a stale
snapshot. PostgreSQL runs at its default READ COMMITTED with ``pool_pre_ping``."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DBAPIError,
    IntegrityError,
    InvalidRequestError,
    NoSuchModuleError,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from eventstore.errors import StoreRefused, StoreUnavailable

SQLITE_BUSY_TIMEOUT_MS = 30_000
_WRITE_OPTION = "caseflow_write"
_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}


def _dumps(value: Any) -> str:
    # Chinese text stays readable in the database instead of \uXXXX escapes.
    return json.dumps(value, ensure_ascii=False)


def parse_url(url: str | URL) -> URL:
    """``url`` as an async SQLAlchemy URL (plain ``postgresql://`` and ``sqlite://`` get the
    asyncpg / aiosqlite driver) or StoreUnavailable naming what is wrong with it."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except ArgumentError as error:
        raise StoreUnavailable(str(url), f"not a database URL ({error})") from error
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise StoreUnavailable(
            parsed,
            f"unsupported driver {parsed.drivername!r}, "
            "use postgresql+asyncpg://... or sqlite+aiosqlite:///...",
        )
    return parsed.set(drivername=driver)


def create_engine(url: str) -> AsyncEngine:
    """An async engine for ``url``; one per process per URL is the caller's concern."""
    parsed = parse_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_async_engine(
                parsed,
                json_serializer=_dumps,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            )
            _configure_sqlite(engine)
        else:
            engine = create_async_engine(parsed, json_serializer=_dumps, pool_pre_ping=True)
    except (ArgumentError, InvalidRequestError, NoSuchModuleError, ImportError) as error:
        raise StoreUnavailable(parsed, str(error)) from error
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN (see _on_begin): the driver's legacy mode would not.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(_WRITE_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def upsert_insert(conn: AsyncConnection, table: Table) -> Any:
    """An INSERT of ``table`` in ``conn``'s dialect, which has ``on_conflict_do_…`` (both
    PostgreSQL and SQLite support it, each through its own construct)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def describe(error: BaseException) -> str:
    """A one-line reason for a connection failure."""
    cause = getattr(error, "orig", None) or error
    text = " ".join(str(cause).split()) or type(cause).__name__
    return f"{type(cause).__name__}: {text}" if type(cause).__name__ not in text else text


# SQLSTATE classes of a refusal of the data itself: 22 data exception (untranslatable
# character, value too long), 23 integrity constraint violation, 54 program limit exceeded.
_REFUSING_SQLSTATE_CLASSES = ("22", "23", "54")


def classify(engine: AsyncEngine, error: DBAPIError) -> StoreUnavailable | StoreRefused:
    """A database error as a permanent refusal of the data or a (retryable) outage."""
    orig = getattr(error, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(
        getattr(orig, "__cause__", None), "sqlstate", None)
    refused = (isinstance(error, (DataError, IntegrityError))
               or (isinstance(sqlstate, str) and sqlstate[:2] in _REFUSING_SQLSTATE_CLASSES))
    if refused:
        return StoreRefused(describe(error))
    return StoreUnavailable(engine.url, describe(error))


def unreadable_schema(engine: AsyncEngine, error: DBAPIError) -> StoreUnavailable:
    """A failed read of caseflow's tables, naming the likely cause: a schema not migrated yet."""
    return StoreUnavailable(engine.url, f"{describe(error)} (is the schema migrated? "
                            "python -m eventstore.migrate)")


async def connect(engine: AsyncEngine) -> AsyncConnection:
    """A connection from ``engine``, or StoreUnavailable if the database cannot be reached."""
    try:
        return await engine.connect()
    except (OSError, TimeoutError, DBAPIError) as error:
        raise StoreUnavailable(engine.url, describe(error)) from error


@asynccontextmanager
async def transaction(engine: AsyncEngine, *, write: bool = False) -> AsyncIterator[
    AsyncConnection
]:
    """One transaction, committed when the block ends without error, rolled back otherwise.

    ``write=True`` takes SQLite's write lock up front (``BEGIN IMMEDIATE``) so a
    read-then-write transaction never works on a stale snapshot; on PostgreSQL it changes
    nothing."""
    conn = await connect(engine)
    try:
        if write:
            await conn.execution_options(**{_WRITE_OPTION: True})
        async with conn.begin():
            yield conn
    finally:
        await conn.close()


@asynccontextmanager
async def read_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A read-only transaction whose statements all see one snapshot: REPEATABLE READ on
    PostgreSQL; on SQLite (WAL) a transaction reads one snapshot anyway. StoreUnavailable if
    the database cannot be reached."""
    conn = await connect(engine)
    try:
        if conn.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="REPEATABLE READ",
                                         postgresql_readonly=True)
        async with conn.begin():
            yield conn
    finally:
        await conn.close()
