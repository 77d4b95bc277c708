"""The projection rows one transaction works on, held in memory: read once, changed by the
projector's handlers in Python, written back in a few multi-row statements.

Projecting event by event in SQL cost two or three round trips an event (a read, an update,
often a step update); an append now reads its requests' rows in two queries and writes each
table once, and a rebuild, which starts from empty tables, reads nothing and writes everything
at the end in bulk inserts.

Only the columns an event changed are written back: a concurrent erasure, which blanks a
request's personal columns, is never overwritten with the values read here. A request's rows are
only ever changed by appends to that request, which the log's unique ``(request_id, sequence)``
key serialises, and they are read after this transaction has inserted its events, so what was
read is what the request's earlier appends left."""

import functools
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Table, Update, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from eventstore.engine import upsert_insert
from eventstore.reservations import clear_reservations
from schema.tables import escalations, handoffs, owner_workload, request_steps, requests

Values = dict[str, Any]
StepId = tuple[str, str]
EscalationId = tuple[str, int]

CHUNK = 5000
"""Rows a bulk statement carries (SQLAlchemy pages them within the driver's limits)."""


class WorkloadChanges:
    """Open-step and open-request counter moves of one transaction, written last and in
    (person, department) order: transactions that touch the same people then lock their
    workload rows in the same order and cannot deadlock."""

    def __init__(self) -> None:
        self._moves: dict[tuple[str, str], tuple[int, int]] = {}
        self._assigned: dict[tuple[str, str], int] = {}

    def add(self, person_id: str, department_id: str, steps: int, requests_: int) -> None:
        before = self._moves.get((person_id, department_id), (0, 0))
        self._moves[(person_id, department_id)] = (before[0] + steps, before[1] + requests_)
        # Counted apart from the net move: a step ended and one started for the same person in
        # one command cancel out in the counters, yet the new one was a reservation.
        gained = max(steps, 0) + max(requests_, 0)
        if gained:
            key = (person_id, department_id)
            self._assigned[key] = self._assigned.get(key, 0) + gained

    async def write(self, conn: AsyncConnection) -> None:
        # A key whose moves cancel out is still written, so its row exists whether its events
        # were projected in one transaction (rebuild) or in many (live appends).
        rows = [{"person_id": person, "department_id": department, "open_steps": steps,
                 "open_requests": requests_}
                for (person, department), (steps, requests_) in sorted(self._moves.items())]
        for chunk in _chunks(rows):
            statement = upsert_insert(conn, owner_workload)
            await conn.execute(statement.on_conflict_do_update(
                index_elements=[owner_workload.c.person_id, owner_workload.c.department_id],
                set_={
                    "open_steps": owner_workload.c.open_steps + statement.excluded.open_steps,
                    "open_requests":
                        owner_workload.c.open_requests + statement.excluded.open_requests,
                },
            ), chunk)
        for (person_id, department_id), count in sorted(self._assigned.items()):
            await clear_reservations(conn, department_id, person_id, count)
        self._moves.clear()
        self._assigned.clear()


class ProjectionRows:
    """The ``requests``, ``request_steps`` and ``escalations`` rows of some requests, as
    dicts, with what changed since they were read; new ``handoffs``; workload moves.

    A request the caller neither loaded nor added reads as absent: ``load`` every request an
    append touches first; a rebuild loads none (its tables start empty)."""

    def __init__(self) -> None:
        self.workload = WorkloadChanges()
        self._requests: dict[str, Values] = {}
        self._steps: dict[str, dict[str, Values]] = {}
        self._escalations: dict[str, dict[int, Values]] = {}
        self._handoffs: list[Values] = []
        self._stored_steps: set[StepId] = set()
        self._stored_escalations: set[EscalationId] = set()
        self._new_requests: set[str] = set()
        self._whole_steps: set[StepId] = set()  # written in full (new, or restarted)
        self._changed_requests: dict[str, set[str]] = {}
        self._changed_steps: dict[StepId, set[str]] = {}
        self._changed_escalations: dict[EscalationId, set[str]] = {}

    # -- reading ---------------------------------------------------------------------------

    async def load(self, conn: AsyncConnection, request_ids: Iterable[str], *,
                   escalations_of: Iterable[str] = ()) -> None:
        """Reads the stored rows of ``request_ids`` (and the escalations of
        ``escalations_of``) in one query per table."""
        ids = sorted(set(request_ids) - set(self._requests))
        if ids:
            for row in await conn.execute(select(requests).where(requests.c.request_id.in_(ids))):
                self._requests[row.request_id] = row._asdict()
            for row in await conn.execute(
                    select(request_steps).where(request_steps.c.request_id.in_(ids))):
                self._steps.setdefault(row.request_id, {})[row.step_key] = row._asdict()
                self._stored_steps.add((row.request_id, row.step_key))
        wanted = sorted(set(escalations_of) - set(self._escalations))
        if wanted:
            for rid in wanted:
                self._escalations[rid] = {}
            for row in await conn.execute(
                    select(escalations).where(escalations.c.request_id.in_(wanted))):
                self._escalations[row.request_id][row.sequence] = row._asdict()
                self._stored_escalations.add((row.request_id, row.sequence))

    def request(self, request_id: str) -> Values | None:
        return self._requests.get(request_id)

    def step(self, request_id: str, step_key: str) -> Values | None:
        return self._steps.get(request_id, {}).get(step_key)

    def steps_of(self, request_id: str) -> Iterator[Values]:
        return iter(list(self._steps.get(request_id, {}).values()))

    def escalations_of(self, request_id: str) -> Iterator[Values]:
        return iter(list(self._escalations.get(request_id, {}).values()))

    # -- changing --------------------------------------------------------------------------

    def add_request(self, row: Values) -> None:
        self._requests[row["request_id"]] = row
        self._new_requests.add(row["request_id"])

    def set_request(self, request_id: str, values: Values) -> None:
        row = self._requests.get(request_id)
        if row is None:  # as an UPDATE of a missing row: nothing
            return
        row.update(values)
        if request_id not in self._new_requests:
            self._changed_requests.setdefault(request_id, set()).update(values)

    def put_step(self, row: Values) -> None:
        """Adds a step row, or replaces the whole row of a step started again."""
        key = (row["request_id"], row["step_key"])
        self._steps.setdefault(key[0], {})[key[1]] = row
        self._whole_steps.add(key)
        self._changed_steps.pop(key, None)

    def set_step(self, request_id: str, step_key: str, values: Values) -> None:
        row = self.step(request_id, step_key)
        if row is None:
            return
        row.update(values)
        if (request_id, step_key) not in self._whole_steps:
            self._changed_steps.setdefault((request_id, step_key), set()).update(values)

    def add_escalation(self, row: Values) -> None:
        self._escalations.setdefault(row["request_id"], {})[row["sequence"]] = row

    def set_escalation(self, request_id: str, sequence: int, values: Values) -> None:
        self._escalations[request_id][sequence].update(values)
        if (request_id, sequence) in self._stored_escalations:
            self._changed_escalations.setdefault((request_id, sequence), set()).update(values)

    def add_handoff(self, row: Values) -> None:
        self._handoffs.append(row)

    # -- writing ---------------------------------------------------------------------------

    async def write(self, conn: AsyncConnection) -> None:
        """Writes every change, a few statements per table, then the workload moves."""
        await _insert(conn, requests, [self._requests[r] for r in sorted(self._new_requests)])
        await _update(conn, requests, ("request_id",), {
            (rid,): {c: self._requests[rid][c] for c in columns}
            for rid, columns in self._changed_requests.items()})
        whole = sorted(self._whole_steps)
        await _insert(conn, request_steps,
                      [self._steps[r][k] for r, k in whole if (r, k) not in self._stored_steps])
        restarted = [self._steps[r][k] for r, k in whole if (r, k) in self._stored_steps]
        if restarted:
            statement = upsert_insert(conn, request_steps)
            await conn.execute(statement.on_conflict_do_update(
                index_elements=[request_steps.c.request_id, request_steps.c.step_key],
                set_={c.name: statement.excluded[c.name] for c in request_steps.c
                      if not c.primary_key}), restarted)
        await _update(conn, request_steps, ("request_id", "step_key"), {
            key: {c: self._steps[key[0]][key[1]][c] for c in columns}
            for key, columns in self._changed_steps.items()})
        await _insert(conn, escalations, [
            row for rid, rows in sorted(self._escalations.items())
            for sequence, row in sorted(rows.items())
            if (rid, sequence) not in self._stored_escalations])
        await _update(conn, escalations, ("request_id", "sequence"), {
            key: {c: self._escalations[key[0]][key[1]][c] for c in columns}
            for key, columns in self._changed_escalations.items()})
        await _insert(conn, handoffs, self._handoffs)
        await self.workload.write(conn)


def _chunks(rows: list[Values]) -> Iterator[list[Values]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start:start + CHUNK]


async def _insert(conn: AsyncConnection, table: Table, rows: list[Values]) -> None:
    for chunk in _chunks(rows):
        await conn.execute(insert(table), chunk)


async def _update(conn: AsyncConnection, table: Table, key: tuple[str, ...],
                  changes: dict[tuple[Any, ...], Values]) -> None:
    """One executemany UPDATE per set of changed columns (usually one set)."""
    by_columns: dict[tuple[str, ...], list[Values]] = {}
    for ids, values in sorted(changes.items()):
        params = {**values, **{f"w_{name}": value for name, value in zip(key, ids, strict=True)}}
        by_columns.setdefault(tuple(sorted(values)), []).append(params)
    for batch in by_columns.values():
        for chunk in _chunks(batch):
            await conn.execute(_update_by_key(table, key), chunk)


@functools.cache
def _update_by_key(table: Table, key: tuple[str, ...]) -> Update:
    """UPDATE of the row with the ``w_``-prefixed key parameters; the SET clause comes from
    the other parameters' names (SQLAlchemy's executemany). Built once: constructing the
    statement cost more than running it."""
    return update(table).where(*(table.c[name] == bindparam(f"w_{name}") for name in key))
