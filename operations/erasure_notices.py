"""Telling the workflows of an erased customer's live requests, each of which then appends
``customer_erased`` to its own log (eventstore.erasure appends it to ended requests' logs)."""

import logging

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.service import RPCError

from domain.erasure import ERASURE_SIGNAL
from domain.request import workflow_id_for
from eventstore.erasure import Erasure, audit_in_ended_logs

log = logging.getLogger(__name__)


async def tell_live_requests(client: Client, engine: AsyncEngine,
                             erasure: Erasure) -> list[str]:
    """Signals each live request of ``erasure``; one whose workflow has ended meanwhile gets
    the audit from the store instead. Returns those still without it (Temporal refused while
    they are live), for the operator to see."""
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
    if not untold:
        return []
    return list(await audit_in_ended_logs(engine, erasure.notice, untold))
