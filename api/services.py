"""What one API process holds: one Temporal client (inside the gateway), one database engine,
the configuration, and the authenticators. Opened once, before the server accepts a
connection, and closed when it stops."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.api_keys import ApiKeys
from api.authentication import Authenticator
from api.customer_links import CustomerLinks
from api.gateway import Gateway
from api.rate_limit import RateLimiter
from api.settings import ApiSettings
from api.staff_tokens import DevIssuer, StaffTokenVerifier
from catalog.loader import load_catalog_around
from domain.catalog import Catalog
from eventstore.engine import connect as connect_store
from eventstore.engine import create_engine
from runtime.connection import connect

_PROBE_TIMEOUT_SECONDS = 3.0


@dataclass
class Services:
    settings: ApiSettings
    catalog: Catalog
    gateway: Gateway
    engine: AsyncEngine
    authenticator: Authenticator
    links: CustomerLinks

    async def store_reachable(self) -> bool:
        try:
            async with asyncio.timeout(_PROBE_TIMEOUT_SECONDS):
                conn = await connect_store(self.engine)
                try:
                    await conn.execute(text("SELECT 1"))
                finally:
                    await conn.close()
        except Exception:  # any failure means "not ready"; /readyz gives no detail
            return False
        return True

    async def temporal_reachable(self) -> bool:
        try:
            async with asyncio.timeout(_PROBE_TIMEOUT_SECONDS):
                return await self.gateway.reachable()
        except TimeoutError:
            return False


def roster_of(catalog: Catalog) -> frozenset[str]:
    return frozenset(member.id for department in catalog.departments.values()
                     for member in department.members)


def dev_issuer(settings: ApiSettings) -> DevIssuer:
    """The embedded development issuer; refused outside development mode."""
    if not settings.dev_mode:
        raise ValueError("the development token issuer is off: set CASEFLOW_API_DEV_MODE=1 on "
                         "a single-machine run (never in production)")
    return DevIssuer(settings.state_dir, settings.audience)


@asynccontextmanager
async def open_services(settings: ApiSettings, *,
                        catalog: Catalog | None = None) -> AsyncIterator[Services]:
    """Raises ConfigError, TemporalUnavailable, StoreUnavailable or ValueError (a bad
    setting), each in one line. ``catalog`` replaces the one in the configuration folder."""
    catalog = catalog or load_catalog_around(settings.base.config_dir)
    verifier = StaffTokenVerifier(
        audience=settings.audience, person_claim=settings.person_claim,
        issuer=settings.issuer, jwks=settings.jwks,
        dev_issuer=dev_issuer(settings) if settings.dev_mode else None)
    api_keys = ApiKeys.load(settings.api_keys_file)
    links = CustomerLinks(settings.state_dir)
    client = await connect(settings.base.temporal_address, settings.base.namespace)
    engine = create_engine(settings.base.database_url)
    try:
        yield Services(
            settings=settings, catalog=catalog,
            gateway=Gateway(client, catalog, settings.base.task_queue), engine=engine,
            authenticator=Authenticator(staff=verifier, api_keys=api_keys, links=links,
                                        roster=roster_of(catalog),
                                        limiter=RateLimiter(settings.rate_per_minute)),
            links=links)
    finally:
        await engine.dispose()


