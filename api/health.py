"""Liveness and readiness, unauthenticated, for probes and load balancers."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.dependencies import ServicesDep
from api.problems import RETRY_AFTER_SECONDS

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Temporal and the event store are reachable",
            responses={503: {"description": "one of them is not"}})
async def readyz(services: ServicesDep) -> JSONResponse:
    checks = {"temporal": await services.temporal_reachable(),
              "store": await services.store_reachable()}
    ready = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable",
         "checks": {name: "ok" if ok else "unreachable" for name, ok in checks.items()}},
        status_code=200 if ready else 503,
        headers=None if ready else {"Retry-After": str(RETRY_AFTER_SECONDS)})
