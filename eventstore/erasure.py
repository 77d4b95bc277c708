"""Erasure of a customer from an append-only log: the customer's data key is destroyed, so the
personal fields sealed under it (eventstore.personal) can never be read again, while every
event stays where it is and the log's sequences stay unbroken. The projections' copies of
those fields are overwritten in the same transaction, and so are the outbox's messages
written before messages held no personal data; counts, times and durations are not touched.
Each erasure is audited in ``erasures`` and, as a ``customer_erased`` event, in the log of each
of the customer's requests that has ended (closed or cancelled): its workflow writes nothing
more, so the store appends the event at the next sequence, the request's row locked against
any other append. A live request's workflow appends it itself when told (a signal), so its
log never holds an event the workflow did not write. Erasing an erased customer changes
nothing.

    python -m operations.erasure customer CUSTOMER_ID --by PERSON
    python -m operations.erasure retention [--days N] --by PERSON [--dry-run]

Only a person with the role ``data_protection`` in the organisation's roster may erase.
Retention erases the customers whose every request closed (or was cancelled) more than N days
ago (``--days``, else ``CASEFLOW_RETENTION_DAYS``); ``--dry-run`` lists them and erases
nothing."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.catalog import Catalog
from domain.erasure import DATA_PROTECTION_ROLE, ErasureNotice
from domain.events import EventType, new_event
from domain.outbound import OutboundMessage, without_personal_text
from domain.state import FINAL_STATUSES
from eventstore.append import append_in
from eventstore.engine import read_transaction, transaction
from eventstore.personal import ERASED
from schema.tables import (
    customer_keys,
    erasures,
    events,
    handoffs,
    outbox,
    request_customers,
    requests,
)

RETENTION_SETTING = "CASEFLOW_RETENTION_DAYS"


class ErasureRefused(Exception):
    """An erasure that was not carried out; the message says why."""


@dataclass(frozen=True)
class Erasure:
    customer_id: str
    requests: int
    done: bool
    """False when the customer was already erased (nothing changed)."""
    live: tuple[str, ...] = ()
    """The customer's requests not ended, whose workflows are to be sent ``notice``."""
    notice: ErasureNotice | None = None


def check_officer(catalog: Catalog, person_id: str) -> None:
    """Refuses anyone without the data protection role in the roster."""
    for department in catalog.departments.values():
        member = department.member(person_id)
        if member is not None and DATA_PROTECTION_ROLE in member.roles:
            return
    raise ErasureRefused(f"only a person with the role {DATA_PROTECTION_ROLE!r} may erase a "
                         f"customer; {person_id[:64]!r} has not")


async def erase_customer(engine: AsyncEngine, catalog: Catalog, customer_id: str, *, by: str,
                         basis: str = "request", now: datetime | None = None) -> Erasure:
    check_officer(catalog, by)
    async with transaction(engine, write=True) as conn:
        return await _erase(conn, customer_id, by=by, basis=basis,
                            now=now or datetime.now(UTC))


async def _erase(conn: AsyncConnection, customer_id: str, *, by: str, basis: str,
                 now: datetime) -> Erasure:
    stored = (await conn.execute(select(customer_keys).where(
        customer_keys.c.customer_id == customer_id).with_for_update())).first()
    request_ids = list((await conn.scalars(select(request_customers.c.request_id).where(
        request_customers.c.customer_id == customer_id))).all())
    if stored is not None and stored.erased_at is not None:
        return await _complete_audit(conn, customer_id, request_ids, now=now)
    if stored is None:  # nothing sealed yet: mark the customer erased all the same
        await conn.execute(insert(customer_keys).values(customer_id=customer_id, generation=0,
                                                        created_at=now, erased_at=now))
    else:
        await conn.execute(update(customer_keys).where(
            customer_keys.c.customer_id == customer_id).values(
            wrapped_key=None, master_key_id=None, erased_at=now))
    await conn.execute(update(requests).where(requests.c.customer_id == customer_id).values(
        customer_name=ERASED, subject=ERASED))
    if request_ids:
        await conn.execute(update(handoffs).where(
            handoffs.c.request_id.in_(request_ids), handoffs.c.reason != "").values(
            reason=ERASED))
        await _scrub_outbox(conn, request_ids)
    await conn.execute(insert(erasures).values(customer_id=customer_id, erased_by=by,
                                               basis=basis, requests=len(request_ids),
                                               erased_at=now))
    live = await _audit_in_ended_logs(conn, customer_id, request_ids, by=by, basis=basis,
                                      now=now)
    return Erasure(customer_id, len(request_ids), done=True, live=live,
                   notice=ErasureNotice(customer_id=customer_id, erased_by=by, basis=basis))


async def _complete_audit(conn: AsyncConnection, customer_id: str, request_ids: list[str], *,
                          now: datetime) -> Erasure:
    """A repeated erasure changes no data; it writes the audit where it is still missing (an
    earlier run stopped before telling the live requests), as the first erasure's officer and
    basis, and names the live requests still to be told."""
    first = (await conn.execute(select(erasures.c.erased_by, erasures.c.basis).where(
        erasures.c.customer_id == customer_id).order_by(erasures.c.id).limit(1))).first()
    if first is None:  # erased before erasures were audited in the logs
        return Erasure(customer_id, len(request_ids), done=False)
    live = await _audit_in_ended_logs(conn, customer_id, request_ids, by=first.erased_by,
                                      basis=first.basis, now=now)
    audited = set((await conn.scalars(select(events.c.request_id).where(
        events.c.request_id.in_(live),
        events.c.event_type == EventType.CUSTOMER_ERASED.value))).all())
    untold = tuple(request_id for request_id in live if request_id not in audited)
    return Erasure(customer_id, len(request_ids), done=False, live=untold,
                   notice=ErasureNotice(customer_id=customer_id, erased_by=first.erased_by,
                                        basis=first.basis) if untold else None)


async def audit_in_ended_logs(engine: AsyncEngine, notice: ErasureNotice,
                              request_ids: list[str], *,
                              now: datetime | None = None) -> tuple[str, ...]:
    """For requests whose workflow could not be told (it ended meanwhile): appends the audit
    to those that have ended now; returns the others, still live and still without it."""
    async with transaction(engine, write=True) as conn:
        return await _audit_in_ended_logs(conn, notice.customer_id, request_ids,
                                          by=notice.erased_by, basis=notice.basis,
                                          now=now or datetime.now(UTC))


async def _audit_in_ended_logs(conn: AsyncConnection, customer_id: str, request_ids: list[str],
                               *, by: str, basis: str, now: datetime) -> tuple[str, ...]:
    """Appends ``customer_erased`` to the log of each ended request of the customer; returns
    the others (live: their workflows append it when told, see ``notice``)."""
    ended = (await conn.execute(
        select(requests.c.request_id, requests.c.last_sequence)
        .where(requests.c.request_id.in_(request_ids),
               requests.c.status.in_([status.value for status in FINAL_STATUSES]))
        .order_by(requests.c.request_id).with_for_update())).all()
    audited = set((await conn.scalars(select(events.c.request_id).where(
        events.c.request_id.in_(request_ids),
        events.c.event_type == EventType.CUSTOMER_ERASED.value))).all())
    notice = ErasureNotice(customer_id=customer_id, erased_by=by, basis=basis)
    await append_in(conn, [new_event(row.request_id, row.last_sequence + 1, notice.officer(),
                                     now, notice.payload())
                           for row in ended if row.request_id not in audited])
    return tuple(sorted(set(request_ids) - {row.request_id for row in ended}))


async def _scrub_outbox(conn: AsyncConnection, request_ids: list[str]) -> None:
    """The outbox is a plain table: its messages written before they held no personal data
    still quote the customer, and a key's destruction does not reach them."""
    for row in (await conn.execute(select(outbox.c.id, outbox.c.message).where(
            outbox.c.request_id.in_(request_ids)))).all():
        message = OutboundMessage.model_validate(row.message)
        scrubbed = without_personal_text(message)
        if scrubbed != message:
            await conn.execute(update(outbox).where(outbox.c.id == row.id).values(
                message=scrubbed.model_dump(mode="json")))


async def due_for_retention(engine: AsyncEngine, *, days: float,
                            now: datetime | None = None) -> list[tuple[str, int]]:
    """``(customer id, requests)`` of the customers not yet erased whose every request ended
    (closed or cancelled) more than ``days`` ago, by customer id."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    finished = requests.c.status.in_([status.value for status in FINAL_STATUSES])
    ended_long_ago = case((and_(finished, requests.c.closed_at < cutoff), 1), else_=0)
    erased = select(customer_keys.c.customer_id).where(customer_keys.c.erased_at.is_not(None))
    query = (select(requests.c.customer_id, func.count())
             .where(requests.c.customer_id.not_in(erased))
             .group_by(requests.c.customer_id)
             .having(func.count() == func.sum(ended_long_ago))
             .order_by(requests.c.customer_id))
    async with read_transaction(engine) as conn:
        return [(row[0], int(row[1])) for row in await conn.execute(query)]


async def apply_retention(engine: AsyncEngine, catalog: Catalog, *, days: float, by: str,
                          now: datetime | None = None) -> list[Erasure]:
    check_officer(catalog, by)
    due = await due_for_retention(engine, days=days, now=now)
    return [await erase_customer(engine, catalog, customer_id, by=by, basis="retention",
                                 now=now) for customer_id, _ in due]
