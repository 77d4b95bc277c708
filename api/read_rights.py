"""The read rule of ``domain.visibility`` applied to a staff caller: one request (its detail,
its live events, a customer link for it) or a batch of the event feed."""

from collections.abc import Collection

from api.problems import ApiProblem
from api.services import Services
from domain.visibility import may_read, read_refusal
from eventstore.parties import parties_of


async def check_may_read(services: Services, person_id: str, request_id: str) -> None:
    """Returns when ``person_id`` may read ``request_id``; else a 404 (unknown request) or a
    403 naming who may."""
    parties = (await parties_of(services.engine, [request_id])).get(request_id)
    if parties is None:
        raise ApiProblem(404, f"unknown request {request_id}")
    if not may_read(person_id, parties, services.catalog.departments):
        raise ApiProblem(403, read_refusal(person_id, request_id))


async def readable(services: Services, person_id: str,
                   request_ids: Collection[str]) -> frozenset[str]:
    """Those of ``request_ids`` that ``person_id`` may read, with the parties as they are now
    (a request handed to the caller's department becomes readable from then on)."""
    parties = await parties_of(services.engine, request_ids)
    return frozenset(request_id for request_id, found in parties.items()
                     if may_read(person_id, found, services.catalog.departments))
