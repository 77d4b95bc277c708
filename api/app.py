"""The ASGI application: routes under /api/v1, /healthz and /readyz, OpenAPI at /openapi.json
and /docs, errors as problem+json, a cap on body size."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError

from api import (
    analysis,
    customers,
    email_channel,
    erasure,
    health,
    queues,
    reports,
    requests_read,
    requests_write,
    streams,
)
from api.gateway import TemporalDown
from api.limits import BodySizeLimit
from api.problems import install, problem_response, unavailable
from api.services import Services
from eventstore.errors import StoreUnavailable

API_PREFIX = "/api/v1"


def create_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="caseflow",
        version="1",
        summary="Customer requests across departments: submit, work, follow",
        description="Authenticate with `Authorization: Bearer <token>`: a staff token from the "
                    "identity provider, an integration's API key (`cfk_…`) or a customer's "
                    "signed link (`cfl_…`, also accepted as `?link=`). Errors are RFC 9457 "
                    "problem+json.",
    )
    app.state.services = services
    install(app)

    async def on_store_down(_: Request, error: Exception) -> JSONResponse:
        reason = error.reason if isinstance(error, StoreUnavailable) else "the store failed"
        return problem_response(unavailable(f"the event store is unavailable ({reason[:200]})"))

    async def on_temporal_down(_: Request, error: Exception) -> JSONResponse:
        return problem_response(unavailable(str(error)))

    for store_error in (StoreUnavailable, OperationalError, InterfaceError):
        app.add_exception_handler(store_error, on_store_down)
    app.add_exception_handler(TemporalDown, on_temporal_down)
    app.include_router(health.router)
    app.include_router(requests_write.router, prefix=API_PREFIX)
    app.include_router(requests_read.router, prefix=API_PREFIX)
    app.include_router(queues.router, prefix=API_PREFIX)
    app.include_router(streams.router, prefix=API_PREFIX)
    app.include_router(email_channel.router, prefix=API_PREFIX)
    app.include_router(erasure.router, prefix=API_PREFIX)
    app.include_router(analysis.router, prefix=API_PREFIX)
    app.include_router(customers.router, prefix=API_PREFIX)
    app.include_router(reports.router, prefix=API_PREFIX)
    app.add_middleware(BodySizeLimit, max_bytes=services.settings.max_body_bytes)
    return app
