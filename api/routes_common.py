"""What every route module shares: the request id path parameter, the documented error
responses, and the HTTP status of each kind of refusal."""

from typing import Any

from fastapi import Path

from api.gateway import Refusal
from api.problems import ApiProblem, Problem
from domain.authorization import RefusalKind, Refused

REQUEST_ID = Path(min_length=1, max_length=64, pattern=r"^[0-9a-f-]{1,64}$",
                  description="the request's id")
_STATUS = {RefusalKind.FORBIDDEN: 403, RefusalKind.NOT_FOUND: 404, RefusalKind.CONFLICT: 409,
           RefusalKind.INVALID: 422}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": description} for status, description in (
        (401, "not authenticated"), (403, "not allowed"), (404, "unknown request"),
        (409, "conflicts with the request's state"), (422, "invalid input"),
        (429, "rate limited"), (503, "Temporal or the event store is unavailable"))}


def refused(error: Refusal | Refused) -> ApiProblem:
    return ApiProblem(_STATUS[error.kind], str(error))
