"""Session fixtures: a real PostgreSQL cluster and a real Temporal dev server, each started once.

A server that cannot start fails the tests that need it with the reason; nothing is skipped and
nothing falls back to a mock. ``CASEFLOW_DATABASE_URL`` points the PostgreSQL tests at an existing
server instead of the private cluster."""

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from temporalio.testing import WorkflowEnvironment

from eventstore.migrate import upgrade
from eventstore.personal import MASTER_KEYS_SETTING
from privacy.keys import KeyRing, generate_key, ring_to_text
from runtime.converter import DATA_CONVERTER, PAYLOAD_KEYS_SETTING
from stack import postgres
from stack.temporal_server import start_dev_server

# Every client, worker and child process of the session seals payloads (and the store its data
# keys) under fresh key rings, so no test reads or writes the single-machine run's key files.
os.environ[PAYLOAD_KEYS_SETTING] = ring_to_text(
    KeyRing(current="test-1", keys={"test-1": generate_key()}))
os.environ[MASTER_KEYS_SETTING] = ring_to_text(
    KeyRing(current="master-1", keys={"master-1": generate_key()}))


@pytest.fixture(scope="session")
def postgres_port() -> int:
    """The private cluster's port (started once per session)."""
    return postgres.ensure_cluster()


def _fresh_postgres_url(port_fixture: pytest.FixtureRequest) -> Iterator[str]:
    name = f"caseflow_test_{uuid.uuid4().hex[:12]}"
    configured = os.environ.get("CASEFLOW_DATABASE_URL")
    if configured:
        # An existing server: tests get their own database on it.
        base = make_url(configured)
        import asyncio

        import asyncpg  # type: ignore[import-untyped]

        async def _admin(sql: str) -> None:
            conn = await asyncpg.connect(
                host=base.host, port=base.port, user=base.username, password=base.password,
                database=base.database,
            )
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
        yield base.set(database=name).render_as_string(hide_password=False)
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        return
    port: int = port_fixture.getfixturevalue("postgres_port")
    yield postgres.create_database(port, name)
    postgres.drop_database(port, name)


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty PostgreSQL database (not migrated)."""
    yield from _fresh_postgres_url(request)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh, empty SQLite database file (not migrated)."""
    return f"sqlite+aiosqlite:///{tmp_path / 'events.db'}"


@pytest.fixture(params=["postgresql", "sqlite"])
async def store_url(request: pytest.FixtureRequest) -> str:
    """A fresh, migrated event store: every test using it runs on PostgreSQL and on SQLite."""
    fixture = "postgres_url" if request.param == "postgresql" else "sqlite_url"
    url: str = request.getfixturevalue(fixture)
    await upgrade(url)
    return url


@pytest.fixture
async def pg_store_url(postgres_url: str) -> str:
    """A fresh, migrated PostgreSQL event store (the production path)."""
    await upgrade(postgres_url)
    return postgres_url


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (in memory, free port), once per session."""
    env = await start_dev_server(data_converter=DATA_CONVERTER)
    try:
        yield env
    finally:
        await env.shutdown()
