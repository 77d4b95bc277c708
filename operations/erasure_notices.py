"""Telling the workflows of an erased customer's live requests, each of which then appends
``customer_erased`` to its own log (eventstore.erasure appends it to ended requests' logs)."""

import logging

from temporalio.client import Client
from temporalio.service import RPCError

from domain.erasure import ERASURE_SIGNAL
from domain.request import workflow_id_for
from eventstore.erasure import Erasure

log = logging.getLogger(__name__)


async def tell_live_requests(client: Client, erasure: Erasure) -> list[str]:
    """Signals each live request of ``erasure``; returns those that could not be told (their
    workflow ended meanwhile, or Temporal refused), for the operator to see."""
    if erasure.notice is None:
        return []
    untold = []
    for request_id in erasure.live:
        try:
            await client.get_workflow_handle(workflow_id_for(request_id)).signal(
                ERASURE_SIGNAL, erasure.notice)
        except RPCError as error:
            log.warning("request %s not told of the erasure of its customer: %s", request_id,
                        error.message)
            untold.append(request_id)
    return untold
