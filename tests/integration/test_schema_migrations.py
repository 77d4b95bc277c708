"""The Alembic migrations: idempotent, equal to ``schema.tables``, reversible, and a clear error
for a database that cannot be reached; on PostgreSQL and on SQLite."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Connection

from eventstore.append import append_events
from eventstore.engine import create_engine
from eventstore.errors import StoreUnavailable
from eventstore.migrate import alembic_config, head_revision, upgrade
from runtime.settings import DATABASE_URL_SETTING, STATE_DIR_SETTING, embedded_store_url
from schema.tables import events, metadata
from stack.paths import REPO_ROOT
from stack.ports import free_port
from tests.integration.event_factory import simple_request


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migrated_schema_matches_tables(store_url: str) -> None:
    engine = create_engine(store_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_revision) == head_revision()
            assert await conn.run_sync(_differences) == []
            assert await conn.run_sync(_tables) == {*metadata.tables, "alembic_version"}
    finally:
        await engine.dispose()


async def test_second_upgrade_is_a_no_op(store_url: str) -> None:
    engine = create_engine(store_url)
    try:
        log = simple_request(5)
        await append_events(engine, log.events)

        await upgrade(store_url)
        await upgrade(store_url)

        async with engine.connect() as conn:
            assert await conn.run_sync(_revision) == head_revision()
            assert await conn.scalar(select(func.count()).select_from(events)) == 5
        assert await append_events(engine, log.events) == []
    finally:
        await engine.dispose()


def _downgrade_base(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "base")


async def test_downgrade_to_base_and_up_again(store_url: str) -> None:
    engine = create_engine(store_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_downgrade_base)
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) <= {"alembic_version"}
            assert await conn.run_sync(_revision) is None
        await upgrade(store_url)
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
    finally:
        await engine.dispose()


def _index_definitions(connection: Connection) -> dict[str, tuple[Any, ...]]:
    """Every index as the database reports it, partial-index predicates included (Alembic's
    comparison checks names and columns, not predicates)."""
    inspector = inspect(connection)
    return {
        index["name"] or "": (table, tuple(index["column_names"]), bool(index["unique"]),
                              {key: str(value) for key, value in
                               index.get("dialect_options", {}).items()})
        for table in inspector.get_table_names()
        for index in inspector.get_indexes(table)
    }


async def test_migrated_indexes_equal_those_of_the_tables_predicates_included(
        store_url: str) -> None:
    engine = create_engine(store_url)
    try:
        async with engine.connect() as conn:
            migrated = await conn.run_sync(_index_definitions)
        async with engine.begin() as conn:
            await conn.run_sync(_downgrade_base)
            await conn.run_sync(metadata.create_all)
        async with engine.connect() as conn:
            from_tables = await conn.run_sync(_index_definitions)
    finally:
        await engine.dispose()
    assert migrated == from_tables
    where = "postgresql_where" if store_url.startswith("postgresql") else "sqlite_where"
    assert "closed" in migrated["ix_requests_open"][3][where]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("not a url", "not a database URL", id="garbage"),
        pytest.param("mysql://caseflow:s3cret@127.0.0.1/caseflow", "unsupported driver",
                     id="driver"),
        pytest.param("postgresql+asyncpg://caseflow:s3cret@127.0.0.1:{port}/caseflow",
                     "127.0.0.1", id="refused"),
        pytest.param("sqlite+aiosqlite:////nonexistent/dir/events.db", "unable to open",
                     id="sqlite-path"),
    ],
)
async def test_unreachable_store_is_one_clear_line(url: str, expected: str) -> None:
    url = url.format(port=free_port())
    with pytest.raises(StoreUnavailable) as caught:
        await upgrade(url)
    message = str(caught.value)
    assert "\n" not in message
    assert expected in message
    assert "CASEFLOW_DATABASE_URL" in message
    assert "s3cret" not in message


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "eventstore.migrate", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120, env=env)


def test_command_line(sqlite_url: str) -> None:
    first, second = _cli(sqlite_url), _cli(sqlite_url)
    refused = _cli("postgresql+asyncpg://caseflow:s3cret@127.0.0.1:1/caseflow")

    assert first.returncode == 0, first.stderr
    head = head_revision()
    assert first.stdout.strip() == f"schema of {sqlite_url} upgraded from empty to {head}"
    assert second.stdout.strip() == f"schema of {sqlite_url} is already at revision {head}"
    assert refused.returncode == 1
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "s3cret" not in refused.stderr
    assert "CASEFLOW_DATABASE_URL" in refused.stderr


def test_migrate_and_rebuild_default_to_the_store_of_the_settings(tmp_path: Path) -> None:
    # No URL and no CASEFLOW_DATABASE_URL: the embedded store in CASEFLOW_STATE_DIR, as the
    # README's settings table says, for both commands.
    env = {name: value for name, value in os.environ.items() if name != DATABASE_URL_SETTING}
    env[STATE_DIR_SETTING] = str(tmp_path)
    store = embedded_store_url(tmp_path)

    migrated = _cli(env=env)
    rebuilt = subprocess.run([sys.executable, "-m", "eventstore.rebuild"], cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=120, env=env, check=False)

    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.strip() == f"schema of {store} upgraded from empty to {head_revision()}"
    assert (tmp_path / "caseflow.db").is_file()
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.stdout.strip() == f"rebuilt the projections of {store} from 0 events"
