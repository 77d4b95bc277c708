"""Master-key rotation of the store (``operations.rekey``), on PostgreSQL then SQLite: a dry
run counts and changes nothing; a run re-wraps every live customer key under the new current
master key, so the old key can leave the ring and the sealed fields still open; a run stopped
part-way resumes where it stopped; running again changes nothing; an erased customer is left
as erased."""

import base64
import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.events import Submitted
from eventstore.migrate import upgrade
from eventstore.personal import PersonalData
from eventstore.rekey import pending, rotate
from privacy.keys import KeyRing, UnknownKey, generate_key, ring_to_text
from schema.tables import customer_keys, events
from stack.paths import REPO_ROOT
from tests.integration.event_factory import CUSTOMERS, RequestLog

OLD = KeyRing(current="2026-11", keys={"2026-11": generate_key()})
NEW = KeyRing(current="2026-12", keys={**OLD.keys, "2026-12": generate_key()})
NEW_ONLY = KeyRing(current="2026-12", keys={"2026-12": NEW.keys["2026-12"]})


async def _write_requests(engine: AsyncEngine) -> list[str]:
    """One request for each of four customers, sealed under the old master key."""
    async with engine.begin() as conn:
        personal = PersonalData(conn, OLD)
        for n, customer in enumerate(CUSTOMERS[:4]):
            log = RequestLog(request_id=f"req-rekey-{n}")
            log.submitted(customer=customer)
            await conn.execute(insert(events), await personal.rows_of(log.events))
    return [customer.id for customer in CUSTOMERS[:4]]


async def _names(engine: AsyncEngine, ring: KeyRing) -> list[str]:
    async with engine.connect() as conn:
        personal = PersonalData(conn, ring)
        rows = (await conn.execute(select(events).order_by(events.c.id))).all()
        names = []
        for row in rows:
            payload = (await personal.event_of(row)).payload
            assert isinstance(payload, Submitted)
            names.append(payload.customer.name)
        return names


def _cli(store_url: str, ring: KeyRing, *args: str) -> str:
    env = {**os.environ, "CASEFLOW_STORE_MASTER_KEYS": ring_to_text(ring)}
    done = subprocess.run([sys.executable, "-m", "operations.rekey", "--database-url",
                           store_url, *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_rotation_rewraps_every_customer_key_resumably(engine: AsyncEngine,
                                                              store_url: str) -> None:
    await upgrade(store_url)
    customers = await _write_requests(engine)
    names = [c.name for c in CUSTOMERS[:4]]
    async with engine.begin() as conn:  # the last customer was erased: no key to re-wrap
        await conn.execute(update(customer_keys).where(
            customer_keys.c.customer_id == customers[-1]).values(wrapped_key=None))
    with pytest.raises(UnknownKey, match="2026-11"):
        await _names(engine, NEW_ONLY)

    assert "3 customer keys to re-wrap under '2026-12'" in _cli(store_url, NEW, "--dry-run")
    assert await pending(engine, NEW) == {"2026-11": 3}

    part = await rotate(engine, NEW, limit=2, batch=1)  # stopped part-way
    assert (part.rewrapped, part.remaining) == (2, {"2026-11": 1})
    out = _cli(store_url, NEW)
    assert "re-wrapped 1 customer keys under '2026-12'" in out
    assert "the old ones may be dropped" in out
    assert "re-wrapped 0 customer keys" in _cli(store_url, NEW)

    # The old key can go: every sealed field opens under the new key alone, the erased one
    # stays erased.
    opened = await _names(engine, NEW_ONLY)
    assert opened[:3] == names[:3]
    assert opened[3] != names[3]
    async with engine.connect() as conn:
        stored = {row.customer_id: row.master_key_id for row in await conn.execute(
            select(customer_keys.c.customer_id, customer_keys.c.master_key_id,
                   customer_keys.c.wrapped_key).where(customer_keys.c.wrapped_key.is_not(None)))}
        raw = json.dumps([row.payload for row in await conn.execute(select(events.c.payload))],
                         ensure_ascii=False)
    assert stored == dict.fromkeys(customers[:3], "2026-12")
    assert not any(name in raw for name in names)
    assert base64.b64encode(NEW.keys["2026-12"]).decode() not in out
