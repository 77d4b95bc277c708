"""A customer's requests as the projections hold them (the console's request page lists a
customer's other requests)."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.engine import read_transaction
from eventstore.projected import ProjectedRequest
from schema.tables import requests


async def customer_requests(engine: AsyncEngine, customer_id: str, *,
                            limit: int = 20) -> list[ProjectedRequest]:
    """The customer's requests, newest first."""
    async with read_transaction(engine) as conn:
        rows = await conn.execute(
            select(*(requests.c[name] for name in ProjectedRequest.model_fields))
            .where(requests.c.customer_id == customer_id)
            .order_by(requests.c.submitted_at.desc()).limit(limit))
        return [ProjectedRequest.model_validate(row._asdict()) for row in rows]
